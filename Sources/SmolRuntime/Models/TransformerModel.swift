import CSmolKernels
import Foundation
import SmolKernels
import SmolWeights

/// What generation needs from a model; tests substitute small stubs.
public protocol LanguageModel: AnyObject, Sendable {
    var config: TransformerConfig { get }
    /// Runs `tokens` at positions cache.count ..< cache.count + tokens.count, appending them to
    /// the cache. Returns the logits of the last position (valid until the next call).
    /// `eachPosition`, when given, receives the logits of every position in order.
    func forward(_ tokens: [Int], cache: KVCache,
                 eachPosition: ((Int, UnsafeBufferPointer<Float>) throws -> Void)?) throws -> UnsafeBufferPointer<Float>
    /// Same, with image features replacing the embeddings of `features.tokenId` tokens, in order.
    func forward(_ tokens: [Int], cache: KVCache, imageFeatures: ImageFeatures?,
                 eachPosition: ((Int, UnsafeBufferPointer<Float>) throws -> Void)?) throws -> UnsafeBufferPointer<Float>
    func makeCache(capacity: Int?) -> KVCache
    /// One decode step of several sequences: `tokens[i]` runs at position caches[i].count and is
    /// appended to caches[i]. `body(i, logits)` gets each row's logits (valid during the call).
    /// A sequence's logits are the same bits as a `forward([tokens[i]], cache: caches[i])`.
    func forwardDecode(_ tokens: [Int], caches: [KVCache], body: (Int, UnsafeBufferPointer<Float>) throws -> Void) throws
}

extension LanguageModel {
    /// One sequence at a time (models without a batched step, test stubs).
    public func forwardDecode(_ tokens: [Int], caches: [KVCache], body: (Int, UnsafeBufferPointer<Float>) throws -> Void) throws {
        for (i, (t, c)) in zip(tokens, caches).enumerated() {
            try body(i, try forward([t], cache: c, eachPosition: nil))
        }
    }


    /// Text-only models: images are an error.
    public func forward(_ tokens: [Int], cache: KVCache, imageFeatures: ImageFeatures?,
                        eachPosition: ((Int, UnsafeBufferPointer<Float>) throws -> Void)?) throws -> UnsafeBufferPointer<Float> {
        if imageFeatures != nil { throw ModelError.imagesNotSupported(modelType: config.modelType) }
        return try forward(tokens, cache: cache, eachPosition: eachPosition)
    }
}

/// Rows that replace the embeddings of the image placeholder tokens of a prompt, in order
/// (transformers' masked_scatter of image features into inputs_embeds).
public struct ImageFeatures: Sendable {
    public let tokenId: Int
    public let hidden: Int
    /// [count, hidden]
    public let rows: [Float]
    public var count: Int { rows.count / hidden }
    public init(tokenId: Int, hidden: Int, rows: [Float]) {
        self.tokenId = tokenId
        self.hidden = hidden
        self.rows = rows
    }
}

/// A decoder-only transformer (Llama / SmolLM3) over memory-mapped weights.
/// Buffers are allocated once at load for the largest prefill chunk; decode allocates nothing.
public final class TransformerModel: LanguageModel, @unchecked Sendable {
    public let config: TransformerConfig
    public let weights: ModelWeights
    let w: TransformerWeights
    let ctx: ComputeContext
    let rope: RotaryEmbedding
    /// Prefill runs in chunks of at most this many tokens.
    public let maxChunk: Int
    private let lock = NSLock()

    // Activations, sized for maxChunk rows.
    private let x: Buffer       // [chunk, hidden] residual stream
    private let xn: Buffer      // [chunk, hidden] normalised
    private let q: Buffer       // [chunk, heads * headDim]
    private let k: Buffer       // [chunk, kvHeads * headDim]
    private let v: Buffer       // [chunk, kvHeads * headDim]
    private let attn: Buffer    // [chunk, heads * headDim]
    private let proj: Buffer    // [chunk, hidden]
    private let gate: Buffer    // [chunk, intermediate]
    private let up: Buffer      // [chunk, intermediate]
    private let logits: Buffer  // [decodeRows, vocab]
    private let cosT: Buffer    // [chunk, headDim / 2]
    private let sinT: Buffer
    private let convert: Buffer // bf16/f16 -> f32 staging for BLAS
    private var attnScratch: Buffer  // [threads, context]
    // Decode jobs per layer, built once (no allocation per token).
    private var qkvGroups: [MatvecGroup] = []
    private var gateUpGroups: [MatvecGroup] = []
    private var oGroups: [MatvecGroup] = []
    private var downGroups: [MatvecGroup] = []
    private var lmHeadGroup: MatvecGroup! = nil

