import SmolJSON
import SmolRuntime
import SmolTemplates

/// Reads an OpenAI chat-completions body. Unknown fields are ignored; a known field of the
/// wrong type or out of range is an error naming it.
enum OpenAIRequest {
    static func parse(_ body: JSONValue, limits: ServerLimits) throws(APIError) -> (model: String, job: ChatJob) {
        let (root, model) = try Field.requestRoot(body)
        var job = ChatJob()
        guard let msgs = root["messages"] else { throw .missing("messages") }
        let list = try msgs.array()
        guard !list.isEmpty else { throw .invalid("messages", "must contain at least one message") }
        for m in list { job.messages.append(try message(m, job: &job, limits: limits)) }

        if let t = root["tools"] { job.tools = try tools(t) }
        if let c = root["tool_choice"] {
            switch c.value {
            case .string("auto"): job.toolChoice = .auto
            case .string("none"): job.toolChoice = .none
            case .string("required"), .string("any"): job.toolChoice = .required
            case .object:
                guard let name = c["function"]?["name"] else { throw .missing("tool_choice.function.name") }
                job.toolChoice = .function(try name.string())
            default: throw .invalid("tool_choice", "expected \"auto\", \"none\", \"required\" or {\"type\": \"function\", \"function\": {\"name\": ...}}")
            }
        }
        if let v = root["parallel_tool_calls"] { job.parallelToolCalls = try v.bool() }
        // Extensions: constrain_tool_calls (ours), grammar and json_schema (llama-server's).
        if let v = root["constrain_tool_calls"] { job.constrainToolCalls = try v.bool() }
        if let f = root["response_format"] { job.responseFormat = try ResponseFormat.parseOpenAI(f) }
        if let v = root["json_schema"], job.responseFormat == .text {
            guard case .object = v.value else { throw .invalid("json_schema", "expected a JSON Schema object, got \(v.kind)") }
            job.responseFormat = .jsonSchema(v.value, strict: true)
        }
        try generationFields(root, into: &job)
        if let v = root["logprobs"], try v.bool() { job.logprobs = 0 }
        if let v = root["top_logprobs"], v.value != .null {
            let k = try v.int()
            guard (0...20).contains(k) else { throw .invalid("top_logprobs", "must be between 0 and 20, got \(k)") }
            guard job.logprobs != nil else { throw .invalid("top_logprobs", "needs logprobs: true") }
            job.logprobs = k
        }
        if let v = root["reasoning_effort"] {
            job.enableThinking = try v.string() != "none"
        }
        if let kw = root["chat_template_kwargs"] {
            for (k, v) in try kw.object() {
                if k == "enable_thinking" {
                    guard case let .bool(b) = v else { throw .invalid("chat_template_kwargs.enable_thinking", "expected true or false") }
                    job.enableThinking = b
                } else {
                    job.templateExtra[k] = TemplateValue(json: v)
                }
            }
        }
        if let v = root["enable_thinking"] { job.enableThinking = try v.bool() }
        return (model, job)
    }

    /// Fields chat and text completions share: grammar, sampling, length, n, stop, stream.
    static func generationFields(_ root: Field, into job: inout ChatJob) throws(APIError) {
        if let g = root["grammar"] {
            let text = try g.string()
            if !text.isEmpty {
                guard job.responseFormat == .text else { throw .invalid("grammar", "cannot be combined with response_format") }
                job.grammar = text
            }
        }
        if let v = root["temperature"] { job.temperature = try v.double(in: 0...2) }
        if let v = root["top_p"] { job.topP = try v.double(in: 0...1) }
        if let v = root["top_k"] { job.topK = try v.int() }
        // llama-server's and vLLM's sampling extensions.
        if let v = root["min_p"] { job.minP = try v.double(in: 0...1) }
        if let v = root["repetition_penalty"] ?? root["repeat_penalty"] { job.repetitionPenalty = try v.double(in: 0...10) }
        if let v = root["seed"] { job.seed = UInt64(bitPattern: Int64(try v.int())) }
        if let v = root["frequency_penalty"] { job.frequencyPenalty = try v.double(in: -2...2) }
        if let v = root["presence_penalty"] { job.presencePenalty = try v.double(in: -2...2) }
        for key in ["max_completion_tokens", "max_tokens"] {
            if let v = root[key] {
                let n = try v.int()
                guard n >= 1 else { throw .invalid(key, "must be at least 1, got \(n)") }
                job.maxTokens = n
                break
            }
        }
        if let v = root["n"] {
            let n = try v.int()
            guard (1...ChatJob.maxChoices).contains(n) else { throw .invalid("n", "must be between 1 and \(ChatJob.maxChoices), got \(n)") }
            job.n = n
        }
        if let v = root["stop"] {
            job.stop = try v.strings()
            guard job.stop.count <= 16 else { throw .invalid("stop", "at most 16 stop strings") }
        }
        if let v = root["stream"] { job.stream = try v.bool() }
        // llama-server's and vLLM's extension: generate max_tokens whatever the model says (benchmarks).
        if let v = root["ignore_eos"] { job.ignoreEOS = try v.bool() }
        if let v = root["stream_options"]?["include_usage"] { job.includeUsage = try v.bool() }
    }

