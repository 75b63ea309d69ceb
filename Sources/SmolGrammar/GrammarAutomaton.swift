import CSmolGrammar
import Foundation

/// The parse states of a grammar, built lazily as decoding reaches them, with the token masks
/// they allow. A state is a set of parse stacks (llama.cpp's pushdown model); stacks and states
/// are interned, so a state the output returns to (inside a string, say) is the same state,
/// and its transitions and mask are computed once. One automaton serves every sequence
/// constrained by the same grammar and vocabulary (an agent's tool set, request after request);
/// it is thread-safe and bounded: past `maxStates` it starts over (matchers replay their bytes).
public final class GrammarAutomaton: @unchecked Sendable {
    public let grammar: Grammar
    public let vocabulary: TokenVocabulary
    /// Stacks deeper than this are dropped: nesting (recursive $ref, GBNF recursion) is bounded.
    public let maxDepth: Int
    public let maxStates: Int
    private let lock = NSLock()

    // Stack nodes: the position to match next and the stack below. -1 is the empty stack.
    private var nodePos: [Int32] = []
    private var nodeParent: [Int32] = []
    private var nodeDepth: [Int32] = []
    private var nodeIndex: [UInt64: Int32] = [:]
    // States: sorted stack node ids (-1 first when the grammar can end here).
    private var stateStacks: [[Int32]] = []
    private var stateIndex: [[Int32]: Int32] = [:]
    private var trans: UnsafeMutablePointer<Int32>
    private var transCapacity: Int
    private var masks: [Int32: [UInt64]] = [:]
    private let maxMasks: Int
    /// Bumped when the tables start over; matchers holding an older state replay their bytes.
    public private(set) var generation = 0
    public private(set) var start: Int32 = -1

    public init(grammar: Grammar, vocabulary: TokenVocabulary, maxDepth: Int = 256, maxStates: Int = 32_768) {
        self.grammar = grammar
        self.vocabulary = vocabulary
        self.maxDepth = maxDepth
        self.maxStates = maxStates
        maxMasks = max(64, (64 << 20) / max(1, vocabulary.size / 8))
        transCapacity = 1024 * 256
        trans = .allocate(capacity: transCapacity)
        reset()
    }

    deinit { trans.deallocate() }

    private func reset() {
        nodePos.removeAll(keepingCapacity: true); nodeParent.removeAll(keepingCapacity: true)
        nodeDepth.removeAll(keepingCapacity: true); nodeIndex.removeAll(keepingCapacity: true)
        stateStacks.removeAll(keepingCapacity: true); stateIndex.removeAll(keepingCapacity: true)
        masks.removeAll()
        generation += 1
        var stacks: [Int32] = []
        for a in grammar.alternatives[grammar.root] { expand(node(a, parent: -1), into: &stacks, budget: 10_000) }
        start = intern(stacks)
    }

    // MARK: stacks

    private func node(_ pos: Int32, parent: Int32) -> Int32 {
        let key = UInt64(UInt32(bitPattern: pos)) << 32 | UInt64(UInt32(bitPattern: parent))
        if let n = nodeIndex[key] { return n }
        let n = Int32(nodePos.count)
        nodePos.append(pos); nodeParent.append(parent)
        nodeDepth.append(parent < 0 ? 1 : nodeDepth[Int(parent)] + 1)
        nodeIndex[key] = n
        return n
    }

    /// Expands references until every stack's top is a byte set (or the stack is empty: the
    /// grammar can end). `budget` bounds the work if a grammar slipped past the recursion check.
    private func expand(_ s: Int32, into out: inout [Int32], budget: Int) {
        var work = [s], left = budget
        while let s = work.popLast() {
            left -= 1
            guard left > 0 else { return }
            if s < 0 { out.append(-1); continue }
            let si = Int(s), p = Int(nodePos[si])
            switch grammar.kind[p] {
            case .bytes: out.append(s)
            case .end: work.append(nodeParent[si])
            case .ref:
                guard Int(nodeDepth[si]) < maxDepth else { continue }
                let rest = grammar.kind[p + 1] == .end ? nodeParent[si] : node(Int32(p + 1), parent: nodeParent[si])
                for a in grammar.alternatives[Int(grammar.arg[p])].reversed() { work.append(node(a, parent: rest)) }
            }
        }
    }

    private func intern(_ stacks: [Int32]) -> Int32 {
        let key = Array(Set(stacks)).sorted()
        if let s = stateIndex[key] { return s }
        let s = Int32(stateStacks.count)
        stateStacks.append(key)
        stateIndex[key] = s
        let need = (Int(s) + 1) * 256
        if need > transCapacity {
            let cap = max(need, transCapacity * 2)
            let bigger = UnsafeMutablePointer<Int32>.allocate(capacity: cap)
            bigger.update(from: trans, count: transCapacity)
            trans.deallocate()
            trans = bigger
            transCapacity = cap
        }
        (trans + Int(s) * 256).initialize(repeating: -2, count: 256)
        return s
    }

