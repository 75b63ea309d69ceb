import CSmolKernels
import Foundation
import SmolKernels
import SmolWeights

/// A text model from one GGUF file, as llama.cpp's converter writes it: the config from the
/// architecture's keys, the tokenizer from `tokenizer.ggml.*`, the chat template from
/// `tokenizer.chat_template`, and the weights under their Hugging Face names (q/k rows put
/// back in the order of transformers' rotate-half RoPE).
///
/// Quantized tensors are dequantized once at load, to bf16 (rounded to nearest even), which
/// is what converting the file to a bf16 folder gives; f32, f16 and bf16 tensors stay mapped.
public struct GGUFModelSource {
    public let file: GGUFFile
    public let architecture: String
    /// The GGUF keys mapped onto config.json's fields, for the architecture's config decoder.
    public let configObject: JSONObject

    public static let architectures = ["llama", "smollm3"]

    public init(path: String) throws {
        file = try GGUFFile(path: path)
        guard let arch = try file.string("general.architecture") else {
            throw GGUFError.metadata(file: path, key: "general.architecture", rule: "required key is missing")
        }
        if arch == "clip" {
            throw GGUFError.metadata(file: path, key: "general.architecture",
                                     rule: "this is a vision projector (mmproj) file, not a language model; pass the text model's GGUF to --model")
        }
        guard Self.architectures.contains(arch) else {
            throw GGUFError.metadata(file: path, key: "general.architecture",
                                     rule: "'\(arch)' is not supported (supported: \(Self.architectures.joined(separator: ", ")))")
        }
        architecture = arch
        configObject = try Self.config(file, arch: arch)
    }

    public var path: String { file.path }

    /// Llama 3's pre-tokenizer regex, as SmolLM3's tokenizer.json has it.
    static let llama3Pattern = #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#

