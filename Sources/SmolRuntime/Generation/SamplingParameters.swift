import Foundation

/// How the next token is chosen. Defaults follow transformers' GenerationConfig, then the
/// model's generation_config.json, then what the caller sets.
public struct SamplingParameters: Sendable, Equatable {
    /// false = greedy (argmax), as `do_sample` in transformers.
    public var doSample = false
    public var temperature: Float = 1.0
    /// 0 disables. transformers' default is 50 when sampling.
    public var topK = 50
    public var topP: Float = 1.0
    /// nil disables.
    public var minP: Float? = nil
    public var repetitionPenalty: Float = 1.0
    /// OpenAI's additive penalties over the generated tokens only: the logit of a token that
    /// appeared n times drops by n * frequency + presence. 0 disables.
    public var frequencyPenalty: Float = 0
    public var presencePenalty: Float = 0
    public var seed: UInt64? = nil

    public init() {}

    /// Checks ranges so that a bad value is an error naming the field, not NaNs later.
    public func validate() throws {
        func bad(_ f: String, _ r: String) -> GenerationError { .invalidParameter(field: f, reason: r) }
        guard temperature.isFinite, temperature >= 0 else { throw bad("temperature", "must be a finite number >= 0") }
        guard topK >= 0 else { throw bad("top_k", "must be >= 0") }
        guard topP.isFinite, topP > 0, topP <= 1 else { throw bad("top_p", "must be in (0, 1]") }
        if let m = minP { guard m.isFinite, m >= 0, m <= 1 else { throw bad("min_p", "must be in [0, 1]") } }
        guard repetitionPenalty.isFinite, repetitionPenalty > 0 else { throw bad("repetition_penalty", "must be > 0") }
        guard frequencyPenalty.isFinite, abs(frequencyPenalty) <= 2 else { throw bad("frequency_penalty", "must be in [-2, 2]") }
        guard presencePenalty.isFinite, abs(presencePenalty) <= 2 else { throw bad("presence_penalty", "must be in [-2, 2]") }
    }

    /// Sampling with temperature 0 means greedy, as most runtimes treat it.
    public var isGreedy: Bool { !doSample || temperature == 0 }
}

/// The parts of generation_config.json that generation uses.
public struct GenerationDefaults: Sendable, Equatable {
    public var sampling = SamplingParameters()
    public var eosTokenIds: [Int] = []
    public var maxNewTokens: Int? = nil

    public init() {}

    /// Reads `generation_config.json` if the folder has one.
    public static func load(directory: String, config: TransformerConfig) throws -> GenerationDefaults {
        var d = GenerationDefaults()
        d.eosTokenIds = config.eosTokenIds
        let path = directory + "/generation_config.json"
        guard FileManager.default.fileExists(atPath: path) else { return d }
        let g = try JSONObject.load(path)
        if let v = try g.bool("do_sample") { d.sampling.doSample = v }
        if let v = try g.double("temperature") { d.sampling.temperature = Float(v) }
        if let v = try g.int("top_k") { d.sampling.topK = v }
        if let v = try g.double("top_p") { d.sampling.topP = Float(v) }
        if let v = try g.double("min_p") { d.sampling.minP = Float(v) }
        if let v = try g.double("repetition_penalty") { d.sampling.repetitionPenalty = Float(v) }
        if let v = try g.intArray("eos_token_id") { d.eosTokenIds = v }
        if let v = try g.int("max_new_tokens") { d.maxNewTokens = v }
        try d.sampling.validate()
        return d
    }
}

public enum GenerationError: Error, CustomStringConvertible, Equatable {
    case invalidParameter(field: String, reason: String)
    case promptTooLong(tokens: Int, context: Int)
    case emptyPrompt
    case cancelled

    public var description: String {
        switch self {
        case let .invalidParameter(f, r): return "invalid \(f): \(r)"
        case let .promptTooLong(n, c): return "prompt is \(n) tokens, context is \(c)"
        case .emptyPrompt: return "the prompt is empty (no tokens)"
        case .cancelled: return "generation was cancelled"
        }
    }
}
