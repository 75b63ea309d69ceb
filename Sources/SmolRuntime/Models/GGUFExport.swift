import CSmolKernels
import Foundation
import SmolKernels
import SmolWeights

/// `smol quantize`: a model folder or GGUF file written as a GGUF file of another type, with the
/// keys and tensor layout llama.cpp's converter writes (names mapped, q/k rows permuted for
/// ggml's rotary layout, tokenizer and chat template as `tokenizer.*` keys).
public enum GGUFExport {
    /// What `smol quantize --type` writes: one block type for every matrix, or one of
    /// llama-quantize's mixes (`*_k_m`, `*_k_s`), with llama.cpp's per-tensor rules.
    public enum TargetType: String, CaseIterable, Sendable {
        case q8_0, q6_k, q5_k_m, q5_k_s, q5_1, q5_0, q4_k_m, q4_k_s, q4_1, q4_0, bf16, f16, f32

        /// The type of a matrix no rule picks out.
        var ggml: GGMLType {
            switch self {
            case .q8_0: return .q8_0
            case .q6_k: return .q6_K
            case .q5_k_m, .q5_k_s: return .q5_K
            case .q5_1: return .q5_1
            case .q5_0: return .q5_0
            case .q4_k_m, .q4_k_s: return .q4_K
            case .q4_1: return .q4_1
            case .q4_0: return .q4_0
            case .bf16: return .bf16
            case .f16: return .f16
            case .f32: return .f32
            }
        }

        /// llama.cpp's `general.file_type` (llama_ftype).
        var fileType: UInt32 {
            switch self {
            case .f32: return 0
            case .f16: return 1
            case .q4_0: return 2
            case .q4_1: return 3
            case .q8_0: return 7
            case .q5_0: return 8
            case .q5_1: return 9
            case .q4_k_s: return 14
            case .q4_k_m: return 15
            case .q5_k_s: return 16
            case .q5_k_m: return 17
            case .q6_k: return 18
            case .bf16: return 32
            }
        }
    }

    public struct Summary: Sendable {
        public var tensors: [(name: String, type: String, shape: [Int])] = []
        public var bytes = 0
    }

    public struct ExportError: Error, CustomStringConvertible {
        public let description: String
    }

    /// The type a tensor is written in: llama-quantize's choice without an importance matrix
    /// (llama_tensor_get_type for a dense llama/smollm3 model), so a file has the same mix as
    /// the one llama-quantize makes from the same source.
    /// - 1-D tensors (norms) stay F32, as llama.cpp's converter writes them.
    /// - The output matrix, or the embedding when it is tied to the output, goes to Q6_K (Q8_0
    ///   stays Q8_0; Q8_0 too when its rows are not whole blocks of the target type).
    /// - `*_k_m`: attn_v and ffn_down of the layers `useMoreBits` picks go to Q6_K;
    ///   `q4_k_s`: attn_v of the first 4 layers and ffn_down of the first eighth go to Q5_K.
    /// - Rows that are not whole blocks fall back as llama.cpp's tensor_type_fallback does:
    ///   Q4_K to Q5_0, Q5_K to Q5_1, Q6_K to Q8_0, then F16 if still not whole blocks.
    static func type(for name: String, dims: [Int], target: TargetType, tied: Bool, layers: Int) -> GGMLType {
        if dims.count == 1 { return .f32 }
        var t = target.ggml
        guard t.blockSize > 1 else { return t }
        let layer = name.hasPrefix("blk.") ? Int(name.split(separator: ".")[1]) : nil
        if name == "output.weight" || (tied && name == "token_embd.weight") {
            if dims[0] % t.blockSize != 0 { t = .q8_0 } else if t != .q8_0 { t = .q6_K }
        } else if let i = layer, name.hasSuffix(".attn_v.weight") {
            if target == .q4_k_m || target == .q5_k_m, useMoreBits(i, layers) { t = .q6_K }
            else if target == .q4_k_s, i < 4 { t = .q5_K }
        } else if let i = layer, name.hasSuffix(".ffn_down.weight") {
            if target == .q4_k_m || target == .q5_k_m, useMoreBits(i, layers) { t = .q6_K }
            else if target == .q4_k_s, i < layers / 8 { t = .q5_K }
        }
        if dims[0] % t.blockSize != 0 {
            t = [GGMLType.q4_K: .q5_0, .q5_K: .q5_1, .q6_K: .q8_0][t] ?? t
            if dims[0] % t.blockSize != 0 { t = .f16 }
        }
        return t
    }

