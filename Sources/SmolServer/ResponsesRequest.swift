import SmolJSON
import SmolRuntime

/// Reads an OpenAI Responses body (`POST /v1/responses`) into a chat job. The server is
/// stateless: `store` is accepted but nothing is kept, so `previous_response_id` is an error.
enum ResponsesRequest {
    struct Parsed {
        var model: String
        var job: ChatJob
        /// Echoed in the response object.
        var instructions: String?
        var tools: [JSONValue]
        var toolChoice: JSONValue
        var textFormat: JSONValue
        var reasoning: JSONValue
        var maxOutputTokens: Int?
        var metadata: JSONValue
    }

    static func parse(_ body: JSONValue, limits: ServerLimits) throws(APIError) -> Parsed {
        let (root, model) = try Field.requestRoot(body)
        var job = ChatJob()
        if let p = root["previous_response_id"], p.value != .null {
            throw .invalid("previous_response_id", "this server keeps no responses (store is not supported); send the whole conversation as input")
        }
        if let c = root["conversation"], c.value != .null {
            throw .invalid("conversation", "this server keeps no conversations; send the whole conversation as input")
        }
        var instructions: String? = nil
        if let i = root["instructions"], i.value != .null {
            instructions = try i.string()
            job.messages.append(.system(instructions!))
        }
        guard let input = root["input"] else { throw .missing("input") }
        switch input.value {
        case let .string(s): job.messages.append(ChatMessage(role: "user", text: s))
        case .array:
            for item in try input.array() { try add(item, to: &job, limits: limits) }
        default: throw .invalid("input", "expected a string or an array of input items, got \(input.kind)")
        }
        guard !job.messages.isEmpty else { throw .invalid("input", "must contain at least one item") }

        var tools: [JSONValue] = []
        if let t = root["tools"] {
            for (i, tool) in try t.array().enumerated() {
                _ = try tool.object()
                let type = try tool["type"]?.string() ?? "function"
                guard type == "function" else {
                    throw .invalid("tools[\(i)].type", "only function tools are supported, not '\(type)'")
                }
                guard let name = tool["name"] else { throw .missing("tools[\(i)].name") }
                guard !(try name.string()).isEmpty else { throw .invalid(name.path, "must not be empty") }
                var fn: [(String, JSONValue)] = [("name", name.value)]
                if let d = tool["description"], d.value != .null { fn.append(("description", .string(try d.string()))) }
                if let p = tool["parameters"], p.value != .null { _ = try p.object(); fn.append(("parameters", p.value)) }
                if let s = tool["strict"], s.value != .null { fn.append(("strict", .bool(try s.bool()))) }
                job.tools.append(["type": "function", "function": .object(fn)])
                tools.append(tool.value)
            }
        }
        var toolChoice: JSONValue = "auto"
        if let c = root["tool_choice"] {
            toolChoice = c.value
            switch c.value {
            case .string("auto"): job.toolChoice = .auto
            case .string("none"): job.toolChoice = .none
            case .string("required"): job.toolChoice = .required
            case .object:
                guard let name = c["name"] else { throw .missing("tool_choice.name") }
                job.toolChoice = .function(try name.string())
            default: throw .invalid("tool_choice", "expected \"auto\", \"none\", \"required\" or {\"type\": \"function\", \"name\": ...}")
            }
        }
        if let v = root["parallel_tool_calls"], v.value != .null { job.parallelToolCalls = try v.bool() }
        var textFormat: JSONValue = ["type": "text"]
        if let f = root["text"]?["format"], f.value != .null {
            textFormat = f.value
            _ = try f.object()
            guard let type = f["type"] else { throw .missing("text.format.type") }
            switch try type.string() {
            case "text": break
            case "json_object": job.responseFormat = .jsonObject
            case "json_schema":
                guard let schema = f["schema"] else { throw .missing("text.format.schema") }
                guard case .object = schema.value else { throw .invalid(schema.path, "expected a JSON Schema object, got \(schema.kind)") }
                var strict = false
                if let s = f["strict"], case let .bool(b) = s.value { strict = b }
                job.responseFormat = .jsonSchema(schema.value, strict: strict)
            default: throw .invalid(type.path, "expected \"text\", \"json_object\" or \"json_schema\"")
            }
        }
        var reasoning: JSONValue = .null
        if let r = root["reasoning"], r.value != .null {
            reasoning = r.value
            if let e = r["effort"], e.value != .null {
                switch try e.string() {
                case "none", "minimal": job.enableThinking = false
                case "low", "medium", "high", "xhigh": job.enableThinking = true
                default: throw .invalid(e.path, "expected none, minimal, low, medium or high")
                }
            }
        }
        var maxOutput: Int? = nil
        if let v = root["max_output_tokens"], v.value != .null {
            let n = try v.int()
            guard n >= 1 else { throw .invalid("max_output_tokens", "must be at least 1, got \(n)") }
            job.maxTokens = n
            maxOutput = n
        }
        if let v = root["temperature"], v.value != .null { job.temperature = try v.double(in: 0...2) }
        if let v = root["top_p"], v.value != .null { job.topP = try v.double(in: 0...1) }
        if let v = root["top_logprobs"], v.value != .null {
            let k = try v.int()
            guard (0...20).contains(k) else { throw .invalid("top_logprobs", "must be between 0 and 20, got \(k)") }
            job.logprobs = k
        }
        if let v = root["stream"] { job.stream = try v.bool() }
        if let v = root["store"], v.value != .null { _ = try v.bool() }
        return Parsed(model: model, job: job, instructions: instructions, tools: tools, toolChoice: toolChoice,
                      textFormat: textFormat, reasoning: reasoning, maxOutputTokens: maxOutput,
                      metadata: root["metadata"]?.value ?? .object([]))
    }

