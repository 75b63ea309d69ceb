import Foundation
import SmolWeights
import Testing
@testable import SmolRuntime

/// Logits at every position and greedy continuations against transformers (float32, eager),
/// for tiny random-weight checkpoints made by scripts/make_fixtures.py.
@Suite struct ReferenceLogitsTests {
    static let cases = [
        "smollm3_tied_f32", "smollm3_untied_bf16", "smollm3_yarn_f16",
        "llama_tied_f32", "llama_sharded_bf16", "smollm3_classic_config",
    ]

    @Test(arguments: cases)
    func logitsMatchTransformers(_ name: String) throws {
        let dir = FixturePaths.model(name)
        let model = try ModelLoader.loadModel(directory: dir, threads: 2, precision: .f32, kvType: .f32)
        let ref = try SafeTensorsFile(path: dir + "/reference.safetensors")
        let ids = try #require(ref.tensor("input_ids")?.toInts())
        let expected = try #require(ref.tensor("logits")?.toFloats())
        let vocab = model.config.vocabSize
        #expect(expected.count == ids.count * vocab)
        let cache = model.makeCache(capacity: 128)
        var maxDiff: Float = 0
        _ = try model.forward(ids, cache: cache) { pos, row in
            for j in 0..<vocab { maxDiff = max(maxDiff, abs(row[j] - expected[pos * vocab + j])) }
        }
        #expect(maxDiff < 1e-3, "max |logit diff| = \(maxDiff)")
    }

    @Test(arguments: cases)
    func greedyMatchesTransformers(_ name: String) throws {
        let dir = FixturePaths.model(name)
        let model = try ModelLoader.loadModel(directory: dir, threads: 2, precision: .f32, kvType: .f32)
        let ref = try SafeTensorsFile(path: dir + "/reference.safetensors")
        let ids = try #require(ref.tensor("input_ids")?.toInts())
        let greedy = try #require(ref.tensor("greedy_ids")?.toInts())
        let cache = model.makeCache(capacity: 128)
        var logits = try model.forward(ids, cache: cache, eachPosition: nil)
        var out: [Int] = []
        for _ in 0..<greedy.count {
            let next = logits.indices.max { logits[$0] < logits[$1] }!
            out.append(next)
            logits = try model.forward([next], cache: cache, eachPosition: nil)
        }
        #expect(out == greedy)
    }

    /// Decoding one token at a time must give the same logits as one batched prefill.
    @Test func incrementalMatchesBatched() throws {
        let dir = FixturePaths.model("smollm3_untied_bf16")
        let model = try ModelLoader.loadModel(directory: dir, threads: 2, precision: .f32, kvType: .f32)
        let ids = Array(0..<20).map { ($0 * 37) % model.config.vocabSize }
        let a = model.makeCache(capacity: 64), b = model.makeCache(capacity: 64)
        let batched = Array(try model.forward(ids, cache: a, eachPosition: nil))
        var last: [Float] = []
        for id in ids { last = Array(try model.forward([id], cache: b, eachPosition: nil)) }
        let diff = zip(batched, last).map { abs($0 - $1) }.max()!
        #expect(diff < 1e-4)
    }
}
