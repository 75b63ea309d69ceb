/// A per-sequence step between the model's logits and the sampler: a constraint masks what it
/// forbids (sets it to -inf), a bias shifts logits. `GenerationSequence` runs a request's
/// processors in order before sampling each token, then tells them the token it chose.
public protocol LogitsProcessor: AnyObject {
    /// Adjusts the logits for the next token in place.
    func process(_ logits: UnsafeMutableBufferPointer<Float>) throws
    /// The token the sampler chose from the processed logits (eos included).
    func accept(_ token: Int) throws
}

/// Makes a request's processor for each sequence that runs it (processors hold state).
public typealias LogitsProcessorFactory = @Sendable () throws -> any LogitsProcessor

public enum ConstraintError: Error, CustomStringConvertible, Equatable {
    /// Every token was masked: the grammar and the vocabulary cannot continue.
    case deadEnd(position: Int)
    /// A processor was told of a token that it had masked.
    case tokenRefused(token: Int)

    public var description: String {
        switch self {
        case let .deadEnd(p): return "constrained decoding reached a state where no token is allowed (generated token \(p))"
        case let .tokenRefused(t): return "token \(t) does not continue the grammar"
        }
    }
}
