import CSmolKernels
import CTestSupport
import Foundation
import SmolTokenizers
import SmolWeights
import Testing
@testable import SmolRuntime

/// Dequantization against gguf-py, models from GGUF files against transformers, and the
/// default model's GGUF against its converted folder (scripts/make_gguf_fixtures.py).
@Suite struct GGUFModelTests {
    static let dir = FixturePaths.repoRoot + "/Tests/Fixtures/gguf"
    static let defaultGGUF = FixturePaths.repoRoot + "/Models/SmolLM2-135M-Instruct.Q4_1.gguf"

    // MARK: dequantization

    static let quantNames = ["f32", "f16", "bf16", "q8_0", "q4_0", "q4_1", "q5_0", "q5_1", "q4_k", "q5_k", "q6_k", "iq4_nl"]

    /// Bit-identical to `gguf.quants.dequantize` on random blocks of every type.
    @Test(arguments: quantNames)
    func dequantizeMatchesGGUFPy(_ name: String) throws {
        let q = try GGUFFile(path: Self.dir + "/quants.gguf")
        let e = try GGUFFile(path: Self.dir + "/quants_expected.gguf")
        let t = try #require(q.tensors[name])
        let x = try #require(e.tensors[name])
        #expect(x.type == .f32 && x.elementCount == t.elementCount)
        let n = t.elementCount
        let expected = UnsafeBufferPointer(start: e.pointer(for: x).assumingMemoryBound(to: Float.self), count: n)
        var out = [Float](repeating: .nan, count: n)
        #expect(smol_dequantize(t.type.rawValue, q.pointer(for: t), &out, n) == 0)
        var mismatches = 0
        for i in 0..<n where out[i].bitPattern != expected[i].bitPattern { mismatches += 1 }
        #expect(mismatches == 0, "\(name): \(mismatches) of \(n) values differ in their bits")

        // The parallel row path, with rows permuted, to f32 and to bf16 (rounded to nearest even).
        let rows = t.shape[0], cols = t.shape[1]
        let map: [Int32] = (0..<rows).reversed().map(Int32.init)
        let pool = smol_pool_create(2)
        defer { smol_pool_destroy(pool) }
        var scratch = [Float](repeating: 0, count: 2 * cols)
        var f32 = [Float](repeating: .nan, count: n)
        #expect(smol_dequantize_rows(pool, t.type.rawValue, q.pointer(for: t), rows, cols, t.byteCount / rows, map, &f32,
                                     SMOL_F32, &scratch) == 0)
        var bf16 = [UInt16](repeating: 0, count: n)
        #expect(smol_dequantize_rows(pool, t.type.rawValue, q.pointer(for: t), rows, cols, t.byteCount / rows, map, &bf16,
                                     SMOL_BF16, &scratch) == 0)
        var rowMismatches = 0, bf16Mismatches = 0
        for r in 0..<rows {
            for c in 0..<cols {
                let want = expected[(rows - 1 - r) * cols + c]
                if f32[r * cols + c].bitPattern != want.bitPattern { rowMismatches += 1 }
                if bf16[r * cols + c] != Self.bf16RNE(want) { bf16Mismatches += 1 }
            }
        }
        #expect(rowMismatches == 0 && bf16Mismatches == 0)
    }

    static func bf16RNE(_ x: Float) -> UInt16 {
        let b = x.bitPattern
        if x.isNaN { return UInt16(b >> 16) | 0x40 }
        return UInt16((b + 0x7FFF + ((b >> 16) & 1)) >> 16)
    }

    @Test func unimplementedTypesAreRefused() {
        var out = [Float](repeating: 0, count: 256)
        let block = [UInt8](repeating: 0, count: 292)
        #expect(smol_dequantize(GGMLType.q8_K.rawValue, block, &out, 256) == -1)
        #expect(smol_dequantize(GGMLType.q8_0.rawValue, block, &out, 31) == -2)
    }

    // MARK: tiny checkpoints against transformers

    /// (GGUF file, HF fixture folder, reference). F32 files: transformers' float32 logits of the
    /// folder. Quantized files: the numpy reference on their dequantized weights (quantization
    /// itself moves these random-weight logits by up to 0.69 (Q8_0) and 8.2 (Q4_0), so only an
    /// exact reading of the blocks passes). Bound 1e-3 for all, as ReferenceLogitsTests.
    static let tiny: [(String, String, String)] = [
        ("llama_tied_f32.gguf", "llama_tied_f32", FixturePaths.model("llama_tied_f32") + "/reference.safetensors"),
        ("smollm3_tied_f32.gguf", "smollm3_tied_f32", FixturePaths.model("smollm3_tied_f32") + "/reference.safetensors"),
        ("llama_tied_q8_0.gguf", "llama_tied_f32", dir + "/llama_tied_q8_0.reference.safetensors"),
        ("smollm3_tied_q4_0.gguf", "smollm3_tied_f32", dir + "/smollm3_tied_q4_0.reference.safetensors"),
    ]

    @Test(arguments: 0..<tiny.count)
    func tinyCheckpointMatchesReference(_ k: Int) throws {
        let (file, folder, reference) = Self.tiny[k]
        let m = try SmolModel(directory: Self.dir + "/" + file, options: .exactF32)
        let hf = try ModelLoader.loadConfig(directory: FixturePaths.model(folder))
        #expect(m.config.modelType == hf.modelType)
        #expect(m.config.hiddenSize == hf.hiddenSize && m.config.numLayers == hf.numLayers)
        #expect(m.config.numKVHeads == hf.numKVHeads && m.config.headDim == hf.headDim)
        #expect(m.config.rope == hf.rope && m.config.tieWordEmbeddings == hf.tieWordEmbeddings)
        #expect(m.config.useRope == hf.useRope, "NoPE layers")
        let ref = try SafeTensorsFile(path: reference)
        let ids = try #require(ref.tensor("input_ids")?.toInts())
        let expected = try #require(ref.tensor("logits")?.toFloats())
        let vocab = m.config.vocabSize
        var maxDiff: Float = 0
        _ = try m.model.forward(ids, cache: m.model.makeCache(capacity: 128)) { pos, row in
            for j in 0..<vocab { maxDiff = max(maxDiff, abs(row[j] - expected[pos * vocab + j])) }
        }
        #expect(maxDiff < 1e-3, "\(file): max |logit diff| = \(maxDiff)")
        if let greedy = ref.tensor("greedy_ids")?.toInts() {
            var req = GenerationRequest(promptIds: ids, maxTokens: greedy.count, sampling: SamplingParameters(), eosTokenIds: [])
            req.ignoreEOS = true
            #expect(try m.generator.run(req, cache: m.model.makeCache(capacity: 128)).tokens == greedy)
        }
    }

    /// The 256-byte vocabulary without merges: bytes in, bytes out.
    @Test func byteLevelVocabularyRoundTrips() throws {
        let m = try SmolModel(directory: Self.dir + "/llama_tied_f32.gguf", options: .exactF32)
        let text = "héllo\n\t✓ 42"
        let ids = try m.tokenizer.encode(text, addSpecialTokens: true)
        #expect(ids.count == Array(text.utf8).count)
        #expect(m.tokenizer.decode(ids) == text)
        #expect(m.defaults.eosTokenIds == [2])
    }

    // MARK: the default model's GGUF

    static let defaultModel: SmolModel? = {
        var o = SmolModel.LoadOptions()
        o.keepQuantized = false
        return try? SmolModel(directory: defaultGGUF, options: o)
    }()
    static let folderModel: SmolModel? = try? SmolModel(directory: FixturePaths.defaultModel)

    /// The folder holds the same dequantized weights rounded to bf16 (scripts/fetch_default_model.py),
    /// which is what the GGUF gives when dequantized to bf16 at load: the logits are identical.
    @Test func defaultGGUFEqualsConvertedFolder() throws {
        let g = try #require(Self.defaultModel, "default GGUF missing: run scripts/setup.sh")
        let f = try #require(Self.folderModel, "default model missing: run scripts/setup.sh")
        #expect(g.config.vocabSize == f.config.vocabSize && g.config.numLayers == f.config.numLayers)
        #expect(g.config.rope == f.config.rope && g.config.rmsNormEps == f.config.rmsNormEps)
        #expect(g.defaults.eosTokenIds == f.defaults.eosTokenIds)
        let messages: [ChatMessage] = [.system("Be brief."), .user("What is the capital of France?")]
        let pg = try #require(g.prompt).render(messages)
        let pf = try #require(f.prompt).render(messages)
        #expect(pg == pf, "chat template renders differ")
        let ids = try f.tokenizer.encode(pf, addSpecialTokens: false)
        #expect(try g.tokenizer.encode(pg, addSpecialTokens: false) == ids)
        let lg = Array(try g.model.forward(ids, cache: g.model.makeCache(capacity: 128), eachPosition: nil))
        let lf = Array(try f.model.forward(ids, cache: f.model.makeCache(capacity: 128), eachPosition: nil))
        let diff = zip(lg, lf).map { abs($0 - $1) }.max() ?? .infinity
        #expect(diff == 0, "max |logit diff| = \(diff)")
    }

    /// The project's tokenizer corpus through the GGUF vocabulary and through tokenizer.json.
    @Test func defaultGGUFTokenizerMatchesTokenizerJSON() throws {
        let g = try #require(Self.defaultModel, "default GGUF missing: run scripts/setup.sh")
        let f = try #require(Self.folderModel, "default model missing: run scripts/setup.sh")
        let data = try Data(contentsOf: URL(fileURLWithPath: FixturePaths.repoRoot + "/Tests/Fixtures/tokenizers/corpus.json"))
        let corpus = try #require(try JSONSerialization.jsonObject(with: data) as? [String])
        #expect(corpus.count > 50)
        var differ: [String] = []
        for text in corpus {
            for special in [false, true] where try g.tokenizer.encode(text, addSpecialTokens: special)
                != f.tokenizer.encode(text, addSpecialTokens: special) {
                differ.append(text)
            }
        }
        #expect(differ.isEmpty, "ids differ for \(differ.count) texts, e.g. \(differ.prefix(3))")
        for id in [0, 1, 2, 17, 49151] { #expect(g.tokenizer.token(id) == f.tokenizer.token(id)) }
    }
}

