import Foundation
import Testing
@testable import SmolRuntime

/// Batched decoding (several sequences per weight read) against one sequence at a time.
@Suite(.serialized) struct BatchDecodeTests {
    /// Tiny checkpoints of each weight type, and both precisions where the CPU has bf16 dot products.
    static let cases: [(String, ComputePrecision, KVCacheType)] = [
        ("smollm3_tied_f32", .f32, .f32), ("smollm3_untied_bf16", .f32, .bf16), ("smollm3_yarn_f16", .f32, .bf16),
        ("llama_sharded_bf16", .fastest, .bf16), ("smollm3_untied_bf16", .fastest, .bf16),
    ]

    /// forwardDecode gives every sequence the same logit bits as a single-token forward, for
    /// batches below, at and above the rows of one pass.
    @Test(arguments: 0..<cases.count)
    func decodeRowsAreBitIdenticalToSingleSteps(_ k: Int) throws {
        let (name, precision, kv) = Self.cases[k]
        let model = try ModelLoader.loadModel(directory: FixturePaths.model(name), threads: 2, precision: precision, kvType: kv)
        let vocab = model.config.vocabSize
        for n in [1, 3, TransformerModel.decodeRows, TransformerModel.decodeRows + 2] {
            // Sequences at different depths, with different histories.
            let prompts = (0..<n).map { s in (0..<(3 + 5 * s)).map { ($0 * 31 + s * 7 + 1) % vocab } }
            let batched = prompts.map { _ in model.makeCache(capacity: 64) }
            let single = prompts.map { _ in model.makeCache(capacity: 64) }
            for (i, p) in prompts.enumerated() {
                _ = try model.forward(p, cache: batched[i], eachPosition: nil)
                _ = try model.forward(p, cache: single[i], eachPosition: nil)
            }
            let next = (0..<n).map { (11 * $0 + 5) % vocab }
            var rows = [[Float]](repeating: [], count: n)
            try model.forwardDecode(next, caches: batched) { i, logits in rows[i] = Array(logits) }
            for i in 0..<n {
                let alone = Array(try model.forward([next[i]], cache: single[i], eachPosition: nil))
                #expect(rows[i] == alone, "\(name) \(precision) n=\(n) row \(i): max diff \(zip(rows[i], alone).map { abs($0 - $1) }.max() ?? -1)")
                #expect(batched[i].tokens == single[i].tokens)
            }
        }
    }

    @Test func oneCacheTwiceInABatchIsAnError() throws {
        let model = try ModelLoader.loadModel(directory: FixturePaths.model("smollm3_tied_f32"), threads: 2, precision: .f32, kvType: .f32)
        let c = model.makeCache(capacity: 16)
        #expect(throws: ModelError.self) { try model.forwardDecode([1, 2], caches: [c, c]) { _, _ in } }
    }

    /// The real default model: greedy continuations of prompts of very different lengths (one
    /// longer than a prefill chunk, so it prefills while the others decode) are the same batched
    /// as alone, with the default (bf16 where available) and the exact float32 load.
    @Test(arguments: [false, true])
    func batchedGreedyEqualsUnbatchedOnTheRealModel(_ exact: Bool) throws {
        let m = try #require(try? SmolModel(directory: FixturePaths.defaultModel, options: exact ? .exactF32 : .init()),
                             "default model missing: run scripts/setup.sh")
        let texts = ["The capital of France is", "List three prime numbers:",
                     String(repeating: "Once upon a time there was a small robot who liked to count. ", count: 60),
                     "def fibonacci(n):", "Water boils at", "A haiku about autumn:\n"]
        let reqs = try texts.map { t in
            var r = GenerationRequest(promptIds: try m.tokenizer.encode(t), maxTokens: 20, sampling: SamplingParameters(), eosTokenIds: [])
            r.ignoreEOS = true
            return r
        }
        #expect(reqs[2].promptIds.count > 512)
        var streamed = [String](repeating: "", count: reqs.count)
        let batched = try m.generator.runBatch(reqs) { i, _, text in streamed[i] += text; return true }
        for (i, r) in reqs.enumerated() {
            let alone = try m.generator.run(r, cache: m.model.makeCache(capacity: 2048))
            #expect(batched[i].tokens == alone.tokens, "prompt \(i)")
            #expect(batched[i].text == alone.text)
            #expect(streamed[i] == alone.text)
            #expect(batched[i].finishReason == .length)
        }
    }
}

@Suite struct BatchSchedulingTests {
    /// A long prompt is prefilled one chunk per step while a running sequence keeps decoding.
    @Test func longPromptDoesNotStallRunningStreams() throws {
        let m = ScriptedModel(vocab: 8) { _ in oneHot(3) }
        let batch = BatchGenerator(model: m, prefillChunk: 4)
        var a = GenerationRequest(promptIds: [1, 2], maxTokens: 6)
        a.ignoreEOS = true
        var aTokens = 0
        let sa = try GenerationSequence(a, cache: m.makeCache(capacity: 64), model: m, tokenizer: nil) { _, _ in aTokens += 1; return true }
        batch.add(sa)
        batch.step()  // a: its one prompt-before-last token, then its first token
        #expect(aTokens == 1)
        let b = GenerationRequest(promptIds: Array(repeating: 1, count: 17), maxTokens: 2)
        let sb = try GenerationSequence(b, cache: m.makeCache(capacity: 64), model: m, tokenizer: nil)
        batch.add(sb)
        for step in 0..<4 {
            batch.step()
            #expect(aTokens == 2 + step, "a decodes on every step while b prefills")
            #expect(sb.prefillRemaining == max(0, 16 - 4 * (step + 1)))
        }
        // Prefill chunks of at most 4 tokens, never the whole prompt at once.
        #expect(m.prefilled.allSatisfy { $0.count <= 4 })
        _ = batch.runToEnd()
        #expect(sa.summary.tokens.count == 6 && sb.isFinished)
    }

