import SmolJSON
import SmolRuntime

/// Anthropic message bodies and the streamed event sequence.
struct AnthropicResponder {
    let id: String
    let model: String

    static func stopReason(_ o: ReplyOutcome) -> String {
        if o.toolCalls > 0 { return "tool_use" }
        switch o.summary.finishReason {
        case .length: return "max_tokens"
        case .stopString: return "stop_sequence"
        default: return "end_turn"
        }
    }

    static func usage(_ o: ReplyOutcome) -> JSONValue {
        [
            "input_tokens": .int(Int64(o.promptTokens - o.summary.cachedPromptTokens)),
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": .int(Int64(o.summary.cachedPromptTokens)),
            "output_tokens": .int(Int64(o.completionTokens)),
        ]
    }

    static func input(_ c: ToolCall) -> JSONValue {
        if let v = try? JSONValue(parsing: c.arguments), case .object = v { return v }
        return .object([])
    }

    func message(blocks: [JSONValue], outcome: ReplyOutcome) -> JSONValue {
        [
            "id": .string(id), "type": "message", "role": "assistant", "model": .string(model),
            "content": .array(blocks),
            "stop_reason": .string(Self.stopReason(outcome)),
            "stop_sequence": outcome.summary.stopString.map(JSONValue.string) ?? .null,
            "usage": Self.usage(outcome),
        ]
    }

    func messageStart(promptTokens: Int) -> JSONValue {
        ["type": "message_start", "message": [
            "id": .string(id), "type": "message", "role": "assistant", "model": .string(model), "content": [],
            "stop_reason": nil, "stop_sequence": nil,
            "usage": ["input_tokens": .int(Int64(promptTokens)), "cache_creation_input_tokens": 0,
                      "cache_read_input_tokens": 0, "output_tokens": 0],
        ]]
    }

    static func event(_ name: String, _ data: JSONValue) -> String {
        "event: \(name)\ndata: \(data.serialized)\n\n"
    }
}

/// Turns reply events into Anthropic's block-structured stream: a block opens when the kind
/// of output changes, tool calls are one block each.
struct AnthropicBlockWriter {
    private var open: String? = nil
    private var index = -1

    mutating func events(for e: ReplyEvent) -> [String] {
        var out: [String] = []
        switch e {
        case let .reasoning(t):
            if open != "thinking" {
                out += close()
                out += start(["type": "thinking", "thinking": "", "signature": ""], kind: "thinking")
            }
            out.append(delta(["type": "thinking_delta", "thinking": .string(t)]))
        case let .content(t):
            if open != "text" {
                out += close()
                out += start(["type": "text", "text": ""], kind: "text")
            }
            out.append(delta(["type": "text_delta", "text": .string(t)]))
        case let .toolCall(c):
            out += close()
            out += start(["type": "tool_use", "id": .string(c.id), "name": .string(c.name), "input": [:]], kind: "tool_use")
            out.append(delta(["type": "input_json_delta", "partial_json": .string(AnthropicResponder.input(c).serialized)]))
            out += close()
        }
        return out
    }

    mutating func close() -> [String] {
        guard open != nil else { return [] }
        var out: [String] = []
        if open == "thinking" {
            // Clients replay thinking blocks with their signature; ours are unsigned.
            out.append(delta(["type": "signature_delta", "signature": ""]))
        }
        open = nil
        out.append(AnthropicResponder.event("content_block_stop", ["type": "content_block_stop", "index": .int(Int64(index))]))
        return out
    }

    private mutating func start(_ block: JSONValue, kind: String) -> [String] {
        index += 1
        open = kind
        return [AnthropicResponder.event("content_block_start", ["type": "content_block_start", "index": .int(Int64(index)), "content_block": block])]
    }

    private func delta(_ d: JSONValue) -> String {
        AnthropicResponder.event("content_block_delta", ["type": "content_block_delta", "index": .int(Int64(index)), "delta": d])
    }
}
