import SmolJSON
import SmolRuntime

/// Reads an Anthropic messages body into the shared chat job.
enum AnthropicRequest {
    static func parse(_ body: JSONValue, limits: ServerLimits) throws(APIError) -> (model: String, job: ChatJob) {
        let (root, model) = try Field.requestRoot(body)
        var job = ChatJob()
        // Anthropic models think only when asked.
        job.enableThinking = false
        if let s = root["system"] {
            let text: String
            switch s.value {
            case let .string(t): text = t
            case .array: text = try s.array().map { b throws(APIError) in try textBlock(b) }.joined(separator: "\n")
            default: throw .invalid(s.path, "expected a string or an array of text blocks, got \(s.kind)")
            }
            job.messages.append(.system(text))
        }
        guard let msgs = root["messages"] else { throw .missing("messages") }
        let list = try msgs.array()
        guard !list.isEmpty else { throw .invalid("messages", "must contain at least one message") }
        for m in list { job.messages += try messages(m, job: &job, limits: limits) }

        if let t = root["tools"] {
            for tool in try t.array() {
                _ = try tool.object()
                guard let name = tool["name"] else { throw .missing("\(tool.path).name") }
                guard !(try name.string()).isEmpty else { throw .invalid(name.path, "must not be empty") }
                guard let schema = tool["input_schema"] else {
                    throw .invalid(tool.path, "only custom tools with an input_schema are supported (server tools are not)")
                }
                _ = try schema.object()
                var fn: [(String, JSONValue)] = [("name", name.value)]
                if let d = tool["description"] { fn.append(("description", .string(try d.string()))) }
                fn.append(("parameters", schema.value))
                job.tools.append(["type": "function", "function": .object(fn)])
            }
        }
        if let c = root["tool_choice"] {
            guard let type = c["type"] else { throw .missing("tool_choice.type") }
            switch try type.string() {
            case "auto": job.toolChoice = .auto
            case "any": job.toolChoice = .required
            case "none": job.toolChoice = .none
            case "tool":
                guard let n = c["name"] else { throw .missing("tool_choice.name") }
                job.toolChoice = .function(try n.string())
            default: throw .invalid("tool_choice.type", "expected auto, any, tool or none")
            }
            if let d = c["disable_parallel_tool_use"], try d.bool() { job.parallelToolCalls = false }
        }
        if let v = root["max_tokens"] {
            let n = try v.int()
            guard n >= 1 else { throw .invalid("max_tokens", "must be at least 1, got \(n)") }
            job.maxTokens = n
        }
        if let v = root["temperature"] { job.temperature = try v.double(in: 0...1) }
        if let v = root["top_p"] { job.topP = try v.double(in: 0...1) }
        if let v = root["top_k"] { job.topK = try v.int() }
        if let v = root["stop_sequences"] {
            job.stop = try v.array().map { f throws(APIError) in try f.string() }
            guard job.stop.count <= 16 else { throw .invalid("stop_sequences", "at most 16 stop sequences") }
        }
        if let v = root["stream"] { job.stream = try v.bool() }
        if let th = root["thinking"] {
            guard let type = th["type"] else { throw .missing("thinking.type") }
            switch try type.string() {
            case "enabled", "adaptive": job.enableThinking = true
            case "disabled": job.enableThinking = false
            default: throw .invalid("thinking.type", "expected enabled or disabled")
            }
        }
        return (model, job)
    }

    private static func textBlock(_ b: Field) throws(APIError) -> String {
        _ = try b.object()
        guard let t = b["type"], try t.string() == "text", let text = b["text"] else {
            throw .invalid(b.path, "expected a text block {\"type\": \"text\", \"text\": ...}")
        }
        return try text.string()
    }