    /// The state after byte `b` (-1: the grammar cannot take it). Caller holds the lock.
    private func step(_ s: Int32, _ b: UInt8) -> Int32 {
        let t = trans[Int(s) * 256 + Int(b)]
        if t != -2 { return t }
        var out: [Int32] = []
        for st in stateStacks[Int(s)] where st >= 0 {
            let p = Int(nodePos[Int(st)])
            guard grammar.sets[Int(grammar.arg[p])].contains(b) else { continue }
            expand(node(Int32(p + 1), parent: nodeParent[Int(st)]), into: &out, budget: 10_000)
        }
        let r = out.isEmpty ? -1 : intern(out)
        trans[Int(s) * 256 + Int(b)] = r
        return r
    }

    // MARK: public, locked

    /// Starts over when the tables outgrew their bound (between tokens, never inside a walk).
    private func checkBounds() {
        if stateStacks.count > maxStates || nodePos.count > maxStates * 64 { reset() }
    }

    /// Where a matcher is: a state of some generation of the tables.
    struct Position: Sendable { var state: Int32; var generation: Int }

    /// Finds the state again after the tables started over, by replaying the matcher's bytes.
    private func resolve(_ p: inout Position, _ consumed: [UInt8]) {
        guard p.generation != generation else { return }
        var s = start
        for b in consumed where s >= 0 { s = step(s, b) }
        p = Position(state: s, generation: generation)
    }

    /// The state after `bytes` (state -1 if the grammar refuses them).
    func advance(_ p: inout Position, consumed: [UInt8], bytes: [UInt8]) -> Int32 {
        lock.lock(); defer { lock.unlock() }
        checkBounds()
        resolve(&p, consumed)
        var s = p.state
        for b in bytes where s >= 0 { s = step(s, b) }
        return s
    }

    /// Whether the grammar can end here, and whether any byte can follow.
    func status(_ p: inout Position, consumed: [UInt8]) -> (accepting: Bool, canContinue: Bool) {
        lock.lock(); defer { lock.unlock() }
        resolve(&p, consumed)
        let st = stateStacks[Int(p.state)]
        return (st.first == -1, st.contains { $0 >= 0 })
    }

    func mask(_ p: inout Position, consumed: [UInt8]) -> [UInt64] {
        lock.lock(); defer { lock.unlock() }
        resolve(&p, consumed)
        return mask(p.state)
    }

    /// Bits over the vocabulary: the tokens whose bytes the grammar accepts from state `s`.
    private func mask(_ s: Int32) -> [UInt64] {
        if let m = masks[s] { return m }
        let v = vocabulary
        var bits = [UInt64](repeating: 0, count: (v.size + 63) / 64)
        var stateAt = [Int32](repeating: 0, count: v.maxDepth + 1)
        stateAt[0] = s
        var at = 0
        v.byte.withUnsafeBufferPointer { byte in
            v.depth.withUnsafeBufferPointer { depth in
                v.skip.withUnsafeBufferPointer { skip in
                    v.tokStart.withUnsafeBufferPointer { tokStart in
                        v.tokens.withUnsafeBufferPointer { tokens in
                            bits.withUnsafeMutableBufferPointer { bits in
                                while true {
                                    let r = smol_grammar_walk(byte.baseAddress, depth.baseAddress, skip.baseAddress, tokStart.baseAddress,
                                                              tokens.baseAddress, byte.count, trans, &stateAt, at, bits.baseAddress)
                                    if r < 0 { break }
                                    let i = Int(r)
                                    _ = step(stateAt[Int(depth[i]) - 1], byte[i])
                                    at = i
                                }
                            }
                        }
                    }
                }
            }
        }
        if masks.count >= maxMasks { masks.removeAll() }
        masks[s] = bits
        return bits
    }

    public var stateCount: Int { lock.lock(); defer { lock.unlock() }; return stateStacks.count }
}

/// One sequence's position in a grammar: the automaton's state plus the bytes it consumed
/// (to find its state again if the automaton started over).
public struct GrammarMatcher: Sendable {
    public let automaton: GrammarAutomaton
    private var pos: GrammarAutomaton.Position
    public private(set) var consumed: [UInt8] = []

    public init(_ automaton: GrammarAutomaton) {
        self.automaton = automaton
        pos = .init(state: -1, generation: -1)  // resolved (from the start state) on first use
    }

    /// Consumes bytes; false (and no change) if the grammar refuses them.
    @discardableResult
    public mutating func accept(_ bytes: [UInt8]) -> Bool {
        let s = automaton.advance(&pos, consumed: consumed, bytes: bytes)
        guard s >= 0 else { return false }
        pos.state = s
        consumed += bytes
        return true
    }

    /// Whether `bytes` as a whole could come next.
    public mutating func allows(_ bytes: [UInt8]) -> Bool { automaton.advance(&pos, consumed: consumed, bytes: bytes) >= 0 }
    /// The grammar could end here.
    public mutating func isAccepting() -> Bool { automaton.status(&pos, consumed: consumed).accepting }
    /// Some byte could follow.
    public mutating func canContinue() -> Bool { automaton.status(&pos, consumed: consumed).canContinue }
    /// The tokens that can come next, as bits over the vocabulary.
    public mutating func mask() -> [UInt64] { automaton.mask(&pos, consumed: consumed) }
}
