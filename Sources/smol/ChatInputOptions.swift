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
    @Option(help: ArgumentHelp("An image (PNG or JPEG) to show a vision model (SmolVLM2) with the prompt (repeatable, in order).",
                               discussion: "Images come before the prompt text in the user message. With --raw, the prompt must hold one <image> per image."))
    var image: [String] = []
    @Option(help: "A video file for a vision model (frames read with the ffmpeg CLI).")
    var video: String?
    @Option(help: "A folder of frame images (sorted by name, one frame per second) to use as a video.")
    var frames: String?
    @Option(name: .customLong("video-fps"), help: "Frames sampled per second of video (default: the model's video_sampling.fps, 1).")
    var videoFPS: Double?
    @Option(name: .customLong("max-frames"), help: "At most this many video frames (default: the model's video_sampling.max_frames, 64).")
    var maxFrames: Int?
    @Flag(name: .customLong("no-upscale"), help: "Do not enlarge small images to the processor's longest_edge (faster; differs from transformers).")
    var noUpscale = false

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
        let media = mediaParts
        if let prompt { list.append(media.isEmpty ? .user(prompt) : ChatMessage(role: "user", parts: media + [.text(prompt)])) }
        else if !media.isEmpty { throw CLIError("--image/--video/--frames go with a prompt; inside --messages use image or video parts") }
        guard !list.isEmpty else { throw CLIError("give a prompt or --messages") }
        return list
    }

    var mediaParts: [ContentPart] {
        image.map { .image(path: $0) } + [video, frames].compactMap { $0 }.map { .video(path: $0) }
    }

    /// Token ids (and image features) for the prompt: rendered, media loaded and expanded.
    func prepare(_ m: SmolModel, prompt: String?) throws -> PreparedPrompt {
        if let v = maxFrames, v < 1 { throw CLIError("--max-frames must be positive") }
        if let f = videoFPS, !(f > 0) { throw CLIError("--video-fps must be positive") }
        if noUpscale, let vision = m.vision { vision.processor.config.capUpscaling = true }
        let conversation: [ChatMessage] = raw ? [ChatMessage(role: "user", parts: mediaParts)] : try conversation(prompt: prompt)
        let hasMedia = conversation.contains { ($0.parts ?? []).contains { if case .text = $0 { false } else { true } } }
        if hasMedia && m.vision == nil { throw MediaError.textOnlyModel(modelType: m.config.modelType) }
        let text = try render(m, prompt: prompt)
        var media = MediaOptions()
        media.video.fps = videoFPS
        media.video.maxFrames = maxFrames
        let images = try m.loadImages(conversation, media: media)
        let videos = try m.loadVideos(conversation, media: media)
        return try m.prepare(text: text, images: images, videos: videos, addSpecialTokens: raw || m.prompt == nil)
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
