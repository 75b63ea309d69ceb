import ArgumentParser
import Foundation
import SmolRuntime
import SmolTokenizers

struct Tokenize: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print the token ids of a text.")
    @Option(name: .shortAndLong, help: "Model folder (its tokenizer.json), .gguf file (its tokenizer.ggml.* keys) or HF cache repo id.")
    var model: String?
    @Option(help: "Text to tokenize.")
    var text: String?
    @Option(help: "Read the text from this file (must be valid UTF-8).")
    var file: String?
    @Flag(help: "Print JSON: ids and token strings.")
    var json = false
    @Flag(name: .customLong("no-special"), help: "Do not add the post-processor's special tokens.")
    var noSpecial = false
    @Flag(help: "Print only statistics (tokens, bytes, seconds, MB/s) instead of the ids.")
    var stats = false
    @Option(name: .customLong("max-bytes"), help: "Refuse inputs larger than this many bytes (default 64 MiB).")
    var maxBytes: Int?

    func run() async throws {
        let dir = try ModelOptions.parse(model.map { ["--model", $0] } ?? []).resolvedPath()
        let tok = try SmolModel.loadTokenizer(path: dir)
        if let maxBytes { tok.maxInputBytes = maxBytes }
        let ids: [Int]
        let t0 = Date()
        var bytes = text?.utf8.count ?? 0
        if let file {
            guard let data = FileManager.default.contents(atPath: file) else { throw CLIError("\(file): cannot read") }
            bytes = data.count
            ids = try tok.encode(bytes: [UInt8](data), addSpecialTokens: !noSpecial)
        } else if let text {
            ids = try tok.encode(text, addSpecialTokens: !noSpecial)
        } else { throw CLIError("give --text or --file") }
        let seconds = Date().timeIntervalSince(t0)
        if stats {
            print(String(format: "%d tokens from %d bytes in %.3f s: %.2f MB/s", ids.count, bytes, seconds, Double(bytes) / 1e6 / seconds))
        } else if json {
            let obj: [String: Any] = ["ids": ids, "tokens": ids.map { tok.token($0) ?? "" }]
            print(String(decoding: try JSONSerialization.data(withJSONObject: obj), as: UTF8.self))
        } else {
            print(ids.map(String.init).joined(separator: ","))
        }
    }
}

struct Detokenize: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Turn comma-separated token ids back into text.")
    @Option(name: .shortAndLong, help: "Model folder (its tokenizer.json), .gguf file (its tokenizer.ggml.* keys) or HF cache repo id.")
    var model: String?
    @Argument(help: "Token ids, e.g. 19556,905")
    var ids: String
    @Flag(name: .customLong("skip-special"), help: "Leave out special tokens.")
    var skipSpecial = false

    func run() async throws {
        let dir = try ModelOptions.parse(model.map { ["--model", $0] } ?? []).resolvedPath()
        let tok = try SmolModel.loadTokenizer(path: dir)
        let list = try parseIds(ids)
        if let bad = list.first(where: { tok.token($0) == nil }) { throw TokenizerError.unknownTokenId(bad) }
        print(tok.decode(list, skipSpecialTokens: skipSpecial))
    }
}
