import Foundation
import SmolRuntime
import Testing
@testable import SmolEval

/// Our evaluator against transformers on the same prompts (scripts/make_eval_reference.py):
/// identical prompt text, log-probabilities within tolerance, the same MMLU choice and the
/// same GSM8K extracted answer, item by item.
@Suite(.serialized) struct ReferenceAgreementTests {
    static let repo: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()
    static let fixtures = repo + "/Tests/Fixtures/eval"
    static let mmluData = repo + "/../shared/data/mmlu/test.jsonl"
    static let gsmTest = repo + "/../shared/data/gsm8k/test.jsonl"
    static let gsmTrain = repo + "/../shared/data/gsm8k/train.jsonl"
    static let model: SmolModel? = try? SmolModel(directory: repo + "/Models/SmolLM2-135M-Instruct", options: .exactF32)

    static func load(_ name: String) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: fixtures + "/" + name))) as! [String: Any]
    }

    @Test(arguments: [0, 5])
    func mmluAgreesItemByItem(_ shots: Int) throws {
        let m = try #require(Self.model, "default model missing: run scripts/setup.sh")
        let ref = try Self.load("mmlu_reference.json")
        let items = try #require(ref["items"] as? [[String: Any]])
        #expect(items.count == 200)
        let all = try EvalData.mmlu(Self.mmluData)
        let byId = Dictionary(all.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        let bySubject = Dictionary(grouping: all, by: \.topic)
        let ev = try MMLUEvaluator(model: m, shots: shots, chat: false)
        #expect(ev.choiceIds == ref["choice_token_ids"] as? [Int])
        // Same selection rule as the reference.
        #expect(Selection.stratified(all, limit: 200, seed: nil).map(\.id) == items.map { $0["id"] as! Int })
        var disagreements = 0, ourCorrect = 0, refCorrect = 0, maxDiff = 0.0
        // Grouped by subject, as the CLI runs them, so few-shot prefixes are reused.
        for r in items.sorted(by: { ($0["id"] as! Int) < ($1["id"] as! Int) }) {
            let item = try #require(byId[r["id"] as! Int])
            let out = try ev.evaluate(item, bySubject: bySubject)
            if let p = r["prompt_\(shots)shot"] as? String { #expect(out.prompt == p, "item \(item.id): prompt differs") }
            let refLP = r["logprobs_\(shots)shot"] as! [Double]
            for i in 0..<4 { maxDiff = max(maxDiff, abs(out.logprobs[i] - refLP[i])) }
            let refPred = ["A", "B", "C", "D"].firstIndex(of: r["pred_\(shots)shot"] as? String ?? "") ?? (r["pred_\(shots)shot"] as? Int ?? -1)
            if out.prediction != refPred {
                // Only a near-tie in the reference may flip.
                let sorted = refLP.sorted(by: >)
                if sorted[0] - sorted[1] > 1e-3 { disagreements += 1; Issue.record("item \(item.id): ours \(out.prediction) ref \(refPred)") }
            }
            ourCorrect += out.correct ? 1 : 0
            refCorrect += refPred == item.gold ? 1 : 0
        }
        #expect(disagreements == 0)
        #expect(maxDiff < 2e-3, "max |logprob diff| \(maxDiff)")
        print("MMLU \(shots)-shot on 200 items: ours \(ourCorrect), transformers \(refCorrect) correct; max logprob diff \(maxDiff)")
    }

    @Test func gsm8kAgreesItemByItem() throws {
        let m = try #require(Self.model, "default model missing: run scripts/setup.sh")
        let ref = try Self.load("gsm8k_reference.json")
        let items = try #require(ref["items"] as? [[String: Any]])
        let test = try EvalData.gsm8k(Self.gsmTest)
        let ev = try GSM8KEvaluator(model: m, exemplars: Array(try EvalData.gsm8k(Self.gsmTrain).prefix(8)), chat: false, maxTokens: 256)
        var same = 0
        for r in items {
            let id = r["id"] as! Int
            let out = try ev.evaluate(test[id])
            #expect(out.prompt == r["prompt"] as? String, "item \(id): prompt differs")
            #expect(out.gold == r["gold"] as? String)
            let refAnswer = r["extracted"] as? String
            #expect(out.extracted == refAnswer, "item \(id): ours \(out.extracted ?? "nil") ref \(refAnswer ?? "nil")\n\(out.text)")
            if out.extracted == refAnswer { same += 1 }
        }
        print("GSM8K: \(same)/\(items.count) extracted answers identical to transformers")
    }
}
