import Foundation
import SmolRuntime

public struct MMLUItemResult: Sendable {
    public let id: Int
    public let topic: String
    public let prompt: String
    public let logprobs: [Double]  // A, B, C, D
    public let prediction: Int
    public let gold: Int
    public let promptTokens: Int
    public let cachedTokens: Int
    public var correct: Bool { prediction == gold }
}

/// Scores items by the next-token log-probabilities of the four answer letters (no
/// generation). Items run grouped by subject so the shared few-shot prefix stays in the KV
/// cache: each item prefills only what follows the longest cached prefix.
public final class MMLUEvaluator {
    public let model: SmolModel
    public let shots: Int
    /// Through the chat template (instruct models); letters then carry no leading space.
    public let chat: Bool
    public let choiceIds: [Int]
    let cache: KVCache

    public init(model: SmolModel, shots: Int, chat: Bool, context: Int = 4096) throws {
        self.model = model
        self.shots = shots
        self.chat = chat
        let letters = MMLUPrompt.letters.map { chat ? $0 : " " + $0 }
        choiceIds = try letters.map { l in
            let ids = try model.tokenizer.encode(l, addSpecialTokens: false)
            guard ids.count == 1 else { throw EvalError.badChoiceTokens("'\(l)' -> \(ids)") }
            return ids[0]
        }
        if chat && model.prompt == nil { throw ChatError.noChatTemplate(directory: model.directory) }
        cache = model.model.makeCache(capacity: min(context, model.config.maxPositionEmbeddings))
    }

    public func prompt(for item: MMLUItem, bySubject: [String: [MMLUItem]]) throws -> String {
        let text = MMLUPrompt.prompt(item, shots: MMLUPrompt.shots(for: item, k: shots, bySubject: bySubject))
        guard chat, let builder = model.prompt else { return text }
        var o = PromptOptions()
        o.enableThinking = false  // SmolLM3: answer directly (/no_think)
        return try builder.render([.user(text)], options: o)
    }

    public func evaluate(_ item: MMLUItem, bySubject: [String: [MMLUItem]]) throws -> MMLUItemResult {
        let text = try prompt(for: item, bySubject: bySubject)
        let ids = try model.tokenizer.encode(text, addSpecialTokens: !chat)
        guard ids.count <= cache.capacity else { throw GenerationError.promptTooLong(tokens: ids.count, context: cache.capacity) }
        let reuse = min(cache.commonPrefix(with: ids), ids.count - 1)
        cache.truncate(to: reuse)
        let logits = try model.model.forward(Array(ids[reuse...]), cache: cache, eachPosition: nil)
        // log-softmax in double over the whole vocabulary.
        var mx = -Double.infinity
        for v in logits { mx = max(mx, Double(v)) }
        var sum = 0.0
        for v in logits { sum += exp(Double(v) - mx) }
        guard sum.isFinite, mx.isFinite else { throw ModelError.nonFiniteLogits(position: ids.count - 1) }
        let lse = mx + log(sum)
        let lp = choiceIds.map { Double(logits[$0]) - lse }
        var best = 0
        for i in 1..<4 where lp[i] > lp[best] { best = i }
        return MMLUItemResult(id: item.id, topic: item.topic, prompt: text, logprobs: lp, prediction: best,
                              gold: item.gold, promptTokens: ids.count, cachedTokens: reuse)
    }
}
