/// SmolLM3 (`model_type: smollm3`): Llama blocks where some layers use no positional
/// encoding at all (NoPE). `no_rope_layers[i] == 1` means layer i USES RoPE.
enum SmolLM3 {
    static func config(_ cfg: JSONObject) throws -> TransformerConfig {
        var c = try Llama.commonConfig(cfg)
        if let flags = try cfg.intArray("no_rope_layers") {
            guard flags.allSatisfy({ $0 == 0 || $0 == 1 }) else {
                throw ConfigError.invalid(file: cfg.file, field: "no_rope_layers", reason: "entries must be 0 or 1")
            }
            c.useRope = flags.map { $0 == 1 }
        } else {
            // transformers' SmolLM3Config derives the list from the interval.
            let interval = try cfg.int("no_rope_layer_interval") ?? 4
            guard interval > 0 else {
                throw ConfigError.invalid(file: cfg.file, field: "no_rope_layer_interval", reason: "must be positive")
            }
            c.useRope = (0..<max(0, min(c.numLayers, TransformerConfig.maxLayers))).map { ($0 + 1) % interval != 0 }
        }
        try c.validate(file: cfg.file)
        return c
    }
}
