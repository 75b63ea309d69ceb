import Foundation
import Testing
@testable import SmolTokenizers

/// Small synthetic tokenizers, one per less common tokenizer.json stage (Metaspace, byte
/// fallback, normalizer sequences, added-token flags, TemplateProcessing, Whitespace /
/// Punctuation / Digits / Split pre-tokenizers, hand-written BPE models), checked against
/// Hugging Face `tokenizers` 0.23.3. Fixtures: Tests/Fixtures/tokenizers/stages, made by
/// scripts/make_tokenizer_stage_fixtures.py.
enum StageFixtures {
    static let dir: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path + "/Tests/Fixtures/tokenizers/stages"
    }()

    static let names = [
        "sp_llama2", "sp_meta_first", "sp_meta_always_nosplit", "norm_seq", "norm_nfd_bytelevel",
        "added_tokens", "pretok_whitespace", "pretok_digits_punct", "pretok_split", "bpe_pairs_ignore",
        "bpe_strings_bytes", "bpe_canonical",
    ]

    struct Case: Decodable {
        let tokenizer: String
        let text: String
        let ids: [Int]
        let ids_no_special: [Int]
        let decoded: String
        let decoded_skip: String
    }

    struct DecodeCase: Decodable {
        let tokenizer: String
        let ids: [Int]
        let decoded: String
        let decoded_skip: String
    }

    static let cases: Result<[Case], Error> = Result {
        try JSONDecoder().decode([Case].self, from: Data(contentsOf: URL(fileURLWithPath: dir + "/goldens.json")))
    }
    static let decodeCases: Result<[DecodeCase], Error> = Result {
        try JSONDecoder().decode([DecodeCase].self, from: Data(contentsOf: URL(fileURLWithPath: dir + "/decode_goldens.json")))
    }

    static func cases(for name: String) throws -> [Case] { try cases.get().filter { $0.tokenizer == name } }

    static func tokenizer(_ name: String) throws -> Tokenizer {
        do { return try Tokenizer(file: dir + "/\(name).json") } catch {
            Issue.record("\(name).json does not load: \(error)")
            throw error
        }
    }

    /// Text with every non-printable-ASCII scalar spelled \u{X}, so that precomposed and
    /// decomposed accents, spaces and marks are visible in failure messages.
    static func esc(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            if u.value >= 0x20 && u.value < 0x7F && u != "\"" && u != "\\" { out.unicodeScalars.append(u) }
            else { out += "\\u{\(String(u.value, radix: 16, uppercase: true))}" }
        }
        return out + "\""
    }

    static func same(_ a: String, _ b: String) -> Bool { a.unicodeScalars.elementsEqual(b.unicodeScalars) }
}

@Suite struct StageGoldenTests {
    @Test func goldensCoverEveryTokenizer() throws {
        let all = try StageFixtures.cases.get()
        for name in StageFixtures.names {
            #expect(all.filter { $0.tokenizer == name }.count >= 40, "\(name)")
        }
        #expect(Set(all.map(\.tokenizer)) == Set(StageFixtures.names))
    }

    @Test(arguments: StageFixtures.names)
    func encodeMatchesHuggingFace(_ name: String) throws {
        let tok = try StageFixtures.tokenizer(name)
        let cases = try StageFixtures.cases(for: name)
        var failures = 0
        for (i, c) in cases.enumerated() {
            let ids: [Int], raw: [Int]
            do {
                ids = try tok.encode(c.text, addSpecialTokens: true)
                raw = try tok.encode(c.text, addSpecialTokens: false)
            } catch {
                failures += 1
                Issue.record("\(name) case \(i) \(StageFixtures.esc(c.text)): encode threw \(error)")
                continue
            }
            if ids != c.ids || raw != c.ids_no_special {
                failures += 1
                if failures <= 25 {
                    let gotTokens = raw.map { tok.token($0) ?? "?" }.map(StageFixtures.esc)
                    let expTokens = c.ids_no_special.map { tok.token($0) ?? "?" }.map(StageFixtures.esc)
                    Issue.record("""
                        \(name) case \(i) text \(StageFixtures.esc(c.text))
                          ids expected \(c.ids) got \(ids)
                          no-special expected \(c.ids_no_special) \(expTokens)
                                         got \(raw) \(gotTokens)
                        """)
                }
            }
        }
        #expect(failures == 0, "\(name): \(failures) of \(cases.count) cases encode differently")
    }

    @Test(arguments: StageFixtures.names)
    func decodeMatchesHuggingFace(_ name: String) throws {
        let tok = try StageFixtures.tokenizer(name)
        let cases = try StageFixtures.cases(for: name)
        var failures = 0
        for (i, c) in cases.enumerated() {
            let d = tok.decode(c.ids, skipSpecialTokens: false)
            let s = tok.decode(c.ids, skipSpecialTokens: true)
            if !StageFixtures.same(d, c.decoded) || !StageFixtures.same(s, c.decoded_skip) {
                failures += 1
                if failures <= 25 {
                    Issue.record("""
                        \(name) case \(i) text \(StageFixtures.esc(c.text)) ids \(c.ids)
                          decoded expected \(StageFixtures.esc(c.decoded)) got \(StageFixtures.esc(d))
                          skip    expected \(StageFixtures.esc(c.decoded_skip)) got \(StageFixtures.esc(s))
                        """)
                }
            }
        }
        #expect(failures == 0, "\(name): \(failures) of \(cases.count) cases decode differently")
    }

    /// Hand-picked id lists: lone and invalid byte-fallback tokens, unknown ids, added tokens.
    @Test(arguments: StageFixtures.names)
    func decodeOnlyCasesMatchHuggingFace(_ name: String) throws {
        let cases = try StageFixtures.decodeCases.get().filter { $0.tokenizer == name }
        guard !cases.isEmpty else { return }
        let tok = try StageFixtures.tokenizer(name)
        for c in cases {
            let d = tok.decode(c.ids, skipSpecialTokens: false)
            let s = tok.decode(c.ids, skipSpecialTokens: true)
            #expect(StageFixtures.same(d, c.decoded),
                    "\(name) ids \(c.ids): decoded expected \(StageFixtures.esc(c.decoded)) got \(StageFixtures.esc(d))")
            #expect(StageFixtures.same(s, c.decoded_skip),
                    "\(name) ids \(c.ids): skip expected \(StageFixtures.esc(c.decoded_skip)) got \(StageFixtures.esc(s))")
        }
    }
}
