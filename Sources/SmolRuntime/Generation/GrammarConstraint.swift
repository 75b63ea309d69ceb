import CSmolGrammar
import Dispatch
import SmolGrammar

/// Where a grammar applies in a reply.
public enum ConstraintScope: Sendable, Equatable {
    /// The whole reply; a leading `<think>...</think>` block is left free when `allowThinking`.
    case reply(allowThinking: Bool)
    /// Free text until the reply ends with `trigger` (SmolLM3's `<tool_call>`), then the grammar,
    /// which ends the region (its closing tag included). Then free text again, or only
    /// end-of-sequence when `repeatable` is false. `startInside`: the prompt already ends with
    /// the trigger (a forced tool call). Triggers inside a think block are ignored.
    case region(trigger: String, repeatable: Bool, startInside: Bool)
}

/// What a request asks to constrain: a compiled grammar (its automaton, shared and cached), and
/// where it applies. Makes the per-sequence processor.
public struct GrammarConstraintSpec: Sendable {
    public var automaton: GrammarAutomaton
    public var scope: ConstraintScope
    public var eosTokenIds: Set<Int>

    public init(automaton: GrammarAutomaton, scope: ConstraintScope, eosTokenIds: Set<Int>) {
        self.automaton = automaton
        self.scope = scope
        self.eosTokenIds = eosTokenIds
    }

    public var factory: LogitsProcessorFactory { { GrammarConstraint(self) } }
}

/// The logits processor for a grammar: masks every token whose bytes cannot continue the
/// grammar; end-of-sequence only where the grammar can end.
public final class GrammarConstraint: LogitsProcessor, @unchecked Sendable {
    enum Mode { case free, thinking, grammar, endOnly }
    public let spec: GrammarConstraintSpec
    let vocab: TokenVocabulary
    private var mode: Mode
    private var matcher: GrammarMatcher
    /// The last bytes of free text, to spot the trigger and think tags.
    private var tail: [UInt8] = []
    private var inThink = false
    private var produced = 0
    private let thinkOpen = Array("<think>".utf8), thinkClose = Array("</think>".utf8)
    private let trigger: [UInt8]
    /// Seconds spent computing and applying masks and advancing the parse (the benchmark
    /// reports it).
    public private(set) var maskSeconds = 0.0

    public init(_ spec: GrammarConstraintSpec) {
        self.spec = spec
        vocab = spec.automaton.vocabulary
        matcher = GrammarMatcher(spec.automaton)
        switch spec.scope {
        case .reply: mode = .grammar; trigger = []
        case let .region(t, _, startInside): mode = startInside ? .grammar : .free; trigger = Array(t.utf8)
        }
    }

    public func process(_ logits: UnsafeMutableBufferPointer<Float>) throws {
        switch mode {
        case .free, .thinking: return
        case .endOnly:
            for i in 0..<logits.count where !spec.eosTokenIds.contains(i) { logits[i] = -.infinity }
            return
        case .grammar: break
        }
        let t0 = DispatchTime.now().uptimeNanoseconds
        // Tokens the grammar does not decide: end-of-sequence where the grammar can end, and
        // before the first token a think block's opening (SmolLM3 thinks first).
        var keep: Set<Int> = matcher.isAccepting() ? spec.eosTokenIds.filter { $0 < logits.count } : []
        if case .reply(true) = spec.scope, produced == 0 { keep.formUnion(thinkTokens().filter { $0 < logits.count }) }
        let saved = keep.map { ($0, logits[$0]) }
        let bits = matcher.mask()
        let n = min(logits.count, vocab.size)
        bits.withUnsafeBufferPointer { smol_grammar_apply_mask(logits.baseAddress, $0.baseAddress, n) }
        for i in n..<logits.count { logits[i] = -.infinity }
        for (id, v) in saved { logits[id] = v }
        maskSeconds += Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
        if !logits.contains(where: { $0 > -.infinity }) { throw ConstraintError.deadEnd(position: produced) }
    }

    private var thinkIds: Set<Int>? = nil
    private func thinkTokens() -> Set<Int> {
        if thinkIds == nil { thinkIds = Set((0..<vocab.size).filter { vocab.tokenBytes[$0] == thinkOpen }) }
        return thinkIds!
    }

    public func accept(_ token: Int) throws {
        let t0 = DispatchTime.now().uptimeNanoseconds
        defer {
            produced += 1
            maskSeconds += Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
        }
        if spec.eosTokenIds.contains(token) { return }
        let bytes = token < vocab.size ? vocab.tokenBytes[token] : []
        switch mode {
        case .endOnly: return
        case .grammar:
            if case .reply(true) = spec.scope, produced == 0, bytes == thinkOpen {
                mode = .thinking; tail = bytes; return
            }
            guard matcher.accept(bytes) else { throw ConstraintError.tokenRefused(token: token) }
            if !matcher.canContinue() {
                // The region is complete (its closing tag included).
                if case let .region(_, repeatable, _) = spec.scope {
                    mode = repeatable ? .free : .endOnly
                    matcher = GrammarMatcher(spec.automaton)
                    tail = []
                } else {
                    mode = .endOnly
                }
            }
        case .thinking:
            feedTail(bytes)
            if tail.ends(with: thinkClose) { mode = .grammar; tail = [] }
        case .free:
            feedTail(bytes)
            if tail.ends(with: thinkOpen) { inThink = true }
            if tail.ends(with: thinkClose) { inThink = false }
            if !inThink && !trigger.isEmpty, let at = tail.lastRange(of: trigger) {
                // Bytes of this token after the trigger belong to the region.
                let after = Array(tail[at.upperBound...])
                mode = .grammar
                tail = []
                if !after.isEmpty && !matcher.accept(after) { mode = .free }
            }
        }
    }

    private func feedTail(_ bytes: [UInt8]) {
        tail += bytes
        if tail.count > 64 { tail.removeFirst(tail.count - 64) }
    }
}

extension Array where Element == UInt8 {
    func ends(with s: [UInt8]) -> Bool { count >= s.count && Array(self[(count - s.count)...]) == s }
    func lastRange(of s: [UInt8]) -> Range<Int>? {
        guard count >= s.count, !s.isEmpty else { return nil }
        for i in stride(from: count - s.count, through: 0, by: -1) where Array(self[i..<(i + s.count)]) == s { return i..<(i + s.count) }
        return nil
    }
}