    /// llama.cpp's use_more_bits: the first and last eighth of the layers and every third between.
    static func useMoreBits(_ i: Int, _ n: Int) -> Bool { i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2 }

    /// A tensor to write: its GGUF name, ggml dims, and its values as f32 rows in GGUF order.
    struct Source {
        let name: String
        let dims: [Int]
        let values: () throws -> [Float]
    }

    public static func export(model spec: String, to output: String, type target: TargetType, threads: Int = 2,
                              progress: (Int, Int, String) -> Void = { _, _, _ in }) throws -> Summary {
        let path = try ModelLocator.resolve(spec)
        var isDir: ObjCBool = false
        FileManager.default.fileExists(atPath: path, isDirectory: &isDir)
        var writer = GGUFWriter()
        let sources: [Source]
        let tied: Bool
        // Keep whatever the sources map alive until the file is written.
        var keepAlive: [AnyObject] = []
        if isDir.boolValue {
            let config = try ModelLoader.loadConfig(directory: path)
            let weights = try ModelWeights(directory: path)
            keepAlive.append(weights)
            tied = config.tieWordEmbeddings
            writer.metadata = try folderMetadata(path, config: config)
            sources = try folderSources(weights, config: config)
        } else {
            let src = try GGUFModelSource(path: path)
            keepAlive.append(src.file)
            tied = src.file.tensors["output.weight"] == nil
            for k in src.file.keys where k != "general.alignment" { writer.metadata.append((k, src.file.metadata[k]!)) }
            sources = try ggufSources(src.file, threads: threads)
        }
        writer.set("general.file_type", .uint32(target.fileType))
        writer.set("general.quantization_version", .uint32(2))
        let layers = sources.compactMap { $0.name.hasPrefix("blk.") ? Int($0.name.split(separator: ".")[1]) : nil }.max().map { $0 + 1 } ?? 0
        let types = sources.map { type(for: $0.name, dims: $0.dims, target: target, tied: tied, layers: layers) }
        let pool = smol_pool_create(Int32(max(1, threads)))
        defer { smol_pool_destroy(pool) }
        let infos = zip(sources, types).map { s, t in
            (name: s.name, type: t, dims: s.dims, byteCount: t.rowBytes(s.dims[0])! * (s.dims.dropFirst().reduce(1, *)))
        }
        var summary = Summary()
        try writer.write(to: output, infos: infos) { i in
            progress(i, sources.count, sources[i].name)
            let values = try sources[i].values()
            let t = types[i], cols = sources[i].dims[0], rows = values.count / cols
            var out = [UInt8](repeating: 0, count: infos[i].byteCount)
            let rowBytes = t.rowBytes(cols)!
            try values.withUnsafeBufferPointer { v in
                try out.withUnsafeMutableBytes { o in
                    switch t {
                    case .f32, .f16, .bf16:
                        for r in 0..<rows {
                            let x = v.baseAddress! + r * cols, y = o.baseAddress! + r * rowBytes
                            switch t {
                            case .f32: memcpy(y, x, cols * 4)
                            case .f16: smol_store_row(x, y, SMOL_F16, cols)
                            default: smol_store_row(x, y, SMOL_BF16, cols)
                            }
                        }
                    default:
                        guard smol_quantize_rows(pool, t.rawValue, v.baseAddress!, rows, cols, o.baseAddress!) == 0 else {
                            throw ExportError(description: "\(sources[i].name): cannot quantize to \(t.name)")
                        }
                    }
                }
            }
            summary.tensors.append((sources[i].name, t.name, Array(sources[i].dims.reversed())))
            summary.bytes += out.count
            return out
        }
        progress(sources.count, sources.count, "")
        withExtendedLifetime(keepAlive) {}
        return summary
    }