/// SmolLM3's own tokenizer (../shared/models/SmolLM3-3B) written as GGUF tokenizer keys, under
/// each `tokenizer.ggml.pre` name a file of it may carry: llama.cpp's converter writes
/// "smaug-bpe" (the hash of a Llama 3 tokenizer it first met in Smaug-Llama-3), smol's
/// "llama-bpe". Every corpus text must get tokenizer.json's ids, which needs Llama 3's regex and
/// its ignore_merges (a word that is itself a token is taken whole).
@Suite struct GGUFSmolLM3TokenizerTests {
    @Test(arguments: ["smaug-bpe", "llama-bpe"])
    func smolLM3TokenizerThroughGGUFKeys(_ pre: String) throws {
        let dir = FixturePaths.smolLM3Metadata
        let config = try ModelRegistry.config(atPath: dir + "/config.json")
        var w = GGUFWriter()
        for (k, v) in try GGUFExport.folderMetadata(dir, config: config) { w.set(k, v) }  // config and tokenizer keys
        w.set("tokenizer.ggml.pre", .string(pre))
        let path = NSTemporaryDirectory() + "smol-smollm3-tok-\(UUID().uuidString).gguf"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Data(w.serialize()).write(to: URL(fileURLWithPath: path))
        let g = try SmolModel.loadTokenizer(path: path)
        let f = try Tokenizer(file: dir + "/tokenizer.json")
        let data = try Data(contentsOf: URL(fileURLWithPath: FixturePaths.repoRoot + "/Tests/Fixtures/tokenizers/corpus.json"))
        let corpus = try #require(try JSONSerialization.jsonObject(with: data) as? [String])
        var differ: [String] = []
        for text in corpus where try g.encode(text, addSpecialTokens: false) != f.encode(text, addSpecialTokens: false) {
            differ.append(text)
        }
        #expect(differ.isEmpty, "\(pre): ids differ for \(differ.count) of \(corpus.count) texts, e.g. \(differ.prefix(3))")
    }
}

