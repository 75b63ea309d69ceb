import SmolJSON
import SmolRuntime
import SmolVision
import SmolTemplates

/// One chat request in a form both APIs map onto: the conversation, tools, thinking and
/// sampling as the client asked, before anything model-specific.
struct ChatJob {
    enum ToolChoice: Equatable { case auto, none, required, function(String) }

    var messages: [ChatMessage] = []
    /// OpenAI-shaped tool definitions: `{"type":"function","function":{name, description, parameters}}`.
    var tools: [JSONValue] = []
    var toolChoice: ToolChoice = .auto
    /// nil: the template's default (SmolLM3 thinks unless told not to).
    var enableThinking: Bool? = nil
    var temperature: Double? = nil
    var topP: Double? = nil
    var topK: Int? = nil
    var minP: Double? = nil
    /// 1: off (llama.cpp's repeat_penalty, transformers' repetition_penalty).
    var repetitionPenalty: Double? = nil
    var seed: UInt64? = nil
    var frequencyPenalty: Double = 0
    var presencePenalty: Double = 0
    var maxTokens: Int? = nil
    var stop: [String] = []
    var stream = false
    /// Generate max_tokens tokens, past end-of-sequence (a benchmark option).
    var ignoreEOS = false
    var includeUsage = false
    /// Where the first image part was, for the error a text-only model gives.
    var firstImageField: String? = nil
    var templateExtra: [String: TemplateValue] = [:]
    var responseFormat: ResponseFormat = .text
    /// A GBNF grammar for the reply (llama-server's `grammar` field).
    var grammar: String? = nil
    /// false: at most one tool call; nil: the mode's default (see `parallelCalls`).
    var parallelToolCalls: Bool? = nil
    /// Constrain tool calls to the tools' schemas; nil: the server's default (on).
    var constrainToolCalls: Bool? = nil
    /// A prompt sent as is, without the chat template (Ollama's `raw`, /v1/completions).
    var rawPrompt: String? = nil
    /// A prompt given as token ids (/v1/completions), run as they are.
    var rawPromptIds: [Int]? = nil
    var isRaw: Bool { rawPrompt != nil || rawPromptIds != nil }
    /// The client's context limit (Ollama's `num_ctx`); the server's context caps it.
    var numCtx: Int? = nil
    /// Token ids that come before the prompt (Ollama's `context`, from an earlier /api/generate).
    var contextIds: [Int] = []
    /// Choices to generate from the one prompt (OpenAI's `n`).
    var n = 1
    static let maxChoices = 16
    /// Log-probabilities of the generated tokens with this many alternatives (0-20); nil: off.
    var logprobs: Int? = nil

    /// Several calls per reply: native templates (SmolLM3) allow them unless the client says
    /// no; the generic envelope makes one call unless asked for more, as llama-server does,
    /// since small models asked for a list tend to repeat the same call until the budget ends.
    func parallelCalls(_ mode: ToolMode) -> Bool { parallelToolCalls ?? (mode == .native) }

    var toolNames: [String] {
        tools.compactMap { t in
            if case let .string(n)? = (t["function"] ?? t)["name"] { n } else { nil }
        }
    }
}

/// A job made concrete for one model: token ids to run and how to read the reply.
struct PreparedChat {
    var request: GenerationRequest
    /// Text the reply is forced to begin with (tool_choice required / a named function);
    /// it is part of the prompt and is fed to the reply parser first.
    var forcedPrefix: String
    var parseReasoning: Bool
    var parseTools: Bool
    /// The reply is the generic tool mode's JSON envelope.
    var envelope = false
    /// The reply goes out as the model wrote it (raw prompts: no think blocks, tools or trimming).
    var verbatim = false
}

