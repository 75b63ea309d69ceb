import Foundation
import SmolJSON
import SmolRuntime

/// Reads Ollama's native API bodies (`/api/chat`, `/api/generate`) into chat jobs. Ollama
/// streams unless told `"stream": false`; images are bare base64; tool-call arguments are
/// JSON objects; sampling lives in `options`.
enum OllamaRequest {
    static func chat(_ body: JSONValue, limits: ServerLimits) throws(APIError) -> (model: String, job: ChatJob) {
        let (root, model) = try Field.requestRoot(body)
        var job = ChatJob()
        job.stream = true
        if let m = root["messages"] {
            for f in try m.array() { job.messages.append(try message(f, job: &job, limits: limits)) }
        }
        if let t = root["tools"] { job.tools = try OpenAIRequest.tools(t) }
        try common(root, into: &job)
        return (model, job)
    }

    /// `/api/generate`. An empty prompt only loads the model (Ollama's warm-up call): `loadOnly`.
    static func generate(_ body: JSONValue, limits: ServerLimits) throws(APIError) -> (model: String, job: ChatJob, loadOnly: Bool) {
        let (root, model) = try Field.requestRoot(body)
        var job = ChatJob()
        job.stream = true
        let prompt = try root["prompt"]?.string() ?? ""
        if let s = root["suffix"], !(try s.string()).isEmpty {
            throw .invalid("suffix", "fill-in-the-middle (suffix) is not supported by these models")
        }
        if let t = root["template"], !(try t.string()).isEmpty {
            throw .invalid("template", "template overrides are not supported; the model's own chat template is used (or send raw: true)")
        }
        if let c = root["context"] {
            for f in try c.array() { job.contextIds.append(try f.int()) }
        }
        var raw = false
        if let r = root["raw"] { raw = try r.bool() }
        var parts = try images(root["images"], job: &job, limits: limits)
        if raw {
            guard parts.isEmpty else { throw .invalid("images", "images need the chat template; send raw: false") }
            job.rawPrompt = prompt
        } else {
            if let s = root["system"] {
                let text = try s.string()
                if !text.isEmpty { job.messages.append(.system(text)) }
            }
            parts.append(.text(prompt))
            job.messages.append(ChatMessage.fromParts(role: "user", parts, textSeparator: ""))
        }
        try common(root, into: &job)
        return (model, job, prompt.isEmpty && parts.count <= 1)
    }

    /// Fields both endpoints share: stream, format, think, options, keep_alive.
    static func common(_ root: Field, into job: inout ChatJob) throws(APIError) {
        if let v = root["stream"] { job.stream = try v.bool() }
        if let f = root["format"] { job.responseFormat = try ResponseFormat.parseOllama(f) }
        if let t = root["think"] {
            switch t.value {
            case let .bool(b): job.enableThinking = b
            case .string("low"), .string("medium"), .string("high"): job.enableThinking = true
            default: throw .invalid(t.path, "expected true, false, \"low\", \"medium\" or \"high\"")
            }
        }
        if let k = root["keep_alive"] {
            // Accepted for compatibility: the one model stays loaded while the server runs.
            switch k.value {
            case .string, .int, .double: break
            default: throw .invalid(k.path, "expected a duration such as \"5m\" or a number of seconds")
            }
        }
        if let o = root["options"] { try options(o, into: &job) }
    }

    static func options(_ o: Field, into job: inout ChatJob) throws(APIError) {
        _ = try o.object()
        if let v = o["temperature"] { job.temperature = try v.double(in: 0...2) }
        if let v = o["top_p"] { job.topP = try v.double(in: 0...1) }
        if let v = o["top_k"] { job.topK = try v.int() }
        if let v = o["min_p"] { job.minP = try v.double(in: 0...1) }
        if let v = o["seed"] { job.seed = UInt64(bitPattern: Int64(try v.int())) }
        if let v = o["repeat_penalty"] { job.repetitionPenalty = try v.double(in: 0...10) }
        if let v = o["frequency_penalty"] { job.frequencyPenalty = try v.double(in: -2...2) }
        if let v = o["presence_penalty"] { job.presencePenalty = try v.double(in: -2...2) }
        if let v = o["num_predict"] {
            let n = try v.int()
            // -1: no limit; -2: fill the context. Both are the room the context has left.
            guard n >= 1 || n == -1 || n == -2 else { throw .invalid(v.path, "must be at least 1, or -1 (no limit) or -2 (fill the context), got \(n)") }
            job.maxTokens = n > 0 ? n : nil
        }
        if let v = o["num_ctx"] {
            let n = try v.int()
            guard n >= 1 else { throw .invalid(v.path, "must be at least 1, got \(n)") }
            job.numCtx = n
        }
        if let v = o["stop"] {
            job.stop = try v.strings()
            guard job.stop.count <= 16 else { throw .invalid(v.path, "at most 16 stop strings") }
        }
    }