/// `smol quantize`: the quantizers against gguf-py, and exported files against files written by
/// gguf-py the way llama.cpp's converter writes them.
@Suite struct GGUFExportTests {
    static let dir = GGUFModelTests.dir

    @Test(arguments: ["q8_0", "q4_0", "q4_1", "q5_0", "q5_1"])
    func quantizersMatchGGUFPy(_ name: String) throws {
        let f = try GGUFFile(path: Self.dir + "/quantize.gguf")
        let input = try #require(f.tensors["input"]), want = try #require(f.tensors[name])
        var out = [UInt8](repeating: 0, count: want.byteCount)
        #expect(smol_quantize(want.type.rawValue, f.pointer(for: input).assumingMemoryBound(to: Float.self), &out, input.elementCount) == 0)
        let ref = UnsafeRawBufferPointer(start: f.pointer(for: want), count: want.byteCount)
        let blockBytes = want.type.blockBytes
        let differ = (0..<(want.byteCount / blockBytes)).filter { b in
            out[(b * blockBytes)..<((b + 1) * blockBytes)].elementsEqual(ref[(b * blockBytes)..<((b + 1) * blockBytes)]) == false
        }
        #expect(differ.isEmpty, "\(name): blocks \(differ.prefix(8)) of \(want.byteCount / blockBytes) differ")
    }

    func tensorBytes(_ f: GGUFFile, _ name: String) -> [UInt8] {
        let t = f.tensors[name]!
        return Array(UnsafeRawBufferPointer(start: f.pointer(for: t), count: t.byteCount))
    }

