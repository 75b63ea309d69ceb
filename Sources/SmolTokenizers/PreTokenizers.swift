import Foundation

/// A piece of text between pre-tokenizer splits.
typealias Piece = [Unicode.Scalar]

/// Splits normalised text into pieces that the model tokenizes independently.
protocol PreTokenizer: Sendable {
    func split(_ pieces: [Piece]) -> [Piece]
    /// `atStart`: the first piece begins at offset 0 of the input text (tokenizers'
    /// `offsets_original().0 == 0`, which Metaspace's prepend_scheme "first" tests).
    func split(_ pieces: [Piece], atStart: Bool) -> [Piece]
}

extension PreTokenizer {
    func split(_ pieces: [Piece], atStart: Bool) -> [Piece] { split(pieces) }
}

struct SequencePreTokenizer: PreTokenizer {
    let steps: [PreTokenizer]
    func split(_ pieces: [Piece]) -> [Piece] { split(pieces, atStart: true) }
    func split(_ pieces: [Piece], atStart: Bool) -> [Piece] { steps.reduce(pieces) { $1.split($0, atStart: atStart) } }
}

struct SplitPreTokenizer: PreTokenizer {
    let matcher: SplitMatcher
    let behavior: SplitBehavior
    let invert: Bool
    func split(_ pieces: [Piece]) -> [Piece] {
        pieces.flatMap { p in
            behavior.apply(p[...], delimiters: matcher.matches(p[...]), invert: invert).map(Array.init)
        }
    }
}

/// Byte-level: optional prefix space, GPT-2 regex split, then bytes mapped to printable chars.
struct ByteLevelPreTokenizer: PreTokenizer {
    let addPrefixSpace: Bool
    let useRegex: Bool
    func split(_ pieces: [Piece]) -> [Piece] {
        var out: [Piece] = []
        for var p in pieces {
            if addPrefixSpace && p.first != " " { p.insert(" ", at: 0) }
            let parts = useRegex ? SplitBehavior.isolated.apply(p[...], delimiters: GPT2Matcher().matches(p[...]), invert: false) : [p[...]]
            for part in parts { out.append(ByteLevelMapping.encode(part)) }
        }
        return out
    }
}

/// Digits: each digit alone, or runs of digits, isolated from the rest.
struct DigitsPreTokenizer: PreTokenizer {
    let individual: Bool
    func split(_ pieces: [Piece]) -> [Piece] {
        pieces.flatMap { p -> [Piece] in
            var ranges: [Range<Int>] = []
            for (i, s) in p.enumerated() where CharClass.isNumeric(s) { ranges.append(i..<(i + 1)) }
            let behavior: SplitBehavior = individual ? .isolated : .contiguous
            return behavior.apply(p[...], delimiters: ranges, invert: false).map(Array.init)
        }
    }
}

/// `\w+|[^\w\s]+` (Whitespace), or splitting on whitespace (WhitespaceSplit).
struct WhitespacePreTokenizer: PreTokenizer {
    let keepPunctuationRuns: Bool
    func split(_ pieces: [Piece]) -> [Piece] {
        pieces.flatMap { p -> [Piece] in
            var out: [Piece] = []
            var cur: Piece = []
            var curWord = false
            for s in p {
                if CharClass.isWhitespace(s) {
                    if !cur.isEmpty { out.append(cur); cur = [] }
                    continue
                }
                let word = CharClass.isWordCharacter(s)
                if keepPunctuationRuns, !cur.isEmpty, word != curWord { out.append(cur); cur = [] }
                cur.append(s)
                curWord = word
            }
            if !cur.isEmpty { out.append(cur) }
            return out
        }
    }
}

struct PunctuationPreTokenizer: PreTokenizer {
    let behavior: SplitBehavior
    func split(_ pieces: [Piece]) -> [Piece] {
        pieces.flatMap { p -> [Piece] in
            var ranges: [Range<Int>] = []
            for (i, s) in p.enumerated() where CharClass.isPunctuation(s) { ranges.append(i..<(i + 1)) }
            return behavior.apply(p[...], delimiters: ranges, invert: false).map(Array.init)
        }
    }
}