    /// config.json's fields from `<arch>.*` keys, type-checked with errors naming the GGUF key.
    static func config(_ f: GGUFFile, arch: String) throws -> JSONObject {
        let p = arch + "."
        func perLayerScalar(_ key: String) throws -> Int? {
            if case .array? = f.value(key) {
                throw GGUFError.metadata(file: f.path, key: key, rule: "per-layer values are not supported (one value for every layer)")
            }
            return try f.int(key)
        }
        if let experts = try f.int(p + "expert_count"), experts > 0 {
            throw GGUFError.metadata(file: f.path, key: p + "expert_count", rule: "mixture-of-experts models are not supported")
        }
        let hidden = try f.requireInt(p + "embedding_length")
        guard let heads = try perLayerScalar(p + "attention.head_count") else {
            throw GGUFError.metadata(file: f.path, key: p + "attention.head_count", rule: "required key is missing")
        }
        guard heads > 0 else { throw GGUFError.metadata(file: f.path, key: p + "attention.head_count", rule: "must be positive") }
        let kvHeads = try perLayerScalar(p + "attention.head_count_kv") ?? heads
        guard let ffn = try perLayerScalar(p + "feed_forward_length") else {
            throw GGUFError.metadata(file: f.path, key: p + "feed_forward_length", rule: "required key is missing")
        }
        let headDim: Int
        if let k = try f.int(p + "attention.key_length") {
            if let v = try f.int(p + "attention.value_length"), v != k {
                throw GGUFError.metadata(file: f.path, key: p + "attention.value_length", rule: "\(v) differs from key_length \(k)")
            }
            headDim = k
        } else {
            guard hidden % heads == 0 else {
                throw GGUFError.metadata(file: f.path, key: p + "embedding_length", rule: "\(hidden) is not divisible by \(heads) heads")
            }
            headDim = hidden / heads
        }
        if let rd = try f.int(p + "rope.dimension_count"), rd != headDim {
            throw GGUFError.metadata(file: f.path, key: p + "rope.dimension_count",
                                     rule: "partial rotary embeddings (\(rd) of \(headDim) dimensions) are not supported")
        }
        guard let tokens = f.value("tokenizer.ggml.tokens")?.array else {
            throw GGUFError.metadata(file: f.path, key: "tokenizer.ggml.tokens", rule: "required array is missing")
        }
        if let v = try f.int(p + "vocab_size"), v != tokens.count {
            throw GGUFError.metadata(file: f.path, key: p + "vocab_size", rule: "\(v), but the tokenizer has \(tokens.count) tokens")
        }
        var cfg: [String: Any] = [
            "model_type": arch,
            "hidden_size": hidden,
            "intermediate_size": ffn,
            "num_hidden_layers": try f.requireInt(p + "block_count"),
            "num_attention_heads": heads,
            "num_key_value_heads": kvHeads,
            "head_dim": headDim,
            "vocab_size": tokens.count,
            "max_position_embeddings": try f.requireInt(p + "context_length"),
            // llama.cpp's converter drops output.weight when it equals the embedding.
            "tie_word_embeddings": f.tensors["output.weight"] == nil,
            "hidden_act": "silu",
        ]
        if let eps = try f.double(p + "attention.layer_norm_rms_epsilon") { cfg["rms_norm_eps"] = eps }
        if let theta = try f.double(p + "rope.freq_base") { cfg["rope_theta"] = theta }
        var rope: [String: Any] = [:]
        let scalingType = try f.string(p + "rope.scaling.type")
        if let t = scalingType, t != "none" {
            guard t == "linear" || t == "yarn" else {
                throw GGUFError.metadata(file: f.path, key: p + "rope.scaling.type", rule: "'\(t)' is not supported (none, linear, yarn)")
            }
            rope["rope_type"] = t
            if let factor = try f.double(p + "rope.scaling.factor") { rope["factor"] = factor }
            if let orig = try f.int(p + "rope.scaling.original_context_length") { rope["original_max_position_embeddings"] = orig }
            if let bf = try f.double(p + "rope.scaling.yarn_beta_fast") { rope["beta_fast"] = bf }
            if let bs = try f.double(p + "rope.scaling.yarn_beta_slow") { rope["beta_slow"] = bs }
            if let af = try f.double(p + "rope.scaling.attn_factor"), af != 1 { rope["attention_factor"] = af }
            cfg["rope_scaling"] = rope
        } else if let factor = try f.double(p + "rope.scaling.factor"), factor != 1 {
            throw GGUFError.metadata(file: f.path, key: p + "rope.scaling.factor", rule: "\(factor) without rope.scaling.type")
        }
        if arch == "smollm3" {
            // llama.cpp hard-codes SmolLM3's NoPE layers: every 4th, (il + 1) % 4 == 0.
            cfg["no_rope_layer_interval"] = 4
        }
        if let bos = try f.int("tokenizer.ggml.bos_token_id") { cfg["bos_token_id"] = bos }
        if let eos = try f.int("tokenizer.ggml.eos_token_id") { cfg["eos_token_id"] = eos }
        if let pad = try f.int("tokenizer.ggml.padding_token_id") { cfg["pad_token_id"] = pad }
        return JSONObject(file: f.path + " (GGUF keys mapped to config.json fields)", values: cfg)
    }

    public func transformerConfig() throws -> TransformerConfig {
        var c = try ModelRegistry.config(from: configObject)
        c.weightPrefix = "model."
        return c
    }

    // MARK: tokenizer

    /// GGUF token types (llama.cpp's llama_token_type).
    enum TokenType: Int { case normal = 1, unknown = 2, control = 3, userDefined = 4, unused = 5, byte = 6 }

    /// `tokenizer.ggml.pre` values of Llama 3's tokenizer (regex and ignore_merges).
    static let llama3PreTypes: Set<String> = ["llama-bpe", "llama3", "smollm3", "smaug-bpe"]

