import ArgumentParser
import Foundation
import SmolRuntime

extension GGUFExport.TargetType: ExpressibleByArgument {}

struct Quantize: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a model folder or GGUF file as a GGUF file of another type.",
        discussion: """
        The output has the keys and tensor layout of llama.cpp's converter (names mapped, q/k rows \
        permuted, tokenizer and chat template as tokenizer.* keys). Types: q8_0, q4_0 and q4_1 \
        (ggml's reference quantizers, as llama-quantize without an importance matrix), bf16, f16, f32. \
        Norms stay f32. With q4_0/q4_1 the output matrix (or the tied embedding) is kept at q8_0 \
        (llama-quantize keeps it at q6_K, which smol does not write yet). K-quant mixes (q4_k_m, \
        q5_k_m, q6_k) are not written yet. A quantized source is dequantized first (quantizing \
        twice loses more than once: start from the bf16 folder when you have it).
        """)

    @Option(name: .shortAndLong, help: ArgumentHelp("Source: a Hugging Face folder, a .gguf file, or a repo id in the local HF cache.",
                                                    valueName: "folder|file.gguf|org/repo"))
    var model: String?
    @Option(name: .long, help: "Output type: q8_0, q4_0, q4_1, bf16, f16 or f32.")
    var type: GGUFExport.TargetType
    @Option(name: .shortAndLong, help: "The .gguf file to write (written as FILE.partial, then renamed).")
    var output: String
    @Option(name: .long, help: "Threads for dequantizing a GGUF source (default: all cores).")
    var threads: Int?
    @Flag(name: .customLong("no-progress"), help: "Do not print progress to stderr.")
    var noProgress = false

    func run() async throws {
        let src = try ModelOptions.parse(model.map { ["--model", $0] } ?? []).resolvedPath()
        guard output.hasSuffix(".gguf") else { throw CLIError("--output \(output): the file name must end in .gguf") }
        let t0 = Date()
        let err = FileHandle.standardError
        let summary = try GGUFExport.export(model: src, to: output, type: type, threads: threads ?? ProcessInfo.processInfo.activeProcessorCount) {
            i, n, name in
            // A terminal gets one updating line; a log gets only the final one.
            guard !noProgress, isatty(2) != 0 || i == n else { return }
            let line = i < n ? "\r[quantize] \(i + 1)/\(n) \(name)" : "\r[quantize] \(n)/\(n) done"
            err.write(Data((line.padding(toLength: max(line.count, 60), withPad: " ", startingAt: 0) + (i < n ? "" : "\n")).utf8))
        }
        var counts: [String: Int] = [:]
        for t in summary.tensors { counts[t.type, default: 0] += 1 }
        let mix = counts.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")
        print(String(format: "wrote %@: %d tensors (%@), %.1f MB in %.1f s", output, summary.tensors.count, mix,
                     Double(summary.bytes) / 1e6, Date().timeIntervalSince(t0)))
    }
}
