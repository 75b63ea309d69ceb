import Foundation
import SmolRuntime

public struct GSM8KItemResult: Sendable {
    public let id: Int
    public let prompt: String
    public let text: String
    public let generatedIds: [Int]
    public let extracted: String?
    public let gold: String
    public let promptTokens: Int
    public let cachedTokens: Int
    public let decodeSeconds: Double
    public var correct: Bool { extracted == gold }
}

/// Chain-of-thought GSM8K: k fixed exemplars from the train set (or 0-shot through the chat
/// template), greedy generation up to a limit with stop strings, then answer extraction.
public final class GSM8KEvaluator {
    public let model: SmolModel
    public let exemplars: [GSM8KItem]
    public let chat: Bool
    public let maxTokens: Int
    let cache: KVCache

    public init(model: SmolModel, exemplars: [GSM8KItem], chat: Bool, maxTokens: Int, context: Int = 4096) throws {
        self.model = model
        self.exemplars = exemplars
        self.chat = chat
        self.maxTokens = maxTokens
        if chat && model.prompt == nil { throw ChatError.noChatTemplate(directory: model.directory) }
        cache = model.model.makeCache(capacity: min(context, model.config.maxPositionEmbeddings))
    }

    public func prompt(for item: GSM8KItem) throws -> String {
        guard chat, let builder = model.prompt else { return GSM8KPrompt.prompt(item, exemplars: exemplars) }
        var o = PromptOptions()
        o.enableThinking = false
        return try builder.render([.user(GSM8KPrompt.chatInstruction(item))], options: o)
    }

    public func evaluate(_ item: GSM8KItem) throws -> GSM8KItemResult {
        let text = try prompt(for: item)
        let ids = try model.tokenizer.encode(text, addSpecialTokens: !chat)
        var req = GenerationRequest(promptIds: ids, maxTokens: maxTokens, sampling: SamplingParameters(), eosTokenIds: model.eosTokenIds)
        if !chat { req.stopStrings = GSM8KPrompt.stopStrings }
        let s = try model.generator.run(req, cache: cache)
        return GSM8KItemResult(id: item.id, prompt: text, text: s.text, generatedIds: s.tokens,
                               extracted: AnswerExtraction.extract(s.text), gold: item.gold,
                               promptTokens: ids.count, cachedTokens: s.cachedPromptTokens, decodeSeconds: s.decodeSeconds)
    }
}
