import ArgumentParser
import Foundation
import SmolRuntime

extension GGUFExport.TargetType: ExpressibleByArgument {}

struct Quantize: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a model folder or GGUF file as a GGUF file of another type.",
        discussion: """
        The output has the keys and tensor layout of llama.cpp's converter (names mapped, q/k rows \
        permuted, tokenizer and chat template as tokenizer.* keys), and the per-tensor types \
        llama-quantize picks without an importance matrix: the output matrix (or the tied \
        embedding) at Q6_K; for q4_k_m/q5_k_m, attn_v and ffn_down at Q6_K in the first and last \
        eighth of the layers and every third between; rows that are not whole 256-value blocks \
        fall back to Q5_0 (from Q4_K), Q5_1 (Q5_K) or Q8_0 (Q6_K). Norms stay f32. Blocks come \
        from ggml's reference quantizers (quantize_row_*_ref, the float operations in ggml's \
        order). A quantized source is dequantized first (quantizing twice loses more than once: \
        start from the bf16 folder or a BF16 GGUF when you have it).
        """)

    @Option(name: .shortAndLong, help: ArgumentHelp("Source: a Hugging Face folder, a .gguf file, or a repo id in the local HF cache.",
                                                    valueName: "folder|file.gguf|org/repo"))
    var model: String?
    @Option(name: .long, help: ArgumentHelp("Output type: a mix (q4_k_m, q4_k_s, q5_k_m, q5_k_s), one block type for every matrix (q8_0, q6_k, q5_0, q5_1, q4_0, q4_1), or a float type (bf16, f16, f32).", valueName: "type"))
    var type: GGUFExport.TargetType
    @Option(name: .shortAndLong, help: "The .gguf file to write (written as FILE.partial, then renamed).")
    var output: String
    @Option(name: .long, help: "Threads for reading a GGUF source and quantizing (default: all cores).")
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
