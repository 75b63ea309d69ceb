import Foundation
import Testing
@testable import SmolRuntime

/// A model whose logits are scripted: generation logic is tested without weights.
final class ScriptedModel: LanguageModel, @unchecked Sendable {
    let config: TransformerConfig
    var next: (Int) -> [Float]  // position -> logits
    private var buffer: [Float]

    init(vocab: Int = 8, next: @escaping (Int) -> [Float]) {
        config = TransformerConfig(modelType: "stub", vocabSize: vocab, hiddenSize: 4, intermediateSize: 4, numLayers: 1,
                                   numHeads: 1, numKVHeads: 1, headDim: 4, rmsNormEps: 1e-6, maxPositionEmbeddings: 64,
                                   tieWordEmbeddings: true, useRope: [true], rope: RopeConfig(theta: 1e4, scaling: .none),
                                   bosTokenId: nil, eosTokenIds: [], padTokenId: nil)
        self.next = next
        buffer = [Float](repeating: 0, count: vocab)
    }

    func makeCache(capacity: Int?) -> KVCache { KVCache(config: config, capacity: capacity ?? 64) }

    var prefilled: [[Int]] = []

    func forward(_ tokens: [Int], cache: KVCache, eachPosition: ((Int, UnsafeBufferPointer<Float>) throws -> Void)?) throws -> UnsafeBufferPointer<Float> {
        prefilled.append(tokens)
        cache.count += tokens.count
        cache.tokens += tokens
        buffer = next(cache.count - 1)
        return buffer.withUnsafeBufferPointer { UnsafeBufferPointer(start: UnsafeMutablePointer(mutating: $0.baseAddress), count: $0.count) }
    }
}

func oneHot(_ i: Int, _ n: Int = 8, _ v: Float = 10) -> [Float] { (0..<n).map { $0 == i ? v : 0 } }

@Suite struct SamplerTests {
    func logits(_ v: [Float]) -> UnsafeBufferPointer<Float> {
        let p = UnsafeMutablePointer<Float>.allocate(capacity: v.count)
        p.initialize(from: v, count: v.count)
        return UnsafeBufferPointer(start: p, count: v.count)
    }

    @Test func greedyPicksArgmax() {
        var seen = Set<Int>()
        let s = Sampler(params: SamplingParameters(), vocabSize: 4)
        #expect(s.sample(logits([1, 5, 3, 2]), history: [], seen: &seen) == 1)
    }

    @Test func topKThresholdEqualsASortedVocabularysKth() {
        // The heap selection must give the descending sort's element k-1, ties and masked
        // (-inf) logits included.
        var g = SystemRandomNumberGenerator()
        var heap: [Float] = []
        for trial in 0..<200 {
            let n = Int.random(in: 1...300, using: &g)
            let k = Int.random(in: 1...n, using: &g)
            let w: [Float] = (0..<n).map { _ in
                switch Int.random(in: 0..<4, using: &g) {
                case 0: return -.infinity
                case 1: return Float(Int.random(in: -3...3, using: &g))  // many ties
                default: return Float.random(in: -10...10, using: &g)
                }
            }
            #expect(Sampler.kthLargest(w, n: n, k: k, heap: &heap) == w.sorted(by: >)[k - 1], "trial \(trial): n \(n) k \(k)")
        }
    }

    @Test func repetitionPenaltyAsTransformers() {
        var p = SamplingParameters()
        p.repetitionPenalty = 2
        var seen: Set<Int> = [1]
        // 5 / 2 = 2.5 < 3: token 2 wins; a negative logit would be multiplied instead.
        #expect(Sampler(params: p, vocabSize: 4).sample(logits([1, 5, 3, 2]), history: [1], seen: &seen) == 2)
        var seen2: Set<Int> = [0]
        #expect(Sampler(params: p, vocabSize: 3).sample(logits([-1, -1.5, -3]), history: [0], seen: &seen2) == 1)
    }

    @Test func frequencyAndPresencePenaltiesCountGeneratedTokensOnly() {
        var p = SamplingParameters()
        p.frequencyPenalty = 1.0
        var seen = Set<Int>()
        let s = Sampler(params: p, vocabSize: 3)
        // The prompt (history) alone does not penalise.
        #expect(s.sample(logits([3, 2.5, 0]), history: [0, 0, 0], seen: &seen) == 0)
        s.accept(0)
        #expect(s.sample(logits([3, 2.5, 0]), history: [0, 0, 0, 0], seen: &seen) == 1)
        var q = SamplingParameters()
        q.presencePenalty = 0.2
        let t = Sampler(params: q, vocabSize: 3)
        t.accept(0); t.accept(0)
        // Presence counts once: 3 - 0.2 > 2.5.
        #expect(t.sample(logits([3, 2.5, 0]), history: [], seen: &seen) == 0)
        q.presencePenalty = 3
        #expect(throws: GenerationError.self) { try q.validate() }
    }

    @Test func sameSeedSameDraws() {
        var p = SamplingParameters()
        p.doSample = true
        p.topK = 0
        p.seed = 42
        let l = logits((0..<50).map { Float($0 % 7) * 0.3 })
        func draws() -> [Int] {
            let s = Sampler(params: p, vocabSize: 50)
            var seen = Set<Int>()
            return (0..<40).map { _ in s.sample(l, history: [], seen: &seen) }
        }
        let a = draws(), b = draws()
        #expect(a == b)
        #expect(Set(a).count > 3)
    }

