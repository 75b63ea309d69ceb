/// Supported text architectures keyed by `model_type`.
public enum ModelRegistry {
    static let configDecoders: [String: @Sendable (JSONObject) throws -> TransformerConfig] = [
        "llama": Llama.config,
        "smollm3": SmolLM3.config,
        // Vision-language: the text decoder's config; VisionLanguageConfig reads the rest.
        "smolvlm": SmolVLM.textConfig,
        "idefics3": SmolVLM.textConfig,
    ]

    public static var supportedModelTypes: [String] { configDecoders.keys.sorted() }

    /// Decodes and validates `config.json` for a supported architecture.
    public static func config(from cfg: JSONObject) throws -> TransformerConfig {
        guard let type = try cfg.string("model_type") else {
            throw ConfigError.missingField(file: cfg.file, field: "model_type")
        }
        guard let decode = configDecoders[type] else {
            throw ConfigError.unknownArchitecture(file: cfg.file, modelType: type, known: supportedModelTypes)
        }
        return try decode(cfg)
    }

    public static func config(atPath path: String) throws -> TransformerConfig {
        try config(from: JSONObject.load(path))
    }
}