    /// Every tensor of the exported file equals the one gguf-py wrote (names, dims, permuted q/k
    /// rows, quantized blocks); only the tied embedding differs in type, by llama-quantize's rule
    /// (the output's Q6_K, which 64-value rows turn into Q8_0; gguf-py's file has it at Q4_0).
    @Test(arguments: [("llama_tied_f32", "f32", "llama_tied_f32.gguf"), ("llama_tied_f32", "q8_0", "llama_tied_q8_0.gguf"),
                      ("smollm3_tied_f32", "q4_0", "smollm3_tied_q4_0.gguf")])
    func exportMatchesConverter(_ folder: String, _ type: String, _ reference: String) throws {
        let out = NSTemporaryDirectory() + "smol-export-\(UUID().uuidString).gguf"
        defer { try? FileManager.default.removeItem(atPath: out) }
        // The fixture folders have no tokenizer: give a copy the 256-byte vocabulary the
        // reference files carry (scripts/make_gguf_fixtures.py).
        let src = NSTemporaryDirectory() + "smol-export-src-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: src) }
        try FileManager.default.copyItem(atPath: FixturePaths.model(folder), toPath: src)
        let ref = try GGUFFile(path: Self.dir + "/" + reference)
        let tokens = try #require(try ref.stringArray("tokenizer.ggml.tokens"))
        let vocab = Dictionary(uniqueKeysWithValues: tokens.enumerated().map { ($1, $0) })
        let tj: [String: Any] = ["model": ["type": "BPE", "vocab": vocab, "merges": [String]()],
                                 "pre_tokenizer": ["type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true],
                                 "added_tokens": [Any]()]
        try JSONSerialization.data(withJSONObject: tj).write(to: URL(fileURLWithPath: src + "/tokenizer.json"))
        _ = try GGUFExport.export(model: src, to: out, type: GGUFExport.TargetType(rawValue: type)!)
        let a = try GGUFFile(path: out), b = ref
        #expect(Set(a.tensorNames) == Set(b.tensorNames))
        for name in b.tensorNames {
            let ta = try #require(a.tensors[name]), tb = b.tensors[name]!
            #expect(ta.dims == tb.dims, "\(name)")
            if type == "q4_0" && name == "token_embd.weight" {
                #expect(ta.type == .q8_0)
                continue
            }
            #expect(ta.type == tb.type, "\(name)")
            #expect(tensorBytes(a, name) == tensorBytes(b, name), "\(name): data differs")
        }
        for key in ["llama.block_count", "smollm3.block_count", "llama.attention.head_count_kv", "smollm3.attention.head_count_kv",
                    "tokenizer.ggml.bos_token_id", "tokenizer.ggml.eos_token_id"] {
            #expect(a.value(key) == b.value(key), "\(key)")
        }
        #expect(try a.string("tokenizer.ggml.pre") == "gpt2")
        #expect(try a.stringArray("tokenizer.ggml.tokens") == tokens)
        // And it runs: the exported f32 file gives transformers' logits.
        if type == "f32" {
            let m = try SmolModel(directory: out, options: .exactF32)
            let hf = try SafeTensorsFile(path: FixturePaths.model(folder) + "/reference.safetensors")
            let ids = try #require(hf.tensor("input_ids")?.toInts())
            let expected = try #require(hf.tensor("logits")?.toFloats())
            let last = Array(try m.model.forward(ids, cache: m.model.makeCache(capacity: 64), eachPosition: nil))
            let v = m.config.vocabSize
            let diff = zip(last, expected[((ids.count - 1) * v)...]).map { abs($0 - $1) }.max()!
            #expect(diff < 1e-3)
        }
    }

    /// A section of Tests/Fixtures/llamacpp/quantize_reference.json, by type.
    static func llamaQuantize(_ section: String) -> [String: Any]? {
        let path = FixturePaths.repoRoot + "/Tests/Fixtures/llamacpp/quantize_reference.json"
        guard let data = FileManager.default.contents(atPath: path),
              let j = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return nil }
        return j[section] as? [String: Any]
    }