    // MARK: GGUF source

    static func ggufSources(_ f: GGUFFile, threads: Int) throws -> [Source] {
        try f.tensorNames.map { name in
            let info = f.tensors[name]!
            guard info.type.isDequantizable else {
                throw ExportError(description: "\(f.path): tensor '\(name)' has type \(info.type.name), which smol cannot read")
            }
            return Source(name: name, dims: info.dims) {
                let cols = info.dims[0], rows = info.elementCount / cols
                var out = [Float](repeating: 0, count: info.elementCount)
                let pool = smol_pool_create(Int32(max(1, threads)))
                defer { smol_pool_destroy(pool) }
                var scratch = [Float](repeating: 0, count: Int(smol_pool_size(pool)) * cols)
                let rc = smol_dequantize_rows(pool, info.type.rawValue, f.pointer(for: info), rows, cols, info.byteCount / rows, nil,
                                              &out, SMOL_F32, &scratch)
                guard rc == 0 else { throw ExportError(description: "\(f.path): cannot read tensor '\(name)'") }
                return out
            }
        }
    }

    // MARK: folder source

    /// The inverse of GGUFModelSource.hfName, from the same tables.
    static let hfToGGUFLayer = Dictionary(uniqueKeysWithValues: GGUFModelSource.layerTensorNames.map { ($1, $0) })
    static let hfToGGUFTop = Dictionary(uniqueKeysWithValues: GGUFModelSource.topTensorNames.map { ($1, $0) })

    static func ggufName(_ hf: String) -> String? {
        if let top = hfToGGUFTop[hf] { return top }
        let parts = hf.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard parts.count >= 5, parts[0] == "model", parts[1] == "layers", let i = Int(parts[2]), String(i) == parts[2],
              parts.last == "weight", let g = hfToGGUFLayer[parts[3..<(parts.count - 1)].joined(separator: ".")] else { return nil }
        return "blk.\(i).\(g).weight"
    }

    static func folderSources(_ w: ModelWeights, config c: TransformerConfig) throws -> [Source] {
        var named: [(String, Tensor)] = []
        for hf in w.names {
            guard let g = ggufName(hf) else {
                throw ExportError(description: "\(w.directory): tensor '\(hf)' has no GGUF name (only \(c.modelType) text weights are exported)")
            }
            if hf == "lm_head.weight", c.tieWordEmbeddings { continue }
            named.append((g, w.tensor(hf)!))
        }
        // llama.cpp's order: the embedding, the blocks in order, then the output norm and matrix.
        func key(_ n: String) -> (Int, Int, String) {
            if n == "token_embd.weight" { return (0, 0, n) }
            if n.hasPrefix("blk.") { return (1, Int(n.split(separator: ".")[1])!, n) }
            return (2, n == "output_norm.weight" ? 0 : 1, n)
        }
        named.sort { key($0.0) < key($1.0) }
        return try named.map { g, t in
            guard let dt = smol_dtype(t.dtype) else { throw ExportError(description: "\(t.name): dtype \(t.dtype) cannot be exported") }
            let shape = t.shape
            let isQ = g.hasSuffix("attn_q.weight"), isK = g.hasSuffix("attn_k.weight")
            return Source(name: g, dims: shape.reversed()) {
                var x = [Float](repeating: 0, count: t.count)
                smol_convert_to_f32(t.data, dt, &x, t.count)
                guard isQ || isK else { return x }
                // HF row (head h, half s, index i) goes to GGUF row h*d + 2i + s (LlamaModel.permute).
                let heads = isQ ? c.numHeads : c.numKVHeads
                let cols = shape[1]
                let map = GGUFModelSource.unpermuteRows(rows: shape[0], heads: heads)  // map[hfRow] = ggufRow
                var y = [Float](repeating: 0, count: x.count)
                for (hfRow, gRow) in map.enumerated() {
                    for j in 0..<cols { y[Int(gRow) * cols + j] = x[hfRow * cols + j] }
                }
                return y
            }
        }
    }

