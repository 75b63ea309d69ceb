/// Errors from reading tokenizer.json or tokenizing input.
public enum TokenizerError: Error, CustomStringConvertible, Equatable {
    case cannotRead(file: String)
    case invalidJSON(file: String, reason: String)
    case missingField(component: String, field: String)
    case unsupportedType(component: String, type: String)
    case unsupportedOption(component: String, option: String)
    case badMerge(index: Int, text: String)
    case mergeUnknownToken(index: Int, token: String)
    case duplicateTokenId(id: Int, tokens: [String])
    case idsNotDense(vocabSize: Int, missing: Int)
    case addedTokenIdOutOfRange(token: String, id: Int, vocabSize: Int)
    case badByteFallbackToken(String)
    case badRegex(pattern: String, reason: String)
    case invalidUTF8(offset: Int)
    case inputTooLarge(bytes: Int, limit: Int)
    case unknownTokenId(Int)

    public var description: String {
        switch self {
        case let .cannotRead(f): return "\(f): cannot read tokenizer file"
        case let .invalidJSON(f, r): return "\(f): invalid JSON: \(r)"
        case let .missingField(c, f): return "tokenizer.json: \(c) is missing '\(f)'"
        case let .unsupportedType(c, t): return "tokenizer.json: \(c) type '\(t)' is not supported"
        case let .unsupportedOption(c, o): return "tokenizer.json: \(c) option \(o) is not supported"
        case let .badMerge(i, t): return "tokenizer.json: merge #\(i) '\(t)' is not two tokens"
        case let .mergeUnknownToken(i, t): return "tokenizer.json: merge #\(i) names token '\(t)' that is not in the vocabulary"
        case let .duplicateTokenId(id, toks): return "tokenizer.json: id \(id) is used by several tokens: \(toks)"
        case let .idsNotDense(v, m): return "tokenizer.json: vocabulary of \(v) ids has no token for id \(m)"
        case let .addedTokenIdOutOfRange(t, id, v): return "tokenizer.json: added token '\(t)' has id \(id), beyond the vocabulary size \(v) + added tokens"
        case let .badByteFallbackToken(t): return "tokenizer.json: byte-fallback token '\(t)' is not of the form <0xXX>"
        case let .badRegex(p, r): return "tokenizer.json: regex '\(p)' cannot be compiled: \(r)"
        case let .invalidUTF8(o): return "input is not valid UTF-8 (first bad byte at offset \(o))"
        case let .inputTooLarge(b, l): return "input is \(b) bytes, over the tokenizer limit of \(l) bytes"
        case let .unknownTokenId(id): return "token id \(id) is not in the vocabulary"
        }
    }
}
