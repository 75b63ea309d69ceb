import Foundation
import SmolTemplates

/// Options for rendering a conversation through the model's chat template.
public struct PromptOptions: Sendable {
    public var addGenerationPrompt = true
    /// nil: the template's default. SmolLM3 reads `enable_thinking`.
    public var enableThinking: Bool? = nil
    /// OpenAI-style tool definitions (`{"type":"function","function":{...}}`) or plain
    /// function dicts, as JSON.
    public var tools: [TemplateValue]? = nil
    /// Any other template variables (transformers' extra keyword arguments).
    public var extra: [String: TemplateValue] = [:]
    public init() {}
}

/// Renders chat messages with a model's own template, as transformers' apply_chat_template.
public struct PromptBuilder: Sendable {
    public let template: ChatTemplate
    public let bosToken: String?
    public let eosToken: String?
    /// Pass plain-text content as a one-part list. Vision templates (SmolVLM's) iterate the
    /// content's parts and would render a plain string as nothing at all.
    public var textAsParts = false

    public init(template: ChatTemplate, bosToken: String?, eosToken: String?) {
        self.template = template
        self.bosToken = bosToken
        self.eosToken = eosToken
    }

    /// Loads the template and special-token strings from a model folder; nil if it has none.
    public static func load(directory: String) throws -> PromptBuilder? {
        let url = URL(fileURLWithPath: directory)
        let template: ChatTemplate
        do {
            template = try ChatTemplateLoader.load(modelDirectory: url)
        } catch let e as TemplateError where e.kind == .loading && e.message.hasPrefix("no chat template") {
            return nil
        }
        var bos: String? = nil, eos: String? = nil
        let cfgPath = directory + "/tokenizer_config.json"
        if let data = FileManager.default.contents(atPath: cfgPath),
           let obj = try? JSONSerialization.jsonObject(with: data) as? [String: Any] {
            func token(_ v: Any?) -> String? { (v as? String) ?? ((v as? [String: Any])?["content"] as? String) }
            bos = token(obj["bos_token"])
            eos = token(obj["eos_token"])
        }
        return PromptBuilder(template: template, bosToken: bos, eosToken: eos)
    }

    /// Whether the template reads SmolLM3's `xml_tools` variable.
    var usesXMLTools: Bool { template.source.contains("xml_tools") }
    /// Whether the template renders assistant `tool_calls` itself.
    var rendersToolCalls: Bool { template.source.contains("tool_calls") }

    public func render(_ messages: [ChatMessage], options: PromptOptions = .init()) throws -> String {
        var extra = options.extra
        if let t = options.enableThinking, extra["enable_thinking"] == nil { extra["enable_thinking"] = .bool(t) }
        var tools = options.tools
        if let given = tools, usesXMLTools, extra["xml_tools"] == nil {
            // SmolLM3 prints each tool with Python's repr and expects plain function dicts.
            extra["xml_tools"] = .array(given.map { $0["function"] ?? $0 })
            tools = nil
        }
        return try template.render(
            messages: messages.map { $0.templateValue(inlineToolCalls: !rendersToolCalls, textAsParts: textAsParts) },
            tools: tools, addGenerationPrompt: options.addGenerationPrompt, extra: extra,
            bosToken: bosToken, eosToken: eosToken)
    }
}