/// SentencePiece style: spaces become ▁, with an optional leading ▁.
struct MetaspacePreTokenizer: PreTokenizer {
    let replacement: Unicode.Scalar
    let prependScheme: String  // always, first, never
    let splitPieces: Bool
    func split(_ pieces: [Piece]) -> [Piece] { split(pieces, atStart: true) }
    func split(_ pieces: [Piece], atStart: Bool) -> [Piece] {
        var out: [Piece] = []
        for (k, p) in pieces.enumerated() {
            var q = p.map { $0 == " " ? replacement : $0 }
            if (prependScheme == "always" || (prependScheme == "first" && k == 0 && atStart)) && q.first != replacement {
                q.insert(replacement, at: 0)
            }
            if splitPieces {
                var ranges: [Range<Int>] = []
                for (i, s) in q.enumerated() where s == replacement { ranges.append(i..<(i + 1)) }
                out += SplitBehavior.mergedWithNext.apply(q[...], delimiters: ranges, invert: false).map(Array.init)
            } else { out.append(q) }
        }
        return out
    }
}

enum PreTokenizerFactory {
    static func make(_ json: [String: Any]?) throws -> PreTokenizer? {
        guard let json else { return nil }
        guard let type = json["type"] as? String else { throw TokenizerError.missingField(component: "pre_tokenizer", field: "type") }
        switch type {
        case "Sequence":
            let list = json["pretokenizers"] as? [[String: Any]] ?? []
            return SequencePreTokenizer(steps: try list.compactMap { try make($0) })
        case "Split":
            let pattern = json["pattern"] as? [String: Any] ?? [:]
            let matcher: SplitMatcher
            if let re = pattern["Regex"] as? String { matcher = try SplitPatterns.matcher(for: re) }
            else if let lit = pattern["String"] as? String { matcher = LiteralMatcher(needle: Array(lit.unicodeScalars)) }
            else { throw TokenizerError.missingField(component: "Split pre_tokenizer", field: "pattern") }
            let b = json["behavior"] as? String ?? "Isolated"
            guard let behavior = SplitBehavior(rawValue: b) else {
                throw TokenizerError.unsupportedOption(component: "Split pre_tokenizer", option: "behavior \(b)")
            }
            return SplitPreTokenizer(matcher: matcher, behavior: behavior, invert: json["invert"] as? Bool ?? false)
        case "ByteLevel":
            return ByteLevelPreTokenizer(addPrefixSpace: json["add_prefix_space"] as? Bool ?? true,
                                         useRegex: json["use_regex"] as? Bool ?? true)
        case "Digits":
            return DigitsPreTokenizer(individual: json["individual_digits"] as? Bool ?? false)
        case "Whitespace":
            return WhitespacePreTokenizer(keepPunctuationRuns: true)
        case "WhitespaceSplit":
            return WhitespacePreTokenizer(keepPunctuationRuns: false)
        case "Punctuation":
            let b = json["behavior"] as? String ?? "Isolated"
            guard let behavior = SplitBehavior(rawValue: b) else {
                throw TokenizerError.unsupportedOption(component: "Punctuation pre_tokenizer", option: "behavior \(b)")
            }
            return PunctuationPreTokenizer(behavior: behavior)
        case "Metaspace":
            let rep = (json["replacement"] as? String)?.unicodeScalars.first ?? "\u{2581}"
            var scheme = json["prepend_scheme"] as? String ?? "always"
            if let add = json["add_prefix_space"] as? Bool, json["prepend_scheme"] == nil { scheme = add ? "always" : "never" }
            return MetaspacePreTokenizer(replacement: rep, prependScheme: scheme, splitPieces: json["split"] as? Bool ?? true)
        default:
            throw TokenizerError.unsupportedType(component: "pre_tokenizer", type: type)
        }
    }
}
