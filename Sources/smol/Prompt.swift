import ArgumentParser
import Foundation
import SmolRuntime
import SmolTokenizers

struct Prompt: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the prompt a chat template renders (as transformers' apply_chat_template).")
    @Option(name: .shortAndLong, help: "Model folder (its chat template and tokenizer_config.json), .gguf file (tokenizer.chat_template) or HF cache repo id.")
    var model: String?
    @OptionGroup var chat: ChatInputOptions
    @Option(name: .shortAndLong, help: "A user message appended after --messages.")
    var prompt: String?
    @Flag(help: "Print the token ids instead of the text.")
    var ids = false

    func run() async throws {
        let dir = try ModelOptions.parse(model.map { ["--model", $0] } ?? []).resolvedPath()
        guard let builder = try SmolModel.loadPromptBuilder(path: dir) else { throw ChatError.noChatTemplate(directory: dir) }
        let text = try builder.render(try chat.conversation(prompt: prompt), options: try chat.promptOptions())
        if ids {
            let tok = try SmolModel.loadTokenizer(path: dir)
            print(try tok.encode(text, addSpecialTokens: false).map(String.init).joined(separator: ","))
        } else {
            FileHandle.standardOutput.write(Data(text.utf8))
        }
    }
}
