/// Llama (`model_type: llama`): SmolLM2 and the text model of SmolVLM2.
enum Llama {
    static func config(_ cfg: JSONObject) throws -> TransformerConfig {
        var c = try commonConfig(cfg)
        c.useRope = Array(repeating: true, count: c.numLayers)
        try c.validate(file: cfg.file)
        return c
    }

    /// The fields Llama-family configs share; architectures adjust what differs.
    static func commonConfig(_ cfg: JSONObject) throws -> TransformerConfig {
        let modelType = try cfg.string("model_type") ?? "llama"
        if let act = try cfg.string("hidden_act"), act != "silu" {
            throw ConfigError.unsupported(file: cfg.file, field: "hidden_act", value: act, supported: "silu")
        }
        for key in ["attention_bias", "mlp_bias"] where try cfg.bool(key) == true {
            throw ConfigError.unsupported(file: cfg.file, field: key, value: "true", supported: "false")
        }
        if try cfg.bool("use_sliding_window") == true {
            throw ConfigError.unsupported(file: cfg.file, field: "use_sliding_window", value: "true", supported: "false")
        }
        if let types = try cfg.stringArray("layer_types"), let bad = types.first(where: { $0 != "full_attention" }) {
            throw ConfigError.unsupported(file: cfg.file, field: "layer_types", value: bad, supported: "full_attention")
        }
        if let tp = try cfg.int("pretraining_tp"), tp < 1 {
            throw ConfigError.invalid(file: cfg.file, field: "pretraining_tp", reason: "must be positive")
        }
        let hidden = try cfg.requireInt("hidden_size")
        let heads = try cfg.requireInt("num_attention_heads")
        guard heads > 0 else { throw ConfigError.invalid(file: cfg.file, field: "num_attention_heads", reason: "must be positive") }
        let headDim: Int
        if let hd = try cfg.int("head_dim") {
            headDim = hd
        } else {
            guard hidden % heads == 0 else {
                throw ConfigError.invalid(file: cfg.file, field: "hidden_size",
                                          reason: "\(hidden) is not divisible by num_attention_heads \(heads) and no head_dim is given")
            }
            headDim = hidden / heads
        }
        let maxPos = try cfg.int("max_position_embeddings") ?? 2048
        return TransformerConfig(
            modelType: modelType,
            vocabSize: try cfg.requireInt("vocab_size"),
            hiddenSize: hidden,
            intermediateSize: try cfg.requireInt("intermediate_size"),
            numLayers: try cfg.requireInt("num_hidden_layers"),
            numHeads: heads,
            numKVHeads: try cfg.int("num_key_value_heads") ?? heads,
            headDim: headDim,
            rmsNormEps: Float(try cfg.double("rms_norm_eps") ?? 1e-6),
            maxPositionEmbeddings: maxPos,
            // transformers' default is tied when the field is absent.
            tieWordEmbeddings: try cfg.bool("tie_word_embeddings") ?? true,
            useRope: [],
            rope: try RopeParsing.parse(cfg, maxPositions: maxPos),
            bosTokenId: try cfg.intArray("bos_token_id")?.first,
            eosTokenIds: try cfg.intArray("eos_token_id") ?? [],
            padTokenId: try cfg.intArray("pad_token_id")?.first)
    }
}
