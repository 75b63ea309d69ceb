import Foundation

/// SigLIP vision tower settings (`vision_config` of a SmolVLM / Idefics3 config).
public struct VisionConfig: Equatable, Sendable {
    public var hiddenSize: Int
    public var intermediateSize: Int
    public var numLayers: Int
    public var numHeads: Int
    public var imageSize: Int
    public var patchSize: Int
    public var layerNormEps: Float

    public var headDim: Int { hiddenSize / numHeads }
    /// Patches along each side of a tile; pixels past patchesPerSide * patchSize are unused
    /// (384 px with patch 14 uses 378), as the reference's "valid" convolution.
    public var patchesPerSide: Int { imageSize / patchSize }
    public var patchesPerTile: Int { patchesPerSide * patchesPerSide }
}

/// SmolVLM (`model_type` smolvlm, and Idefics3 which has the same layout): a SigLIP encoder,
/// a pixel-shuffle connector and a Llama text decoder.
public struct VisionLanguageConfig: Equatable, Sendable {
    public var text: TransformerConfig
    public var vision: VisionConfig
    public var scaleFactor: Int
    public var imageTokenId: Int

    /// `<image>` tokens per tile: (patches per side / scale_factor)^2.
    public var imageSeqLen: Int { (vision.patchesPerSide / scaleFactor) * (vision.patchesPerSide / scaleFactor) }

    /// A text decoder and a vision tower from separate files (a GGUF text model and its mmproj);
    /// `file` names them in errors.
    public init(text: TransformerConfig, vision: VisionConfig, scaleFactor: Int, imageTokenId: Int, file: String) throws {
        self.text = text
        self.vision = vision
        self.scaleFactor = scaleFactor
        self.imageTokenId = imageTokenId
        try validate(file: file)
    }

    public init(_ cfg: JSONObject) throws {
        text = try SmolVLM.textConfig(cfg)
        guard let v = try cfg.object("vision_config") else {
            throw ConfigError.missingField(file: cfg.file, field: "vision_config")
        }
        if let act = try v.string("hidden_act"), act != "gelu_pytorch_tanh" {
            throw ConfigError.unsupported(file: v.file, field: "hidden_act", value: act, supported: "gelu_pytorch_tanh")
        }
        if let ch = try v.int("num_channels"), ch != 3 {
            throw ConfigError.unsupported(file: v.file, field: "num_channels", value: "\(ch)", supported: "3")
        }
        // Defaults are SmolVLMVisionConfig's.
        vision = VisionConfig(
            hiddenSize: try v.int("hidden_size") ?? 1152,
            intermediateSize: try v.int("intermediate_size") ?? 3072,
            numLayers: try v.int("num_hidden_layers") ?? 12,
            numHeads: try v.int("num_attention_heads") ?? 16,
            imageSize: try v.int("image_size") ?? 224,
            patchSize: try v.int("patch_size") ?? 32,
            layerNormEps: Float(try v.double("layer_norm_eps") ?? 1e-6))
        scaleFactor = try cfg.int("scale_factor") ?? 2
        imageTokenId = try cfg.int("image_token_id") ?? 128257
        try validate(file: cfg.file)
    }

    func validate(file: String) throws {
        func check(_ ok: Bool, _ field: String, _ reason: String) throws {
            if !ok { throw ConfigError.invalid(file: file, field: field, reason: reason) }
        }
        let v = vision, maxDim = TransformerConfig.maxDimension
        try check((1...maxDim).contains(v.hiddenSize), "vision_config.hidden_size", "\(v.hiddenSize) outside 1...\(maxDim)")
        try check((1...TransformerConfig.maxIntermediate).contains(v.intermediateSize), "vision_config.intermediate_size",
                  "\(v.intermediateSize) outside 1...\(TransformerConfig.maxIntermediate)")
        try check((1...TransformerConfig.maxLayers).contains(v.numLayers), "vision_config.num_hidden_layers", "\(v.numLayers) outside 1...\(TransformerConfig.maxLayers)")
        try check(v.numHeads >= 1 && v.hiddenSize % v.numHeads == 0, "vision_config.num_attention_heads",
                  "\(v.numHeads) must divide hidden_size \(v.hiddenSize)")
        try check((1...4096).contains(v.imageSize), "vision_config.image_size", "\(v.imageSize) outside 1...4096")
        try check(v.patchSize >= 1 && v.patchSize <= v.imageSize, "vision_config.patch_size", "\(v.patchSize) must be in 1...image_size")
        try check(v.layerNormEps.isFinite && v.layerNormEps > 0, "vision_config.layer_norm_eps", "must be positive")
        try check(scaleFactor >= 1 && v.patchesPerSide % scaleFactor == 0, "scale_factor",
                  "\(scaleFactor) must divide the \(v.patchesPerSide) patches per side")
        try check(imageTokenId >= 0 && imageTokenId < text.vocabSize, "image_token_id",
                  "\(imageTokenId) outside the vocabulary (\(text.vocabSize))")
    }
}

enum SmolVLM {
    static let modelTypes: Set<String> = ["smolvlm", "idefics3"]

    /// The Llama decoder from `text_config`; tying comes from the top level, as in transformers.
    static func textConfig(_ cfg: JSONObject) throws -> TransformerConfig {
        guard let t = try cfg.object("text_config") else {
            throw ConfigError.missingField(file: cfg.file, field: "text_config")
        }
        var c = try Llama.commonConfig(t)
        c.modelType = try cfg.string("model_type") ?? "smolvlm"
        c.useRope = Array(repeating: true, count: c.numLayers)
        c.tieWordEmbeddings = try cfg.bool("tie_word_embeddings") ?? false
        c.weightPrefix = "model.text_model."
        // Released configs carry the Llama-3 pad id (128002) beyond the 49k vocabulary; padding is unused here.
        if let p = c.padTokenId, p >= c.vocabSize { c.padTokenId = nil }
        try c.validate(file: t.file)
        return c
    }
}