    /// `smol quantize` of the default model's bf16 folder against llama-quantize (no importance
    /// matrix) on the BF16 GGUF llama.cpp's converter made of the same folder
    /// (scripts/make_llamacpp_quant_reference.py): every tensor has llama-quantize's type and
    /// its bytes (sha256), for each mix and block type. The model's 576-value rows make most
    /// K-quant matrices fall back (Q5_0, Q5_1, Q8_0) while ffn_down (1536) keeps Q4_K/Q5_K/Q6_K.
    @Test(arguments: ["q4_k_m", "q4_k_s", "q5_k_m", "q5_k_s", "q6_k", "q5_0", "q5_1", "q4_0", "q4_1", "q8_0"])
    func exportIsLlamaQuantizes(_ type: String) throws {
        let folder = FixturePaths.defaultModel
        try #require(FileManager.default.fileExists(atPath: folder + "/config.json"), "default model missing: run scripts/setup.sh")
        let ref = try #require(Self.llamaQuantize("default_model")?[type] as? [String: [String: String]])
        let out = NSTemporaryDirectory() + "smol-export-\(UUID().uuidString).gguf"
        defer { try? FileManager.default.removeItem(atPath: out) }
        _ = try GGUFExport.export(model: folder, to: out, type: try #require(GGUFExport.TargetType(rawValue: type)))
        let f = try GGUFFile(path: out)
        #expect(Set(f.tensorNames) == Set(ref.keys))
        var wrongType: [String] = [], wrongBytes: [String] = []
        for name in f.tensorNames {
            let t = f.tensors[name]!
            guard let want = ref[name] else { continue }
            if t.type.name != want["type"] { wrongType.append("\(name): \(t.type.name), llama-quantize \(want["type"] ?? "?")"); continue }
            var hex = [CChar](repeating: 0, count: 65)
            smol_test_sha256_hex(f.pointer(for: t), t.byteCount, &hex)
            if String(cString: hex) != want["sha256"] { wrongBytes.append(name) }
        }
        #expect(wrongType.isEmpty, "\(type): \(wrongType.count) types differ, e.g. \(wrongType.prefix(4))")
        #expect(wrongBytes.isEmpty, "\(type): \(wrongBytes.count) tensors differ in bytes, e.g. \(wrongBytes.prefix(4))")
        #expect(try f.int("general.file_type") == Int(GGUFExport.TargetType(rawValue: type)!.fileType))
    }

    /// The mix rules where no row falls back: every tensor of the SmolLM3-3B shape (2048 / 11008
    /// columns, 36 layers, tied embedding) gets the type llama-quantize gave it.
    @Test(arguments: ["q4_k_m", "q5_k_m", "q4_k_s"])
    func mixRulesOnTheSmolLM3Shape(_ type: String) throws {
        let ref = try #require(Self.llamaQuantize("smollm3_3b_shape_types")?[type] as? [String: String])
        let target = try #require(GGUFExport.TargetType(rawValue: type))
        let (h, ffn, kv, vocab) = (2048, 11008, 512, 128256)
        var differ: [String] = []
        for (name, want) in ref {
            let dims: [Int]
            switch name.split(separator: ".").dropLast().last.map(String.init) ?? "" {
            case "token_embd": dims = [h, vocab]
            case "attn_q", "attn_output": dims = [h, h]
            case "attn_k", "attn_v": dims = [h, kv]
            case "ffn_gate", "ffn_up": dims = [h, ffn]
            case "ffn_down": dims = [ffn, h]
            default: dims = [h]
            }
            let got = GGUFExport.type(for: name, dims: dims, target: target, tied: ref["output.weight"] == nil, layers: 36)
            if got.name != want { differ.append("\(name): \(got.name), llama-quantize \(want)") }
        }
        #expect(ref.count == 326)
        #expect(differ.isEmpty, "\(differ.count) differ, e.g. \(differ.sorted().prefix(4))")
    }

    /// The default model exported to Q8_0 keeps its tokenizer (tokens, merges, pre type, special
    /// tokens) and chat template: the corpus tokenizes to the same ids, the prompt renders the same.
    @Test func exportedTokenizerAndTemplate() throws {
        let folder = FixturePaths.defaultModel
        try #require(FileManager.default.fileExists(atPath: folder + "/config.json"), "default model missing: run scripts/setup.sh")
        let out = NSTemporaryDirectory() + "smol-export-\(UUID().uuidString).gguf"
        defer { try? FileManager.default.removeItem(atPath: out) }
        let summary = try GGUFExport.export(model: folder, to: out, type: .q8_0)
        #expect(summary.tensors.filter { $0.type == "Q8_0" }.count == 30 * 7 + 1)
        let g = try SmolModel.loadTokenizer(path: out), f = try SmolModel.loadTokenizer(path: folder)
        let data = try Data(contentsOf: URL(fileURLWithPath: FixturePaths.repoRoot + "/Tests/Fixtures/tokenizers/corpus.json"))
        let corpus = try #require(try JSONSerialization.jsonObject(with: data) as? [String])
        let differ = try corpus.filter { try g.encode($0, addSpecialTokens: true) != f.encode($0, addSpecialTokens: true) }
        #expect(differ.isEmpty, "\(differ.count) texts differ, e.g. \(differ.prefix(3))")
        let messages: [ChatMessage] = [.system("Be brief."), .user("Hi")]
        #expect(try SmolModel.loadPromptBuilder(path: out)?.render(messages) == SmolModel.loadPromptBuilder(path: folder)?.render(messages))
        let file = try GGUFFile(path: out)
        #expect(try file.string("tokenizer.ggml.pre") == "smollm")
        #expect(try file.int("general.file_type") == 7)
    }
}

/// Fidelity of each type smol writes, on the real default model: the bf16 folder quantized with
/// `smol quantize`, loaded with exact (f32) dequantization, against the folder itself, over a
/// fixed 120-token passage. Bounds are the measured values (Zen 4, 2026-12-04) with headroom:
/// they catch a broken quantizer or loader (KL jumps by orders of magnitude), not noise.
@Suite(.serialized) struct QuantizationFidelityTests {
    static let passage = """
    The history of the printing press begins in the fifteenth century, when Johannes Gutenberg combined \
    movable metal type, oil-based inks and a wooden press adapted from wine making. Within fifty years \
    printers worked in more than two hundred European cities, and the price of books fell sharply. \
    def mean(values):
        return sum(values) / len(values)
    In 2024, the average of 3, 5 and 10 is 6, which the function above computes.
    """

