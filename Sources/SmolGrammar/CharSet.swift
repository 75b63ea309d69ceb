import Foundation

/// A set of Unicode code points as sorted, disjoint, non-adjacent ranges; how regex classes,
/// GBNF classes and JSON string characters become byte-level grammar.
public struct CharSet: Equatable, Sendable {
    public private(set) var ranges: [ClosedRange<UInt32>] = []

    public init() {}
    public init(_ r: ClosedRange<UInt32>) { ranges = [r] }
    public init(_ c: Unicode.Scalar) { ranges = [c.value...c.value] }
    public init(ranges rs: [ClosedRange<UInt32>]) { for r in rs { insert(r) } }

    public static let all = CharSet(0...0x10FFFF)

    public mutating func insert(_ r: ClosedRange<UInt32>) {
        var out: [ClosedRange<UInt32>] = []
        var cur = r
        for x in ranges {
            if x.upperBound &+ 1 < cur.lowerBound || cur.upperBound &+ 1 < x.lowerBound {
                out.append(x)
            } else {
                cur = min(x.lowerBound, cur.lowerBound)...max(x.upperBound, cur.upperBound)
            }
        }
        out.append(cur)
        ranges = out.sorted { $0.lowerBound < $1.lowerBound }
    }
    public func union(_ o: CharSet) -> CharSet { var r = self; for x in o.ranges { r.insert(x) }; return r }
    public var inverted: CharSet {
        var out = CharSet(), next: UInt32 = 0
        for r in ranges {
            if r.lowerBound > next { out.ranges.append(next...(r.lowerBound - 1)) }
            next = r.upperBound + 1
        }
        if next <= 0x10FFFF { out.ranges.append(next...0x10FFFF) }
        return out
    }
    public func subtracting(_ o: CharSet) -> CharSet { intersection(o.inverted) }
    public func intersection(_ o: CharSet) -> CharSet {
        var out = CharSet()
        for a in ranges { for b in o.ranges {
            let lo = max(a.lowerBound, b.lowerBound), hi = min(a.upperBound, b.upperBound)
            if lo <= hi { out.ranges.append(lo...hi) }
        } }
        out.ranges.sort { $0.lowerBound < $1.lowerBound }
        return out
    }
    public func contains(_ c: UInt32) -> Bool { ranges.contains { $0.contains(c) } }
    public var isEmpty: Bool { ranges.isEmpty }

    /// The UTF-8 encodings of the set (surrogates left out), as alternatives of byte ranges.
    public var utf8: GrammarExpr {
        var alts: [GrammarExpr] = []
        for r in ranges {
            for piece in [0...0x7F, 0x80...0x7FF, 0x800...0xD7FF, 0xE000...0xFFFF, 0x10000...0x10FFFF] as [ClosedRange<UInt32>] {
                let lo = max(r.lowerBound, piece.lowerBound), hi = min(r.upperBound, piece.upperBound)
                if lo <= hi { for s in Self.sequences(lo, hi) { alts.append(.seq(s.map { GrammarExpr.range($0.lowerBound, $0.upperBound) })) } }
            }
        }
        return merged(alts)
    }

    /// Ranges with one encoded length split until each is a product of byte ranges (the
    /// construction of Rust regex-syntax's Utf8Sequences).
    static func sequences(_ a: UInt32, _ b: UInt32) -> [[ClosedRange<UInt8>]] {
        let n = encode(a).count
        if n == 1 { return [[UInt8(a)...UInt8(b)]] }
        for i in 1..<n {
            let m: UInt32 = (1 << (6 * UInt32(i))) - 1
            if a & ~m != b & ~m {
                if a & m != 0 { return sequences(a, a | m) + sequences((a | m) + 1, b) }
                if b & m != m { return sequences(a, (b & ~m) - 1) + sequences(b & ~m, b) }
            }
        }
        return [zip(encode(a), encode(b)).map { $0...$1 }]
    }

    static func encode(_ c: UInt32) -> [UInt8] {
        switch c {
        case 0..<0x80: return [UInt8(c)]
        case 0x80..<0x800: return [UInt8(0xC0 | c >> 6), UInt8(0x80 | c & 0x3F)]
        case 0x800..<0x10000: return [UInt8(0xE0 | c >> 12), UInt8(0x80 | (c >> 6) & 0x3F), UInt8(0x80 | c & 0x3F)]
        default: return [UInt8(0xF0 | c >> 18), UInt8(0x80 | (c >> 12) & 0x3F), UInt8(0x80 | (c >> 6) & 0x3F), UInt8(0x80 | c & 0x3F)]
        }
    }
}

/// Single-byte alternatives folded into one byte set (fewer parse stacks).
func merged(_ alts: [GrammarExpr]) -> GrammarExpr {
    var set = ByteSet(), rest: [GrammarExpr] = []
    for a in alts {
        if case let .seq(xs) = a, xs.count == 1, case let .bytes(s) = xs[0] { set = set.union(s) }
        else if case let .bytes(s) = a { set = set.union(s) }
        else { rest.append(a) }
    }
    if !set.isEmpty { rest.insert(.bytes(set), at: 0) }
    return rest.count == 1 ? rest[0] : .alt(rest)
}

/// JSON text: how each character appears inside a JSON string.
public enum JSONText {
    /// Characters that may appear raw inside a JSON string.
    static let raw = CharSet.all.subtracting(CharSet(ranges: [0...0x1F, 0x22...0x22, 0x5C...0x5C, 0xD800...0xDFFF]))

    /// The JSON string forms of the characters of `set`: raw UTF-8, or an escape for `"`, `\`
    /// and control characters.
    public static func chars(_ set: CharSet) -> GrammarExpr {
        var alts: [GrammarExpr] = []
        let r = set.intersection(raw)
        if !r.isEmpty { alts.append(r.utf8) }
        let short: [UInt32: String] = [0x22: "\"", 0x5C: "\\", 0x08: "b", 0x0C: "f", 0x0A: "n", 0x0D: "r", 0x09: "t"]
        var escapes = ByteSet()
        for (c, e) in short where set.contains(c) { escapes.insert(e.utf8.first!) }
        if !escapes.isEmpty { alts.append(.seq([.lit("\\"), .bytes(escapes)])) }
        for c in UInt32(0)..<0x20 where set.contains(c) && short[c] == nil {
            alts.append(.lit(String(format: "\\u%04x", c)))
        }
        return alts.isEmpty ? .alt([]) : merged(alts)
    }

    /// Any character of a JSON string, escapes included.
    public static let anyChar: GrammarExpr = {
        let hex = GrammarExpr.bytes(ByteSet(bytes: Array("0123456789abcdefABCDEF".utf8)))
        return .alt([raw.utf8, .seq([.lit("\\"), .alt([.bytes(ByteSet(bytes: Array("\"\\/bfnrt".utf8))), .seq([.lit("u"), hex, hex, hex, hex])])])])
    }()
}
