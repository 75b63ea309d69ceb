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

public struct GenerationSummary: Sendable {
    public var tokens: [Int] = []
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
    public func run(_ req: GenerationRequest, cache given: KVCache? = nil,
                    onToken: (Int, String) -> Bool = { _, _ in true }) throws -> GenerationSummary {
        try req.sampling.validate()
        guard !req.promptIds.isEmpty else { throw GenerationError.emptyPrompt }
        guard req.maxTokens >= 0 else { throw GenerationError.invalidParameter(field: "max_tokens", reason: "must be >= 0") }
        let cache = given ?? model.makeCache(capacity: nil)
        guard req.promptIds.count <= cache.capacity else {
            throw GenerationError.promptTooLong(tokens: req.promptIds.count, context: cache.capacity)
        }
        var summary = GenerationSummary()
        var req = req
        if req.imageFeatures == nil && !req.imageTiles.isEmpty {
            guard let vision = req.vision else { throw ModelError.imagesNotSupported(modelType: model.config.modelType) }
            let t = Date()
            req.imageFeatures = try vision.features(tiles: req.imageTiles)
            summary.imageEncodeSeconds = Date().timeIntervalSince(t)
        }
        summary.promptTokens = req.promptIds.count
        // Reuse the cached prefix; at least one prompt token must run to produce logits.
        var reuse = min(cache.commonPrefix(with: req.promptIds), req.promptIds.count - 1)
        // Image tokens look alike whatever the image: never reuse a cached image.
        if let f = req.imageFeatures, let first = req.promptIds.firstIndex(of: f.tokenId) { reuse = min(reuse, first) }
        cache.truncate(to: reuse)
        summary.cachedPromptTokens = reuse
        let sampler = Sampler(params: req.sampling, vocabSize: model.config.vocabSize)
        var seen = Set(req.promptIds)
        var history = req.promptIds
        var detok = tokenizer.map { StreamingDetokenizer(tokenizer: $0) }
        var stops = StopStringMatcher(req.stopStrings)
        let budget = min(req.maxTokens, cache.capacity - req.promptIds.count)

        let t0 = Date()
        // The last prompt token runs alone, as it does when the whole prompt is a cache hit: its
        // logits (and so a seeded sample) are then the same bits whether the prompt was prefilled
        // now or reused. bf16 activations would turn the few-ulp difference between a chunked
        // and a single-token pass into visible changes.
        let fresh = Array(req.promptIds[reuse...])
        var logits: UnsafeBufferPointer<Float>
        if fresh.count > 1, req.imageFeatures.map({ fresh.last != $0.tokenId }) ?? true {
            _ = try model.forward(Array(fresh.dropLast()), cache: cache, imageFeatures: req.imageFeatures, eachPosition: nil)
            logits = try model.forward([fresh.last!], cache: cache, imageFeatures: nil, eachPosition: nil)
        } else {
            logits = try model.forward(fresh, cache: cache, imageFeatures: req.imageFeatures, eachPosition: nil)
        }
        summary.prefillSeconds = Date().timeIntervalSince(t0)
        var tDecode = Date()
        summary.finishReason = .length
        var produced = 0
        while produced < budget {
            guard logits.allSatisfy({ $0.isFinite }) else {
                throw ModelError.nonFiniteLogits(position: cache.count - 1)
            }
            let next = sampler.sample(logits, history: history, seen: &seen)
            produced += 1
            if produced == 1 {
                summary.timeToFirstToken = Date().timeIntervalSince(t0) + summary.imageEncodeSeconds
                tDecode = Date()
            }
            if !req.ignoreEOS && req.eosTokenIds.contains(next) {
                summary.finishReason = .eos
                break
            }
            summary.tokens.append(next)
            sampler.accept(next)
            history.append(next)
            seen.insert(next)
            let piece = detok?.append(next) ?? ""
            let (emit, stopped) = stops.feed(piece)
            summary.text += emit
            if !onToken(next, emit) {
                summary.finishReason = .cancelled
                break
            }
            if stopped {
                summary.finishReason = .stopString
                summary.stopString = stops.matched
                break
            }
            if produced == budget { break }
            logits = try model.forward([next], cache: cache, eachPosition: nil)
        }
        if summary.finishReason != .stopString {
            var tail = detok?.flush() ?? ""
            tail = stops.finish(tail)
            if !tail.isEmpty {
                summary.text += tail
                _ = onToken(-1, tail)
            }
        }
        if produced > 0 { summary.decodeSeconds = Date().timeIntervalSince(tDecode) }
        return summary
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
