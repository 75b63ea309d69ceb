import ArgumentParser
import Foundation
import SmolRuntime
import SmolTemplates

/// How a prompt becomes tokens: through the model's chat template (default) or raw.
struct ChatInputOptions: ParsableArguments {
    @Flag(help: "Use the prompt text as is, without the chat template.")
    var raw = false
    @Option(help: "System message (chat template only).")
    var system: String?
    @Option(help: "JSON file with a list of {role, content} messages (content: a string or parts: text, image, video, image_url).")
    var messages: String?
    @Option(help: "JSON file with a list of tool (function) definitions, OpenAI style; rendered through the template (SmolLM3: xml_tools).")
    var tools: String?
    @Flag(name: .customLong("no-think"), help: "Turn off thinking (sets enable_thinking=false for templates that read it, e.g. SmolLM3).")
    var noThink = false
    @Flag(name: .customLong("no-generation-prompt"), help: "Do not append the assistant turn opener.")
    var noGenerationPrompt = false
    @Option(name: .customLong("template-kwargs"), help: "JSON object of extra template variables, e.g. '{\"python_tools\": [...]}'.")
    var templateKwargs: String?

    func promptOptions() throws -> PromptOptions {
        var o = PromptOptions()
        o.addGenerationPrompt = !noGenerationPrompt
        if noThink { o.enableThinking = false }
        if let tools {
            guard let data = FileManager.default.contents(atPath: tools) else { throw CLIError("--tools: cannot read \(tools)") }
            guard case let .array(list) = try TemplateValue(jsonData: data) else { throw CLIError("--tools: \(tools) must hold a JSON list") }
            o.tools = list
        }
        if let kw = templateKwargs {
            guard case let .dictionary(d) = try TemplateValue(jsonString: kw) else { throw CLIError("--template-kwargs must be a JSON object") }
            for (k, v) in d.pairs { if case let .string(key) = k { o.extra[key] = v } }
        }
        return o
    }

    /// The conversation: --messages, else [--system] + the prompt as a user message.
    func conversation(prompt: String?) throws -> [ChatMessage] {
        var list: [ChatMessage] = []
        if let messages {
            guard let data = FileManager.default.contents(atPath: messages) else { throw CLIError("--messages: cannot read \(messages)") }
            list = try ChatMessage.list(fromJSON: data, source: messages)
        }
        if let system, !list.contains(where: { $0.role == "system" }) { list.insert(.system(system), at: 0) }
        if let prompt { list.append(.user(prompt)) }
        guard !list.isEmpty else { throw CLIError("give a prompt or --messages") }
        return list
    }

    /// Rendered prompt text (chat template) for a model.
    func render(_ m: SmolModel, prompt: String?) throws -> String {
        if raw {
            guard let prompt else { throw CLIError("--raw needs a prompt") }
            return prompt
        }
        guard let builder = m.prompt else {
            // Base models without a template: the text itself.
            if messages == nil, let prompt { return prompt }
            throw ChatError.noChatTemplate(directory: m.directory)
        }
        return try builder.render(try conversation(prompt: prompt), options: try promptOptions())
    }
}
