/// A token from tokenizer.json's `added_tokens`, matched in raw text before the model runs.
public struct AddedToken: Sendable, Equatable {
    public let id: Int
    public let content: String
    public let special: Bool
    public let lstrip: Bool
    public let rstrip: Bool
    public let singleWord: Bool
    public let normalized: Bool
}

/// Finds added tokens in text, leftmost-longest like tokenizers' Aho-Corasick matcher,
/// honouring lstrip / rstrip (absorb neighbouring whitespace) and single_word.
struct AddedTokenSplitter: Sendable {
    enum Segment: Equatable {
        case text([Unicode.Scalar])
        case token(Int)
    }

    private let byFirst: [Unicode.Scalar: [(Piece, AddedToken)]]

    init(_ tokens: [AddedToken]) {
        var d: [Unicode.Scalar: [(Piece, AddedToken)]] = [:]
        for t in tokens {
            let sc = Array(t.content.unicodeScalars)
            guard let f = sc.first else { continue }
            d[f, default: []].append((sc, t))
        }
        for k in d.keys { d[k]!.sort { $0.0.count > $1.0.count } }
        byFirst = d
    }

    var isEmpty: Bool { byFirst.isEmpty }

    func split(_ text: [Unicode.Scalar]) -> [Segment] {
        guard !byFirst.isEmpty else { return [.text(text)] }
        var out: [Segment] = []
        var textStart = 0
        var i = 0
        let n = text.count
        while i < n {
            guard let cands = byFirst[text[i]] else { i += 1; continue }
            // Longest match at i (leftmost-longest). A single_word token that fails its word
            // test is dropped and scanning resumes after it, as in tokenizers (no shorter token
            // is tried at the same position).
            var matched: (Int, AddedToken)? = nil
            for (sc, tok) in cands where i + sc.count <= n && text[i..<(i + sc.count)].elementsEqual(sc) {
                matched = (sc.count, tok)
                break
            }
            guard let (len, tok) = matched else { i += 1; continue }
            if tok.singleWord {
                let beforeOK = i == 0 || !CharClass.isAlphanumeric(text[i - 1]) && text[i - 1] != "_"
                let end = i + len
                let afterOK = end == n || !CharClass.isAlphanumeric(text[end]) && text[end] != "_"
                guard beforeOK && afterOK else { i += len; continue }
            }
            var start = i, end = i + len
            if tok.lstrip { while start > textStart && CharClass.isWhitespace(text[start - 1]) { start -= 1 } }
            if tok.rstrip { while end < n && CharClass.isWhitespace(text[end]) { end += 1 } }
            if start > textStart { out.append(.text(Array(text[textStart..<start]))) }
            out.append(.token(tok.id))
            i = end
            textStart = end
        }
        if textStart < n { out.append(.text(Array(text[textStart..<n]))) }
        return out
    }
}
