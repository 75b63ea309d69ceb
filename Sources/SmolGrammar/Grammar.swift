/// A context-free grammar over bytes, as the constrained decoder runs it: rules of
/// alternatives, each alternative a sequence of byte sets and rule references. JSON Schema
/// (`JSONSchemaGrammar`) and GBNF (`GBNFParser`) both compile to this through `GrammarBuilder`.
///
/// Layout (llama.cpp's, flattened): `elements` holds every alternative of every rule, each
/// ending with an `.end`; a rule is the list of its alternatives' start positions.
public struct Grammar: Sendable {
    enum Kind: UInt8 { case bytes, ref, end }
    /// Per element: what it is, and its byte set index or rule id.
    let kind: [Kind]
    let arg: [Int32]
    let sets: [ByteSet]
    /// Per rule: where each alternative starts in `kind`/`arg`.
    let alternatives: [[Int32]]
    public let ruleNames: [String]
    public let root: Int

    public var ruleCount: Int { alternatives.count }
    public var elementCount: Int { kind.count }
}

/// 256 bits: which bytes an element accepts.
public struct ByteSet: Hashable, Sendable {
    var w0: UInt64 = 0, w1: UInt64 = 0, w2: UInt64 = 0, w3: UInt64 = 0

    public init() {}
    public init(_ lo: UInt8, _ hi: UInt8) { for b in lo...hi { insert(b) } }
    public init(byte: UInt8) { insert(byte) }
    public init<S: Sequence>(bytes: S) where S.Element == UInt8 { for b in bytes { insert(b) } }

    @inline(__always) public func contains(_ b: UInt8) -> Bool {
        let bit = UInt64(1) << (b & 63)
        switch b >> 6 {
        case 0: return w0 & bit != 0
        case 1: return w1 & bit != 0
        case 2: return w2 & bit != 0
        default: return w3 & bit != 0
        }
    }
    public mutating func insert(_ b: UInt8) {
        let bit = UInt64(1) << (b & 63)
        switch b >> 6 {
        case 0: w0 |= bit
        case 1: w1 |= bit
        case 2: w2 |= bit
        default: w3 |= bit
        }
    }
    public func union(_ o: ByteSet) -> ByteSet {
        var r = self; r.w0 |= o.w0; r.w1 |= o.w1; r.w2 |= o.w2; r.w3 |= o.w3; return r
    }
    public var isEmpty: Bool { w0 | w1 | w2 | w3 == 0 }
}

/// A grammar expression; `GrammarBuilder` lowers it to rules.
public indirect enum GrammarExpr: Hashable, Sendable {
    case bytes(ByteSet)
    case seq([GrammarExpr])
    case alt([GrammarExpr])
    case ref(Int)
    /// `min` to `max` copies (nil: unbounded).
    case rep(GrammarExpr, min: Int, max: Int?)

    public static let empty = GrammarExpr.seq([])
    public static func lit(_ s: String) -> GrammarExpr { .bytes(Array(s.utf8)) }
    public static func bytes(_ b: [UInt8]) -> GrammarExpr { b.count == 1 ? .bytes(ByteSet(byte: b[0])) : .seq(b.map { .bytes(ByteSet(byte: $0)) }) }
    public static func range(_ lo: UInt8, _ hi: UInt8) -> GrammarExpr { .bytes(ByteSet(lo, hi)) }
    public static func opt(_ e: GrammarExpr) -> GrammarExpr { .rep(e, min: 0, max: 1) }
    public static func star(_ e: GrammarExpr) -> GrammarExpr { .rep(e, min: 0, max: nil) }
}

public struct GrammarError: Error, CustomStringConvertible, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Declares rules, defines them with expressions and lowers everything to a `Grammar`.
/// Nested alternatives and repetitions become helper rules, shared when identical.
public struct GrammarBuilder {
    public var names: [String] = []
    var defs: [GrammarExpr?] = []
    /// Upper bound on elements (a schema with maxLength 10^6 would otherwise expand forever).
    public var maxElements = 400_000

    public init() {}

    public mutating func declare(_ name: String) -> Int {
        names.append(name); defs.append(nil); return names.count - 1
    }
    public mutating func define(_ id: Int, _ e: GrammarExpr) { defs[id] = e }
    public mutating func rule(_ name: String, _ e: GrammarExpr) -> Int {
        let id = declare(name); define(id, e); return id
    }
    public func isDefined(_ id: Int) -> Bool { defs[id] != nil }

    public func build(root: Int) throws(GrammarError) -> Grammar {
        var low = Lowering(names: names)
        for (i, d) in defs.enumerated() {
            guard d != nil else { throw GrammarError("rule '\(names[i])' is used but never defined") }
            low.ruleAlts.append([])
        }
        for (i, d) in defs.enumerated() { try low.defineRule(i, d!, limit: maxElements) }
        let g = Grammar(kind: low.kind, arg: low.arg, sets: low.sets, alternatives: low.ruleAlts, ruleNames: low.names, root: root)
        try GrammarChecks.rejectLeftRecursion(g)
        return g
    }
}

