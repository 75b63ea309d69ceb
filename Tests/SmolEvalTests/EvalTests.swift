import Foundation
import Testing
@testable import SmolEval

@Suite struct AnswerExtractionTests {
    @Test(arguments: [
        ("She makes 9 * 2 = $18 every day.\n#### 18", "18"),
        ("so 1,234.50 dollars", "1234.5"),
        ("#### -7", "-7"),
        ("The answer is 12.0", "12"),
        ("3 apples and 4 pears", "4"),
        ("#### $1,000", "1000"),
        ("no numbers here", nil),
        ("first #### 5 then #### 6 and 7", "6"),
    ] as [(String, String?)])
    func extracts(_ text: String, _ expected: String?) {
        #expect(AnswerExtraction.extract(text) == expected)
    }
}

@Suite struct MMLUPromptTests {
    static let items = (0..<8).map { i in
        MMLUItem(id: i, question: "Q\(i)?", choices: ["a\(i)", "b\(i)", "c\(i)", "d\(i)"], gold: i % 4,
                 topic: i < 6 ? "high_school_physics" : "virology")
    }

    @Test func zeroAndFewShotFormat() {
        let by = Dictionary(grouping: Self.items, by: \.topic)
        let it = Self.items[1]
        #expect(MMLUPrompt.prompt(it, shots: []) ==
            "The following are multiple choice questions (with answers) about high school physics.\n\nQ1?\nA. a1\nB. b1\nC. c1\nD. d1\nAnswer:")
        let shots = MMLUPrompt.shots(for: it, k: 2, bySubject: by)
        #expect(shots.map(\.id) == [0, 2])  // never the item itself
        #expect(MMLUPrompt.prompt(it, shots: shots).contains("Q0?\nA. a0\nB. b0\nC. c0\nD. d0\nAnswer: A\n\nQ2?"))
    }

    @Test func stratifiedSelectionCoversSubjects() {
        let s = Selection.stratified(Self.items, limit: 3, seed: nil)
        #expect(s.map(\.id) == [0, 6, 1])
        let a = Selection.stratified(Self.items, limit: 5, seed: 9), b = Selection.stratified(Self.items, limit: 5, seed: 9)
        #expect(a == b)
        #expect(Set(a.map(\.topic)).count == 2)
    }

    @Test func badDataNamesTheLine() throws {
        let path = NSTemporaryDirectory() + "mmlu-bad-\(UUID().uuidString).jsonl"
        try "{\"question\":\"q\",\"answer_a\":\"a\",\"answer_b\":\"b\",\"answer_c\":\"c\",\"answer_d\":\"d\",\"correct_answer\":\"B\",\"topic\":\"t\"}\nnot json\n"
            .write(toFile: path, atomically: true, encoding: .utf8)
        #expect(throws: EvalError.badLine(file: path, line: 2, reason: "not a JSON object")) { try EvalData.mmlu(path) }
    }
}
