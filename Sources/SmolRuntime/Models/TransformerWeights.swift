import CSmolKernels
import SmolKernels
import SmolWeights

/// The weights of one decoder layer, bound to the mapped files.
struct LayerWeights {
    let q, k, v, o: WeightMatrix
    let gate, up, down: WeightMatrix
    /// Norm weights are tiny; kept as f32.
    let inputNorm, postNorm: [Float]
}

/// Binds Hugging Face tensor names to matrices, checking every shape and dtype against the
/// config before anything runs.
struct TransformerWeights {
    let embed: WeightMatrix
    let layers: [LayerWeights]
    let finalNorm: [Float]
    let lmHead: WeightMatrix

    init(config c: TransformerConfig, weights: ModelWeights, prefix: String = "model.") throws {
        let binder = WeightBinder(weights)
        func matrix(_ name: String, _ rows: Int, _ cols: Int) throws -> WeightMatrix { try binder.matrix(name, rows, cols) }
        func vector(_ name: String, _ n: Int) throws -> [Float] { try binder.vector(name, n) }
        let h = c.hiddenSize, qd = c.numHeads * c.headDim, kvd = c.numKVHeads * c.headDim
        embed = try matrix(prefix + "embed_tokens.weight", c.vocabSize, h)
        layers = try (0..<c.numLayers).map { i in
            let p = "\(prefix)layers.\(i)."
            return LayerWeights(
                q: try matrix(p + "self_attn.q_proj.weight", qd, h),
                k: try matrix(p + "self_attn.k_proj.weight", kvd, h),
                v: try matrix(p + "self_attn.v_proj.weight", kvd, h),
                o: try matrix(p + "self_attn.o_proj.weight", h, qd),
                gate: try matrix(p + "mlp.gate_proj.weight", c.intermediateSize, h),
                up: try matrix(p + "mlp.up_proj.weight", c.intermediateSize, h),
                down: try matrix(p + "mlp.down_proj.weight", h, c.intermediateSize),
                inputNorm: try vector(p + "input_layernorm.weight", h),
                postNorm: try vector(p + "post_attention_layernorm.weight", h))
        }
        finalNorm = try vector(prefix + "norm.weight", h)
        if c.tieWordEmbeddings {
            lmHead = embed
        } else {
            lmHead = try matrix("lm_head.weight", c.vocabSize, h)
        }
    }
}