    /// (type, max mean KL in nats, min top-1 agreement), over 100 positions. Measured:
    /// bf16 0 / 1.00 (the folder is bf16: lossless); q8_0 0.0014 / 0.96; q4_1 0.00007 / 1.00
    /// (the folder was itself dequantized from Q4_1 blocks, which re-quantizing to Q4_1 nearly
    /// recovers); q4_0 0.32 / 0.75 (4-bit symmetric on a 135M model, after Q4_1 already).
    /// Bounds: about 2-3x the KL, a few positions of top-1.
    static let cases: [(GGUFExport.TargetType, Double, Double)] = [
        (.bf16, 1e-9, 1.0), (.q8_0, 0.004, 0.92), (.q4_1, 0.0003, 0.97), (.q4_0, 0.8, 0.65),
    ]

    static let folder: SmolModel? = try? SmolModel(directory: FixturePaths.defaultModel, options: .exactF32)

    static func logits(_ m: SmolModel, _ ids: [Int]) throws -> [[Float]] {
        var rows: [[Float]] = []
        _ = try m.model.forward(ids, cache: m.model.makeCache(capacity: 256)) { _, row in rows.append(Array(row)) }
        return rows
    }

    static func logSoftmax(_ x: [Float]) -> [Double] {
        let mx = Double(x.max()!)
        let lse = log(x.reduce(0.0) { $0 + exp(Double($1) - mx) }) + mx
        return x.map { Double($0) - lse }
    }

    @Test(arguments: 0..<cases.count)
    func quantizedAgreesWithFloat(_ k: Int) throws {
        let (type, maxKL, minTop1) = Self.cases[k]
        let f = try #require(Self.folder, "default model missing: run scripts/setup.sh")
        let out = NSTemporaryDirectory() + "smol-fidelity-\(UUID().uuidString).gguf"
        defer { try? FileManager.default.removeItem(atPath: out) }
        _ = try GGUFExport.export(model: FixturePaths.defaultModel, to: out, type: type)
        let q = try SmolModel(directory: out, options: .exactF32)
        let ids = try f.tokenizer.encode(Self.passage, addSpecialTokens: false)
        #expect(ids.count >= 100)
        let a = try Self.logits(f, ids), b = try Self.logits(q, ids)
        var kl = 0.0, agree = 0
        for (x, y) in zip(a, b) {
            let p = Self.logSoftmax(x), r = Self.logSoftmax(y)
            kl += zip(p, r).reduce(0.0) { $0 + exp($1.0) * ($1.0 - $1.1) }
            if x.indices.max(by: { x[$0] < x[$1] }) == y.indices.max(by: { y[$0] < y[$1] }) { agree += 1 }
        }
        let meanKL = kl / Double(a.count), top1 = Double(agree) / Double(a.count)
        print("fidelity \(type.rawValue): mean KL \(meanKL), top-1 \(top1) over \(a.count) positions")
        #expect(meanKL < maxKL && top1 >= minTop1, "\(type.rawValue): mean KL \(meanKL), top-1 \(top1)")
        #expect(meanKL > 0 || type == .bf16, "a quantized model identical to the float one means the quantizer did nothing")
    }

    /// Mean KL(a || b), top-1 agreement, and disagreements where a's top-1 leads its runner-up by
    /// at least 1 logit (a small error must not flip a clear choice; near-ties may flip).
    static func meanKL(_ a: [[Float]], _ b: [[Float]]) -> (kl: Double, top1: Double, clearFlips: Int) {
        var kl = 0.0, agree = 0, clearFlips = 0
        for (x, y) in zip(a, b) {
            let p = logSoftmax(x), r = logSoftmax(y)
            kl += zip(p, r).reduce(0.0) { $0 + exp($1.0) * ($1.0 - $1.1) }
            let ax = x.indices.max(by: { x[$0] < x[$1] })!
            if ax == y.indices.max(by: { y[$0] < y[$1] }) { agree += 1 } else {
                let second = x.indices.filter { $0 != ax }.map { x[$0] }.max()!
                if x[ax] - second >= 1 { clearFlips += 1 }
            }
        }
        return (kl / Double(a.count), Double(agree) / Double(a.count), clearFlips)
    }

