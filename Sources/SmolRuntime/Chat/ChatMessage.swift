import Foundation
import SmolTemplates

/// One part of a message's content.
public enum ContentPart: Sendable, Equatable {
    case text(String)
    case image(path: String)
    case video(path: String)
}

/// A function call requested by the model (OpenAI shape: arguments as a JSON string).
public struct ToolCall: Sendable, Equatable {
    public var id: String
    public var name: String
    public var arguments: String
    public init(id: String, name: String, arguments: String) {
        self.id = id
        self.name = name
        self.arguments = arguments
    }
}

/// A chat message in the OpenAI shape, convertible to what chat templates read.
public struct ChatMessage: Sendable, Equatable {
    public var role: String
    /// nil content with parts: multimodal; a plain string otherwise.
    public var text: String?
    public var parts: [ContentPart]?
    public var toolCalls: [ToolCall] = []
    public var reasoning: String? = nil
    public var toolCallId: String? = nil
    public var name: String? = nil

    public init(role: String, text: String) {
        self.role = role
        self.text = text
    }

    public init(role: String, parts: [ContentPart]) {
        self.role = role
        self.parts = parts
    }

    public static func system(_ t: String) -> ChatMessage { ChatMessage(role: "system", text: t) }
    public static func user(_ t: String) -> ChatMessage { ChatMessage(role: "user", text: t) }
    public static func assistant(_ t: String) -> ChatMessage { ChatMessage(role: "assistant", text: t) }
    public static func tool(_ t: String) -> ChatMessage { ChatMessage(role: "tool", text: t) }

    /// The text of every text part.
    public var plainText: String {
        if let text { return text }
        return (parts ?? []).compactMap { if case let .text(t) = $0 { t } else { nil } }.joined()
    }

    /// Reads a JSON list of messages: `{role, content}` where content is a string or a list
    /// of parts (`text`, `image` with `path`, `video` with `path`, OpenAI's `image_url`).
    public static func list(fromJSON data: Data, source: String = "messages") throws -> [ChatMessage] {
        guard let arr = try? JSONSerialization.jsonObject(with: data) as? [[String: Any]] else {
            throw ChatError.badMessages(source: source, reason: "expected a JSON list of {role, content} objects")
        }
        return try arr.enumerated().map { i, m in try ChatMessage(json: m, where: "\(source)[\(i)]") }
    }

    public init(json m: [String: Any], where loc: String) throws {
        guard let role = m["role"] as? String else { throw ChatError.badMessages(source: loc, reason: "missing 'role'") }
        self.role = role
        switch m["content"] {
        case let s as String: text = s
        case nil, is NSNull: text = ""
        case let list as [[String: Any]]:
            parts = try list.enumerated().map { j, p in
                let at = "\(loc).content[\(j)]"
                switch p["type"] as? String {
                case "text": return .text(p["text"] as? String ?? "")
                case "image":
                    guard let path = (p["path"] ?? p["url"] ?? p["image"]) as? String else { throw ChatError.badMessages(source: at, reason: "image part needs 'path'") }
                    return .image(path: path)
                case "image_url":
                    let u = (p["image_url"] as? [String: Any])?["url"] as? String ?? p["image_url"] as? String
                    guard let u else { throw ChatError.badMessages(source: at, reason: "image_url part needs 'image_url.url'") }
                    return .image(path: u)
                case "video":
                    guard let path = (p["path"] ?? p["url"] ?? p["video"]) as? String else { throw ChatError.badMessages(source: at, reason: "video part needs 'path'") }
                    return .video(path: path)
                default:
                    throw ChatError.badMessages(source: at, reason: "unknown part type '\(p["type"] ?? "nil")'")
                }
            }
        default:
            throw ChatError.badMessages(source: loc, reason: "'content' must be a string or a list of parts")
        }
        reasoning = (m["reasoning_content"] ?? m["thinking"]) as? String
        toolCallId = m["tool_call_id"] as? String
        name = m["name"] as? String
        for (k, c) in (m["tool_calls"] as? [[String: Any]] ?? []).enumerated() {
            let f = c["function"] as? [String: Any] ?? c
            guard let name = f["name"] as? String else { throw ChatError.badMessages(source: "\(loc).tool_calls[\(k)]", reason: "missing function name") }
            var args = f["arguments"] as? String ?? "{}"
            if let obj = f["arguments"], !(obj is String), let d = try? JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys]) {
                args = String(decoding: d, as: UTF8.self)
            }
            toolCalls.append(ToolCall(id: c["id"] as? String ?? "call_\(k)", name: name, arguments: args))
        }
    }

    /// The message as a template value. `inlineToolCalls` writes tool calls into the content as
    /// `<tool_call>` blocks, for templates (SmolLM3's) that do not render `tool_calls`.
    func templateValue(inlineToolCalls: Bool, textAsParts: Bool = false) -> TemplateValue {
        var d = TemplateDictionary()
        d["role"] = .string(role)
        if let parts {
            d["content"] = .array(parts.map { p -> TemplateValue in
                switch p {
                case let .text(t): return ["type": "text", "text": .string(t)]
                case .image: return ["type": "image"]
                case .video: return ["type": "video"]
                }
            })
        } else {
            var content = text ?? ""
            if inlineToolCalls && !toolCalls.isEmpty {
                for c in toolCalls { content += ToolCallParser.render(c) }
            }
            d["content"] = textAsParts ? .array([["type": "text", "text": .string(content)]]) : .string(content)
        }
        if let reasoning { d["reasoning_content"] = .string(reasoning) }
        if !toolCalls.isEmpty && !inlineToolCalls {
            d["tool_calls"] = .array(toolCalls.map { c in
                ["id": .string(c.id), "type": "function",
                 "function": ["name": .string(c.name), "arguments": (try? TemplateValue(jsonString: c.arguments)) ?? .string(c.arguments)]]
            })
        }
        if let toolCallId { d["tool_call_id"] = .string(toolCallId) }
        if let name { d["name"] = .string(name) }
        return .dictionary(d)
    }
}

public enum ChatError: Error, CustomStringConvertible, Equatable {
    case badMessages(source: String, reason: String)
    case noChatTemplate(directory: String)
    case malformedToolCall(text: String, reason: String)
    case badTools(reason: String)

    public var description: String {
        switch self {
        case let .badMessages(s, r): return "\(s): \(r)"
        case let .noChatTemplate(d): return "\(d) has no chat template (chat_template.jinja, chat_template.json or tokenizer_config.json); use --raw"
        case let .malformedToolCall(t, r): return "malformed tool call (\(r)): \(t.prefix(200))"
        case let .badTools(r): return "tools: \(r)"
        }
    }
}
