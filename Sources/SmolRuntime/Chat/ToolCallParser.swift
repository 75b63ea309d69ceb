import Foundation

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
            guard let obj = try? JSONSerialization.jsonObject(with: Data(body.utf8), options: [.fragmentsAllowed]) as? [String: Any] else {
                throw ChatError.malformedToolCall(text: body, reason: "not a JSON object")
            }
            guard let name = obj["name"] as? String, !name.isEmpty else {
                throw ChatError.malformedToolCall(text: body, reason: "missing \"name\"")
            }
            let argsValue = obj["arguments"] ?? obj["parameters"] ?? [String: Any]()
            let args: String
            if let s = argsValue as? String { args = s }
            else {
                guard JSONSerialization.isValidJSONObject(argsValue) || argsValue is [String: Any],
                      let d = try? JSONSerialization.data(withJSONObject: argsValue, options: [.sortedKeys]) else {
                    throw ChatError.malformedToolCall(text: body, reason: "\"arguments\" is not a JSON object")
                }
                args = String(decoding: d, as: UTF8.self)
            }
            calls.append(ToolCall(id: "\(idPrefix)\(calls.count)", name: name, arguments: args))
            rest = after[end.upperBound...]
        }
        content += rest
        return (content.trimmingCharacters(in: .whitespacesAndNewlines), calls)
    }

    /// The text form of a call, for history in templates that do not render `tool_calls`.
    public static func render(_ call: ToolCall) -> String {
        "\n\(open)\n{\"name\": \"\(call.name)\", \"arguments\": \(call.arguments)}\n\(close)"
    }
}