    /// One Anthropic message can become several chat messages: tool results are their own turns.
    private static func messages(_ m: Field, job: inout ChatJob, limits: ServerLimits) throws(APIError) -> [ChatMessage] {
        _ = try m.object()
        guard let roleField = m["role"] else { throw .missing("\(m.path).role") }
        let role = try roleField.string()
        guard role == "user" || role == "assistant" else {
            throw .invalid(roleField.path, "expected user or assistant, got '\(role)'")
        }
        guard let c = m["content"] else { throw .missing("\(m.path).content") }
        if case let .string(s) = c.value { return [ChatMessage(role: role, text: s)] }
        var out: [ChatMessage] = []
        var parts: [ContentPart] = []
        var reasoning = ""
        var calls: [ToolCall] = []
        for b in try c.array() {
            _ = try b.object()
            guard let typeField = b["type"] else { throw .missing("\(b.path).type") }
            switch try typeField.string() {
            case "text":
                guard let t = b["text"] else { throw .missing("\(b.path).text") }
                parts.append(.text(try t.string()))
            case "image":
                guard role == "user" else { throw .invalid(typeField.path, "images are only accepted in user messages") }
                parts.append(.image(path: try image(b, job: &job, limits: limits)))
            case "thinking":
                if let t = b["thinking"] { reasoning += try t.string() }
            case "redacted_thinking":
                continue
            case "tool_use":
                guard role == "assistant" else { throw .invalid(typeField.path, "tool_use blocks belong in assistant messages") }
                guard let name = b["name"] else { throw .missing("\(b.path).name") }
                guard let id = b["id"] else { throw .missing("\(b.path).id") }
                let input = b["input"]?.value ?? .object([])
                guard case .object = input else { throw .invalid("\(b.path).input", "expected an object") }
                calls.append(ToolCall(id: try id.string(), name: try name.string(), arguments: input.serialized))
            case "tool_result":
                guard role == "user" else { throw .invalid(typeField.path, "tool_result blocks belong in user messages") }
                guard let id = b["tool_use_id"] else { throw .missing("\(b.path).tool_use_id") }
                var text = ""
                if let rc = b["content"] {
                    switch rc.value {
                    case let .string(s): text = s
                    case .array:
                        for part in try rc.array() {
                            guard let pt = part["type"] else { throw .missing("\(part.path).type") }
                            switch try pt.string() {
                            case "text": text += try part["text"]?.string() ?? ""
                            case "image": _ = try image(part, job: &job, limits: limits)
                            default: throw .invalid(pt.path, "expected text or image")
                            }
                        }
                    default: throw .invalid(rc.path, "expected a string or an array of blocks, got \(rc.kind)")
                    }
                }
                if let e = b["is_error"], try e.bool() { text = "Error: " + text }
                var msg = ChatMessage(role: "tool", text: text)
                msg.toolCallId = try id.string()
                out.append(msg)
            default:
                throw .invalid(typeField.path, "unsupported content block type '\(try typeField.string())'")
            }
        }
        if !parts.isEmpty || !calls.isEmpty || (out.isEmpty && role == "user") || role == "assistant" {
            var msg = ChatMessage.fromParts(role: role, parts, textSeparator: "\n")
            msg.toolCalls = calls
            if !reasoning.isEmpty { msg.reasoning = reasoning }
            out.append(msg)
        }
        return out
    }

    private static func image(_ b: Field, job: inout ChatJob, limits: ServerLimits) throws(APIError) -> String {
        guard let src = b["source"] else { throw .missing("\(b.path).source") }
        guard let type = src["type"] else { throw .missing("\(src.path).type") }
        let uri: String
        switch try type.string() {
        case "base64":
            guard let mt = src["media_type"] else { throw .missing("\(src.path).media_type") }
            guard let data = src["data"] else { throw .missing("\(src.path).data") }
            uri = "data:\(try mt.string());base64,\(try data.string())"
        case "url":
            uri = try src["url"]?.string() ?? ""
        default: throw .invalid(type.path, "expected base64 or url")
        }
        try ImageURL.check(uri, field: "\(src.path)", limits: limits)
        if job.firstImageField == nil { job.firstImageField = src.path }
        return uri
    }
}