extension ChatJob {
    /// Renders the conversation with the model's template and tokenizes it.
    func prepare(for model: SmolModel, contextLength: Int, constrainByDefault: Bool = true) throws(APIError) -> PreparedChat {
        let prompt = model.prompt
        guard prompt != nil || isRaw else {
            throw APIError(status: 400, message: "the model at \(model.directory) has no chat template", code: "no_chat_template")
        }
        if let f = firstImageField, model.vision == nil {
            throw APIError(status: 400, message: "\(f): this model (\(model.config.modelType)) reads text only; images need a vision model",
                           param: f, code: "images_not_supported")
        }
        // A raw prompt is the client's own text: no template, so no think blocks or tools to read.
        let source = isRaw ? "" : prompt?.template.source ?? ""
        let templateTakesTools = source.contains("tools")
        var options = PromptOptions()
        options.enableThinking = enableThinking
        options.extra = templateExtra
        let useTools = !tools.isEmpty && toolChoice != .none && !isRaw
        if case let .function(name) = toolChoice, !toolNames.contains(name) {
            throw APIError.invalid("tool_choice", "names function '\(name)', which is not in tools")
        }
        if toolChoice == .required, tools.isEmpty {
            throw APIError.invalid("tool_choice", "is \"required\" but no tools were given")
        }
        var offered = tools
        if case let .function(name) = toolChoice {
            // The model sees only the function it must call.
            offered = tools.filter { t in (t["function"] ?? t)["name"] == .string(name) }
        }
        let mode: ToolMode = !useTools ? .off : templateTakesTools ? .native : .generic
        var conversation = messages
        switch mode {
        case .native: options.tools = offered.map(TemplateValue.init(json:))
        case .generic: conversation = genericMessages(offered: offered)
        case .off: break
        }
        var text: String
        if let raw = rawPrompt {
            text = raw
        } else if rawPromptIds != nil {
            text = ""
        } else if let prompt {
            do {
                text = try prompt.render(conversation, options: options)
            } catch {
                throw APIError(status: 400, message: "messages: the chat template failed: \(error)", param: "messages", code: "template_error")
            }
        } else {
            text = ""
        }
        // tool_choice required / a named function: the reply is made to open a call.
        let forced = mode == .native && toolChoice != .auto ? ToolCallParser.open : ""
        text += forced
        var ids: [Int]
        var tiles: [RGBImage] = []
        if let vision = model.vision, firstImageField != nil || text.contains(SmolVLMPrompt.imageToken) {
            // Images are decoded and tiled here; the encoder runs on the engine's thread.
            do {
                var media = MediaOptions()
                media.allowLocalFiles = false
                let images = try model.loadImages(messages, media: media)
                (ids, _, tiles) = try vision.tokenize(prompt: text, images: images)
            } catch let e as ImageError {
                throw APIError(status: 400, message: "messages: \(e)", param: firstImageField ?? "messages", code: "invalid_image")
            } catch {
                throw APIError(status: 400, message: "messages: \(error)", param: firstImageField ?? "messages", code: "invalid_image")
            }
        } else if let given = rawPromptIds {
            let vocab = model.config.vocabSize
            if let bad = given.firstIndex(where: { $0 < 0 || $0 >= vocab }) {
                throw APIError.invalid("prompt[\(bad)]", "token id \(given[bad]) is outside the vocabulary (0..<\(vocab))")
            }
            ids = given
        } else {
            do {
                ids = try model.tokenizer.encode(text, addSpecialTokens: rawPrompt != nil)
            } catch {
                throw APIError(status: 400, message: "messages: \(error)", param: "messages", code: "tokenizer_error")
            }
        }
        if !contextIds.isEmpty {
            guard tiles.isEmpty else { throw APIError.invalid("context", "cannot be combined with images") }
            let vocab = model.config.vocabSize
            if let bad = contextIds.firstIndex(where: { $0 < 0 || $0 >= vocab }) {
                throw APIError.invalid("context[\(bad)]", "token id \(contextIds[bad]) is outside the vocabulary (0..<\(vocab))")
            }
            ids = contextIds + ids
        }
        let contextLength = min(contextLength, numCtx ?? contextLength)
        guard ids.count < contextLength else {
            throw APIError.contextLengthExceeded(promptTokens: ids.count, context: contextLength)
        }
        var sampling = model.defaults.sampling
        if let t = temperature { sampling.temperature = Float(t); sampling.doSample = t > 0 }
        if let p = topP { sampling.topP = Float(p) }
        if let k = topK { sampling.topK = k }
        if let m = minP { sampling.minP = Float(m) }
        if let r = repetitionPenalty { sampling.repetitionPenalty = Float(r) }
        sampling.seed = seed
        sampling.frequencyPenalty = Float(frequencyPenalty)
        sampling.presencePenalty = Float(presencePenalty)
        do { try sampling.validate() } catch let e as GenerationError {
            if case let .invalidParameter(field, reason) = e { throw APIError.invalid(field, reason) }
            throw APIError(status: 400, message: "\(e)")
        } catch {
            throw APIError(status: 400, message: "\(error)")
        }
        // Clamped to what the context has left: harnesses ask for far more than a small context holds.
        let room = contextLength - ids.count
        var req = GenerationRequest(promptIds: ids, maxTokens: min(maxTokens ?? room, room), sampling: sampling,
                                    eosTokenIds: model.eosTokenIds)
        req.stopStrings = stop
        req.logprobs = logprobs
        req.ignoreEOS = ignoreEOS
        req.imageTiles = tiles
        req.vision = model.vision
        let thinks = source.contains("<think>") || source.contains("enable_thinking")
        let offeredTools = grammarTools.filter { t in offered.contains { ($0["function"] ?? $0)["name"] == .string(t.name) } }
        if let spec = try constraint(model: model, mode: mode, offered: offeredTools, forcedCall: !forced.isEmpty,
                                     allowThinking: thinks && enableThinking != false, constrainByDefault: constrainByDefault) {
            req.logitsProcessors = [spec.factory]
        }
        return PreparedChat(request: req, forcedPrefix: forced, parseReasoning: thinks && mode != .generic,
                            parseTools: mode == .native, envelope: mode == .generic, verbatim: isRaw)
    }
}

extension ChatMessage {
    /// Text-only content stays a plain string, which every template reads; anything with an
    /// image keeps its parts.
    static func fromParts(role: String, _ parts: [ContentPart], textSeparator: String) -> ChatMessage {
        var texts: [String] = []
        for p in parts {
            guard case let .text(t) = p else { return ChatMessage(role: role, parts: parts) }
            texts.append(t)
        }
        return ChatMessage(role: role, text: texts.joined(separator: textSeparator))
    }
}
