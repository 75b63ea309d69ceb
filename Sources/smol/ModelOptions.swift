import ArgumentParser
import Foundation
import SmolKernels
import SmolRuntime

extension ComputePrecision: ExpressibleByArgument {}
extension KVCacheType: ExpressibleByArgument {}

struct ModelOptions: ParsableArguments {
    @Option(name: .shortAndLong, help: ArgumentHelp(
        "Model: a Hugging Face folder, a .gguf file, or a repo id in the local HF cache. Default: $SMOL_MODEL, else Models/SmolLM2-135M-Instruct.",
        discussion: "A repo id (HuggingFaceTB/SmolLM3-3B) is found under $HF_HUB_CACHE, $HF_HOME/hub or ~/.cache/huggingface/hub, never downloaded; for a repo of several GGUF files add :TAG (ggml-org/SmolLM3-3B-GGUF:Q4_K_M). GGUF: llama and smollm3 architectures; Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K and Q6_K tensors are computed from as stored (integer dot products, x quantized to 8-bit blocks); IQ4_NL is dequantized to bf16 at load; --precision f32 dequantizes everything to f32 (the exact path).",
        valueName: "folder|file.gguf|org/repo"))
    var model: String?

    @Option(name: .long, help: ArgumentHelp(
        "With a GGUF --model of SmolVLM's text decoder: its vision projector file (mmproj GGUF, as llama.cpp ships SmolVLM2), for images and video.",
        discussion: "The SigLIP tower, the connector and the image settings (tile size, longest edge, mean, std) come from the file's clip.* keys; block types are dequantized to bf16 at load.",
        valueName: "mmproj.gguf"))
    var mmproj: String?

    @Option(name: .long, help: "Compute threads (default: all cores).")
    var threads: Int?

    @Option(help: ArgumentHelp("Prefill arithmetic: f32 or bf16 (default: the faster on this CPU).",
                               discussion: "bf16 rounds activations to bf16 with f32 accumulation for bf16 weights on CPUs with AVX512_BF16, as transformers does with a bf16 checkpoint; f32 keeps activations in f32 (the exact path)."))
    var precision: ComputePrecision?

    @Option(name: .customLong("kv-type"), help: "KV cache storage: bf16 (default; half the memory) or f32 (exact).")
    var kvType: KVCacheType = .bf16

    /// The folder to load: --model, $SMOL_MODEL, ./Models/..., or next to the executable.
    func resolvedPath() throws -> String {
        if let m = model { return try resolve(m) }
        if let env = ProcessInfo.processInfo.environment["SMOL_MODEL"], !env.isEmpty { return try resolve(env) }
        let name = "Models/SmolLM2-135M-Instruct"
        var candidates = [FileManager.default.currentDirectoryPath + "/" + name]
        // .build/<config>/smol -> repository root
        let exe = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        candidates.append(exe.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path + "/" + name)
        candidates.append(exe.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().path + "/" + name)
        for c in candidates where FileManager.default.fileExists(atPath: c + "/config.json") { return c }
        throw CLIError("no --model given and the default model is missing (looked in \(candidates[0])); run scripts/fetch_default_model.sh")
    }

    private func resolve(_ spec: String) throws -> String {
        do { return try ModelLocator.resolve(spec) } catch let e as ModelLocator.NotFound { throw CLIError(e.description) }
    }

    func load(verbose: Bool) throws -> SmolModel {
        var opts = SmolModel.LoadOptions()
        opts.threads = threads
        opts.precision = precision
        opts.kvType = kvType
        opts.mmproj = mmproj
        if let t = threads, t < 1 { throw CLIError("--threads must be at least 1") }
        let path = try resolvedPath()
        let m = try SmolModel(directory: path, options: opts) { step in
            guard verbose else { return }
            switch step {
            case .config: printErr("loading \(path)")
            case let .weights(bytes): printErr(String(format: "mapped %.1f MB of weights", Double(bytes) / 1e6))
            case .tokenizer: printErr("reading tokenizer")
            case let .done(s): printErr(String(format: "loaded in %.2f s", s))
            }
        }
        if verbose { printErr(KernelInfo.describe(precision: m.model.precision)) }
        return m
    }
}

struct SamplingOptions: ParsableArguments {
    @Option(help: "Sampling temperature; 0 = greedy. Default: the model's generation_config.json.")
    var temperature: Float?
    @Option(name: .customLong("top-k"), help: "Keep only the k most likely tokens (0 = off).")
    var topK: Int?
    @Option(name: .customLong("top-p"), help: "Nucleus sampling: keep the smallest set with this total probability.")
    var topP: Float?
    @Option(name: .customLong("min-p"), help: "Drop tokens less likely than min-p times the top token.")
    var minP: Float?
    @Option(name: .customLong("repetition-penalty"), help: "Penalise tokens already in the prompt or output (1 = off).")
    var repetitionPenalty: Float?
    @Option(help: "Random seed; the same seed gives the same output.")
    var seed: UInt64?
    @Flag(help: "Greedy decoding (always pick the most likely token).")
    var greedy = false

    func apply(to base: SamplingParameters) throws -> SamplingParameters {
        var p = base
        if let t = temperature { p.temperature = t; p.doSample = t > 0 }
        if let v = topK { p.topK = v }
        if let v = topP { p.topP = v }
        if let v = minP { p.minP = v }
        if let v = repetitionPenalty { p.repetitionPenalty = v }
        if let s = seed { p.seed = s }
        if greedy { p.doSample = false }
        try p.validate()
        return p
    }
}

func parseIds(_ s: String) throws -> [Int] {
    let parts = s.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
    return try parts.map {
        guard let v = Int($0) else { throw CLIError("--ids: '\($0)' is not an integer") }
        return v
    }
}
