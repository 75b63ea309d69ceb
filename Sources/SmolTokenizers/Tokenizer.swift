import Foundation
import SmolJSON

/// Text to token ids and back. Generation code depends on this protocol; tests use stubs.
public protocol TextTokenizer: Sendable {
    func encode(_ text: String, addSpecialTokens: Bool) throws -> [Int]
    func decode(_ ids: [Int], skipSpecialTokens: Bool) -> String
    func tokenId(_ token: String) -> Int?
    func token(_ id: Int) -> String?
    var vocabSize: Int { get }
    /// Ids of added tokens marked special (skipped when decoding without specials).
    var specialIds: Set<Int> { get }
    /// The bytes a token stands for (a piece of a character for some byte-level tokens);
    /// what constrained decoding matches against a grammar.
    func tokenBytes(_ id: Int) -> [UInt8]?
}

extension TextTokenizer {
    public func tokenBytes(_ id: Int) -> [UInt8]? { token(id) == nil ? nil : Array(decode([id], skipSpecialTokens: false).utf8) }
}

/// A Hugging Face fast tokenizer built from tokenizer.json: added tokens, normalizer,
/// pre-tokenizer, BPE model, post-processor and decoder, each from its JSON `type`.
public final class Tokenizer: TextTokenizer, @unchecked Sendable {
    let model: BPEModel
    let normalizer: Normalizer?
    let preTokenizer: PreTokenizer?
    let postProcessor: PostProcessor?
    let decoder: TokenDecoder?
    public let addedTokens: [AddedToken]
    private let rawSplitter: AddedTokenSplitter
    private let normalizedSplitter: AddedTokenSplitter
    public let specialIds: Set<Int>
    /// Added tokens with `normalized: true` decode to their normalized content, as in tokenizers.
    private let normalizedAddedText: [Int: String]
    /// Inputs larger than this are refused (BPE cost grows with input size).
    public var maxInputBytes: Int = 64 << 20

    public convenience init(file: String) throws {
        guard let data = FileManager.default.contents(atPath: file) else { throw TokenizerError.cannotRead(file: file) }
        guard data.count < 512 << 20 else { throw TokenizerError.inputTooLarge(bytes: data.count, limit: 512 << 20) }
        let obj: Any
        do { obj = try JSONSerialization.jsonObject(with: data) } catch {
            throw TokenizerError.invalidJSON(file: file, reason: "\(error)")
        }
        guard var json = obj as? [String: Any] else { throw TokenizerError.invalidJSON(file: file, reason: "not an object") }
        // Foundation turns JSON objects into Swift dictionaries, whose String keys compare by
        // canonical equivalence: a vocabulary holding both "\u{E9}" and "e\u{301}" loses one.
        // Re-read the vocabulary as exact (key, id) pairs.
        var parser = StrictJSONParser()
        parser.rejectDuplicateKeys = false
        if case let .object(pairs)? = (try? parser.parse([UInt8](data)))?["model"]?["vocab"],
           var model = json["model"] as? [String: Any] {
            model["vocab_pairs"] = pairs.map { (k, v) -> (String, Any) in
                if case let .int(i) = v { return (k, NSNumber(value: i)) }
                return (k, NSNull())
            }
            json["model"] = model
        }
        try self.init(json: json)
    }

    public init(json: [String: Any]) throws {
        var added: [AddedToken] = []
        for (k, t) in (json["added_tokens"] as? [[String: Any]] ?? []).enumerated() {
            guard let id = (t["id"] as? NSNumber)?.intValue, id >= 0, let content = t["content"] as? String else {
                throw TokenizerError.missingField(component: "added_tokens[\(k)]", field: "id/content")
            }
            added.append(AddedToken(id: id, content: content, special: t["special"] as? Bool ?? false,
                                    lstrip: t["lstrip"] as? Bool ?? false, rstrip: t["rstrip"] as? Bool ?? false,
                                    singleWord: t["single_word"] as? Bool ?? false, normalized: t["normalized"] as? Bool ?? false))
        }
        guard let modelJSON = json["model"] as? [String: Any] else { throw TokenizerError.missingField(component: "tokenizer.json", field: "model") }
        let type = modelJSON["type"] as? String ?? "BPE"
        guard type == "BPE" else { throw TokenizerError.unsupportedType(component: "model", type: type) }
        model = try BPEModel(json: modelJSON, addedTokens: added.map { ($0.content, $0.id) })
        let vocabCount = (modelJSON["vocab_pairs"] as? [(String, Any)])?.count ?? (modelJSON["vocab"] as? [String: Any])?.count ?? 0
        for t in added where t.id >= vocabCount + added.count {
            throw TokenizerError.addedTokenIdOutOfRange(token: t.content, id: t.id, vocabSize: vocabCount)
        }
        // Every id must name a token: a hole would decode to nothing silently.
        if let hole = model.idToToken.firstIndex(of: ""), model.vocab[""] != hole {
            throw TokenizerError.idsNotDense(vocabSize: model.vocabSize, missing: hole)
        }
        addedTokens = added
        specialIds = Set(added.filter(\.special).map(\.id))
        let norm = try NormalizerFactory.make(json["normalizer"] as? [String: Any])
        normalizer = norm
        rawSplitter = AddedTokenSplitter(added.filter { !$0.normalized })
        // tokenizers matches `normalized` added tokens by their content passed through the
        // normalizer (e.g. Lowercase: "<Up>" matches "<up>"), and decodes them to it.
        let normalizedAdded = added.filter(\.normalized).map { t in
            AddedToken(id: t.id, content: norm?.normalize(t.content) ?? t.content, special: t.special,
                       lstrip: t.lstrip, rstrip: t.rstrip, singleWord: t.singleWord, normalized: true)
        }
        normalizedSplitter = AddedTokenSplitter(normalizedAdded)
        normalizedAddedText = Dictionary(normalizedAdded.map { ($0.id, $0.content) }, uniquingKeysWith: { _, b in b })
        preTokenizer = try PreTokenizerFactory.make(json["pre_tokenizer"] as? [String: Any])
        postProcessor = try PostProcessorFactory.make(json["post_processor"] as? [String: Any])
        decoder = try DecoderFactory.make(json["decoder"] as? [String: Any])
    }