    /// The pre-tokenizer that the tokenizer.json of each `tokenizer.ggml.pre` value holds.
    static func preTokenizer(_ pre: String, file: String) throws -> [String: Any] {
        let byteLevel: (Bool) -> [String: Any] = {
            ["type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": $0]
        }
        switch pre {
        case "smollm":
            // SmolLM2 / SmolVLM2: digits split one by one, then the GPT-2 regex.
            return ["type": "Sequence", "pretokenizers": [["type": "Digits", "individual_digits": true], byteLevel(true)]]
        case "llama-bpe", "llama3", "smollm3", "smaug-bpe":
            // Llama 3's regex (SmolLM3's tokenizer.json), then byte-level mapping without regex.
            // llama.cpp's converter names SmolLM3's tokenizer "smaug-bpe" (its hash is that of
            // Smaug-Llama-3's, a Llama 3 tokenizer; llama.cpp gives it the same regex).
            let regex = Self.llama3Pattern
            return ["type": "Sequence", "pretokenizers": [
                ["type": "Split", "pattern": ["Regex": regex], "behavior": "Isolated", "invert": false], byteLevel(false)]]
        case "gpt2", "default":
            return byteLevel(true)
        default:
            throw GGUFError.metadata(file: file, key: "tokenizer.ggml.pre",
                                     rule: "pre-tokenizer '\(pre)' is not supported (smollm, llama-bpe, llama3, smollm3, smaug-bpe, gpt2, default)")
        }
    }