    @Test func topKTopPMinPRestrictCandidates() {
        var seen = Set<Int>()
        // probs ~ [0.64, 0.24, 0.09, 0.03]
        let l = logits([3, 2, 1, 0])
        var p = SamplingParameters()
        p.doSample = true
        p.topK = 1
        for seed in 0..<20 {
            p.seed = UInt64(seed)
            #expect(Sampler(params: p, vocabSize: 4).sample(l, history: [], seen: &seen) == 0)
        }
        p.topK = 0
        p.topP = 0.8  // keeps tokens 0 and 1
        var drawn = Set<Int>()
        for seed in 0..<200 { p.seed = UInt64(seed); drawn.insert(Sampler(params: p, vocabSize: 4).sample(l, history: [], seen: &seen)) }
        #expect(drawn == [0, 1])
        p.topP = 1
        p.minP = 0.3  // threshold 0.19: tokens 0 and 1
        drawn = []
        for seed in 0..<200 { p.seed = UInt64(seed); drawn.insert(Sampler(params: p, vocabSize: 4).sample(l, history: [], seen: &seen)) }
        #expect(drawn == [0, 1])
    }

    @Test func invalidParametersNamed() {
        var p = SamplingParameters()
        p.temperature = .nan
        #expect(throws: GenerationError.invalidParameter(field: "temperature", reason: "must be a finite number >= 0")) { try p.validate() }
        p = SamplingParameters()
        p.topP = 0
        #expect(throws: GenerationError.self) { try p.validate() }
    }
}

@Suite struct GeneratorTests {
    @Test func stopsOnAnyEos() throws {
        let m = ScriptedModel { pos in oneHot(pos >= 4 ? 7 : 3) }
        let g = TextGenerator(model: m, tokenizer: nil)
        let out = try g.run(GenerationRequest(promptIds: [1, 2], maxTokens: 10, eosTokenIds: [6, 7]))
        #expect(out.tokens == [3, 3, 3])
        #expect(out.finishReason == .eos)
        var req = GenerationRequest(promptIds: [1, 2], maxTokens: 5, eosTokenIds: [7])
        req.ignoreEOS = true
        let all = try g.run(req)
        #expect(all.tokens.count == 5 && all.finishReason == .length)
    }

    @Test func nonFiniteLogitsStop() {
        let m = ScriptedModel { pos in pos < 3 ? oneHot(1) : [Float](repeating: .nan, count: 8) }
        let g = TextGenerator(model: m, tokenizer: nil)
        #expect(throws: ModelError.self) { try g.run(GenerationRequest(promptIds: [1, 2], maxTokens: 10)) }
    }

    @Test func promptLongerThanContext() {
        let m = ScriptedModel { _ in oneHot(1) }
        let g = TextGenerator(model: m, tokenizer: nil)
        #expect(throws: GenerationError.promptTooLong(tokens: 10, context: 4)) {
            try g.run(GenerationRequest(promptIds: Array(0..<10).map { $0 % 8 }, maxTokens: 1), cache: m.makeCache(capacity: 4))
        }
    }

    @Test func cachedPrefixIsNotPrefilledAgain() throws {
        let m = ScriptedModel { _ in oneHot(5) }
        let g = TextGenerator(model: m, tokenizer: nil)
        let cache = m.makeCache(capacity: 32)
        _ = try g.run(GenerationRequest(promptIds: [1, 2, 3], maxTokens: 2), cache: cache)
        m.prefilled = []
        let out = try g.run(GenerationRequest(promptIds: [1, 2, 3, 5, 5, 4], maxTokens: 1), cache: cache)
        // The cache holds the prompt and every generated token but the last (never fed back).
        #expect(out.cachedPromptTokens == 4)
        // Only the uncached tokens run, the last prompt token alone (as on a full cache hit).
        #expect(Array(m.prefilled.prefix(2)) == [[5], [4]])
    }

    /// A full cache hit and a fresh prefill run the last prompt token the same way (alone), so a
    /// seeded request gives the same result either way.
    @Test func lastPromptTokenRunsAloneWithOrWithoutCache() throws {
        let m = ScriptedModel { _ in oneHot(5) }
        let g = TextGenerator(model: m, tokenizer: nil)
        let cache = m.makeCache(capacity: 32)
        _ = try g.run(GenerationRequest(promptIds: [1, 2, 3, 4], maxTokens: 1), cache: cache)
        #expect(Array(m.prefilled.prefix(2)) == [[1, 2, 3], [4]])
        m.prefilled = []
        _ = try g.run(GenerationRequest(promptIds: [1, 2, 3, 4], maxTokens: 1), cache: cache)
        #expect(m.prefilled.first == [4])
    }

    @Test func stopStringsAreHeldBackAndCut() {
        var s = StopStringMatcher(["END"])
        #expect(s.feed("hello E") == ("hello ", false))
        #expect(s.feed("N") == ("", false))
        #expect(s.feed("Dx") == ("", true))
        var t = StopStringMatcher(["END"])
        #expect(t.feed("E") == ("", false))
        #expect(t.finish("") == "E")
    }

    @Test func streamDeliversTokensThenSummary() async throws {
        let m = ScriptedModel { pos in oneHot(pos % 5) }
        let g = TextGenerator(model: m, tokenizer: nil)
        var ids: [Int] = []
        var done: GenerationSummary?
        for try await e in g.stream(GenerationRequest(promptIds: [1], maxTokens: 6)) {
            switch e {
            case let .token(id, _): ids.append(id)
            case let .done(s): done = s
            }
        }
        #expect(ids == [0, 1, 2, 3, 4, 0])
        #expect(done?.tokens == ids)
    }
}