    /// `{"type": "function", "function": {name, description, parameters}}` tools, checked
    /// (Ollama's API sends the same shape).
    static func tools(_ t: Field) throws(APIError) -> [JSONValue] {
        var out: [JSONValue] = []
        for (i, tool) in try t.array().enumerated() {
            _ = try tool.object()
            if let type = tool["type"], try type.string() != "function" {
                throw .invalid("tools[\(i)].type", "only \"function\" tools are supported")
            }
            guard let fn = tool["function"] else { throw .missing("tools[\(i)].function") }
            _ = try fn.object()
            guard let name = fn["name"] else { throw .missing("tools[\(i)].function.name") }
            guard !(try name.string()).isEmpty else { throw .invalid(name.path, "must not be empty") }
            if let p = fn["parameters"] { _ = try p.object() }
            out.append(tool.value)
        }
        return out
    }

    static func message(_ m: Field, job: inout ChatJob, limits: ServerLimits) throws(APIError) -> ChatMessage {
        _ = try m.object()
        guard let roleField = m["role"] else { throw .missing("\(m.path).role") }
        var role = try roleField.string()
        if role == "developer" { role = "system" }
        guard ["system", "user", "assistant", "tool"].contains(role) else {
            throw .invalid(roleField.path, "unknown role '\(role)' (expected system, developer, user, assistant or tool)")
        }
        var msg: ChatMessage
        if let c = m["content"] {
            switch c.value {
            case let .string(s): msg = ChatMessage(role: role, text: s)
            case .array:
                var parts: [ContentPart] = []
                for p in try c.array() {
                    _ = try p.object()
                    guard let typeField = p["type"] else { throw .missing("\(p.path).type") }
                    switch try typeField.string() {
                    case "text", "input_text":
                        guard let t = p["text"] else { throw .missing("\(p.path).text") }
                        parts.append(.text(try t.string()))
                    case "image_url":
                        guard let u = p["image_url"] else { throw .missing("\(p.path).image_url") }
                        let urlField: Field
                        if case .string = u.value { urlField = u } else {
                            guard let f = u["url"] else { throw .missing("\(u.path).url") }
                            urlField = f
                        }
                        let url = try urlField.string()
                        try ImageURL.check(url, field: "\(u.path).url", limits: limits)
                        if job.firstImageField == nil { job.firstImageField = "\(u.path).url" }
                        parts.append(.image(path: url))
                    default:
                        throw .invalid(typeField.path, "unsupported content part type '\(try typeField.string())' (expected text or image_url)")
                    }
                }
                msg = ChatMessage.fromParts(role: role, parts, textSeparator: "")
            default: throw .invalid(c.path, "expected a string or an array of content parts, got \(c.kind)")
            }
        } else {
            msg = ChatMessage(role: role, text: "")
        }
        if role == "assistant" {
            if let r = m["reasoning_content"] ?? m["reasoning"] { msg.reasoning = try r.string() }
            if let calls = m["tool_calls"] {
                for c in try calls.array() {
                    _ = try c.object()
                    guard let fn = c["function"] else { throw .missing("\(c.path).function") }
                    guard let name = fn["name"] else { throw .missing("\(fn.path).name") }
                    var args = "{}"
                    if let a = fn["arguments"] {
                        switch a.value {
                        case let .string(s): args = s
                        case .object: args = a.value.serialized
                        default: throw .invalid(a.path, "expected a JSON string, got \(a.kind)")
                        }
                    }
                    msg.toolCalls.append(ToolCall(id: try c["id"]?.string() ?? "call_\(msg.toolCalls.count)",
                                                  name: try name.string(), arguments: ToolArguments.normalized(args)))
                }
            }
        }
        if role == "tool" {
            msg.toolCallId = try m["tool_call_id"]?.string()
            if let e = m["is_error"], try e.bool() { msg.text = "Error: " + msg.plainText; msg.parts = nil }
        }
        if let n = m["name"] { msg.name = try n.string() }
        return msg
    }
}

enum ToolArguments {
    /// Arguments as valid JSON text for the history: what the client sent if it parses,
    /// else the text as a JSON string, so a bad history never breaks the template's JSON.
    static func normalized(_ s: String) -> String {
        if let v = try? JSONValue(parsing: s) { return v.serialized }
        return jsonQuote(s)
    }
}

/// Image references in requests: base64 data URIs only (remote URLs are not fetched).
enum ImageURL {
    static func check(_ url: String, field: String, limits: ServerLimits) throws(APIError) {
        if url.hasPrefix("http://") || url.hasPrefix("https://") {
            throw APIError(status: 400, message: "\(field): remote image URLs are not fetched; send the image as a base64 data URI",
                           param: field, code: "remote_images_disabled")
        }
        guard url.hasPrefix("data:"), let comma = url.firstIndex(of: ","), url[..<comma].hasSuffix(";base64") else {
            throw .invalid(field, "expected a data URI (data:image/png;base64,...)")
        }
        let mime = url[url.index(url.startIndex, offsetBy: 5)..<comma].dropLast(";base64".count)
        guard ["image/png", "image/jpeg", "image/jpg"].contains(mime.lowercased()) else {
            throw .invalid(field, "unsupported image type '\(mime)' (expected image/png or image/jpeg)")
        }
        let encoded = url.utf8.count - url[...comma].utf8.count
        let decoded = encoded / 4 * 3
        guard decoded <= limits.maxImageBytes else {
            throw APIError(status: 400, message: "\(field): the image is about \(decoded) bytes, over the limit of \(limits.maxImageBytes) bytes",
                           param: field, code: "image_too_large")
        }
    }
}

/// Size limits applied to requests.
public struct ServerLimits: Sendable {
    public var maxBodyBytes = 32 << 20
    public var maxImageBytes = 20 << 20
    public var maxJSONDepth = 64
    public init() {}
}