    /// The tokenizer.json this file's tokenizer keys describe.
    public func tokenizerJSON() throws -> [String: Any] {
        let path = file.path
        let model = try file.string("tokenizer.ggml.model")
        guard model == "gpt2" else {
            throw GGUFError.metadata(file: path, key: "tokenizer.ggml.model",
                                     rule: "'\(model ?? "missing")' is not supported; only byte-level BPE ('gpt2') is")
        }
        let preName = try file.string("tokenizer.ggml.pre") ?? "default"
        let pre = try Self.preTokenizer(preName, file: path)
        guard let tokens = try file.stringArray("tokenizer.ggml.tokens") else {
            throw GGUFError.metadata(file: path, key: "tokenizer.ggml.tokens", rule: "required array is missing")
        }
        let types = try file.intArray("tokenizer.ggml.token_type") ?? Array(repeating: 1, count: tokens.count)
        guard types.count == tokens.count else {
            throw GGUFError.metadata(file: path, key: "tokenizer.ggml.token_type", rule: "\(types.count) entries for \(tokens.count) tokens")
        }
        // gguf-py writes no key for an empty list: a byte-level vocabulary without merges.
        let merges = try file.stringArray("tokenizer.ggml.merges") ?? []
        var seen = Set<String>()
        seen.reserveCapacity(tokens.count)
        var added: [[String: Any]] = []
        var pairs: [(String, Any)] = []
        pairs.reserveCapacity(tokens.count)
        for (i, (tok, ty)) in zip(tokens, types).enumerated() {
            guard seen.insert(tok).inserted else {
                throw GGUFError.metadata(file: path, key: "tokenizer.ggml.tokens", rule: "token \(i) repeats an earlier token's text")
            }
            pairs.append((tok, NSNumber(value: i)))
            switch TokenType(rawValue: ty) {
            // Unused: placeholders padding the vocabulary to the embedding's rows (llama.cpp's
            // converter and smol quantize write them); plain vocabulary entries no merge produces.
            case .normal?, .unused?: break
            case .control?, .userDefined?:
                let special = ty == TokenType.control.rawValue
                added.append(["id": NSNumber(value: i), "content": tok, "single_word": false, "lstrip": false, "rstrip": false,
                              "normalized": !special, "special": special])
            default:
                throw GGUFError.metadata(file: path, key: "tokenizer.ggml.token_type",
                                         rule: "token \(i) has type \(ty), which a byte-level BPE vocabulary does not use")
            }
        }
        let unk = try file.int("tokenizer.ggml.unknown_token_id")
        if let u = unk, !(0..<tokens.count).contains(u) {
            throw GGUFError.metadata(file: path, key: "tokenizer.ggml.unknown_token_id", rule: "\(u) is outside the vocabulary")
        }
        var post: [String: Any] = ["type": "ByteLevel", "add_prefix_space": true, "trim_offsets": false, "use_regex": true]
        if try file.bool("tokenizer.ggml.add_bos_token") == true, let bos = try file.int("tokenizer.ggml.bos_token_id") {
            guard (0..<tokens.count).contains(bos) else {
                throw GGUFError.metadata(file: path, key: "tokenizer.ggml.bos_token_id", rule: "\(bos) is outside the vocabulary")
            }
            post = ["type": "TemplateProcessing",
                    "single": [["SpecialToken": ["id": tokens[bos], "type_id": 0]], ["Sequence": ["id": "A", "type_id": 0]]],
                    "pair": [["SpecialToken": ["id": tokens[bos], "type_id": 0]], ["Sequence": ["id": "A", "type_id": 0]],
                             ["SpecialToken": ["id": tokens[bos], "type_id": 1]], ["Sequence": ["id": "B", "type_id": 1]]],
                    "special_tokens": [tokens[bos]: ["id": tokens[bos], "ids": [NSNumber(value: bos)], "tokens": [tokens[bos]]]]]
        }
        return [
            "added_tokens": added,
            "pre_tokenizer": pre,
            "post_processor": post,
            "decoder": ["type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true],
            "model": [
                "type": "BPE", "unk_token": unk.map { tokens[$0] } as Any, "fuse_unk": false, "byte_fallback": false,
                // Llama 3 tokenizers (SmolLM3's tokenizer.json too) take a word that is itself a
                // token whole, before any merge; llama.cpp does the same for llama-bpe.
                "ignore_merges": Self.llama3PreTypes.contains(preName), "vocab_pairs": pairs, "merges": merges,
            ] as [String: Any],
        ]
    }

    public var chatTemplate: String? { get throws { try file.string("tokenizer.chat_template") } }

    public func tokenString(_ key: String) throws -> String? {
        guard let id = try file.int(key), let tokens = file.value("tokenizer.ggml.tokens")?.array,
              (0..<tokens.count).contains(id) else { return nil }
        return tokens[id].string
    }

    /// eos ids and the sampling settings some converters record (`general.sampling.*`).
    public func generationDefaults(config: TransformerConfig) throws -> GenerationDefaults {
        var d = GenerationDefaults()
        var eos = config.eosTokenIds
        if let eot = try file.int("tokenizer.ggml.eot_token_id"), !eos.contains(eot), (0..<config.vocabSize).contains(eot) { eos.append(eot) }
        d.eosTokenIds = eos
        if let t = try file.double("general.sampling.temp") { d.sampling.temperature = Float(t); d.sampling.doSample = t > 0 }
        if let k = try file.int("general.sampling.top_k") { d.sampling.topK = k }
        if let p = try file.double("general.sampling.top_p") { d.sampling.topP = Float(p) }
        if let p = try file.double("general.sampling.min_p") { d.sampling.minP = Float(p) }
        return d
    }

    // MARK: weights

    /// Hugging Face name of a llama.cpp tensor name, or nil.
    /// llama.cpp's per-layer tensor names -> Hugging Face's (both without "weight").
    static let layerTensorNames = [
        "attn_norm": "input_layernorm", "ffn_norm": "post_attention_layernorm",
        "attn_q": "self_attn.q_proj", "attn_k": "self_attn.k_proj", "attn_v": "self_attn.v_proj",
        "attn_output": "self_attn.o_proj", "ffn_gate": "mlp.gate_proj", "ffn_up": "mlp.up_proj", "ffn_down": "mlp.down_proj",
    ]
    static let topTensorNames = [
        "token_embd.weight": "model.embed_tokens.weight", "output_norm.weight": "model.norm.weight", "output.weight": "lm_head.weight",
    ]

    static func hfName(_ g: String) -> String? {
        if let top = topTensorNames[g] { return top }
        let parts = g.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0] == "blk", let i = Int(parts[1]), i >= 0, String(i) == parts[1], parts[3] == "weight" else { return nil }
        guard let m = Self.layerTensorNames[String(parts[2])] else { return nil }
        return "model.layers.\(i).\(m).weight"
    }

    /// llama.cpp interleaves the two halves of every head's q/k rows (its RoPE rotates
    /// adjacent pairs); Hugging Face row (h, s, i) is GGUF row h*d + 2i + s.
    static func unpermuteRows(rows: Int, heads: Int) -> [Int32] {
        let d = rows / heads, half = d / 2
        var map = [Int32](repeating: 0, count: rows)
        for h in 0..<heads {
            for s in 0..<2 { for i in 0..<half { map[h * d + s * half + i] = Int32(h * d + 2 * i + s) } }
        }
        return map
    }

