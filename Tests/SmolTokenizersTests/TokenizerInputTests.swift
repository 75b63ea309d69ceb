import Foundation
import Testing
@testable import SmolTokenizers

@Suite struct TokenizerInputTests {
    @Test func invalidUTF8IsAnError() throws {
        let tok = try Tokenizers.smolLM2.get()
        #expect(throws: TokenizerError.invalidUTF8(offset: 3)) { try tok.encode(bytes: [0x61, 0x62, 0x63, 0xFF, 0x64]) }
        #expect(throws: TokenizerError.invalidUTF8(offset: 1)) { try tok.encode(bytes: [0x61, 0xE2, 0x82]) }
        #expect(try tok.encode(bytes: Array("héllo".utf8)) == tok.encode("héllo"))
    }

    @Test func inputCapIsEnforced() throws {
        let tok = try Tokenizer(file: Paths.smolLM2)
        tok.maxInputBytes = 1000
        #expect(throws: TokenizerError.inputTooLarge(bytes: 1001, limit: 1000)) { try tok.encode(String(repeating: "a", count: 1001)) }
    }

    /// These finish in bounded time (linear-ish merges); no timing assertion, the run itself is the check.
    @Test(arguments: ["smollm3", "smollm2"])
    func pathologicalInputsFinish(_ name: String) throws {
        let tok = try Tokenizers.named(name)
        let a = try tok.encode(String(repeating: "a", count: 200_000))
        #expect(tok.decode(a) == String(repeating: "a", count: 200_000))
        let spaces = try tok.encode(String(repeating: " ", count: 100_000))
        #expect(tok.decode(spaces).count == 100_000)
        var line = ""
        for i in 0..<200_000 { line.unicodeScalars.append(Unicode.Scalar(UInt8(97 + (i * 7919) % 26))) }
        #expect(tok.decode(try tok.encode(line)) == line)
    }

    static func base() throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: Paths.smolLM2))) as! [String: Any]
    }

    func expectBad(_ mutate: (inout [String: Any]) -> Void, _ check: (TokenizerError) -> Bool) throws {
        var j = try Self.base()
        mutate(&j)
        do {
            _ = try Tokenizer(json: j)
            Issue.record("accepted")
        } catch let e as TokenizerError {
            #expect(check(e), "\(e)")
        }
    }

    @Test func badTokenizerFiles() throws {
        try expectBad({ j in var m = j["model"] as! [String: Any]; m["merges"] = ["a b c"]; j["model"] = m }) {
            if case .badMerge = $0 { true } else { false }
        }
        try expectBad({ j in var m = j["model"] as! [String: Any]; m["merges"] = ["zzqq Ġ"]; j["model"] = m }) {
            if case .mergeUnknownToken = $0 { true } else { false }
        }
        try expectBad({ j in var m = j["model"] as! [String: Any]; m["type"] = "Unigram"; j["model"] = m }) {
            $0 == .unsupportedType(component: "model", type: "Unigram")
        }
        try expectBad({ j in j["pre_tokenizer"] = ["type": "BertPreTokenizer"] }) {
            $0 == .unsupportedType(component: "pre_tokenizer", type: "BertPreTokenizer")
        }
        try expectBad({ j in j["decoder"] = ["type": "CTC"] }) { $0 == .unsupportedType(component: "decoder", type: "CTC") }
        try expectBad({ j in
            var m = j["model"] as! [String: Any]; var v = m["vocab"] as! [String: Any]
            v["Ġthe"] = 5; m["vocab"] = v; j["model"] = m
        }) { if case .duplicateTokenId = $0 { true } else { false } }
        try expectBad({ j in
            var m = j["model"] as! [String: Any]; var v = m["vocab"] as! [String: Any]
            v["zz_hole"] = 60000; m["vocab"] = v; j["model"] = m
        }) { if case .idsNotDense = $0 { true } else { false } }
        try expectBad({ j in
            var a = j["added_tokens"] as! [[String: Any]]
            a.append(["id": 999_999, "content": "<x>", "special": true]); j["added_tokens"] = a
        }) { if case .addedTokenIdOutOfRange = $0 { true } else { false } }
        try expectBad({ j in j["pre_tokenizer"] = ["type": "Split", "pattern": ["Regex": "(unclosed"], "behavior": "Isolated"] }) {
            if case .badRegex = $0 { true } else { false }
        }
    }
}