    @Test func cancelledSequenceEndsAtItsNextStep() throws {
        let m = ScriptedModel(vocab: 8) { _ in oneHot(3) }
        let batch = BatchGenerator(model: m)
        var r = GenerationRequest(promptIds: [1, 2, 3], maxTokens: 50)
        r.ignoreEOS = true
        var n = 0
        let s = try GenerationSequence(r, cache: m.makeCache(capacity: 64), model: m, tokenizer: nil) { _, _ in n += 1; return n < 3 }
        batch.add(s)
        let ended = batch.runToEnd()
        #expect(ended.count == 1 && ended[0].error == nil)
        #expect(s.summary.finishReason == .cancelled && s.summary.tokens.count == 3)
    }
}

@Suite struct PrefixCacheTests {
    static let config = TransformerConfig(modelType: "stub", vocabSize: 64, hiddenSize: 4, intermediateSize: 4, numLayers: 2,
                                          numHeads: 2, numKVHeads: 2, headDim: 4, rmsNormEps: 1e-6, maxPositionEmbeddings: 256,
                                          tieWordEmbeddings: true, useRope: [true, true], rope: RopeConfig(theta: 1e4, scaling: .none),
                                          bosTokenId: nil, eosTokenIds: [], padTokenId: nil)

    /// Fills a cache with `tokens`, each position's K and V rows set to values derived from the token.
    static func fill(_ c: KVCache, _ tokens: [Int]) {
        let rows = c.kvHeads * c.headDim
        for (p, t) in tokens.enumerated() {
            let k = (0..<rows).map { Float(t * 100 + $0) }, v = k.map { -$0 }
            for l in 0..<c.layers { c.store(layer: l, start: p, n: 1, k: k, v: v) }
        }
        c.count = tokens.count
        c.tokens = tokens
    }

    static func pool(budgetCaches: Double) -> PrefixCache {
        let perPosition = KVCache(config: config, capacity: 1, type: .f32).bytesPerPosition
        return PrefixCache(budgetBytes: Int(budgetCaches * 100 * Double(perPosition))) { KVCache(config: config, capacity: 256, type: .f32) }
    }

    @Test func nextTurnTakesItsConversationsCache() {
        let pool = Self.pool(budgetCaches: 4)
        let first = pool.acquire(prompt: Array(0..<90), limit: 89)
        #expect(first.reused == 0)
        Self.fill(first.cache, Array(0..<100))  // prompt + reply
        pool.release(first.cache, promptTokens: 90)
        let next = pool.acquire(prompt: Array(0..<95) + [7, 7], limit: 96)
        #expect(next.cache === first.cache)
        #expect(next.reused == 95 && next.cache.count == 95)
        #expect(pool.stats.hits == 1 && pool.stats.copies == 0)
    }

    /// A conversation sharing only a system prompt gets a copy; the other keeps its history.
    @Test func sharedSystemPromptIsCopiedAndTheOwnerKeepsItsCache() {
        let pool = Self.pool(budgetCaches: 4)
        let main = pool.acquire(prompt: Array(0..<100), limit: 99).cache
        Self.fill(main, Array(0..<100))
        pool.release(main, promptTokens: 90)
        // Even when the share is most of the other conversation's prompt, that cache stays the other's.
        let sub = pool.acquire(prompt: Array(0..<60) + Array(repeating: 50, count: 20), limit: 79)
        #expect(sub.cache !== main)
        #expect(sub.reused == 60)
        let expected = KVCache(config: Self.config, capacity: 256, type: .f32)
        Self.fill(expected, Array(0..<60))
        for l in 0..<Self.config.numLayers {
            for h in 0..<2 {
                let off = h * 256 * 4 * 4
                #expect(memcmp(sub.cache.keys(layer: l) + off, expected.keys(layer: l) + off, 60 * 16) == 0)
                #expect(memcmp(sub.cache.values(layer: l) + off, expected.values(layer: l) + off, 60 * 16) == 0)
            }
        }
        // The main conversation's next turn still finds all of its history.
        let again = pool.acquire(prompt: Array(0..<100) + [1], limit: 100)
        #expect(again.cache === main && again.reused == 100)
        #expect(pool.stats.copies == 1)
    }

    @Test func leastRecentlyUsedIsEvictedUnderTheBudget() {
        let pool = Self.pool(budgetCaches: 2.5)
        var caches: [KVCache] = []
        for c in 0..<3 {
            let prompt = (0..<100).map { c * 1000 + $0 }
            let lease = pool.acquire(prompt: prompt, limit: 99)
            Self.fill(lease.cache, prompt)
            caches.append(lease.cache)
            pool.release(lease.cache)
        }
        let s = pool.stats
        #expect(s.evictions == 1 && s.entries == 2)
        #expect(s.bytes <= s.budget)
        // The oldest conversation is gone, the two recent ones remain.
        #expect(pool.acquire(prompt: Array(0..<100), limit: 99).reused == 0)
        #expect(pool.acquire(prompt: (0..<100).map { 2000 + $0 }, limit: 99).reused == 99)
    }

    @Test func failedRunsAreDropped() {
        let pool = Self.pool(budgetCaches: 4)
        let lease = pool.acquire(prompt: Array(0..<10), limit: 9)
        Self.fill(lease.cache, Array(0..<10))
        pool.release(lease.cache, keep: false)
        #expect(pool.stats.entries == 0)
        #expect(pool.acquire(prompt: Array(0..<10), limit: 9).reused == 0)
    }
}
