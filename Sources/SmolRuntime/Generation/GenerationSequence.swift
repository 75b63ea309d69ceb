import Foundation
import SmolTokenizers

/// One generation as plain state that an engine advances: its KV cache, what of the prompt is
/// still to prefill, the sampler, stop matching and the detokenizer. The model holds none of it,
/// so one model serves many sequences (`BatchGenerator`), and `TextGenerator.run` is the same
/// path with a single sequence.
public final class GenerationSequence: @unchecked Sendable {
    public enum Phase: Sendable, Equatable {
        /// Prompt tokens remain before the last one (which runs as a decode row).
        case prefill
        /// `pendingToken` is to run next; its logits choose the next token.
        case decode
        case finished
    }

    public let request: GenerationRequest
    public let cache: KVCache
    public private(set) var phase: Phase = .prefill
    public private(set) var summary = GenerationSummary()
    /// Called with each token and the text it completed (empty while a character or a stop
    /// string is incomplete; id -1 for the detokenizer's final flush). Returns false to cancel.
    public var onToken: (Int, String) -> Bool

    /// Prompt tokens that run through the model (what the cache did not hold).
    let fresh: [Int]
    /// How many of `fresh` have run.
    private var done = 0
    /// Image feature rows already consumed by prefill chunks.
    private var featuresUsed = 0
    /// The last prompt token runs alone (as a decode row) unless it is an image token.
    private let lastRunsAlone: Bool
    public private(set) var pendingToken: Int? = nil
    private let sampler: Sampler
    private let processors: [any LogitsProcessor]
    /// The logits as the processors leave them (allocated once).
    private var processed: [Float] = []
    private var seen: Set<Int>
    private var history: [Int]
    private var detok: StreamingDetokenizer?
    private var stops: StopStringMatcher
    private let budget: Int
    private var produced = 0
    private var t0 = Date()
    private var tDecode = Date()

    /// The prompt as the cache keys it: token ids, except that each image placeholder carries a key
    /// of its image feature row (negative, never a token id). A cached prefix then extends past
    /// an image only when it is the same image; image tokens alone look alike whatever the image.
    public let keys: [Int]
    /// Where `fresh` starts in the prompt.
    private let freshStart: Int

    /// Validates the request, encodes image tiles if the request has them (on this thread), and
    /// keeps what `cache` already holds of the prompt (matched by `keys`): only the rest is
    /// prefilled. At least one prompt token always runs.
    public init(_ request: GenerationRequest, cache: KVCache, model: LanguageModel, tokenizer: TextTokenizer?,
                imageEncodeSeconds: Double = 0, onToken: @escaping (Int, String) -> Bool = { _, _ in true }) throws {
        try request.sampling.validate()
        guard !request.promptIds.isEmpty else { throw GenerationError.emptyPrompt }
        guard request.maxTokens >= 0 else { throw GenerationError.invalidParameter(field: "max_tokens", reason: "must be >= 0") }
        guard request.promptIds.count <= cache.capacity else {
            throw GenerationError.promptTooLong(tokens: request.promptIds.count, context: cache.capacity)
        }
        var req = request
        var summary = GenerationSummary()
        summary.imageEncodeSeconds = try Self.encodeImages(&req, model: model) + imageEncodeSeconds
        summary.promptTokens = req.promptIds.count
        let keys = Self.cacheKeys(req)
        let reuse = min(cache.commonPrefix(with: keys), Self.reusableLimit(req))
        cache.truncate(to: reuse)
        summary.cachedPromptTokens = reuse
        if let f = req.imageFeatures { featuresUsed = req.promptIds[..<reuse].reduce(0) { $0 + ($1 == f.tokenId ? 1 : 0) } }
        self.keys = keys
        freshStart = reuse
        self.request = req
        self.cache = cache
        self.onToken = onToken
        self.summary = summary
        let fresh = Array(req.promptIds[reuse...])
        self.fresh = fresh
        lastRunsAlone = req.imageFeatures.map { fresh.last != $0.tokenId } ?? true
        sampler = Sampler(params: req.sampling, vocabSize: model.config.vocabSize)
        processors = try req.logitsProcessors.map { try $0() }
        seen = Set(req.promptIds)
        history = req.promptIds
        detok = tokenizer.map { StreamingDetokenizer(tokenizer: $0) }
        stops = StopStringMatcher(req.stopStrings)
        budget = min(req.maxTokens, cache.capacity - req.promptIds.count)
        t0 = Date()
        if prefillRemaining == 0 { enterDecode() }
    }

    /// Encodes the request's image tiles into feature rows if it has tiles and no features yet
    /// (engines do it before choosing a cache: the keys need the features). Returns the seconds.
    public static func encodeImages(_ req: inout GenerationRequest, model: LanguageModel) throws -> Double {
        guard req.imageFeatures == nil && !req.imageTiles.isEmpty else { return 0 }
        guard let vision = req.vision else { throw ModelError.imagesNotSupported(modelType: model.config.modelType) }
        let t = Date()
        req.imageFeatures = try vision.features(tiles: req.imageTiles)
        req.imageTiles = []
        return Date().timeIntervalSince(t)
    }