    public var vocabSize: Int { model.vocabSize }
    public func tokenId(_ token: String) -> Int? { model.vocab[token] }
    public func token(_ id: Int) -> String? {
        if let t = normalizedAddedText[id] { return t }
        return id >= 0 && id < model.idToToken.count ? model.idToToken[id] : nil
    }

    /// Encodes UTF-8 bytes, refusing invalid UTF-8 instead of substituting U+FFFD.
    public func encode(bytes: [UInt8], addSpecialTokens: Bool = true) throws -> [Int] {
        guard let s = String(validating: bytes, as: UTF8.self) else {
            var it = bytes.makeIterator()
            var decoder = UTF8()
            var offset = 0
            loop: while true {
                let before = offset
                switch decoder.decode(&it) {
                case let .scalarValue(s): offset += String(s).utf8.count
                case .emptyInput: break loop
                case .error: throw TokenizerError.invalidUTF8(offset: before)
                }
            }
            throw TokenizerError.invalidUTF8(offset: offset)
        }
        return try encode(s, addSpecialTokens: addSpecialTokens)
    }

    public func encode(_ text: String, addSpecialTokens: Bool = true) throws -> [Int] {
        let size = text.utf8.count
        guard size <= maxInputBytes else { throw TokenizerError.inputTooLarge(bytes: size, limit: maxInputBytes) }
        var ids: [Int] = []
        // Whether the next text starts at offset 0 of the input (Metaspace prepend_scheme "first").
        var atStart = true
        for seg in rawSplitter.split(Array(text.unicodeScalars)) {
            switch seg {
            case let .token(id): ids.append(id); atStart = false
            case let .text(scalars):
                var str = String.UnicodeScalarView(); str.append(contentsOf: scalars)
                let normalized = normalizer?.normalize(String(str)) ?? String(str)
                for seg2 in normalizedSplitter.split(Array(normalized.unicodeScalars)) {
                    switch seg2 {
                    case let .token(id): ids.append(id)
                    case let .text(sc): encodeText(sc, atStart: atStart, into: &ids)
                    }
                    atStart = false
                }
            }
        }
        if addSpecialTokens, let pp = postProcessor { ids = pp.process(ids) }
        return ids
    }

    private func encodeText(_ scalars: [Unicode.Scalar], atStart: Bool, into ids: inout [Int]) {
        guard !scalars.isEmpty else { return }
        let pieces = preTokenizer?.split([scalars], atStart: atStart) ?? [scalars]
        for p in pieces { model.tokenize(p, into: &ids) }
    }

    public func tokenBytes(_ id: Int) -> [UInt8]? {
        guard let t = token(id) else { return nil }
        if decoder is ByteLevelDecoder && normalizedAddedText[id] == nil { return ByteLevelMapping.decode(t) }
        if let decoder { return Array(decoder.decode([t]).joined().utf8) }
        return Array(t.utf8)
    }

    public func decode(_ ids: [Int], skipSpecialTokens: Bool = false) -> String {
        var tokens: [String] = []
        tokens.reserveCapacity(ids.count)
        for id in ids {
            if skipSpecialTokens && specialIds.contains(id) { continue }
            guard let t = token(id) else { continue }
            tokens.append(t)
        }
        guard let decoder else { return tokens.joined(separator: " ") }
        return decoder.decode(tokens).joined()
    }
}
