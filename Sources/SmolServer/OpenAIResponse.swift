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

    static func usage(_ o: ReplyOutcome) -> JSONValue {
        [
            "prompt_tokens": .int(Int64(o.promptTokens)),
            "completion_tokens": .int(Int64(o.completionTokens)),
            "total_tokens": .int(Int64(o.promptTokens + o.completionTokens)),
            "prompt_tokens_details": ["cached_tokens": .int(Int64(o.summary.cachedPromptTokens))],
        ]
    }

    static func toolCall(_ c: ToolCall, index: Int?) -> JSONValue {
        var pairs: [(String, JSONValue)] = []
        if let index { pairs.append(("index", .int(Int64(index)))) }
        pairs += [("id", .string(c.id)), ("type", "function"),
                  ("function", ["name": .string(c.name), "arguments": .string(c.arguments)])]
        return .object(pairs)
    }

    func completion(content: String, reasoning: String, calls: [ToolCall], outcome: ReplyOutcome) -> JSONValue {
        var message: [(String, JSONValue)] = [("role", "assistant"), ("content", content.isEmpty && !calls.isEmpty ? .null : .string(content))]
        if !reasoning.isEmpty { message.append(("reasoning_content", .string(reasoning))) }
        if !calls.isEmpty { message.append(("tool_calls", .array(calls.map { Self.toolCall($0, index: nil) }))) }
        return [
            "id": .string(id), "object": "chat.completion", "created": .int(created), "model": .string(model),
            "choices": [["index": 0, "message": .object(message), "logprobs": nil, "finish_reason": .string(Self.finishReason(outcome))]],
            "usage": Self.usage(outcome),
        ]
    }

    func chunk(delta: JSONValue, finishReason: String? = nil) -> JSONValue {
        [
            "id": .string(id), "object": "chat.completion.chunk", "created": .int(created), "model": .string(model),
            "choices": [["index": 0, "delta": delta, "logprobs": nil, "finish_reason": finishReason.map(JSONValue.string) ?? .null]],
        ]
    }

    func usageChunk(_ o: ReplyOutcome) -> JSONValue {
        [
            "id": .string(id), "object": "chat.completion.chunk", "created": .int(created), "model": .string(model),
            "choices": [], "usage": Self.usage(o),
        ]
    }

    /// One SSE frame.
    static func sse(_ v: JSONValue) -> String { "data: " + v.serialized + "\n\n" }
}
