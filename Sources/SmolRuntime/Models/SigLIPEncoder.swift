import CSmolKernels
import SmolKernels
import SmolWeights

/// One SigLIP encoder layer's weights. Biases and norms are small and kept as f32.
struct VisionLayerWeights {
    let q, k, v, o, fc1, fc2: WeightMatrix
    let qb, kb, vb, ob, fc1b, fc2b: [Float]
    let ln1w, ln1b, ln2w, ln2b: [Float]
}

/// The SigLIP vision tower of SmolVLM: patch embedding (a matmul over unfolded patches),
/// learned position embeddings, pre-LayerNorm encoder layers with bidirectional attention
/// and a GELU-tanh MLP, then post-LayerNorm. All tiles go through as one batch, so every
/// projection is one large GEMM.
final class SigLIPEncoder: @unchecked Sendable {
    let config: VisionConfig
    let patch: WeightMatrix          // [hidden, 3 * p * p]: the conv kernel, (c, ky, kx) order
    let patchBias: [Float]
    let positions: [Float]           // [patchesPerTile, hidden]
    let layers: [VisionLayerWeights]
    let postW, postB: [Float]

    init(config c: VisionConfig, weights: ModelWeights, prefix: String = "model.vision_model.") throws {
        config = c
        let b = WeightBinder(weights)
        let h = c.hiddenSize, p = c.patchSize
        let conv = try weights.require(prefix + "embeddings.patch_embedding.weight")
        guard conv.shape == [h, 3, p, p] else {
            throw ModelError.shapeMismatch(tensor: prefix + "embeddings.patch_embedding.weight", expected: [h, 3, p, p], actual: conv.shape)
        }
        patch = try b.matrix(prefix + "embeddings.patch_embedding.weight", h, 3 * p * p, shape: conv.shape)
        patchBias = try b.vector(prefix + "embeddings.patch_embedding.bias", h)
        positions = try b.floats(prefix + "embeddings.position_embedding.weight", [c.patchesPerTile, h])
        layers = try (0..<c.numLayers).map { i in
            let l = "\(prefix)encoder.layers.\(i)."
            return VisionLayerWeights(
                q: try b.matrix(l + "self_attn.q_proj.weight", h, h), k: try b.matrix(l + "self_attn.k_proj.weight", h, h),
                v: try b.matrix(l + "self_attn.v_proj.weight", h, h), o: try b.matrix(l + "self_attn.out_proj.weight", h, h),
                fc1: try b.matrix(l + "mlp.fc1.weight", c.intermediateSize, h), fc2: try b.matrix(l + "mlp.fc2.weight", h, c.intermediateSize),
                qb: try b.vector(l + "self_attn.q_proj.bias", h), kb: try b.vector(l + "self_attn.k_proj.bias", h),
                vb: try b.vector(l + "self_attn.v_proj.bias", h), ob: try b.vector(l + "self_attn.out_proj.bias", h),
                fc1b: try b.vector(l + "mlp.fc1.bias", c.intermediateSize), fc2b: try b.vector(l + "mlp.fc2.bias", h),
                ln1w: try b.vector(l + "layer_norm1.weight", h), ln1b: try b.vector(l + "layer_norm1.bias", h),
                ln2w: try b.vector(l + "layer_norm2.weight", h), ln2b: try b.vector(l + "layer_norm2.bias", h))
        }
        postW = try b.vector(prefix + "post_layernorm.weight", h)
        postB = try b.vector(prefix + "post_layernorm.bias", h)
    }

    /// Position ids of a tile whose valid patches are `mask` (side x side, row-major), as
    /// transformers computes them: the valid rows and columns are spread over the full grid
    /// (fractional coordinates bucketized against 1/n steps, in float32); padded patches get 0.
    static func positionIds(mask: [Bool], side: Int, perSide n: Int) -> [Int] {
        let nbH = (0..<side).filter { mask[$0 * side] }.count, nbW = (0..<side).filter { mask[$0] }.count
        guard nbH > 0, nbW > 0 else { return [Int](repeating: 0, count: side * side) }
        // torch.arange(1/n, 1.0, 1/n) in float32: values start + i * step computed in double.
        let step = 1.0 / Double(n)
        let count = Int(((1.0 - step) / step).rounded(.up))
        let boundaries = (0..<max(count, 0)).map { Float(step + step * Double($0)) }
        func buckets(_ nb: Int) -> [Int] {
            let s = Float(1) / Float(nb), cap = Float(1.0 - 1e-6)
            return (0..<side).map { i in
                let x = min(Float(i) * s, cap)
                return boundaries.reduce(0) { $0 + ($1 <= x ? 1 : 0) }  // bucketize(right=True)
            }
        }
        let bh = buckets(nbH), bw = buckets(nbW)
        return (0..<(side * side)).map { i in mask[i] ? bh[i / side] * n + bw[i % side] : 0 }
    }

