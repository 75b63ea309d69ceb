import Foundation
import Testing
@testable import SmolTokenizers

enum Paths {
    static let repo: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()
    static let fixtures = repo + "/Tests/Fixtures/tokenizers"
    static let smolLM3 = repo + "/../shared/models/SmolLM3-3B/tokenizer.json"
    static let smolLM2 = repo + "/Models/SmolLM2-135M-Instruct/tokenizer.json"
}

struct GoldenFile: Decodable {
    struct Case: Decodable {
        let text: String
        let ids: [Int]
        let ids_no_special: [Int]
        let decoded: String
        let decoded_skip: String
    }
    let cases: [Case]
}

/// The tokenizers under test, built once: SmolLM3 (shared metadata), SmolLM2 (default model)
/// and SmolVLM2 (SmolLM2 plus the image/video added tokens).
enum Tokenizers {
    static func json(_ path: String) throws -> [String: Any] {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        return try JSONSerialization.jsonObject(with: data) as! [String: Any]
    }
    static let smolLM3 = Result { try Tokenizer(file: Paths.smolLM3) }
    static let smolLM2 = Result { try Tokenizer(file: Paths.smolLM2) }
    static let smolVLM2 = Result { () throws -> Tokenizer in
        var base = try json(Paths.smolLM2)
        let extra = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: Paths.fixtures + "/smolvlm2_added_tokens.json"))) as! [[String: Any]]
        base["added_tokens"] = (base["added_tokens"] as! [[String: Any]]) + extra
        return try Tokenizer(json: base)
    }

    static func named(_ name: String) throws -> Tokenizer {
        switch name {
        case "smollm3": return try smolLM3.get()
        case "smollm2": return try smolLM2.get()
        default: return try smolVLM2.get()
        }
    }
}

@Suite struct GoldenTokenizerTests {
    static let names = ["smollm3", "smollm2", "smolvlm2"]

    func golden(_ name: String) throws -> GoldenFile {
        try JSONDecoder().decode(GoldenFile.self, from: Data(contentsOf: URL(fileURLWithPath: Paths.fixtures + "/golden_\(name).json")))
    }

    @Test(arguments: names)
    func encodeMatchesHuggingFace(_ name: String) throws {
        let tok = try Tokenizers.named(name)
        let g = try golden(name)
        #expect(g.cases.count >= 300)
        var failures = 0
        for (i, c) in g.cases.enumerated() {
            let ids = try tok.encode(c.text, addSpecialTokens: true)
            let raw = try tok.encode(c.text, addSpecialTokens: false)
            if ids != c.ids || raw != c.ids_no_special {
                failures += 1
                if failures <= 10 {
                    Issue.record("case \(i) \(c.text.unicodeScalars.map { String($0.value, radix: 16) }.prefix(40)): got \(ids.prefix(30)) expected \(c.ids.prefix(30))")
                }
            }
        }
        #expect(failures == 0, "\(failures) of \(g.cases.count) cases differ")
    }

    @Test(arguments: names)
    func decodeMatchesHuggingFace(_ name: String) throws {
        let tok = try Tokenizers.named(name)
        var failures = 0
        for (i, c) in try golden(name).cases.enumerated() {
            // Compare scalars: String == would equate precomposed and decomposed accents.
            let d = tok.decode(c.ids, skipSpecialTokens: false), s = tok.decode(c.ids, skipSpecialTokens: true)
            if !d.unicodeScalars.elementsEqual(c.decoded.unicodeScalars) || !s.unicodeScalars.elementsEqual(c.decoded_skip.unicodeScalars) {
                failures += 1
                if failures <= 10 { Issue.record("case \(i): decoded \(d.debugDescription) expected \(c.decoded.debugDescription)") }
            }
        }
        #expect(failures == 0)
    }

    @Test(arguments: names)
    func streamingDecodeEqualsFullDecode(_ name: String) throws {
        let tok = try Tokenizers.named(name)
        for c in try golden(name).cases {
            var stream = StreamingDetokenizer(tokenizer: tok, skipSpecialTokens: false)
            var text = ""
            for id in c.ids {
                let piece = stream.append(id)
                #expect(!piece.unicodeScalars.contains("\u{FFFD}") || c.decoded.unicodeScalars.contains("\u{FFFD}"))
                text += piece
            }
            text += stream.flush()
            #expect(text.unicodeScalars.elementsEqual(c.decoded.unicodeScalars), "\(c.text.debugDescription)")
        }
    }
}
