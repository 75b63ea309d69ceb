import Foundation

/// Renders a Hugging Face chat template with the variables transformers'
/// `apply_chat_template` passes (transformers 5.x `render_jinja_template`).
public struct ChatTemplate: Sendable {
    public let source: String
    public var clock: TemplateClock
    let template: Template

    public init(source: String, limits: RenderLimits = RenderLimits(), clock: TemplateClock = .system) throws {
        self.source = source
        self.clock = clock
        template = try Template(source, limits: limits)
    }

    /// - Parameters:
    ///   - tools: passed as `tools`; `nil` becomes Python `None` (still *defined* in the template).
    ///   - documents: same for `documents`.
    ///   - extra: template kwargs such as `enable_thinking`, `xml_tools`, `python_tools`; they override the special tokens.
    public func render(
        messages: [TemplateValue],
        tools: [TemplateValue]? = nil,
        documents: [TemplateValue]? = nil,
        addGenerationPrompt: Bool = false,
        extra: [String: TemplateValue] = [:],
        bosToken: String? = nil,
        eosToken: String? = nil
    ) throws -> String {
        var variables: [String: TemplateValue] = [:]
        // transformers builds `{**special_tokens_map, **kwargs}`: only tokens that exist are set.
        if let bosToken { variables["bos_token"] = .string(bosToken) }
        if let eosToken { variables["eos_token"] = .string(eosToken) }
        for (k, v) in extra { variables[k] = v }
        variables["messages"] = .array(messages.map(ChatTemplate.aliasReasoningFields))
        variables["tools"] = tools.map { .array($0) } ?? .null
        variables["documents"] = documents.map { .array($0) } ?? .null
        variables["add_generation_prompt"] = .bool(addGenerationPrompt)
        return try template.render(variables, clock: clock)
    }

    /// Mirrors `_alias_reasoning_fields`: a message with `reasoning_content`, `thinking` or `reasoning`
    /// becomes `{"thinking": r, **message, "reasoning_content": r}` so templates reading either name work.
    static func aliasReasoningFields(_ message: TemplateValue) -> TemplateValue {
        guard case .dictionary(let d) = message else { return message }
        var reasoning: TemplateValue?
        for key in ["reasoning_content", "thinking", "reasoning"] {
            if let v = d[key], !v.isNone {
                reasoning = v
                break
            }
        }
        guard let reasoning else { return message }
        var aliased = TemplateDictionary()
        aliased["thinking"] = reasoning
        for (k, v) in d.pairs { try? aliased.set(k, v) }
        aliased["reasoning_content"] = reasoning
        return .dictionary(aliased)
    }
}

/// Finds a model's chat template the way transformers does when loading a tokenizer.
public enum ChatTemplateLoader {
    /// Looks for `chat_template.jinja`, then `chat_template.json` (`{"chat_template": ...}`),
    /// then the `chat_template` field of `tokenizer_config.json` (a string, or a list of
    /// `{name, template}` entries where `name` — default `"default"` — is picked).
    public static func source(inModelDirectory directory: URL, name: String = "default") throws -> String {
        let fm = FileManager.default
        let jinja = directory.appendingPathComponent("chat_template.jinja")
        if fm.fileExists(atPath: jinja.path) {
            return try read(jinja)
        }
        let json = directory.appendingPathComponent("chat_template.json")
        if fm.fileExists(atPath: json.path) {
            let value = try TemplateValue(jsonString: try read(json))
            if let template = try pick(value["chat_template"], name: name) { return template }
        }
        let config = directory.appendingPathComponent("tokenizer_config.json")
        if fm.fileExists(atPath: config.path) {
            let value = try TemplateValue(jsonString: try read(config))
            if let template = try pick(value["chat_template"], name: name) { return template }
        }
        throw TemplateError(.loading, "no chat template found in \(directory.path)")
    }

    public static func load(modelDirectory: URL, name: String = "default", limits: RenderLimits = RenderLimits(),
                            clock: TemplateClock = .system) throws -> ChatTemplate {
        try ChatTemplate(source: try source(inModelDirectory: modelDirectory, name: name), limits: limits, clock: clock)
    }

    private static func read(_ url: URL) throws -> String {
        do {
            return try String(contentsOf: url, encoding: .utf8)
        } catch {
            throw TemplateError(.loading, "cannot read \(url.path): \(error)")
        }
    }

    private static func pick(_ field: TemplateValue?, name: String) throws -> String? {
        switch field {
        case .string(let s)?:
            return s
        case .array(let entries)?:
            for entry in entries {
                if entry["name"]?.string == name, let template = entry["template"]?.string { return template }
            }
            throw TemplateError(.loading, "chat template list has no entry named '\(name)'")
        default:
            return nil
        }
    }
}
