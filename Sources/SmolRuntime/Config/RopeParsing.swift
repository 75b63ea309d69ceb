/// Reads RoPE settings from a Hugging Face config in either form:
/// classic `rope_theta` + `rope_scaling`, or transformers 5's `rope_parameters`
/// (possibly keyed by layer type).
enum RopeParsing {
    static func parse(_ cfg: JSONObject, maxPositions: Int) throws -> RopeConfig {
        var params: JSONObject? = try cfg.object("rope_parameters")
        if let p = params, !p.has("rope_type"), !p.has("type"), !p.has("rope_theta") {
            // Per-layer-type form: {"full_attention": {...}}. All decoder layers here are full attention.
            guard let full = try p.object("full_attention") else {
                throw ConfigError.unsupported(file: cfg.file, field: "rope_parameters", value: "\(p.values.keys.sorted())",
                                              supported: "a single set of parameters or 'full_attention'")
            }
            params = full
        }
        let theta = try params?.double("rope_theta") ?? cfg.double("rope_theta") ?? 10000
        let scaling = try cfg.object("rope_scaling") ?? params
        guard let s = scaling else { return RopeConfig(theta: theta, scaling: .none) }
        let type = try s.string("rope_type") ?? s.string("type") ?? "default"
        switch type {
        case "default":
            return RopeConfig(theta: theta, scaling: .none)
        case "linear":
            guard let f = try s.double("factor") else { throw ConfigError.missingField(file: s.file, field: "factor") }
            return RopeConfig(theta: theta, scaling: .linear(factor: f))
        case "yarn":
            let original = try s.int("original_max_position_embeddings") ?? cfg.int("original_max_position_embeddings") ?? maxPositions
            // transformers: without an explicit factor, the ratio of context to original length.
            let factor = try s.double("factor") ?? Double(maxPositions) / Double(max(original, 1))
            return RopeConfig(theta: theta, scaling: .yarn(
                factor: factor, originalMaxPositions: original,
                betaFast: try s.double("beta_fast") ?? 32, betaSlow: try s.double("beta_slow") ?? 1,
                attentionFactor: try s.double("attention_factor"), mscale: try s.double("mscale"),
                mscaleAllDim: try s.double("mscale_all_dim"), truncate: try s.bool("truncate") ?? true))
        default:
            throw ConfigError.unsupported(file: s.file, field: "rope_type", value: type, supported: "default, linear, yarn")
        }
    }
}
