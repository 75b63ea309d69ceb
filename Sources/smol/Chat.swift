import ArgumentParser
import Foundation
import SmolRuntime

struct Chat: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Interactive chat. The KV cache is kept between turns, so only new tokens are prefilled.",
        discussion: "Commands: /think and /no_think toggle thinking, /reset starts over, /exit quits.")

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var sampling: SamplingOptions
    @Option(help: "System message.")
    var system: String?
    @Option(help: "JSON file with earlier messages to continue from.")
    var messages: String?
    @Flag(name: .customLong("no-think"), help: "Start with thinking off.")
    var noThink = false
    @Flag(name: .customLong("hide-thinking"), help: "Do not print the <think>…</think> part of answers.")
    var hideThinking = false
    @Option(name: .customLong("max-tokens"), help: "Maximum tokens per answer.")
    var maxTokens = 1024
    @Option(help: "Context size in tokens.")
    var context: Int?
    @Flag(help: "Print tokens/s and cache reuse after each answer.")
    var verbose = false

    func run() async throws {
        let m = try modelOptions.load(verbose: verbose)
        var options = PromptOptions()
        if noThink { options.enableThinking = false }
        var history: [ChatMessage] = []
        if let messages {
            guard let data = FileManager.default.contents(atPath: messages) else { throw CLIError("--messages: cannot read \(messages)") }
            history = try ChatMessage.list(fromJSON: data, source: messages)
        }
        let session = try ChatSession(model: m, system: system, options: options, contextLength: context, history: history)
        session.sampling = try sampling.apply(to: m.defaults.sampling)
        session.maxTokens = maxTokens
        let out = FileHandle.standardOutput
        printErr("chatting with \(m.directory) — /think, /no_think, /reset, /exit")
        while true {
            out.write(Data("> ".utf8))
            guard let line = readLine(strippingNewline: true) else { break }
            let text = line.trimmingCharacters(in: .whitespaces)
            switch text {
            case "": continue
            case "/exit", "/quit": return
            case "/think": session.options.enableThinking = true; printErr("thinking on"); continue
            case "/no_think": session.options.enableThinking = false; printErr("thinking off"); continue
            case "/reset": session.reset(system: system); printErr("conversation cleared"); continue
            default: break
            }
            var display = ThinkingDisplay(hide: hideThinking)
            let (reply, summary) = try session.send(.user(line)) { t in
                out.write(Data(display.feed(t).utf8))
                return true
            }
            out.write(Data((display.finish() + "\n").utf8))
            for call in reply.toolCalls { printErr("tool call: \(call.name)(\(call.arguments))") }
            if verbose {
                printErr(String(format: "[%d prompt tokens, %d from cache; %.1f tok/s decode]",
                                summary.promptTokens, summary.cachedPromptTokens, summary.decodeTokensPerSecond))
            }
        }
    }
}