    /// `precision`: arithmetic of the prefill products (default: the faster on this CPU; see ComputePrecision).
    /// Storage of the caches `makeCache` creates.
    public let kvType: KVCacheType

    /// `kvType`: storage of the KV caches this model makes (bf16 halves their memory).
    public init(config: TransformerConfig, weights: ModelWeights, threads: Int? = nil, precision: ComputePrecision? = nil,
                kvType: KVCacheType = .bf16, maxChunk: Int = 512) throws {
        self.kvType = kvType
        self.config = config
        self.weights = weights
        w = try TransformerWeights(config: config, weights: weights, prefix: config.weightPrefix)
        ctx = ComputeContext(threads: threads, precision: precision)
        rope = RotaryEmbedding(config: config)
        self.maxChunk = max(1, maxChunk)
        let c = config, m = self.maxChunk
        x = Buffer(m * c.hiddenSize)
        xn = Buffer(m * c.hiddenSize)
        q = Buffer(m * c.numHeads * c.headDim)
        k = Buffer(m * c.numKVHeads * c.headDim)
        v = Buffer(m * c.numKVHeads * c.headDim)
        attn = Buffer(m * c.numHeads * c.headDim)
        proj = Buffer(m * c.hiddenSize)
        gate = Buffer(m * c.intermediateSize)
        up = Buffer(m * c.intermediateSize)
        logits = Buffer(Self.decodeRows * c.vocabSize)
        cosT = Buffer(m * c.headDim / 2)
        sinT = Buffer(m * c.headDim / 2)
        convert = Buffer(ctx.threads * Self.scratchPerThread(cols: max(c.hiddenSize, c.intermediateSize, c.numHeads * c.headDim)))
        attnScratch = Buffer(ctx.threads * 4096)
        for lw in w.layers {
            qkvGroups.append(MatvecGroup([(lw.q, q.p), (lw.k, k.p), (lw.v, v.p)]))
            gateUpGroups.append(MatvecGroup([(lw.gate, gate.p), (lw.up, up.p)]))
            oGroups.append(MatvecGroup([(lw.o, proj.p)]))
            downGroups.append(MatvecGroup([(lw.down, proj.p)]))
        }
        lmHeadGroup = MatvecGroup([(w.lmHead, logits.p)])
    }

    public func makeCache(capacity: Int? = nil) -> KVCache {
        KVCache(config: config, capacity: min(capacity ?? config.maxPositionEmbeddings, config.maxPositionEmbeddings), type: kvType)
    }

    public func forward(_ tokens: [Int], cache: KVCache,
                        eachPosition: ((Int, UnsafeBufferPointer<Float>) throws -> Void)? = nil) throws -> UnsafeBufferPointer<Float> {
        try forward(tokens, cache: cache, imageFeatures: nil, eachPosition: eachPosition)
    }

    public func forward(_ tokens: [Int], cache: KVCache, imageFeatures: ImageFeatures?,
                        eachPosition: ((Int, UnsafeBufferPointer<Float>) throws -> Void)? = nil) throws -> UnsafeBufferPointer<Float> {
        guard !tokens.isEmpty else { throw ModelError.emptyInput }
        if let f = imageFeatures {
            guard f.hidden == config.hiddenSize else {
                throw ModelError.shapeMismatch(tensor: "image features", expected: [f.count, config.hiddenSize], actual: [f.count, f.hidden])
            }
            let placeholders = tokens.reduce(0) { $0 + ($1 == f.tokenId ? 1 : 0) }
            guard placeholders == f.count else { throw ModelError.imageTokenMismatch(tokens: placeholders, features: f.count) }
        }
        if let bad = tokens.first(where: { $0 < 0 || $0 >= config.vocabSize }) {
            throw ModelError.tokenOutOfRange(id: bad, vocabSize: config.vocabSize)
        }
        guard cache.count + tokens.count <= cache.capacity else {
            throw ModelError.promptTooLong(tokens: cache.count + tokens.count, context: cache.capacity)
        }
        lock.lock()
        defer { lock.unlock() }
        if attnScratch.count < ctx.threads * cache.capacity {
            attnScratch = Buffer(ctx.threads * cache.capacity)
        }
        var start = 0, nextFeature = 0
        while start < tokens.count {
            let n = min(maxChunk, tokens.count - start)
            let chunk = tokens[start..<(start + n)]
            let allRows = eachPosition != nil
            try runChunk(chunk, cache: cache, features: imageFeatures, nextFeature: &nextFeature, allLogits: allRows) { t, row in
                try eachPosition?(start + t, row)
            }
            start += n
        }
        return UnsafeBufferPointer(start: logits.p, count: config.vocabSize)
    }