    /// Every tensor under its Hugging Face name. Unknown tensors are an error (a bias or an
    /// extra matrix would otherwise be silently ignored). f32/f16/bf16 tensors are used in place
    /// from the mapped file. With `keepQuantized`, Q8_0/Q4_0/Q4_1/Q5_0/Q5_1/Q4_K/Q5_K/Q6_K blocks are what
    /// the kernels read (see keptBlocks: in place, or interleaved by 8 rows). Other quantized tensors, or all of them without `keepQuantized`, are
    /// dequantized at load to `dequantizeTo` (bf16: half the memory; f32: the exact values, for
    /// the f32 reference path).
    public func weights(config c: TransformerConfig, threads: Int, dequantizeTo: DType = .bf16,
                        keepQuantized: Bool = true) throws -> ModelWeights {
        guard dequantizeTo == .bf16 || dequantizeTo == .f32 else {
            throw GGUFError.header(file: file.path, rule: "cannot dequantize to \(dequantizeTo.rawValue) (bf16 or f32)")
        }
        let path = file.path
        var out: [Tensor] = []
        let pool = smol_pool_create(Int32(max(1, threads)))
        defer { smol_pool_destroy(pool) }
        for name in file.tensorNames {
            let info = file.tensors[name]!
            guard let hf = Self.hfName(name) else {
                throw GGUFError.tensor(file: path, tensor: name, rule: "not a tensor of the \(architecture) architecture")
            }
            let isQ = hf.hasSuffix("q_proj.weight"), isK = hf.hasSuffix("k_proj.weight")
            let src = file.pointer(for: info)
            let direct: DType? = [.f32: .f32, .f16: .f16, .bf16: .bf16][info.type]
            if let dt = direct, !isQ, !isK {
                out.append(Tensor(info: TensorInfo(name: hf, dtype: dt, shape: info.shape, begin: 0, byteCount: info.byteCount),
                                  data: src, owner: file))
                continue
            }
            if keepQuantized, let kt = smol_dtype(info.type), smol_dtype_is_quant(kt) != 0 {
                out.append(try keptBlocks(info, hf: hf, kernelType: kt, heads: isQ ? c.numHeads : isK ? c.numKVHeads : nil, config: c,
                                          pool: pool))
                continue
            }
            guard info.type.isDequantizable else {
                throw GGUFError.tensor(file: path, tensor: name, rule: "type \(info.type.name) is not supported (supported: "
                    + GGMLType.allCases.filter(\.isDequantizable).map(\.name).joined(separator: ", ") + ")")
            }
            let cols = info.dims[0], rows = info.elementCount / cols
            var map: [Int32]? = nil
            if isQ || isK {
                let heads = isQ ? c.numHeads : c.numKVHeads
                guard info.dims.count == 2, rows == heads * c.headDim else {
                    throw GGUFError.tensor(file: path, tensor: name, rule: "shape \(info.shape), expected [\(heads * c.headDim), \(c.hiddenSize)]")
                }
                map = Self.unpermuteRows(rows: rows, heads: heads)
            }
            out.append(try file.dequantized(info, as: hf, to: direct ?? dequantizeTo, rowMap: map, pool: pool))
        }
        return try ModelWeights(source: path, tensors: out)
    }
}

