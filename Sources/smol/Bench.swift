import ArgumentParser
import Foundation
import SmolKernels
import SmolRuntime
import SmolVision

struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure load time, prefill and decode speed, time to first token and peak memory.")

    @OptionGroup var modelOptions: ModelOptions
    @Option(name: .customLong("prompt-tokens"), help: "Prefill length in tokens.")
    var promptTokens = 512
    @Option(name: .customLong("gen-tokens"), help: "Tokens to decode.")
    var genTokens = 128
    @Option(help: "Repetitions; the median is reported.")
    var repeats = 3
    @Flag(help: "Print one JSON object.")
    var json = false
    @Option(help: ArgumentHelp("Benchmark a vision model on this image (PNG/JPEG) instead of random prompt ids.",
                               discussion: "Times image decode+tiling, the vision encoder (per tile and per image) and time to first token for the chat prompt \"<image>Describe this image.\"; --prompt-tokens is ignored."))
    var image: String?
    @Option(help: ArgumentHelp("Decode this many sequences together (continuous batching, as smol serve --parallel) and report the aggregate rate.",
                               discussion: "Each sequence gets its own --prompt-tokens prompt; tg is the tokens of all sequences over the time from the first to the last generated token."))
    var batch = 1

    func run() async throws {
        let t0 = Date()
        let m = try modelOptions.load(verbose: false)
        let load = Date().timeIntervalSince(t0)
        if let image { return try runImage(m, path: image, load: load) }
        guard batch >= 1 else { throw CLIError("--batch must be at least 1") }
        if batch > 1 { return try runBatch(m, load: load) }
        let vocab = m.config.vocabSize
        // Deterministic pseudo-random prompt ids (no tokenizer dependence).
        var x: UInt64 = 12345
        let ids = (0..<promptTokens).map { _ -> Int in
            x = x &* 6364136223846793005 &+ 1442695040888963407
            return Int((x >> 33) % UInt64(vocab))
        }
        var prefill: [Double] = [], decode: [Double] = [], ttft: [Double] = []
        let cache = m.model.makeCache(capacity: promptTokens + genTokens + 1)
        for _ in 0..<max(1, repeats) {
            cache.reset()
            var req = GenerationRequest(promptIds: ids, maxTokens: genTokens, sampling: SamplingParameters(), eosTokenIds: [])
            req.ignoreEOS = true
            let s = try TextGenerator(model: m.model, tokenizer: nil).run(req, cache: cache)
            prefill.append(s.prefillTokensPerSecond)
            decode.append(s.decodeTokensPerSecond)
            ttft.append(s.timeToFirstToken)
        }
        func median(_ a: [Double]) -> Double { let s = a.sorted(); return s[s.count / 2] }
        let result: [String: Any] = [
            "model": m.directory, "threads": m.model.threads, "prompt_tokens": promptTokens, "gen_tokens": genTokens,
            "load_seconds": load, "prefill_tokens_per_second": median(prefill), "decode_tokens_per_second": median(decode),
            "time_to_first_token_seconds": median(ttft), "peak_rss_bytes": peakRSSBytes(),
            "weights_bytes": m.model.weights.totalBytes, "kv_cache_bytes": cache.bytes,
        ].merging(kernelFields(m)) { a, _ in a }
        if json {
            print(String(decoding: try JSONSerialization.data(withJSONObject: result, options: [.sortedKeys]), as: UTF8.self))
        } else {
            print(KernelInfo.describe(precision: m.model.precision))
            print(String(format: "load %.2f s | pp%d %.1f tok/s | tg%d %.2f tok/s | TTFT %.3f s | peak RSS %.0f MB (weights %.0f MB)",
                         load, promptTokens, median(prefill), genTokens, median(decode), median(ttft),
                         Double(peakRSSBytes()) / 1e6, Double(m.model.weights.totalBytes) / 1e6))
        }
    }

    /// `batch` sequences with different prompts decoded together; medians of the repeats.
    func runBatch(_ m: SmolModel, load: Double) throws {
        let vocab = m.config.vocabSize
        var rates: [Double] = []
        for _ in 0..<max(1, repeats) {
            let gen = BatchGenerator(model: m.model)
            var seqs: [GenerationSequence] = []
            var first: Date? = nil
            for b in 0..<batch {
                var x = UInt64(12345 + b)
                let ids = (0..<promptTokens).map { _ -> Int in
                    x = x &* 6364136223846793005 &+ 1442695040888963407
                    return Int((x >> 33) % UInt64(vocab))
                }
                var req = GenerationRequest(promptIds: ids, maxTokens: genTokens, sampling: SamplingParameters(), eosTokenIds: [])
                req.ignoreEOS = true
                let s = try GenerationSequence(req, cache: m.model.makeCache(capacity: promptTokens + genTokens + 1), model: m.model,
                                               tokenizer: nil)
                seqs.append(s)
                gen.add(s)
            }
            // Prefill every prompt first, so that the timed steps are decode steps of all sequences.
            while gen.sequences.contains(where: { $0.phase == .prefill }) { _ = gen.step() }
            let before = seqs.reduce(0) { $0 + $1.summary.tokens.count }
            first = Date()
            for (_, e) in gen.runToEnd() { if let e { throw e } }
            let after = seqs.reduce(0) { $0 + $1.summary.tokens.count }
            rates.append(Double(after - before) / Date().timeIntervalSince(first!))
        }
        let rate = rates.sorted()[rates.count / 2]
        let result: [String: Any] = [
            "model": m.directory, "threads": m.model.threads, "prompt_tokens": promptTokens, "gen_tokens": genTokens, "batch": batch,
            "load_seconds": load, "decode_tokens_per_second": rate, "decode_tokens_per_second_per_sequence": rate / Double(batch),
            "peak_rss_bytes": peakRSSBytes(), "weights_bytes": m.model.weights.totalBytes,
        ].merging(kernelFields(m)) { a, _ in a }
        if json {
            print(String(decoding: try JSONSerialization.data(withJSONObject: result, options: [.sortedKeys]), as: UTF8.self))
        } else {
            print(KernelInfo.describe(precision: m.model.precision))
            print(String(format: "load %.2f s | batch %d, pp%d each | tg%d %.2f tok/s aggregate (%.2f per sequence) | peak RSS %.0f MB",
                         load, batch, promptTokens, genTokens, rate, rate / Double(batch), Double(peakRSSBytes()) / 1e6))
        }
    }

    /// Vision timings: each repeat decodes and tiles the image, encodes all tiles, prefills and
    /// decodes `genTokens`; medians are reported.
    func runImage(_ m: SmolModel, path: String, load: Double) throws {
        guard let vision = m.vision, let prompt = m.prompt else {
            throw CLIError("--image needs a vision model with a chat template (SmolVLM2); \(m.directory) is \(m.config.modelType)")
        }
        let text = try prompt.render([ChatMessage(role: "user", parts: [.image(path: path), .text("Describe this image.")])])
        var decode: [Double] = [], preprocess: [Double] = [], encode: [Double] = [], ttft: [Double] = [], prefill: [Double] = []
        var tiles = 0, promptTokens = 0, width = 0, height = 0
        let cache = m.model.makeCache(capacity: min(m.config.maxPositionEmbeddings, 16384))
        for _ in 0..<max(1, repeats) {
            cache.reset()
            let start = Date()
            let img = try ImageDecoder.load(path: path).image
            width = img.width
            height = img.height
            let (ids, _, tileImages) = try vision.tokenize(prompt: text, images: [img])
            let tPre = Date().timeIntervalSince(start)
            let tEnc0 = Date()
            let features = try vision.features(tiles: tileImages)
            let tEnc = Date().timeIntervalSince(tEnc0)
            var req = GenerationRequest(promptIds: ids, maxTokens: genTokens, sampling: SamplingParameters(), eosTokenIds: [])
            req.ignoreEOS = true
            req.imageFeatures = features
            let s = try TextGenerator(model: m.model, tokenizer: nil).run(req, cache: cache)
            preprocess.append(tPre)
            encode.append(tEnc)
            ttft.append(tPre + tEnc + s.timeToFirstToken)
            prefill.append(s.prefillTokensPerSecond)
            decode.append(s.decodeTokensPerSecond)
            tiles = tileImages.count
            promptTokens = ids.count
        }
        func median(_ a: [Double]) -> Double { let s = a.sorted(); return s[s.count / 2] }
        let result: [String: Any] = [
            "model": m.directory, "threads": m.model.threads, "image": path, "image_width": width, "image_height": height,
            "tiles": tiles, "prompt_tokens": promptTokens, "gen_tokens": genTokens, "load_seconds": load,
            "preprocess_seconds": median(preprocess), "encode_seconds": median(encode),
            "encode_ms_per_tile": median(encode) * 1000 / Double(max(tiles, 1)),
            "time_to_first_token_seconds": median(ttft), "prefill_tokens_per_second": median(prefill),
            "decode_tokens_per_second": median(decode), "peak_rss_bytes": peakRSSBytes(),
            "weights_bytes": m.model.weights.totalBytes,
        ].merging(kernelFields(m)) { a, _ in a }
        if json {
            print(String(decoding: try JSONSerialization.data(withJSONObject: result, options: [.sortedKeys]), as: UTF8.self))
        } else {
            print(KernelInfo.describe(precision: m.model.precision))
            print(String(format: "%dx%d image: %d tiles, %d prompt tokens | decode+tile %.3f s | encode %.3f s (%.1f ms/tile) | TTFT %.3f s | pp %.1f tok/s | tg%d %.2f tok/s | peak RSS %.0f MB",
                         width, height, tiles, promptTokens, median(preprocess), median(encode), median(encode) * 1000 / Double(max(tiles, 1)),
                         median(ttft), median(prefill), genTokens, median(decode), Double(peakRSSBytes()) / 1e6))
        }
    }

    /// The kernel level, precision and each family's path, for the benchmark's record.
    func kernelFields(_ m: SmolModel) -> [String: Any] {
        var paths: [String: String] = [:]
        for (f, p) in KernelInfo.paths(precision: m.model.precision) { paths[f] = p }
        return ["isa": KernelInfo.activeLevel, "cpu_features": KernelInfo.cpuFeatures, "precision": m.model.precision.rawValue,
                "kernel_paths": paths, "blas_core": ComputeContext.blasCoreName]
    }
}