    /// tiles: float32 CHW pixel values, each 3 x imageSize x imageSize. `patchMasks` (one per
    /// tile, side x side) marks the patches that hold image (padded tiles); nil: all do.
    /// Returns [tiles * patchesPerTile, hidden], row t * P + (py * side + px).
    func encode(_ tiles: [[Float]], patchMasks: [[Bool]]? = nil, ctx: ComputeContext) throws -> [Float] {
        let c = config, T = tiles.count, P = c.patchesPerTile, n = T * P, h = c.hiddenSize
        let p = c.patchSize, side = c.patchesPerSide, S = c.imageSize, pp = 3 * p * p
        for (i, t) in tiles.enumerated() where t.count != 3 * S * S {
            throw ModelError.shapeMismatch(tensor: "pixel_values[\(i)]", expected: [3, S, S], actual: [t.count])
        }
        let scratchPer = TransformerModel.scratchPerThread(cols: max(h, c.intermediateSize, pp))
        let scratch = Buffer(ctx.threads * scratchPer)
        func linear(_ m: WeightMatrix, _ input: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, bias: [Float]?) {
            MatMul.matmul(ctx, m, x: input, n: n, y: out, scratch: scratch.p, scratchPerThread: scratchPer)
            if let bias { bias.withUnsafeBufferPointer { smol_add_bias(out, $0.baseAddress, n, m.rows) } }
        }

        // Unfold patches: row (t, py, px), column (channel, ky, kx), as the conv kernel is laid out.
        let patches = Buffer(n * pp)  // [n, 3 * p * p]
        for (t, tile) in tiles.enumerated() {
            tile.withUnsafeBufferPointer { src in
                for py in 0..<side {
                    for px in 0..<side {
                        var dst = patches.p + ((t * P) + py * side + px) * pp
                        for ch in 0..<3 {
                            for ky in 0..<p {
                                let row = src.baseAddress! + ch * S * S + (py * p + ky) * S + px * p
                                dst.update(from: row, count: p)
                                dst += p
                            }
                        }
                    }
                }
            }
        }
        let x = Buffer(n * h), xn = Buffer(n * h), tmp = Buffer(n * h)  // [n, hidden]
        let q = Buffer(n * h), k = Buffer(n * h), v = Buffer(n * h)      // [n, heads * headDim]
        let mlp = Buffer(n * c.intermediateSize)                          // [n, intermediate]
        let attnScratch = Buffer(ctx.threads * P * P)
        linear(patch, patches.p, x.p, bias: patchBias)
        // Full tiles (all the processor makes) take positions 0..<P; padded tiles, spread ones.
        var keyMask: [UInt8]? = nil
        if let patchMasks {
            guard patchMasks.count == T, patchMasks.allSatisfy({ $0.count == P }) else {
                throw ModelError.shapeMismatch(tensor: "patch_attention_mask", expected: [T, side, side], actual: [patchMasks.count])
            }
            keyMask = patchMasks.flatMap { $0.map { $0 ? 1 : 0 } }
        }
        positions.withUnsafeBufferPointer { pos in
            for t in 0..<T {
                if let m = patchMasks?[t], m.contains(false) {
                    for (i, id) in Self.positionIds(mask: m, side: side, perSide: side).enumerated() {
                        smol_add_inplace(x.p + (t * P + i) * h, pos.baseAddress! + id * h, h)
                    }
                } else {
                    smol_add_inplace(x.p + t * P * h, pos.baseAddress, P * h)
                }
            }
        }
        let scale = 1 / Float(c.headDim).squareRoot()
        for lw in layers {
            norm(ctx, x.p, lw.ln1w, lw.ln1b, xn.p, n)
            linear(lw.q, xn.p, q.p, bias: lw.qb)
            linear(lw.k, xn.p, k.p, bias: lw.kb)
            linear(lw.v, xn.p, v.p, bias: lw.vb)
            if let keyMask {
                keyMask.withUnsafeBufferPointer {
                    smol_attention_full(ctx.pool, q.p, k.p, v.p, xn.p, T, P, c.numHeads, c.headDim, scale, $0.baseAddress, attnScratch.p)
                }
            } else {
                smol_attention_full(ctx.pool, q.p, k.p, v.p, xn.p, T, P, c.numHeads, c.headDim, scale, nil, attnScratch.p)
            }
            linear(lw.o, xn.p, tmp.p, bias: lw.ob)
            smol_add_inplace(x.p, tmp.p, n * h)
            norm(ctx, x.p, lw.ln2w, lw.ln2b, xn.p, n)
            linear(lw.fc1, xn.p, mlp.p, bias: lw.fc1b)
            smol_gelu_tanh(ctx.pool, mlp.p, n * c.intermediateSize)
            linear(lw.fc2, mlp.p, tmp.p, bias: lw.fc2b)
            smol_add_inplace(x.p, tmp.p, n * h)
        }
        norm(ctx, x.p, postW, postB, xn.p, n)
        return Array(UnsafeBufferPointer(start: xn.p, count: n * h))
    }