extension GGUFModelSource {
    /// A tensor of blocks as the kernels read them: a view of the mapping (Q8_0, Q5_0, Q5_1, Q5_K, rows not
    /// a multiple of 8); or, for Q4_0/Q4_1/Q4_K/Q6_K matrices (the embedding too), rows
    /// interleaved by 8, the layout of the fast decode kernels, in a buffer of the same size
    /// (Q4_K: +2.8%) with the mapped pages dropped; q/k (`heads` given) rows in Hugging Face order.
    fileprivate func keptBlocks(_ info: GGUFTensorInfo, hf: String, kernelType: smol_dtype, heads: Int?,
                                config c: TransformerConfig, pool: OpaquePointer?) throws -> Tensor {
        let cols = info.dims[0], rows = info.elementCount / cols, rowBytes = smol_dtype_row_bytes(kernelType, cols)
        guard info.dims.count == 2, rowBytes > 0, rowBytes * rows == info.byteCount else {
            throw GGUFError.tensor(file: file.path, tensor: info.name, rule: "shape \(info.shape) is not whole \(info.type.name) rows")
        }
        if let heads, rows != heads * c.headDim {
            throw GGUFError.tensor(file: file.path, tensor: info.name, rule: "shape \(info.shape), expected [\(heads * c.headDim), \(c.hiddenSize)]")
        }
        let src = file.pointer(for: info)
        let map = heads.map { Self.unpermuteRows(rows: rows, heads: $0) }
        // The embedding too: the lookup unpacks its row (smol_matrix_row_f32), and tied, it is the LM head.
        let r8: smol_dtype? = [SMOL_Q4_0: SMOL_Q4_0_R8, SMOL_Q4_1: SMOL_Q4_1_R8, SMOL_Q4_K: SMOL_Q4_K_R8,
                                SMOL_Q6_K: SMOL_Q6_K_R8][kernelType]
        let interleave = r8 != nil && rows % 8 == 0
        let bytes = interleave ? rows * smol_dtype_row_bytes(r8!, cols) : info.byteCount
        let t = TensorInfo(name: hf, dtype: .u8, shape: info.shape, begin: 0, byteCount: bytes, quantization: info.type,
                           rowInterleave: interleave ? 8 : 1)
        if !interleave && map == nil { return Tensor(info: t, data: src, owner: file) }
        let buffer = OwnedBuffer(bytes: bytes)
        if interleave {
            let rc = map.withOptionalBuffer { smol_repack_r8(pool, kernelType, src, rows, cols, $0, buffer.pointer) }
            guard rc == 0 else { throw GGUFError.tensor(file: file.path, tensor: info.name, rule: "cannot interleave \(info.type.name) rows") }
        } else if let map {
            for (r, s) in map.enumerated() {
                (buffer.pointer + r * rowBytes).copyMemory(from: src + Int(s) * rowBytes, byteCount: rowBytes)
            }
        }
        file.releasePages(of: info)
        return Tensor(info: t, data: UnsafeRawPointer(buffer.pointer), owner: buffer)
    }
}

extension GGUFFile {
    /// Tensor `info` as `dt` (f32 or bf16; rounded to nearest even) in memory of its own, named
    /// `hf`, output row r from source row rowMap[r]. The mapped blocks are not read again, so
    /// their pages are dropped: the process holds the converted copy only, not both.
    func dequantized(_ info: GGUFTensorInfo, as hf: String, to dt: DType, rowMap: [Int32]?, pool: OpaquePointer?) throws -> Tensor {
        let cols = info.dims[0], rows = info.elementCount / cols
        let buffer = OwnedBuffer(bytes: info.elementCount * dt.byteSize)
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: Int(smol_pool_size(pool)) * cols)
        defer { scratch.deallocate() }
        let rc: Int32 = rowMap.withOptionalBuffer { m in
            smol_dequantize_rows(pool, info.type.rawValue, pointer(for: info), rows, cols, info.byteCount / rows, m, buffer.pointer,
                                 smol_dtype(dt)!, scratch)
        }
        guard rc == 0 else { throw GGUFError.tensor(file: path, tensor: info.name, rule: "cannot dequantize \(info.type.name) (code \(rc))") }
        releasePages(of: info)
        return Tensor(info: TensorInfo(name: hf, dtype: dt, shape: info.shape, begin: 0, byteCount: info.elementCount * dt.byteSize),
                      data: UnsafeRawPointer(buffer.pointer), owner: buffer)
    }
}

/// Memory a dequantized tensor lives in, freed with the last Tensor that views it.
final class OwnedBuffer: @unchecked Sendable {
    let pointer: UnsafeMutableRawPointer
    init(bytes: Int) { pointer = .allocate(byteCount: max(bytes, 1), alignment: 64) }
    deinit { pointer.deallocate() }
}

private extension Optional where Wrapped == [Int32] {
    func withOptionalBuffer<R>(_ body: (UnsafePointer<Int32>?) -> R) -> R {
        switch self {
        case let .some(a): return a.withUnsafeBufferPointer { body($0.baseAddress) }
        case .none: return body(nil)
        }
    }
}
