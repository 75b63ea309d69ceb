import Foundation
import SmolJSON

/// SmolLM3 writes tool calls as `<tool_call>{"name": ..., "arguments": {...}}</tool_call>`.
public enum ToolCallParser {
    public static let open = "<tool_call>"
    public static let close = "</tool_call>"

    /// Splits generated text into its prose and the tool calls it contains. Ids are stable:
    /// derived from the call's position so a re-parse gives the same ids.
    public static func parse(_ text: String, idPrefix: String = "call_") throws -> (content: String, calls: [ToolCall]) {
        var content = ""
        var calls: [ToolCall] = []
        var rest = Substring(text)
        while let start = rest.range(of: open) {
            content += rest[..<start.lowerBound]
            let after = rest[start.upperBound...]
            guard let end = after.range(of: close) else {
                throw ChatError.malformedToolCall(text: String(after), reason: "no closing \(close)")
            }
            let body = after[..<end.lowerBound].trimmingCharacters(in: .whitespacesAndNewlines)
            calls.append(try call(fromJSON: body, id: "\(idPrefix)\(calls.count)"))
            rest = after[end.upperBound...]
        }
        content += rest
        return (content.trimmingCharacters(in: .whitespacesAndNewlines), calls)
    }

    /// Reads one call body, `{"name": ..., "arguments": {...}}` (or `parameters`). The arguments
    /// keep the model's key order.
    public static func call(fromJSON body: String, id: String) throws -> ToolCall {
        guard let obj = try? JSONValue(parsing: body), case .object = obj else {
            throw ChatError.malformedToolCall(text: body, reason: "not a JSON object")
        }
        guard case let .string(name)? = obj["name"], !name.isEmpty else {
            throw ChatError.malformedToolCall(text: body, reason: "missing \"name\"")
        }
        let args: String
        let value = obj["arguments"] ?? obj["parameters"] ?? .object([])
        switch value {
        case let .string(s): args = s
        case .object: args = value.serialized
        default: throw ChatError.malformedToolCall(text: body, reason: "\"arguments\" is not a JSON object")
        }
        return ToolCall(id: id, name: name, arguments: args)
    }

    /// The text form of a call, for history in templates that do not render `tool_calls`.
    public static func render(_ call: ToolCall) -> String {
        "\n\(open)\n{\"name\": \"\(call.name)\", \"arguments\": \(call.arguments)}\n\(close)"
    }
}
