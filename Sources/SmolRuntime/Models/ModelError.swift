/// Errors binding weights to a model or running it.
public enum ModelError: Error, CustomStringConvertible, Equatable {
    case shapeMismatch(tensor: String, expected: [Int], actual: [Int])
    case unsupportedDType(tensor: String, dtype: String)
    case promptTooLong(tokens: Int, context: Int)
    case tokenOutOfRange(id: Int, vocabSize: Int)
    case nonFiniteLogits(position: Int)
    case emptyInput
    case imagesNotSupported(modelType: String)
    case imageTokenMismatch(tokens: Int, features: Int)

    public var description: String {
        switch self {
        case let .shapeMismatch(t, e, a): return "tensor '\(t)' has shape \(a), the config requires \(e)"
        case let .unsupportedDType(t, d): return "tensor '\(t)' has dtype \(d); weights must be F32, F16 or BF16 (from a GGUF file also Q8_0, Q4_0, Q4_1, Q4_K, Q5_K or Q6_K blocks, whole blocks per row)"
        case let .promptTooLong(n, c): return "prompt is \(n) tokens, context is \(c)"
        case let .tokenOutOfRange(id, v): return "token id \(id) is outside the vocabulary (0..<\(v))"
        case let .nonFiniteLogits(p): return "the model produced NaN or Inf logits at position \(p); stopping"
        case .emptyInput: return "no input tokens"
        case let .imagesNotSupported(t): return "this model (\(t)) takes text only; images need a vision-language model such as SmolVLM2"
        case let .imageTokenMismatch(t, f): return "the prompt has \(t) image tokens but the images give \(f) feature rows"
        }
    }
}
