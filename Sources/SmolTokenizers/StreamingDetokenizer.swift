/// Emits text as tokens arrive, holding back output until it forms complete characters
/// (byte-level tokens can split a multi-byte character). Decodes a small window around
/// the newest tokens, so the cost per token stays constant.
public struct StreamingDetokenizer {
    let tokenizer: TextTokenizer
    let skipSpecialTokens: Bool
    private var ids: [Int] = []
    private var prefixOffset = 0
    private var readOffset = 0

    public init(tokenizer: TextTokenizer, skipSpecialTokens: Bool = true) {
        self.tokenizer = tokenizer
        self.skipSpecialTokens = skipSpecialTokens
    }

    /// Adds one token; returns the newly completed text (possibly empty).
    public mutating func append(_ id: Int) -> String {
        ids.append(id)
        let prefix = tokenizer.decode(Array(ids[prefixOffset..<readOffset]), skipSpecialTokens: skipSpecialTokens)
        let full = tokenizer.decode(Array(ids[prefixOffset...]), skipSpecialTokens: skipSpecialTokens)
        guard full.unicodeScalars.count > prefix.unicodeScalars.count, !full.hasSuffix("\u{FFFD}") else { return "" }
        let new = String(full.unicodeScalars.dropFirst(prefix.unicodeScalars.count))
        prefixOffset = readOffset
        readOffset = ids.count
        return new
    }

    /// Text still held back at the end of generation (an incomplete character decodes as U+FFFD).
    public mutating func flush() -> String {
        guard readOffset < ids.count else { return "" }
        let prefix = tokenizer.decode(Array(ids[prefixOffset..<readOffset]), skipSpecialTokens: skipSpecialTokens)
        let full = tokenizer.decode(Array(ids[prefixOffset...]), skipSpecialTokens: skipSpecialTokens)
        readOffset = ids.count
        prefixOffset = readOffset
        return String(full.unicodeScalars.dropFirst(prefix.unicodeScalars.count))
    }
}
