import ArgumentParser
import Foundation
import SmolRuntime
import SmolWeights

struct Logits: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write float32 logits for every prompt position to a safetensors file (for diffing against a reference).")

    @OptionGroup var modelOptions: ModelOptions
    @Option(help: "Comma-separated token ids.")
    var ids: String?
    @Option(name: .shortAndLong, help: "Prompt text (tokenized with the model's tokenizer).")
    var prompt: String?
    @OptionGroup var chat: ChatInputOptions
    @Option(name: .shortAndLong, help: "Output .safetensors file: `logits` F32 [positions, vocab] and `input_ids` I64 [positions].")
    var output: String

    func run() async throws {
        let m = try modelOptions.load(verbose: false)
        let input: [Int]
        var features: ImageFeatures? = nil
        if let ids { input = try parseIds(ids) }
        else if prompt != nil || chat.messages != nil {
            // Same prompt construction as `generate`: chat template unless --raw; images expanded.
            let prepared = try chat.prepare(m, prompt: prompt)
            input = prepared.ids
            features = prepared.features
        } else { throw CLIError("give --ids, --prompt or --messages") }
        let vocab = m.config.vocabSize
        var all = [Float](repeating: 0, count: input.count * vocab)
        let cache = m.model.makeCache(capacity: max(input.count, 1))
        _ = try m.model.forward(input, cache: cache, imageFeatures: features) { pos, row in
            for j in 0..<vocab { all[pos * vocab + j] = row[j] }
        }
        var w = SafeTensorsWriter()
        w.entries = [.f32("logits", shape: [input.count, vocab], all), .i64("input_ids", shape: [input.count], input)]
        try w.write(to: output)
        printErr("wrote logits [\(input.count), \(vocab)] to \(output)")
    }
}