    /// (type, max mean KL of prefill, of decode), the kernels that compute from the blocks
    /// (default load) against the same file dequantized exactly to f32, over the passage
    /// (prefill, 100+ positions) and its first 48 tokens decoded one by one. Both quantize the
    /// activations to 8-bit blocks, as llama.cpp does: decode in the matrix-vector kernels, and
    /// prefill of the q4_0/q4_1 layer matrices (rows interleaved by 8) in the int8 GEMM, which
    /// gives each row the bits of decode. q8_0 matrices are not interleaved and prefill them
    /// with the bf16 GEMM (bf16 activations, error about 5x smaller).
    /// Measured (Zen 4, avx512vnni, 2026-12-04): prefill KL 0.0009 / 0.0044 / 0.0036 (top-1
    /// 0.92-0.97) and decode KL 0.0033 / 0.0045 / 0.0038 (top-1 0.90-0.98, every flip at a
    /// position whose f32 top-1 leads by under 1 logit) for q8_0 / q4_0 / q4_1; the folder's own
    /// bf16 decode against f32 gives 0.00013 (printed below). 8-bit activations with one scale
    /// per 32 values (error up to amax/254 on every element of a block) cost about 30x bf16
    /// rounding, yet 70x less than 4-bit weights (q4_0 above: 0.32). Bounds about 2.5x the
    /// measured values.
    static let kernelCases: [(GGUFExport.TargetType, Double, Double)] = [(.q8_0, 0.0025, 0.01), (.q4_0, 0.011, 0.012), (.q4_1, 0.009, 0.01)]

    @Test(arguments: 0..<kernelCases.count)
    func blockKernelsAgreeWithExactDequantization(_ k: Int) throws {
        let (type, maxPrefill, maxDecode) = Self.kernelCases[k]
        let out = NSTemporaryDirectory() + "smol-kernels-\(UUID().uuidString).gguf"
        defer { try? FileManager.default.removeItem(atPath: out) }
        _ = try GGUFExport.export(model: FixturePaths.defaultModel, to: out, type: type)
        let exact = try SmolModel(directory: out, options: .exactF32)
        let fast = try SmolModel(directory: out)
        let ids = try exact.tokenizer.encode(Self.passage, addSpecialTokens: false)
        let pre = Self.meanKL(try Self.logits(exact, ids), try Self.logits(fast, ids))
        // Decode: one token per step through the matrix-vector kernels.
        var decoded: [[Float]] = []
        let cache = fast.model.makeCache(capacity: 256)
        for id in ids.prefix(48) { decoded.append(Array(try fast.model.forward([id], cache: cache, eachPosition: nil))) }
        let dec = Self.meanKL(Array(try Self.logits(exact, ids).prefix(48)), decoded)
        print("kernels \(type.rawValue): prefill KL \(pre.kl) top-1 \(pre.top1) clear flips \(pre.clearFlips); decode KL \(dec.kl) top-1 \(dec.top1) clear flips \(dec.clearFlips)")
        if k == 0, let f = Self.folder {
            // For scale, not asserted: the folder's default (bf16 on AVX512_BF16) decode against its f32.
            let b = try SmolModel(directory: FixturePaths.defaultModel)
            let bc = b.model.makeCache(capacity: 256)
            var rows: [[Float]] = []
            for id in ids.prefix(48) { rows.append(Array(try b.model.forward([id], cache: bc, eachPosition: nil))) }
            print("folder default decode vs f32: KL \(Self.meanKL(Array(try Self.logits(f, ids).prefix(48)), rows).kl)")
        }
        #expect(pre.kl < maxPrefill && pre.clearFlips == 0, "\(type.rawValue) prefill: KL \(pre.kl), top-1 \(pre.top1), \(pre.clearFlips) clear flips")
        #expect(dec.kl < maxDecode && dec.clearFlips == 0, "\(type.rawValue) decode: KL \(dec.kl), top-1 \(dec.top1), \(dec.clearFlips) clear flips")
        #expect(dec.kl > 0, "decode identical to exact f32 means the block kernels did not run")
    }
}

/// The block kernels against llama.cpp on the same GGUF files (Tests/Fixtures/llamacpp, written by
/// scripts/make_llamacpp_reference.py with llama.cpp's own build): the default GGUF as shipped
/// (Q4_1) and the q8_0/q4_0 files smol quantize writes from the bf16 folder (same bytes, checked by
/// sha256). Both engines quantize activations to 8-bit blocks of 32, though not everywhere alike
/// (smol prefills Q8_0 matrices with bf16 activations, llama.cpp keeps some scales in f16 and
/// orders its sums otherwise), so the distributions differ by rounding, not by method.
/// - KL(llama.cpp || smol) over the passage (prefill), on llama.cpp's top 10 plus the rest as one
///   bucket (a lower bound of the full KL, which the top 10 nearly exhaust), mean over 100 positions;
///   no top-1 disagreement where llama.cpp's top-1 leads by 1 logit or more.
/// - Greedy: 16 tokens after 3 prompts, one decode step at a time. The tokens must equal llama.cpp's
///   up to a step where llama.cpp's own margin (top-1 minus top-2 logit) is under 1: the first
///   difference must be at such a near tie, which rounding may break either way (the fixture
///   records every margin).
@Suite(.serialized) struct GGUFLlamaCppTests {
    static func reference() throws -> [String: Any] {
        let path = FixturePaths.repoRoot + "/Tests/Fixtures/llamacpp/reference.json"
        let d = try #require(FileManager.default.contents(atPath: path), "\(path) missing")
        return try #require(try JSONSerialization.jsonObject(with: d) as? [String: Any])
    }