    /// One input item: a message (`role` with text or content parts), a function call the
    /// model made, its output, or an earlier reasoning item (kept as the next reply's reasoning).
    static func add(_ item: Field, to job: inout ChatJob, limits: ServerLimits) throws(APIError) {
        _ = try item.object()
        let type = try item["type"]?.string() ?? "message"
        switch type {
        case "message":
            guard let roleField = item["role"] else { throw .missing("\(item.path).role") }
            var role = try roleField.string()
            if role == "developer" { role = "system" }
            guard ["system", "user", "assistant"].contains(role) else {
                throw .invalid(roleField.path, "unknown role '\(role)' (expected system, developer, user or assistant)")
            }
            guard let c = item["content"] else { throw .missing("\(item.path).content") }
            var parts: [ContentPart] = []
            switch c.value {
            case let .string(s): parts = [.text(s)]
            case .array:
                for p in try c.array() {
                    _ = try p.object()
                    guard let t = p["type"] else { throw .missing("\(p.path).type") }
                    switch try t.string() {
                    case "input_text", "output_text", "text":
                        guard let text = p["text"] else { throw .missing("\(p.path).text") }
                        parts.append(.text(try text.string()))
                    case "input_image":
                        guard let u = p["image_url"] else { throw .missing("\(p.path).image_url") }
                        let url = try u.string()
                        try ImageURL.check(url, field: u.path, limits: limits)
                        if job.firstImageField == nil { job.firstImageField = u.path }
                        parts.append(.image(path: url))
                    case "refusal": continue
                    default: throw .invalid(t.path, "unsupported content type '\(try t.string())' (expected input_text, output_text or input_image)")
                    }
                }
            default: throw .invalid(c.path, "expected a string or an array of content parts, got \(c.kind)")
            }
            var msg = ChatMessage.fromParts(role: role, parts, textSeparator: "")
            // A reasoning item just before belongs to this reply.
            if role == "assistant", let last = job.messages.last, last.role == "assistant", last.text == "", last.toolCalls.isEmpty,
               let r = last.reasoning {
                job.messages.removeLast()
                msg.reasoning = r
            }
            job.messages.append(msg)
        case "function_call":
            guard let name = item["name"] else { throw .missing("\(item.path).name") }
            guard let callId = item["call_id"] else { throw .missing("\(item.path).call_id") }
            let args = try item["arguments"]?.string() ?? "{}"
            let call = ToolCall(id: try callId.string(), name: try name.string(), arguments: ToolArguments.normalized(args))
            // Consecutive calls (and a reasoning item before them) are one assistant turn.
            if var last = job.messages.last, last.role == "assistant", last.text == "" || !last.toolCalls.isEmpty {
                last.toolCalls.append(call)
                job.messages[job.messages.count - 1] = last
            } else {
                var m = ChatMessage(role: "assistant", text: "")
                m.toolCalls = [call]
                job.messages.append(m)
            }
        case "function_call_output":
            guard let callId = item["call_id"] else { throw .missing("\(item.path).call_id") }
            guard let out = item["output"] else { throw .missing("\(item.path).output") }
            var text = ""
            switch out.value {
            case let .string(s): text = s
            case .array:
                for p in try out.array() { if let t = p["text"] { text += try t.string() } }
            default: throw .invalid(out.path, "expected a string, got \(out.kind)")
            }
            var m = ChatMessage(role: "tool", text: text)
            m.toolCallId = try callId.string()
            m.name = job.messages.reversed().lazy.flatMap(\.toolCalls).first { $0.id == m.toolCallId }?.name
            job.messages.append(m)
        case "reasoning":
            var text = ""
            if case let .array(items)? = item["summary"]?.value {
                for s in items { if case let .string(t)? = s["text"] { text += t } }
            }
            if case let .array(items)? = item["content"]?.value, text.isEmpty {
                for s in items { if case let .string(t)? = s["text"] { text += t } }
            }
            var m = ChatMessage(role: "assistant", text: "")
            m.reasoning = text
            job.messages.append(m)
        default:
            throw .invalid("\(item.path).type", "unsupported input item type '\(type)' (expected message, function_call, function_call_output or reasoning)")
        }
    }
}
