import Foundation
import SmolJSON
import SmolRuntime

/// OpenAI chat-completion bodies and stream chunks.
struct OpenAIResponder {
    let id: String
    let model: String
    let created = Int64(Date().timeIntervalSince1970)

    static func finishReason(_ o: ReplyOutcome) -> String {
        if o.toolCalls > 0 { return "tool_calls" }
        switch o.summary.finishReason {
        case .length: return "length"
        default: return "stop"
        }
    }

    /// Usage of one or more choices of one prompt: the prompt counts once.
    static func usage(_ os: [ReplyOutcome]) -> JSONValue {
        let prompt = os.first?.promptTokens ?? 0
        let completion = os.reduce(0) { $0 + $1.completionTokens }
        return [
            "prompt_tokens": .int(Int64(prompt)),
            "completion_tokens": .int(Int64(completion)),
            "total_tokens": .int(Int64(prompt + completion)),
            "prompt_tokens_details": ["cached_tokens": .int(Int64(os.first?.summary.cachedPromptTokens ?? 0))],
        ]
    }

    static func toolCall(_ c: ToolCall, index: Int?) -> JSONValue {
        var pairs: [(String, JSONValue)] = []
        if let index { pairs.append(("index", .int(Int64(index)))) }
        pairs += [("id", .string(c.id)), ("type", "function"),
                  ("function", ["name": .string(c.name), "arguments": .string(c.arguments)])]
        return .object(pairs)
    }

    static func choice(index: Int, content: String, reasoning: String, calls: [ToolCall], outcome: ReplyOutcome,
                       logprobs: JSONValue = .null) -> JSONValue {
        var message: [(String, JSONValue)] = [("role", "assistant"), ("content", content.isEmpty && !calls.isEmpty ? .null : .string(content))]
        if !reasoning.isEmpty { message.append(("reasoning_content", .string(reasoning))) }
        if !calls.isEmpty { message.append(("tool_calls", .array(calls.map { Self.toolCall($0, index: nil) }))) }
        return ["index": .int(Int64(index)), "message": .object(message), "logprobs": logprobs,
                "finish_reason": .string(Self.finishReason(outcome))]
    }

    func completion(choices: [JSONValue], outcomes: [ReplyOutcome]) -> JSONValue {
        [
            "id": .string(id), "object": "chat.completion", "created": .int(created), "model": .string(model),
            "choices": .array(choices), "usage": Self.usage(outcomes),
        ]
    }

    func chunk(delta: JSONValue, finishReason: String? = nil, index: Int = 0, logprobs: JSONValue = .null) -> JSONValue {
        [
            "id": .string(id), "object": "chat.completion.chunk", "created": .int(created), "model": .string(model),
            "choices": [["index": .int(Int64(index)), "delta": delta, "logprobs": logprobs, "finish_reason": finishReason.map(JSONValue.string) ?? .null]],
        ]
    }

    func usageChunk(_ os: [ReplyOutcome]) -> JSONValue {
        [
            "id": .string(id), "object": "chat.completion.chunk", "created": .int(created), "model": .string(model),
            "choices": [], "usage": Self.usage(os),
        ]
    }

    /// One SSE frame.
    static func sse(_ v: JSONValue) -> String { "data: " + v.serialized + "\n\n" }
}