    static func message(_ m: Field, job: inout ChatJob, limits: ServerLimits) throws(APIError) -> ChatMessage {
        _ = try m.object()
        guard let roleField = m["role"] else { throw .missing("\(m.path).role") }
        let role = try roleField.string()
        guard ["system", "user", "assistant", "tool"].contains(role) else {
            throw .invalid(roleField.path, "unknown role '\(role)' (expected system, user, assistant or tool)")
        }
        let text = try m["content"]?.string() ?? ""
        let parts = try images(m["images"], job: &job, limits: limits)
        var msg = parts.isEmpty ? ChatMessage(role: role, text: text) : ChatMessage(role: role, parts: parts + [.text(text)])
        if role == "assistant" {
            if let t = m["thinking"] { msg.reasoning = try t.string() }
            if let calls = m["tool_calls"] {
                for c in try calls.array() {
                    guard let fn = c["function"] else { throw .missing("\(c.path).function") }
                    guard let name = fn["name"] else { throw .missing("\(fn.path).name") }
                    var args = "{}"
                    if let a = fn["arguments"] {
                        switch a.value {
                        case .object: args = a.value.serialized
                        case let .string(s): args = ToolArguments.normalized(s)
                        default: throw .invalid(a.path, "expected an object, got \(a.kind)")
                        }
                    }
                    let id = try c["id"]?.string() ?? "call_\(msg.toolCalls.count)"
                    msg.toolCalls.append(ToolCall(id: id, name: try name.string(), arguments: args))
                }
            }
        }
        if role == "tool" {
            if let n = m["tool_name"] ?? m["name"] { msg.name = try n.string() }
            if let id = m["tool_call_id"] { msg.toolCallId = try id.string() }
        }
        return msg
    }

    /// An `images` array (bare base64) as image parts; the first one's path is kept for errors.
    static func images(_ f: Field?, job: inout ChatJob, limits: ServerLimits) throws(APIError) -> [ContentPart] {
        guard let f else { return [] }
        var parts: [ContentPart] = []
        for img in try f.array() {
            let url = try dataURI(img, limits: limits)
            if job.firstImageField == nil { job.firstImageField = img.path }
            parts.append(.image(path: url))
        }
        return parts
    }

    /// A bare base64 image as a data URI (its type from its first bytes).
    static func dataURI(_ f: Field, limits: ServerLimits) throws(APIError) -> String {
        let s = try f.string()
        if s.hasPrefix("data:") {
            try ImageURL.check(s, field: f.path, limits: limits)
            return s
        }
        let mime: String
        if s.hasPrefix("iVBORw0KGgo") { mime = "image/png" }
        else if s.hasPrefix("/9j/") { mime = "image/jpeg" }
        else { throw .invalid(f.path, "expected a base64-encoded PNG or JPEG image") }
        let url = "data:\(mime);base64," + s
        try ImageURL.check(url, field: f.path, limits: limits)
        return url
    }
}

/// Ollama's response objects.
struct OllamaResponder {
    let model: String
    let startedNanos = DispatchTime.now().uptimeNanoseconds

    static func timestamp(_ d: Date = Date()) -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return f.string(from: d)
    }

    static func toolCall(_ c: ToolCall, index: Int) -> JSONValue {
        let args = (try? JSONValue(parsing: c.arguments)) ?? .object([])
        return ["id": .string(c.id), "function": ["index": .int(Int64(index)), "name": .string(c.name), "arguments": args]]
    }

    static func doneReason(_ o: ReplyOutcome) -> String {
        if case .length = o.summary.finishReason { return "length" }
        return "stop"
    }

    /// The final object's counts and durations (nanoseconds).
    func stats(_ o: ReplyOutcome) -> [(String, JSONValue)] {
        let total = Int64(DispatchTime.now().uptimeNanoseconds - startedNanos)
        let s = o.summary
        return [
            ("done_reason", .string(Self.doneReason(o))),
            ("total_duration", .int(total)), ("load_duration", .int(0)),
            // The whole prompt, as usage: clients (and Claw Code's budget) count it as input
            // tokens; the prompt cache only shortens prompt_eval_duration.
            ("prompt_eval_count", .int(Int64(o.promptTokens))),
            ("prompt_eval_duration", .int(Int64(s.prefillSeconds * 1e9))),
            ("eval_count", .int(Int64(o.completionTokens))),
            ("eval_duration", .int(Int64(s.decodeSeconds * 1e9))),
        ]
    }

    func generateChunk(response: String, thinking: String = "", done: Bool = false) -> JSONValue {
        var o: [(String, JSONValue)] = [("model", .string(model)), ("created_at", .string(Self.timestamp())), ("response", .string(response))]
        if !thinking.isEmpty { o.append(("thinking", .string(thinking))) }
        o.append(("done", .bool(done)))
        return .object(o)
    }

    func chatChunk(content: String, thinking: String = "", calls: [JSONValue] = [], done: Bool = false) -> JSONValue {
        var msg: [(String, JSONValue)] = [("role", "assistant"), ("content", .string(content))]
        if !thinking.isEmpty { msg.append(("thinking", .string(thinking))) }
        if !calls.isEmpty { msg.append(("tool_calls", .array(calls))) }
        return .object([("model", .string(model)), ("created_at", .string(Self.timestamp())), ("message", .object(msg)), ("done", .bool(done))])
    }

    static func appending(_ v: JSONValue, _ extra: [(String, JSONValue)]) -> JSONValue {
        guard case let .object(p) = v else { return v }
        return .object(p + extra)
    }
}