    static func folderMetadata(_ dir: String, config c: TransformerConfig) throws -> [(key: String, value: GGUFValue)] {
        guard c.modelType == "llama" || c.modelType == "smollm3" else {
            throw ExportError(description: "\(dir): model_type '\(c.modelType)' cannot be exported to GGUF (llama and smollm3 can)")
        }
        let arch = c.modelType
        if arch == "smollm3" {
            let llamaCpp = (0..<c.numLayers).map { ($0 + 1) % 4 != 0 }
            guard c.useRope == llamaCpp else {
                throw ExportError(description: "\(dir)/config.json: no_rope_layers differ from every 4th layer, which is what llama.cpp assumes for smollm3")
            }
        }
        var m: [(key: String, value: GGUFValue)] = []
        func put(_ k: String, _ v: GGUFValue) { m.append((k, v)) }
        put("general.architecture", .string(arch))
        put("general.name", .string(URL(fileURLWithPath: dir).lastPathComponent))
        let p = arch + "."
        put(p + "context_length", .uint32(UInt32(c.maxPositionEmbeddings)))
        put(p + "embedding_length", .uint32(UInt32(c.hiddenSize)))
        put(p + "block_count", .uint32(UInt32(c.numLayers)))
        put(p + "feed_forward_length", .uint32(UInt32(c.intermediateSize)))
        put(p + "attention.head_count", .uint32(UInt32(c.numHeads)))
        put(p + "attention.head_count_kv", .uint32(UInt32(c.numKVHeads)))
        put(p + "rope.freq_base", .float32(Float(c.rope.theta)))
        put(p + "attention.layer_norm_rms_epsilon", .float32(c.rmsNormEps))
        if c.headDim * c.numHeads != c.hiddenSize {
            put(p + "attention.key_length", .uint32(UInt32(c.headDim)))
            put(p + "attention.value_length", .uint32(UInt32(c.headDim)))
        }
        put(p + "rope.dimension_count", .uint32(UInt32(c.headDim)))
        put(p + "vocab_size", .uint32(UInt32(c.vocabSize)))
        switch c.rope.scaling {
        case .none: break
        case let .linear(factor):
            put(p + "rope.scaling.type", .string("linear"))
            put(p + "rope.scaling.factor", .float32(Float(factor)))
        case let .yarn(factor, orig, bf, bs, af, mscale, mscaleAll, _):
            guard mscale == nil, mscaleAll == nil else {
                throw ExportError(description: "\(dir)/config.json: YaRN mscale/mscale_all_dim have no GGUF key")
            }
            put(p + "rope.scaling.type", .string("yarn"))
            put(p + "rope.scaling.factor", .float32(Float(factor)))
            put(p + "rope.scaling.original_context_length", .uint32(UInt32(orig)))
            put(p + "rope.scaling.yarn_beta_fast", .float32(Float(bf)))
            put(p + "rope.scaling.yarn_beta_slow", .float32(Float(bs)))
            if let af { put(p + "rope.scaling.attn_factor", .float32(Float(af))) }
        }
        m += try tokenizerMetadata(dir, config: c)
        return m
    }

