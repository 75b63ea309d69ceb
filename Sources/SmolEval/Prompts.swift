/// The standard prompt formats (see Tests/Fixtures/eval/README.md for the contract shared
/// with the transformers reference script).
public enum MMLUPrompt {
    public static let letters = ["A", "B", "C", "D"]

    public static func header(_ subject: String) -> String {
        "The following are multiple choice questions (with answers) about \(subject).\n\n"
    }

    public static func block(_ it: MMLUItem) -> String {
        "\(it.question)\nA. \(it.choices[0])\nB. \(it.choices[1])\nC. \(it.choices[2])\nD. \(it.choices[3])\nAnswer:"
    }

    /// The first k items of the same subject in file order, never the item itself.
    public static func shots(for item: MMLUItem, k: Int, bySubject: [String: [MMLUItem]]) -> [MMLUItem] {
        Array((bySubject[item.topic] ?? []).lazy.filter { $0.id != item.id }.prefix(k))
    }

    public static func prompt(_ item: MMLUItem, shots: [MMLUItem]) -> String {
        header(item.subject) + shots.map { block($0) + " \(letters[$0.gold])\n\n" }.joined() + block(item)
    }
}

public enum GSM8KPrompt {
    public static let stopStrings = ["\n\nQuestion:", "Question:"]

    public static func prompt(_ item: GSM8KItem, exemplars: [GSM8KItem]) -> String {
        exemplars.map { "Question: \($0.question)\nAnswer: \($0.answer)\n\n" }.joined() + "Question: \(item.question)\nAnswer:"
    }

    /// Zero-shot instruction for chat models.
    public static func chatInstruction(_ item: GSM8KItem) -> String {
        "\(item.question)\nSolve the problem step by step. End with the final numeric answer after \"####\"."
    }
}

/// GSM8K answer extraction: the number after the last "####", else the last number.
public enum AnswerExtraction {
    public static func extract(_ text: String) -> String? {
        if let r = text.range(of: "####", options: .backwards) {
            if let n = numbers(in: String(text[r.upperBound...])).first { return normalize(n) }
        }
        return numbers(in: text).last.map(normalize)
    }

    public static func gold(_ answer: String) -> String { extract(answer) ?? "" }

    /// Matches `-?[\d,]*\.?\d+`.
    static func numbers(in s: String) -> [String] {
        let c = Array(s.unicodeScalars)
        var out: [String] = []
        var i = 0
        func isDigit(_ k: Int) -> Bool { k < c.count && c[k].value >= 48 && c[k].value <= 57 }
        while i < c.count {
            let start = i
            var j = i
            if c[j] == "-" { j += 1 }
            let bodyStart = j
            while j < c.count && (isDigit(j) || c[j] == ",") { j += 1 }
            // [\d,]* is greedy; back off so that `\.?\d+` can still match.
            var end = -1
            var k = j
            while k >= bodyStart {
                var m = k
                if m < c.count && c[m] == "." { m += 1 }
                var d = m
                while isDigit(d) { d += 1 }
                if d > m { end = d; break }
                k -= 1
            }
            if end > 0 {
                var v = String.UnicodeScalarView(); v.append(contentsOf: c[start..<end]); out.append(String(v))
                i = end
            } else {
                i = start + 1
            }
        }
        return out
    }

    static func normalize(_ n: String) -> String {
        var s = n.replacingOccurrences(of: ",", with: "").replacingOccurrences(of: "$", with: "")
        if s.contains(".") {
            while s.hasSuffix("0") { s.removeLast() }
            if s.hasSuffix(".") { s.removeLast() }
        }
        return s
    }
}
