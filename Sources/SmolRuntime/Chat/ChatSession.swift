import Foundation

/// A multi-turn conversation that keeps its KV cache between turns: each turn renders the
/// whole conversation, and only the tokens after the longest cached prefix are prefilled.
public final class ChatSession: @unchecked Sendable {
    public let model: SmolModel
    public let prompt: PromptBuilder
    public private(set) var messages: [ChatMessage]
    public var options: PromptOptions
    public var sampling: SamplingParameters
    public var maxTokens: Int
    public let cache: KVCache

    public init(model: SmolModel, system: String? = nil, options: PromptOptions = .init(), contextLength: Int? = nil,
                history: [ChatMessage] = []) throws {
        guard let p = model.prompt else { throw ChatError.noChatTemplate(directory: model.directory) }
        self.model = model
        prompt = p
        messages = (system.map { [.system($0)] } ?? []) + history
        self.options = options
        sampling = model.defaults.sampling
        maxTokens = model.defaults.maxNewTokens ?? 1024
        cache = model.model.makeCache(capacity: contextLength ?? min(model.config.maxPositionEmbeddings, 8192))
    }

    /// Prompt tokens served from the cache in the last turn.
    public private(set) var lastCachedTokens = 0

    /// Sends a user message; `onText` receives text as it is generated. Returns the reply,
    /// already appended to the history (tool calls parsed out of it when present).
    @discardableResult
    public func send(_ user: ChatMessage, onText: (String) -> Bool = { _ in true }) throws -> (message: ChatMessage, summary: GenerationSummary) {
        messages.append(user)
        let text = try prompt.render(messages, options: options)
        let ids = try model.tokenizer.encode(text, addSpecialTokens: false)
        let req = GenerationRequest(promptIds: ids, maxTokens: maxTokens, sampling: sampling, eosTokenIds: model.eosTokenIds)
        let summary = try model.generator.run(req, cache: cache) { _, t in t.isEmpty ? true : onText(t) }
        lastCachedTokens = summary.cachedPromptTokens
        var reply = ChatMessage.assistant(summary.text)
        if summary.text.contains(ToolCallParser.open) {
            let (content, calls) = try ToolCallParser.parse(summary.text)
            reply = .assistant(content)
            reply.toolCalls = calls
        }
        messages.append(reply)
        return (reply, summary)
    }

    public func reset(system: String? = nil) {
        messages = system.map { [.system($0)] } ?? []
        cache.reset()
    }
}