    /// See `keys`. Image tiles must have been encoded (`encodeImages`); until then the image
    /// positions get keys no cache holds.
    public static func cacheKeys(_ req: GenerationRequest) -> [Int] {
        guard let f = req.imageFeatures ?? (req.imageTiles.isEmpty ? nil : ImageFeatures(tokenId: req.vision?.config.imageTokenId ?? -1, hidden: 1, rows: [])) else {
            return req.promptIds
        }
        var keys = req.promptIds, row = 0
        f.rows.withUnsafeBufferPointer { rows in
            for (i, id) in req.promptIds.enumerated() where id == f.tokenId {
                if (row + 1) * f.hidden <= rows.count {
                    var h = Hash64(seed: 0x1A6E)
                    h.add(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(rows)[(row * f.hidden * 4)..<((row + 1) * f.hidden * 4)]))
                    keys[i] = -1 - Int(h.value >> 2)
                } else {
                    keys[i] = Int.min + i  // not encoded yet: matches nothing cached
                }
                row += 1
            }
        }
        return keys
    }

    /// How much of a cached prompt may be reused: all but the last token (whose logits choose
    /// the first new token).
    public static func reusableLimit(_ req: GenerationRequest) -> Int {
        max(0, req.promptIds.count - 1)
    }

    /// Prompt tokens still to prefill in chunks (the last one runs as a decode row when it can).
    public var prefillRemaining: Int { fresh.count - (lastRunsAlone ? 1 : 0) - done }

    public var isFinished: Bool { phase == .finished }

    /// Prefills up to `limit` more prompt tokens. When that was the last of the prompt (an image
    /// token last), the logits it returns choose the first token.
    public func prefill(model: LanguageModel, limit: Int) throws {
        guard phase == .prefill && prefillRemaining > 0 else {
            throw GenerationError.invalidParameter(field: "sequence", reason: "prefill called with no prompt left to prefill")
        }
        let n = min(limit, prefillRemaining)
        let chunk = Array(fresh[done..<(done + n)])
        var features: ImageFeatures? = nil
        if let f = request.imageFeatures {
            let k = chunk.reduce(0) { $0 + ($1 == f.tokenId ? 1 : 0) }
            if k > 0 {
                let rows = Array(f.rows[(featuresUsed * f.hidden)..<((featuresUsed + k) * f.hidden)])
                features = ImageFeatures(tokenId: f.tokenId, hidden: f.hidden, rows: rows)
                featuresUsed += k
            }
        }
        let logits = try model.forward(chunk, cache: cache, imageFeatures: features, eachPosition: nil)
        if features != nil {
            // The cache names image positions by their content, not by the placeholder id.
            let start = freshStart + done
            cache.tokens.replaceSubrange((cache.tokens.count - n)..., with: keys[start..<(start + n)])
        }
        done += n
        if prefillRemaining == 0 {
            if lastRunsAlone { enterDecode() } else { try accept(logits) }
        }
    }

    private func enterDecode() {
        phase = .decode
        pendingToken = fresh.last
    }

    /// Takes the logits that `pendingToken` produced: samples, checks eos and stop strings, and
    /// reports the token. Afterwards the sequence either has a new pending token or is finished.
    public func accept(_ logits: UnsafeBufferPointer<Float>) throws {
        guard phase != .finished else {
            throw GenerationError.invalidParameter(field: "sequence", reason: "accept called on a finished sequence")
        }
        if phase == .prefill || (phase == .decode && produced == 0) {
            summary.prefillSeconds = Date().timeIntervalSince(t0)
        }
        phase = .decode
        pendingToken = nil
        guard produced < budget else { return finish(.length) }
        guard logits.allSatisfy({ $0.isFinite }) else { throw ModelError.nonFiniteLogits(position: cache.count - 1) }
        let next: Int
        if processors.isEmpty {
            next = sampler.sample(logits, history: history, seen: &seen)
        } else {
            if processed.count != logits.count { processed = [Float](repeating: 0, count: logits.count) }
            let seenNow = seen, hist = history
            next = try processed.withUnsafeMutableBufferPointer { buf in
                _ = buf.initialize(from: logits)
                for p in processors { try p.process(buf) }
                var s = seenNow
                return sampler.sample(UnsafeBufferPointer(buf), history: hist, seen: &s)
            }
            for p in processors { try p.accept(next) }
        }
        produced += 1
        if produced == 1 {
            summary.timeToFirstToken = Date().timeIntervalSince(t0) + summary.imageEncodeSeconds
            tDecode = Date()
        }
        if !request.ignoreEOS && request.eosTokenIds.contains(next) { return finish(.eos) }
        summary.tokens.append(next)
        if let k = request.logprobs { summary.logprobs.append(TokenLogprob.from(logits, id: next, k: min(max(k, 0), 20))) }
        sampler.accept(next)
        history.append(next)
        seen.insert(next)
        let piece = detok?.append(next) ?? ""
        let (emit, stopped) = stops.feed(piece)
        summary.text += emit
        if !onToken(next, emit) { return finish(.cancelled) }
        if stopped {
            summary.stopString = stops.matched
            return finish(.stopString)
        }
        if produced == budget { return finish(.length) }
        pendingToken = next
    }

    /// Ends the sequence now (a client that went away).
    public func cancel() {
        if phase != .finished { finish(.cancelled) }
    }

    private func finish(_ reason: FinishReason) {
        summary.finishReason = reason
        phase = .finished
        pendingToken = nil
        if reason != .stopString {
            let tail = stops.finish(detok?.flush() ?? "")
            if !tail.isEmpty {
                summary.text += tail
                _ = onToken(-1, tail)
            }
        }
        if produced > 0 { summary.decodeSeconds = Date().timeIntervalSince(tDecode) }
    }
}