    private func norm(_ ctx: ComputeContext, _ x: UnsafePointer<Float>, _ w: [Float], _ b: [Float], _ y: UnsafeMutablePointer<Float>, _ n: Int) {
        w.withUnsafeBufferPointer { wp in
            b.withUnsafeBufferPointer { bp in
                smol_layernorm(ctx.pool, x, wp.baseAddress, bp.baseAddress, y, n, config.hiddenSize, config.layerNormEps)
            }
        }
    }
}

/// Binds tensors by name with shape and dtype checks that name the tensor.
struct WeightBinder {
    let weights: ModelWeights
    init(_ w: ModelWeights) { weights = w }

    func matrix(_ name: String, _ rows: Int, _ cols: Int, shape: [Int]? = nil) throws -> WeightMatrix {
        let t = try weights.require(name)
        guard t.shape == (shape ?? [rows, cols]) else {
            throw ModelError.shapeMismatch(tensor: name, expected: shape ?? [rows, cols], actual: t.shape)
        }
        if let q = t.info.quantization {
            guard var dt = smol_dtype(q) else { throw ModelError.unsupportedDType(tensor: name, dtype: q.name) }
            if t.info.rowInterleave == 8 {
                let r8: [smol_dtype: smol_dtype] = [SMOL_Q4_0: SMOL_Q4_0_R8, SMOL_Q4_1: SMOL_Q4_1_R8, SMOL_Q4_K: SMOL_Q4_K_R8,
                                                     SMOL_Q6_K: SMOL_Q6_K_R8]
                guard rows % 8 == 0, let i = r8[dt] else { throw ModelError.unsupportedDType(tensor: name, dtype: q.name + " interleaved") }
                dt = i
            }
            guard smol_dtype_row_bytes(dt, cols) * rows == t.info.byteCount else {
                throw ModelError.unsupportedDType(tensor: name, dtype: q.name)
            }
            return WeightMatrix(data: t.data, dtype: dt, rows: rows, cols: cols)
        }
        guard let dt = smol_dtype(t.dtype) else { throw ModelError.unsupportedDType(tensor: name, dtype: t.dtype.rawValue) }
        return WeightMatrix(data: t.data, dtype: dt, rows: rows, cols: cols)
    }

    func floats(_ name: String, _ shape: [Int]) throws -> [Float] {
        let t = try weights.require(name)
        guard t.shape == shape else { throw ModelError.shapeMismatch(tensor: name, expected: shape, actual: t.shape) }
        guard t.dtype.isComputeFloat, let f = t.toFloats() else {
            throw ModelError.unsupportedDType(tensor: name, dtype: t.dtype.rawValue)
        }
        return f
    }

    func vector(_ name: String, _ n: Int) throws -> [Float] { try floats(name, [n]) }
}