    private func runChunk(_ tokens: ArraySlice<Int>, cache: KVCache, features: ImageFeatures?, nextFeature: inout Int,
                          allLogits: Bool, sink: (Int, UnsafeBufferPointer<Float>) throws -> Void) throws {
        let c = config, n = tokens.count, h = c.hiddenSize, pos0 = cache.count
        let staging = convert.count / ctx.threads
        for (t, id) in zip(0..., tokens) {
            if let f = features, id == f.tokenId {
                f.rows.withUnsafeBufferPointer { (x.p + t * h).update(from: $0.baseAddress! + nextFeature * h, count: h) }
                nextFeature += 1
            } else {
                w.embed.row(id, into: x.p + t * h)
            }
        }
        rope.fill(start: pos0, count: n, cos: cosT.p, sin: sinT.p)
        let scale = 1 / Float(c.headDim).squareRoot()
        let perThread = smol_attention_prefill_scratch(n, pos0)
        if n >= Self.blasAttentionMin && attnScratch.count < ctx.threads * perThread {
            attnScratch = Buffer(ctx.threads * perThread)
        }
        for (l, lw) in w.layers.enumerated() {
            startLayer(l, lw, n: n, staging: staging)
            cache.store(layer: l, start: pos0, n: n, k: k.p, v: v.p)
            // (smol_attention_flash_bf16, 2.2x faster at 6k context, is not used yet: a prompt token
            // must get the same bits whether it is prefilled in a chunk, as the one-token remainder
            // after a prefix-cache hit, or decoded, and decode attention is f32; see the kernel.)
            if n >= Self.blasAttentionMin {
                smol_attention_prefill(ctx.pool, q.p, cache.keys(layer: l), cache.values(layer: l), cache.type.dtype, attn.p, n, pos0,
                                       c.numHeads, c.numKVHeads, c.headDim, cache.capacity, scale, attnScratch.p, perThread)
            } else {
                smol_attention(ctx.pool, q.p, cache.keys(layer: l), cache.values(layer: l), cache.type.dtype, attn.p, n, pos0,
                               c.numHeads, c.numKVHeads, c.headDim, cache.capacity, scale, attnScratch.p)
            }
            finishLayer(l, lw, n: n, staging: staging)
        }
        cache.count = pos0 + n
        cache.tokens.append(contentsOf: tokens)
        // Logits: every row when asked for, else only the last.
        let rows = allLogits ? Array(0..<n) : [n - 1]
        for t in rows {
            w.finalNorm.withUnsafeBufferPointer { smol_rmsnorm(ctx.pool, x.p + t * h, $0.baseAddress, xn.p, 1, h, c.rmsNormEps) }
            lmHeadGroup.run(ctx, x: xn.p)
            if allLogits { try sink(t, UnsafeBufferPointer(start: logits.p, count: c.vocabSize)) }
        }
    }

    public func forwardDecode(_ tokens: [Int], caches: [KVCache],
                              body: (Int, UnsafeBufferPointer<Float>) throws -> Void) throws {
        guard tokens.count == caches.count else {
            throw ModelError.shapeMismatch(tensor: "decode batch", expected: [tokens.count], actual: [caches.count])
        }
        if let bad = tokens.first(where: { $0 < 0 || $0 >= config.vocabSize }) {
            throw ModelError.tokenOutOfRange(id: bad, vocabSize: config.vocabSize)
        }
        for c in caches where c.count + 1 > c.capacity {
            throw ModelError.promptTooLong(tokens: c.count + 1, context: c.capacity)
        }
        guard Set(caches.map(ObjectIdentifier.init)).count == caches.count else {
            throw ModelError.shapeMismatch(tensor: "decode batch (one cache twice)", expected: [caches.count],
                                           actual: [Set(caches.map(ObjectIdentifier.init)).count])
        }
        lock.lock()
        defer { lock.unlock() }
        let need = ctx.threads * (caches.map(\.capacity).max() ?? 0)
        if attnScratch.count < need { attnScratch = Buffer(need) }
        var g = 0
        while g < tokens.count {
            let n = min(Self.decodeRows, tokens.count - g)
            runDecodeRows(tokens[g..<(g + n)], caches: caches[g..<(g + n)])
            for t in 0..<n { try body(g + t, UnsafeBufferPointer(start: logits.p + t * config.vocabSize, count: config.vocabSize)) }
            g += n
        }
    }