    static func sha256(_ path: String) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["sha256sum", path]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return String(decoding: data, as: UTF8.self).split(separator: " ").first.map(String.init) ?? ""
    }

    /// (file, max mean KL). Measured (Zen 4, avx512vnni, 2026-12-04): KL 0.0027 / 0.0031 / 0.0033,
    /// top-1 0.96 / 0.98 / 0.95, no clear flip; greedy identical for 14, 16, 16 / 16, 0, 5 /
    /// 16, 16, 0 of 16 tokens, every first difference at a llama.cpp margin of 0.06-0.31 logits.
    /// For scale: each engine's 8-bit activations alone cost 0.003-0.005 against exact f32
    /// (QuantizationFidelityTests), and 4-bit weights 0.3. Bounds about 2.5x the measured values.
    static let cases: [(String, Double)] = [("q4_1", 0.007), ("q8_0", 0.008), ("q4_0", 0.0085)]

    @Test(arguments: 0..<cases.count)
    func blockKernelsAgreeWithLlamaCpp(_ k: Int) throws {
        let (name, maxKL) = Self.cases[k]
        let ref = try Self.reference()
        let files = try #require(ref["files"] as? [String: Any])
        let file = try #require(files[name] as? [String: Any])
        var path = GGUFModelTests.defaultGGUF
        if name != "q4_1" {
            path = NSTemporaryDirectory() + "smol-llamacpp-\(UUID().uuidString).gguf"
            _ = try GGUFExport.export(model: FixturePaths.defaultModel, to: path, type: name == "q8_0" ? .q8_0 : .q4_0)
        }
        defer { if name != "q4_1" { try? FileManager.default.removeItem(atPath: path) } }
        #expect(try Self.sha256(path) == file["sha256"] as? String, "\(name): not the file llama.cpp ran")
        let m = try SmolModel(directory: path)
        let ids = try #require(ref["passage_ids"] as? [Int])
        #expect(try m.tokenizer.encode(QuantizationFidelityTests.passage, addSpecialTokens: false) == ids)

        // Prefill: the passage in one pass, every position's distribution.
        let rows = try QuantizationFidelityTests.logits(m, ids)
        let top = try #require(file["top"] as? [[String: Any]])
        #expect(rows.count == top.count)
        var kl = 0.0, agree = 0, clearFlips = 0
        for (row, t) in zip(rows, top) {
            let tid = try #require(t["ids"] as? [Int]), tlp = try #require(t["logprobs"] as? [Double])
            let rest = try #require(t["rest"] as? Double)
            let lq = QuantizationFidelityTests.logSoftmax(row)
            var qTop = 0.0
            for (i, lp) in zip(tid, tlp) {
                kl += exp(lp) * (lp - lq[i])
                qTop += exp(lq[i])
            }
            let qRest = max(1 - qTop, 1e-300)
            if rest > 0 { kl += rest * log(rest / qRest) }
            let ours = row.indices.max(by: { row[$0] < row[$1] })!
            if ours == tid[0] { agree += 1 } else if tlp[0] - tlp[1] >= 1 { clearFlips += 1 }
        }
        kl /= Double(rows.count)
        let top1 = Double(agree) / Double(rows.count)

        // Greedy decode, one step at a time.
        var report: [String] = []
        for g in try #require(file["greedy"] as? [[String: Any]]) {
            let prompt = try #require(g["prompt_ids"] as? [Int]), want = try #require(g["tokens"] as? [Int])
            let margins = try #require(g["margins"] as? [Double])
            let cache = m.model.makeCache(capacity: 64)
            var row = Array(try m.model.forward(prompt, cache: cache, eachPosition: nil))
            var got: [Int] = []
            for _ in want.indices {
                let t = row.indices.max(by: { row[$0] < row[$1] })!
                got.append(t)
                row = Array(try m.model.forward([t], cache: cache, eachPosition: nil))
            }
            // Until the first difference the contexts are the same, so the step where the tokens
            // first differ must be one where llama.cpp itself nearly tied.
            let firstDiff = want.indices.first { got[$0] != want[$0] }
            let margin = firstDiff.map { margins[$0] }
            report.append(firstDiff.map { "\($0)/16 (margin \(String(format: "%.3f", margins[$0])))" } ?? "16/16")
            #expect(margin ?? 0 < 1, "\(name) greedy after \(prompt): first difference at step \(firstDiff ?? -1), where llama.cpp's top-1 leads by \(margin ?? 0); ours \(got), llama.cpp \(want)")
        }
        print("llama.cpp \(name): prefill KL \(kl) top-1 \(top1) clear flips \(clearFlips); greedy identical for \(report)")
        #expect(kl < maxKL && clearFlips == 0, "\(name): KL \(kl), top-1 \(top1), \(clearFlips) clear flips")
    }
}
