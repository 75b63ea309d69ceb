import Foundation
import SmolWeights
import Testing
@testable import SmolRuntime

/// The real default model (SmolLM2-135M-Instruct, bf16) against transformers float32.
/// scripts/setup.sh fetches the model; CI runs it before the tests.
@Suite(.serialized) struct RealModelTests {
    static let model: SmolModel? = try? SmolModel(directory: FixturePaths.defaultModel, options: .exactF32)
    static let reference = FixturePaths.repoRoot + "/Tests/Fixtures/real/smollm2_135m_reference.safetensors"

    @Test(arguments: ["prompt0", "prompt1"])
    func logitsAndGreedyMatchTransformers(_ prompt: String) throws {
        let m = try #require(Self.model, "default model missing: run scripts/setup.sh")
        let ref = try SafeTensorsFile(path: Self.reference)
        let ids = try #require(ref.tensor("\(prompt).input_ids")?.toInts())
        let positions = try #require(ref.tensor("\(prompt).logits_positions")?.toInts())
        let expected = try #require(ref.tensor("\(prompt).logits")?.toFloats())
        let greedy = try #require(ref.tensor("\(prompt).greedy_ids")?.toInts())
        let vocab = m.config.vocabSize
        let cache = m.model.makeCache(capacity: 128)
        var maxDiff: Float = 0
        _ = try m.model.forward(ids, cache: cache) { pos, row in
            guard let k = positions.firstIndex(of: pos) else { return }
            for j in 0..<vocab { maxDiff = max(maxDiff, abs(row[j] - expected[k * vocab + j])) }
        }
        // bf16 weights computed in f32 on both sides (measured max diff ~8e-5).
        #expect(maxDiff < 1e-3, "max |logit diff| = \(maxDiff)")

        var req = GenerationRequest(promptIds: ids, maxTokens: 32, sampling: SamplingParameters(), eosTokenIds: [])
        req.ignoreEOS = true
        let out = try m.generator.run(req, cache: m.model.makeCache(capacity: 128))
        #expect(out.tokens == greedy)
    }

    /// What `smol generate "What is the capital of France?"` does: the model's own chat template.
    @Test func answersThroughChatTemplate() throws {
        let m = try #require(Self.model, "default model missing: run scripts/setup.sh")
        let builder = try #require(m.prompt, "the default model has a chat template")
        let prompt = try builder.render([.user("What is the capital of France?")])
        #expect(prompt.hasSuffix("<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n"))
        let ids = try m.tokenizer.encode(prompt, addSpecialTokens: false)
        let req = GenerationRequest(promptIds: ids, maxTokens: 20, sampling: SamplingParameters(), eosTokenIds: m.eosTokenIds)
        let out = try m.generator.run(req, cache: nil)
        #expect(out.text.contains("Paris"))
        #expect(out.finishReason == .eos)
        #expect(!out.text.contains("<|im_end|>"))
    }
}