    /// Up to `decodeRows` sequences, one token each: the weights are read once for all rows, and
    /// every row goes through the same kernels as a single-token step (see MatMul.run), so its
    /// result does not depend on its neighbours.
    private func runDecodeRows(_ tokens: ArraySlice<Int>, caches: ArraySlice<KVCache>) {
        let c = config, n = tokens.count, h = c.hiddenSize, half = c.headDim / 2
        let qd = c.numHeads * c.headDim, kvd = c.numKVHeads * c.headDim
        let staging = convert.count / ctx.threads
        let seqs = Array(zip(tokens, caches))
        for (t, (id, cache)) in seqs.enumerated() {
            w.embed.row(id, into: x.p + t * h)
            rope.fill(start: cache.count, count: 1, cos: cosT.p + t * half, sin: sinT.p + t * half)
        }
        let scale = 1 / Float(c.headDim).squareRoot()
        for (l, lw) in w.layers.enumerated() {
            startLayer(l, lw, n: n, staging: staging)
            for (t, (_, cache)) in seqs.enumerated() {
                cache.store(layer: l, start: cache.count, n: 1, k: k.p + t * kvd, v: v.p + t * kvd)
                smol_attention(ctx.pool, q.p + t * qd, cache.keys(layer: l), cache.values(layer: l), cache.type.dtype,
                               attn.p + t * qd, 1, cache.count, c.numHeads, c.numKVHeads, c.headDim, cache.capacity, scale,
                               attnScratch.p)
            }
            finishLayer(l, lw, n: n, staging: staging)
        }
        for (id, cache) in seqs {
            cache.count += 1
            cache.tokens.append(id)
        }
        w.finalNorm.withUnsafeBufferPointer { smol_rmsnorm(ctx.pool, x.p, $0.baseAddress, xn.p, n, h, c.rmsNormEps) }
        lmHeadGroup.run(ctx, x: xn.p, n: n)
    }

    /// Layer l up to attention, for n rows of x: norm, q/k/v, RoPE (cosT/sinT filled per row).
    private func startLayer(_ l: Int, _ lw: LayerWeights, n: Int, staging: Int) {
        let c = config
        lw.inputNorm.withUnsafeBufferPointer { smol_rmsnorm(ctx.pool, x.p, $0.baseAddress, xn.p, n, c.hiddenSize, c.rmsNormEps) }
        qkvGroups[l].run(ctx, x: xn.p, n: n, scratch: convert.p, scratchPerThread: staging)
        if c.useRope[l] {
            smol_rope(q.p, n, c.numHeads, c.headDim, cosT.p, sinT.p)
            smol_rope(k.p, n, c.numKVHeads, c.headDim, cosT.p, sinT.p)
        }
    }

    /// Layer l after attention (attn holds its output): o projection, residual, MLP, residual.
    private func finishLayer(_ l: Int, _ lw: LayerWeights, n: Int, staging: Int) {
        let c = config, h = c.hiddenSize
        oGroups[l].run(ctx, x: attn.p, n: n, scratch: convert.p, scratchPerThread: staging)
        smol_add_inplace(x.p, proj.p, n * h)
        lw.postNorm.withUnsafeBufferPointer { smol_rmsnorm(ctx.pool, x.p, $0.baseAddress, xn.p, n, h, c.rmsNormEps) }
        gateUpGroups[l].run(ctx, x: xn.p, n: n, scratch: convert.p, scratchPerThread: staging)
        smol_silu_mul(ctx.pool, gate.p, up.p, n * c.intermediateSize)
        downGroups[l].run(ctx, x: gate.p, n: n, scratch: convert.p, scratchPerThread: staging)
        smol_add_inplace(x.p, proj.p, n * h)
    }

    /// Sequences per batched decode pass: the small-batch kernels (one weight read for all rows,
    /// each row bit-identical to a single-token step) go this far.
    public static let decodeRows = MatMul.blasThreshold

    public var threads: Int { ctx.threads }
    public var precision: ComputePrecision { ctx.precision }

    /// From this many queries on, attention runs through BLAS.
    static let blasAttentionMin = 16

    /// Per-thread staging for widened weight rows: ~2 MB (L2-sized blocks), at least one row.
    static func scratchPerThread(cols: Int) -> Int { max(cols * 16, 512 * 1024) }
}

/// A fixed-size f32 buffer owned by a model.
final class Buffer: @unchecked Sendable {
    let p: UnsafeMutablePointer<Float>
    let count: Int
    init(_ count: Int) {
        self.count = max(count, 1)
        p = .allocate(capacity: self.count)
        p.initialize(repeating: 0, count: self.count)
    }
    deinit { p.deallocate() }
}