    /// tokenizer.json (byte-level BPE) as `tokenizer.ggml.*` keys, the inverse of
    /// GGUFModelSource.tokenizerJSON.
    static func tokenizerMetadata(_ dir: String, config c: TransformerConfig) throws -> [(key: String, value: GGUFValue)] {
        let path = dir + "/tokenizer.json"
        func fail(_ why: String) -> ExportError { ExportError(description: "\(path): \(why)") }
        guard let data = FileManager.default.contents(atPath: path),
              let tj = try JSONSerialization.jsonObject(with: data) as? [String: Any] else { throw fail("missing or not a JSON object") }
        guard let model = tj["model"] as? [String: Any], model["type"] as? String == "BPE",
              let vocab = model["vocab"] as? [String: Int] else { throw fail("only BPE tokenizers are exported") }
        var tokens = [String?](repeating: nil, count: max(c.vocabSize, (vocab.values.max() ?? -1) + 1))
        var types = [Int32](repeating: 1, count: tokens.count)
        for (t, id) in vocab where id >= 0 && id < tokens.count { tokens[id] = t }
        for a in (tj["added_tokens"] as? [[String: Any]]) ?? [] {
            guard let id = a["id"] as? Int, let content = a["content"] as? String else { continue }
            if id >= tokens.count {
                tokens += [String?](repeating: nil, count: id + 1 - tokens.count)
                types += [Int32](repeating: 1, count: id + 1 - types.count)
            }
            tokens[id] = content
            types[id] = (a["special"] as? Bool ?? false) ? 3 : 4
        }
        // Ids the vocabulary leaves out (a padded embedding) become unused placeholders.
        var list: [GGUFValue] = []
        for (i, t) in tokens.enumerated() {
            if let t { list.append(.string(t)) } else {
                list.append(.string("[PAD\(i)]"))
                types[i] = 5
            }
        }
        let merges: [GGUFValue] = ((model["merges"] as? [Any]) ?? []).compactMap {
            if let s = $0 as? String { return .string(s) }
            if let pair = $0 as? [String], pair.count == 2 { return .string(pair[0] + " " + pair[1]) }
            return nil
        }
        var m: [(key: String, value: GGUFValue)] = [
            ("tokenizer.ggml.model", .string("gpt2")),
            ("tokenizer.ggml.pre", .string(try preType(tj["pre_tokenizer"], fail: fail))),
            ("tokenizer.ggml.tokens", .array(elementType: 8, list)),
            ("tokenizer.ggml.token_type", .array(elementType: 5, types.map { .int32($0) })),
        ]
        if !merges.isEmpty { m.append(("tokenizer.ggml.merges", .array(elementType: 8, merges))) }
        if let unk = model["unk_token"] as? String, let id = vocab[unk] ?? tokens.firstIndex(of: unk) {
            m.append(("tokenizer.ggml.unknown_token_id", .uint32(UInt32(id))))
        }
        if let b = c.bosTokenId { m.append(("tokenizer.ggml.bos_token_id", .uint32(UInt32(b)))) }
        if let e = c.eosTokenIds.first { m.append(("tokenizer.ggml.eos_token_id", .uint32(UInt32(e)))) }
        if let pad = c.padTokenId { m.append(("tokenizer.ggml.padding_token_id", .uint32(UInt32(pad)))) }
        var addBos = false
        if let post = tj["post_processor"] as? [String: Any], let single = post["single"] as? [[String: Any]] {
            addBos = single.contains { $0["SpecialToken"] != nil }
        }
        m.append(("tokenizer.ggml.add_bos_token", .bool(addBos)))
        if let builder = try PromptBuilder.load(directory: dir) {
            m.append(("tokenizer.chat_template", .string(builder.template.source)))
        }
        return m
    }

    /// llama.cpp's name for the pre-tokenizer (the `pre` types GGUFModelSource maps back).
    static func preType(_ pre: Any?, fail: (String) -> ExportError) throws -> String {
        guard let pre = pre as? [String: Any] else { throw fail("no pre_tokenizer") }
        let parts = pre["type"] as? String == "Sequence" ? (pre["pretokenizers"] as? [[String: Any]] ?? []) : [pre]
        let kinds = parts.map { $0["type"] as? String ?? "?" }
        if kinds == ["Digits", "ByteLevel"], parts[0]["individual_digits"] as? Bool == true { return "smollm" }
        if kinds == ["ByteLevel"] { return "gpt2" }
        if kinds == ["Split", "ByteLevel"], let pattern = (parts[0]["pattern"] as? [String: Any])?["Regex"] as? String,
           pattern == GGUFModelSource.llama3Pattern {
            return "llama-bpe"
        }
        throw fail("pre_tokenizer \(kinds) has no llama.cpp pre type smol knows (smollm, gpt2, llama-bpe)")
    }
}
