/// Rotary position embedding settings, normalised from both the classic (`rope_theta`,
/// `rope_scaling`) and the newer (`rope_parameters`) config forms.
public struct RopeConfig: Equatable, Sendable {
    public enum Scaling: Equatable, Sendable {
        case none
        /// Position interpolation: positions divided by `factor`.
        case linear(factor: Double)
        /// YaRN, as transformers' `_compute_yarn_parameters`.
        case yarn(factor: Double, originalMaxPositions: Int, betaFast: Double, betaSlow: Double,
                  attentionFactor: Double?, mscale: Double?, mscaleAllDim: Double?, truncate: Bool)
    }
    public var theta: Double
    public var scaling: Scaling
}

/// The decoder-only transformer every supported text architecture maps to: a Llama block
/// stack where each layer may skip RoPE (SmolLM3's NoPE layers).
public struct TransformerConfig: Equatable, Sendable {
    public var modelType: String
    public var vocabSize: Int
    public var hiddenSize: Int
    public var intermediateSize: Int
    public var numLayers: Int
    public var numHeads: Int
    public var numKVHeads: Int
    public var headDim: Int
    public var rmsNormEps: Float
    public var maxPositionEmbeddings: Int
    public var tieWordEmbeddings: Bool
    /// Per layer: true when the layer applies RoPE.
    public var useRope: [Bool]
    public var rope: RopeConfig
    public var bosTokenId: Int?
    public var eosTokenIds: [Int]
    public var padTokenId: Int?
    /// Where the decoder's tensors live: "model." for text models, "model.text_model." inside SmolVLM.
    public var weightPrefix = "model."

    /// Limits that keep a hostile config from sizing huge allocations.
    public static let maxDimension = 1 << 16
    public static let maxVocab = 1 << 24
    public static let maxLayers = 1024
    public static let maxIntermediate = 1 << 20
    public static let maxPositions = 1 << 24

    /// Checks everything later code relies on, before anything is allocated.
    public func validate(file: String) throws {
        func check(_ ok: Bool, _ field: String, _ reason: String) throws {
            if !ok { throw ConfigError.invalid(file: file, field: field, reason: reason) }
        }
        try check((1...Self.maxVocab).contains(vocabSize), "vocab_size", "\(vocabSize) outside 1...\(Self.maxVocab)")
        try check((1...Self.maxDimension).contains(hiddenSize), "hidden_size", "\(hiddenSize) outside 1...\(Self.maxDimension)")
        try check((1...Self.maxIntermediate).contains(intermediateSize), "intermediate_size", "\(intermediateSize) outside 1...\(Self.maxIntermediate)")
        try check((1...Self.maxLayers).contains(numLayers), "num_hidden_layers", "\(numLayers) outside 1...\(Self.maxLayers)")
        try check((1...Self.maxDimension).contains(numHeads), "num_attention_heads", "\(numHeads) must be positive")
        try check(numKVHeads >= 1 && numKVHeads <= numHeads, "num_key_value_heads", "\(numKVHeads) must be in 1...num_attention_heads (\(numHeads))")
        try check(numHeads % numKVHeads == 0, "num_key_value_heads", "\(numKVHeads) does not divide num_attention_heads \(numHeads)")
        try check(headDim >= 2 && headDim % 2 == 0 && headDim <= 4096, "head_dim", "\(headDim) must be even and in 2...4096")
        try check(numHeads * headDim <= Self.maxDimension * 4, "head_dim", "heads x head_dim = \(numHeads * headDim) too large")
        try check(rmsNormEps.isFinite && rmsNormEps > 0, "rms_norm_eps", "must be a positive number")
        try check((1...Self.maxPositions).contains(maxPositionEmbeddings), "max_position_embeddings", "\(maxPositionEmbeddings) outside 1...\(Self.maxPositions)")
        try check(useRope.count == numLayers, "no_rope_layers", "has \(useRope.count) entries for \(numLayers) layers")
        try check(rope.theta.isFinite && rope.theta > 0, "rope_theta", "\(rope.theta) must be positive")
        for id in eosTokenIds + [bosTokenId, padTokenId].compactMap({ $0 }) {
            try check(id >= 0 && id < vocabSize, "eos_token_id/bos_token_id", "token id \(id) outside the vocabulary (\(vocabSize))")
        }
        switch rope.scaling {
        case .none: break
        case let .linear(f): try check(f.isFinite && f >= 1, "rope_scaling.factor", "\(f) must be >= 1")
        case let .yarn(f, orig, bf, bs, af, _, _, _):
            try check(f.isFinite && f >= 1, "rope_scaling.factor", "\(f) must be >= 1")
            try check(orig >= 1, "rope_scaling.original_max_position_embeddings", "\(orig) must be positive")
            try check(bf.isFinite && bs.isFinite && bf > 0 && bs > 0, "rope_scaling.beta_fast/beta_slow", "must be positive")
            if let af { try check(af.isFinite && af > 0, "rope_scaling.attention_factor", "must be positive") }
        }
    }
}
