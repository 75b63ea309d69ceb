import ArgumentParser
import Foundation
import SmolKernels

@main
struct Smol: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "smol",
        abstract: "Run SmolLM3 / SmolLM2 models locally on the CPU.",
        discussion: """
        Models are Hugging Face folders (config.json, *.safetensors, tokenizer.json, \
        generation_config.json), GGUF files (llama, smollm3), or repo ids found in the local \
        Hugging Face cache (never downloaded). Without --model, the default model is used: \
        $SMOL_MODEL, else Models/SmolLM2-135M-Instruct (fetch it with scripts/fetch_default_model.sh).
        """,
        version: "smol \(version)\n" + KernelInfo.describe(precision: .fastest),
        subcommands: [Generate.self, Chat.self, Serve.self, Prompt.self, Eval.self, Logits.self, Tokenize.self, Detokenize.self, Bench.self, Quantize.self, Info.self],
        defaultSubcommand: Generate.self)

    static let version = "0.5.0"

    static func main() async {
        BLASSetup.reexecWithBestKernelsIfNeeded()
        do {
            try KernelInfo.validateEnvironment()
            var command = try parseAsRoot()
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }
}

/// Prints an error the way users expect from a CLI: one line on stderr, exit code 1.
struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

func printErr(_ s: String) {
    FileHandle.standardError.write(Data((s + "\n").utf8))
}
