import ArgumentParser
import Foundation
import SmolRuntime

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

    func run() async throws {
        let t0 = Date()
        let m = try modelOptions.load(verbose: false)
        let load = Date().timeIntervalSince(t0)
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
        ]
        if json {
            print(String(decoding: try JSONSerialization.data(withJSONObject: result, options: [.sortedKeys]), as: UTF8.self))
        } else {
            print(String(format: "load %.2f s | pp%d %.1f tok/s | tg%d %.2f tok/s | TTFT %.3f s | peak RSS %.0f MB (weights %.0f MB)",
                         load, promptTokens, median(prefill), genTokens, median(decode), median(ttft),
                         Double(peakRSSBytes()) / 1e6, Double(m.model.weights.totalBytes) / 1e6))
        }
    }
}
