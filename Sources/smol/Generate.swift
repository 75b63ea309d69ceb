import ArgumentParser
import Foundation
import SmolGrammar
import SmolJSON
import SmolRuntime

struct Generate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Generate text from a prompt, streaming it to stdout.")

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var sampling: SamplingOptions
    @OptionGroup var chat: ChatInputOptions

    @Argument(help: "The prompt (same as --prompt).")
    var positionalPrompt: String?
    @Option(name: .shortAndLong, help: "The prompt text.")
    var prompt: String?
    @Option(help: "Start from these comma-separated token ids instead of text.")
    var ids: String?
    @Option(name: .customLong("max-tokens"), help: "Maximum number of new tokens (default: 256, or generation_config's max_new_tokens).")
    var maxTokens: Int?
    @Option(help: "Stop when this text is generated (repeatable).")
    var stop: [String] = []
    @Flag(name: .customLong("ignore-eos"), help: "Keep generating past end-of-sequence tokens.")
    var ignoreEOS = false
    @Option(help: "KV cache size in tokens (default: the model's max_position_embeddings, at most 8192).")
    var context: Int?
    @Option(name: .customLong("prompt-cache"), help: "Directory of saved KV blocks (as smol serve --prompt-cache): the prompt's known prefix is read from it instead of prefilled, and the new blocks are written back.")
    var promptCache: String?
    @Option(name: .customLong("json-schema"), help: "Constrain the reply to JSON valid under the JSON Schema in this file (after a think block, if the model thinks).")
    var jsonSchema: String?
    @Option(help: "Constrain the reply to this GBNF grammar file (llama.cpp's format; the start rule is root).")
    var grammar: String?
    @Flag(help: "Print timings, tokens/s and memory to stderr.")
    var verbose = false
    @Flag(help: "Print one JSON object at the end (token ids, text, finish reason, speeds) instead of streaming.")
    var json = false
    @Flag(name: .customLong("hide-thinking"), help: "Do not print the <think>…</think> part of the answer.")
    var hideThinking = false

    func run() async throws {
        let m = try modelOptions.load(verbose: verbose)
        let promptIds: [Int]
        var features: ImageFeatures? = nil
        if let ids { promptIds = try parseIds(ids) }
        else {
            let text = prompt ?? positionalPrompt
            if text == nil && chat.messages == nil { throw CLIError("give a prompt: smol generate \"text\" (or --prompt / --messages / --ids)") }
            // A rendered chat template already carries its special tokens.
            let prepared = try chat.prepare(m, prompt: text)
            promptIds = prepared.ids
            features = prepared.features
            if verbose && prepared.tiles > 0 {
                printErr(String(format: "images: %d, tiles: %d, encoded in %.3f s (%.1f ms per tile)", prepared.images, prepared.tiles,
                                prepared.encodeSeconds, prepared.encodeSeconds * 1000 / Double(prepared.tiles)))
            }
        }
        let params = try sampling.apply(to: m.defaults.sampling)
        var req = GenerationRequest(promptIds: promptIds, maxTokens: maxTokens ?? m.defaults.maxNewTokens ?? 256,
                                    sampling: params, eosTokenIds: m.eosTokenIds)
        req.imageFeatures = features
        req.stopStrings = stop
        req.ignoreEOS = ignoreEOS
        let constraint = try makeConstraint(m)
        if let constraint { req.logitsProcessors = [{ constraint }] }
        if let c = context, c < 1 { throw CLIError("--context must be positive") }
        let cache = m.model.makeCache(capacity: context ?? min(m.config.maxPositionEmbeddings, 8192))
        let disk = try promptCache.map { try m.diskPromptCache(directory: $0, budgetBytes: 10 << 30) }
        if let disk {
            let n = disk.load(prompt: GenerationSequence.cacheKeys(req), limit: GenerationSequence.reusableLimit(req), into: cache)
            if verbose { printErr("prompt cache: \(n) of \(req.promptIds.count) prompt tokens read from \(disk.directory)") }
        }
        let out = FileHandle.standardOutput
        var display = ThinkingDisplay(hide: hideThinking)
        let summary = try m.generator.run(req, cache: cache) { _, text in
            if !json && !text.isEmpty { out.write(Data(display.feed(text).utf8)) }
            return true
        }
        if !json { out.write(Data(display.finish().utf8)) }
        disk?.save(cache, limit: savablePositions(cache, imageTokenId: m.vision?.config.imageTokenId))
        if json {
            let obj: [String: Any] = [
                "prompt_ids": promptIds, "ids": summary.tokens, "text": summary.text,
                "finish_reason": summary.finishReason.rawValue, "prompt_tokens": summary.promptTokens,
                "prefill_tokens_per_second": summary.prefillTokensPerSecond,
                "decode_tokens_per_second": summary.decodeTokensPerSecond,
                "time_to_first_token": summary.timeToFirstToken,
            ]
            let data = try JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys])
            out.write(data)
            out.write(Data("\n".utf8))
        } else {
            out.write(Data("\n".utf8))
        }
        if verbose, let constraint {
            printErr(String(format: "grammar: %.2f ms of masking per token (%d automaton states)",
                            constraint.maskSeconds * 1000 / Double(max(1, summary.tokens.count)), constraint.spec.automaton.stateCount))
        }
        if verbose {
            printErr(String(format: "prompt %d tokens, prefill %.1f tok/s; generated %d tokens, decode %.1f tok/s; first token %.3f s; finish: %@; peak RSS %.0f MB",
                            summary.promptTokens, summary.prefillTokensPerSecond, summary.tokens.count,
                            summary.decodeTokensPerSecond, summary.timeToFirstToken, summary.finishReason.rawValue,
                            Double(peakRSSBytes()) / 1e6))
        }
    }
}

extension Generate {
    /// --json-schema / --grammar as a grammar constraint on the whole reply.
    func makeConstraint(_ m: SmolModel) throws -> GrammarConstraint? {
        if jsonSchema != nil && grammar != nil { throw CLIError("give --json-schema or --grammar, not both") }
        func read(_ path: String, _ flag: String) throws -> String {
            guard let d = FileManager.default.contents(atPath: path), d.count <= 4 << 20, let s = String(data: d, encoding: .utf8) else {
                throw CLIError("\(flag): cannot read \(path) (a UTF-8 file of at most 4 MiB)")
            }
            return s
        }
        let automaton: GrammarAutomaton
        if let path = jsonSchema {
            let schema: JSONValue
            do { schema = try JSONValue(parsing: try read(path, "--json-schema")) } catch let e as JSONParseError {
                throw CLIError("--json-schema: \(path) is not valid JSON: \(e)")
            }
            do { automaton = try m.grammars.jsonSchema(schema) } catch { throw CLIError("--json-schema: \(path): \(error)") }
        } else if let path = grammar {
            let text = try read(path, "--grammar")
            do { automaton = try m.grammars.gbnf(text) } catch { throw CLIError("--grammar: \(path): \(error)") }
        } else {
            return nil
        }
        return GrammarConstraint(GrammarConstraintSpec(automaton: automaton, scope: .reply(allowThinking: true), eosTokenIds: m.eosTokenIds))
    }
}

/// Peak resident set size (VmHWM) of this process.
func peakRSSBytes() -> Int {
    guard let s = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
    for line in s.split(separator: "\n") where line.hasPrefix("VmHWM:") {
        let kb = line.split(separator: " ").compactMap { Int($0) }.first ?? 0
        return kb * 1024
    }
    return 0
}
