import Foundation
import SmolTokenizers
import SmolVision

/// What to generate from a prompt.
public struct GenerationRequest: Sendable {
    public var promptIds: [Int]
    public var maxTokens: Int
    public var sampling: SamplingParameters
    public var eosTokenIds: Set<Int>
    public var stopStrings: [String] = []
    public var ignoreEOS = false
    /// Vision models: rows for the prompt's image tokens (SmolModel.prepare makes them).
    public var imageFeatures: ImageFeatures? = nil
    /// Or the tiles to encode first, on the generating thread (servers queue these).
    public var imageTiles: [RGBImage] = []
    public var vision: VisionLanguageModel? = nil
    /// Run in order on the logits before each token is sampled (grammar constraints, biases).
    public var logitsProcessors: [LogitsProcessorFactory] = []
    /// Report each generated token's log-probability and this many top alternatives (0-20),
    /// from the model's distribution (raw logits, before processors and temperature); nil: off.
    public var logprobs: Int? = nil

    public init(promptIds: [Int], maxTokens: Int = 256, sampling: SamplingParameters = .init(), eosTokenIds: Set<Int> = []) {
        self.promptIds = promptIds
        self.maxTokens = maxTokens
        self.sampling = sampling
        self.eosTokenIds = eosTokenIds
    }
}

public enum FinishReason: String, Sendable, Codable {
    case eos = "stop", stopString = "stop_string", length = "length", cancelled = "cancelled"
}

/// A generated token's log-probability under the model, and the most likely alternatives.
public struct TokenLogprob: Sendable, Equatable {
    public var id: Int
    public var logprob: Float
    /// The most likely tokens at this position, most likely first.
    public var top: [(id: Int, logprob: Float)]
    public init(id: Int, logprob: Float, top: [(id: Int, logprob: Float)]) {
        self.id = id
        self.logprob = logprob
        self.top = top
    }
    public static func == (a: TokenLogprob, b: TokenLogprob) -> Bool {
        a.id == b.id && a.logprob == b.logprob && a.top.map(\.id) == b.top.map(\.id) && a.top.map(\.logprob) == b.top.map(\.logprob)
    }

    /// Log-softmax of `logits` at `id`, and the `k` most likely tokens (ties: lower id first).
    public static func from(_ logits: UnsafeBufferPointer<Float>, id: Int, k: Int) -> TokenLogprob {
        var mx = -Float.infinity
        for v in logits where v > mx { mx = v }
        var sum = 0.0
        for v in logits { sum += exp(Double(v - mx)) }
        let logZ = Double(mx) + log(sum)
        func lp(_ i: Int) -> Float { Float(Double(logits[i]) - logZ) }
        var top: [(id: Int, logprob: Float)] = []
        if k > 0 {
            // Insertion into a short sorted list: k <= 20.
            var best: [Int] = []
            for i in 0..<logits.count {
                let v = logits[i]
                if best.count == k, let last = best.last, v <= logits[last] { continue }
                var at = best.count
                while at > 0 && logits[best[at - 1]] < v { at -= 1 }
                best.insert(i, at: at)
                if best.count > k { best.removeLast() }
            }
            top = best.map { ($0, lp($0)) }
        }
        return TokenLogprob(id: id, logprob: lp(id), top: top)
    }
}

public struct GenerationSummary: Sendable {
    public var tokens: [Int] = []
    /// One per entry of `tokens` when the request asked for logprobs.
    public var logprobs: [TokenLogprob] = []
    public var text = ""
    public var finishReason: FinishReason = .length
    public var promptTokens = 0
    /// Prompt tokens served from the KV cache instead of being prefilled.
    public var cachedPromptTokens = 0
    /// The stop string that ended generation, when finishReason is .stopString.
    public var stopString: String? = nil
    public var prefillSeconds = 0.0
    public var decodeSeconds = 0.0
    public var timeToFirstToken = 0.0
    /// Vision encoder time for tiles encoded by the run (included in timeToFirstToken).
    public var imageEncodeSeconds = 0.0
    public var prefillTokensPerSecond: Double { prefillSeconds > 0 ? Double(promptTokens - cachedPromptTokens) / prefillSeconds : 0 }
    /// Tokens after the first, over the time spent producing them.
    public var decodeTokensPerSecond: Double { decodeSeconds > 0 && tokens.count > 1 ? Double(tokens.count - 1) / decodeSeconds : 0 }
}

public enum GenerationEvent: Sendable {
    /// A token and the text it completed (may be empty while a character or a possible
    /// stop string is incomplete).
    case token(id: Int, text: String)
    case done(GenerationSummary)
}

/// Prefill then incremental decode over a KV cache, with sampling, eos and stop strings.
public final class TextGenerator: @unchecked Sendable {
    public let model: LanguageModel
    public let tokenizer: TextTokenizer?

    public init(model: LanguageModel, tokenizer: TextTokenizer?) {
        self.model = model
        self.tokenizer = tokenizer
    }

    /// Runs generation on the calling thread. `onToken` returns false to stop early.
    /// With a `cache` that already holds a prefix of the prompt, only the rest is prefilled.
    /// This is a `GenerationSequence` advanced alone: batched generation takes the same path.
    public func run(_ req: GenerationRequest, cache given: KVCache? = nil,
                    onToken: (Int, String) -> Bool = { _, _ in true }) throws -> GenerationSummary {
        let cache = given ?? model.makeCache(capacity: nil)
        // The sequence lives only inside this call.
        return try withoutActuallyEscaping(onToken) { onToken in
            let seq = try GenerationSequence(req, cache: cache, model: model, tokenizer: tokenizer, onToken: onToken)
            while !seq.isFinished {
                if seq.phase == .prefill {
                    // The whole remaining prompt in one call: the model chunks it.
                    try seq.prefill(model: model, limit: Int.max)
                } else if let t = seq.pendingToken {
                    try seq.accept(try model.forward([t], cache: cache, eachPosition: nil))
                }
            }
            return seq.summary
        }
    }

    /// Streams events as tokens are produced. Cancelling the consuming task stops generation.
    public func stream(_ req: GenerationRequest, cache: KVCache? = nil) -> AsyncThrowingStream<GenerationEvent, Error> {
        AsyncThrowingStream { continuation in
            let cancelled = ManagedAtomicFlag()
            continuation.onTermination = { _ in cancelled.set() }
            let thread = Thread {
                do {
                    let summary = try self.run(req, cache: cache) { id, text in
                        if id >= 0 { continuation.yield(.token(id: id, text: text)) }
                        else { continuation.yield(.token(id: -1, text: text)) }
                        return !cancelled.isSet
                    }
                    continuation.yield(.done(summary))
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            thread.stackSize = 8 << 20
            thread.start()
        }
    }
}

/// A thread-safe flag without pulling in swift-atomics.
final class ManagedAtomicFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    func set() { lock.lock(); value = true; lock.unlock() }
    var isSet: Bool { lock.lock(); defer { lock.unlock() }; return value }
}