private struct Lowering {
    var names: [String]
    var kind: [Grammar.Kind] = []
    var arg: [Int32] = []
    var sets: [ByteSet] = []
    var setIndex: [ByteSet: Int32] = [:]
    var ruleAlts: [[Int32]] = []
    var helpers: [GrammarExpr: Int] = [:]
    var limit = Int.max

    init(names: [String]) { self.names = names }

    mutating func defineRule(_ id: Int, _ e: GrammarExpr, limit: Int) throws(GrammarError) {
        self.limit = limit
        let alts: [GrammarExpr]
        if case let .alt(a) = e { alts = a } else { alts = [e] }
        var starts: [Int32] = []
        // Elements of one alternative must be contiguous: lower each into a buffer first.
        for a in alts {
            var items: [(Grammar.Kind, Int32)] = []
            try flatten(a, into: &items)
            starts.append(Int32(kind.count))
            for (k, v) in items { kind.append(k); arg.append(v) }
            kind.append(.end); arg.append(0)
            guard kind.count <= limit else { throw GrammarError("the grammar is too large (over \(limit) elements); lower maxLength/maxItems or simplify the schema") }
        }
        ruleAlts[id] = starts
    }

    mutating func flatten(_ e: GrammarExpr, into items: inout [(Grammar.Kind, Int32)]) throws(GrammarError) {
        switch e {
        case let .bytes(s):
            if let i = setIndex[s] { items.append((.bytes, i)) } else {
                let i = Int32(sets.count); sets.append(s); setIndex[s] = i; items.append((.bytes, i))
            }
        case let .seq(xs): for x in xs { try flatten(x, into: &items) }
        case let .ref(r): items.append((.ref, Int32(r)))
        case let .alt(xs):
            if xs.count == 1 { try flatten(xs[0], into: &items) } else { items.append((.ref, Int32(try helper(e, "alt")))) }
        case let .rep(x, mn, mx):
            for _ in 0..<mn { try flatten(x, into: &items) }
            if let mx {
                if mx > mn { items.append((.ref, Int32(try helper(.rep(x, min: 0, max: mx - mn), "opt")))) }
            } else {
                items.append((.ref, Int32(try helper(.rep(x, min: 0, max: nil), "star"))))
            }
            guard items.count <= limit else { throw GrammarError("the grammar is too large (over \(limit) elements); lower maxLength/maxItems or simplify the schema") }
        }
    }

    /// A helper rule for a nested alternative or for `x{0,k}` / `x*`.
    mutating func helper(_ e: GrammarExpr, _ tag: String) throws(GrammarError) -> Int {
        if let id = helpers[e] { return id }
        let id = names.count
        names.append("\(tag)\(id)")
        ruleAlts.append([])
        helpers[e] = id
        switch e {
        case let .rep(x, 0, nil):
            // star ::= x star | ""   (the tail reference keeps the parse stack flat)
            try defineRule(id, .alt([.seq([x, .ref(id)]), .empty]), limit: limit)
        case let .rep(x, 0, k?):
            // opt_k ::= x opt_{k-1} | ""
            let inner: GrammarExpr = k > 1 ? .ref(try helper(.rep(x, min: 0, max: k - 1), "opt")) : .empty
            try defineRule(id, .alt([.seq([x, inner]), .empty]), limit: limit)
        default:
            try defineRule(id, e, limit: limit)
        }
        return id
    }
}

enum GrammarChecks {
    /// A rule that can reach itself without consuming a byte would loop forever in the parser.
    static func rejectLeftRecursion(_ g: Grammar) throws(GrammarError) {
        let n = g.ruleCount
        // Nullable rules, by fixed point.
        var nullable = [Bool](repeating: false, count: n)
        var changed = true
        while changed {
            changed = false
            for r in 0..<n where !nullable[r] {
                for start in g.alternatives[r] where altNullable(g, Int(start), nullable) {
                    nullable[r] = true; changed = true; break
                }
            }
        }
        // Left edges: r -> s when s can be the first thing r expands to.
        var edges = [[Int]](repeating: [], count: n)
        for r in 0..<n {
            for start in g.alternatives[r] {
                var p = Int(start)
                while g.kind[p] == .ref {
                    let s = Int(g.arg[p])
                    edges[r].append(s)
                    if !nullable[s] { break }
                    p += 1
                }
            }
        }
        // Cycle search (iterative DFS, colours).
        var colour = [UInt8](repeating: 0, count: n)
        for s0 in 0..<n where colour[s0] == 0 {
            var stack: [(Int, Int)] = [(s0, 0)]
            colour[s0] = 1
            while let (r, i) = stack.last {
                if i < edges[r].count {
                    stack[stack.count - 1].1 += 1
                    let s = edges[r][i]
                    if colour[s] == 1 { throw GrammarError("rule '\(g.ruleNames[s])' is left-recursive (it can reach itself without consuming input)") }
                    if colour[s] == 0 { colour[s] = 1; stack.append((s, 0)) }
                } else {
                    colour[r] = 2
                    stack.removeLast()
                }
            }
        }
    }

    private static func altNullable(_ g: Grammar, _ start: Int, _ nullable: [Bool]) -> Bool {
        var p = start
        while true {
            switch g.kind[p] {
            case .end: return true
            case .bytes: return false
            case .ref: if !nullable[Int(g.arg[p])] { return false }
            }
            p += 1
        }
    }
}
