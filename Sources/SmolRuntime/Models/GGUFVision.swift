import CSmolKernels
import Foundation
import SmolKernels
import SmolVision
import SmolWeights

/// SmolVLM's vision half from a llama.cpp `mmproj` GGUF (`general.architecture` clip with the
/// idefics3 projector, as convert_hf_to_gguf.py --mmproj writes it): the SigLIP tower and the
/// connector under their Hugging Face names, the tower's settings from `clip.vision.*`, and the
/// image processor's from the same keys (tile = `clip.vision.image_size`, longest edge =
/// `clip.vision.preproc_image_size`, mean and std). The text model comes from its own GGUF.
public struct GGUFVisionSource {
    public let file: GGUFFile
    public let vision: VisionConfig
    public let scaleFactor: Int
    public let processor: SmolVLMImageProcessor.Config

    public init(path: String) throws {
        file = try GGUFFile(path: path)
        let f = file
        func fail(_ key: String, _ rule: String) -> GGUFError { .metadata(file: path, key: key, rule: rule) }
        guard try f.string("general.architecture") == "clip" else {
            throw fail("general.architecture", "'\(try f.string("general.architecture") ?? "(missing)")' is not a vision projector (mmproj) file: expected 'clip'")
        }
        if let has = try f.bool("clip.has_vision_encoder"), !has { throw fail("clip.has_vision_encoder", "the file has no vision encoder") }
        let proj = try f.string("clip.projector_type") ?? "(missing)"
        guard proj == "idefics3" else {
            throw fail("clip.projector_type", "'\(proj)' is not supported (supported: idefics3, SmolVLM's pixel-shuffle connector)")
        }
        if let gelu = try f.bool("clip.use_gelu"), !gelu { throw fail("clip.use_gelu", "SmolVLM's tower uses GELU (tanh); this file says otherwise") }
        func positive(_ key: String) throws -> Int {
            let v = try f.requireInt(key)
            guard v > 0, v <= 1 << 20 else { throw fail(key, "\(v) must be a positive size") }
            return v
        }
        let eps = try f.double("clip.vision.attention.layer_norm_epsilon") ?? 1e-6
        vision = VisionConfig(hiddenSize: try positive("clip.vision.embedding_length"),
                              intermediateSize: try positive("clip.vision.feed_forward_length"),
                              numLayers: try positive("clip.vision.block_count"),
                              numHeads: try positive("clip.vision.attention.head_count"),
                              imageSize: try positive("clip.vision.image_size"),
                              patchSize: try positive("clip.vision.patch_size"),
                              layerNormEps: Float(eps))
        scaleFactor = try f.int("clip.vision.projector.scale_factor") ?? 2
        var p = SmolVLMImageProcessor.Config()
        p.tileSize = vision.imageSize
        p.longestEdge = try f.int("clip.vision.preproc_image_size") ?? vision.imageSize
        guard p.longestEdge > 0, p.longestEdge <= 16384 else { throw fail("clip.vision.preproc_image_size", "\(p.longestEdge) outside 1...16384") }
        p.videoLongestEdge = vision.imageSize
        func three(_ key: String) throws -> [Float]? {
            guard let v = f.value(key) else { return nil }
            guard case let .array(_, items) = v else { throw fail(key, "expected 3 finite numbers") }
            let d = items.compactMap(\.double)
            guard items.count == 3, d.count == 3, d.allSatisfy(\.isFinite) else { throw fail(key, "expected 3 finite numbers") }
            return d.map(Float.init)
        }
        if let m = try three("clip.vision.image_mean") { p.mean = m }
        if let s = try three("clip.vision.image_std") {
            guard s.allSatisfy({ $0 != 0 }) else { throw fail("clip.vision.image_std", "must be non-zero") }
            p.std = s
        }
        processor = p
    }

    /// The Hugging Face name of an mmproj tensor (SigLIP under `model.vision_model.`, the
    /// connector's projection), or nil.
    static func hfName(_ name: String) -> String? {
        let top = ["v.patch_embd.weight": "embeddings.patch_embedding.weight", "v.patch_embd.bias": "embeddings.patch_embedding.bias",
                   "v.position_embd.weight": "embeddings.position_embedding.weight",
                   "v.post_ln.weight": "post_layernorm.weight", "v.post_ln.bias": "post_layernorm.bias"]
        if name == "mm.model.fc.weight" { return "model.connector.modality_projection.proj.weight" }
        if let t = top[name] { return "model.vision_model." + t }
        let parts = name.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 5, parts[0] == "v", parts[1] == "blk", let i = Int(parts[2]), String(i) == parts[2],
              parts[4] == "weight" || parts[4] == "bias" else { return nil }
        let layer = ["attn_q": "self_attn.q_proj", "attn_k": "self_attn.k_proj", "attn_v": "self_attn.v_proj",
                     "attn_out": "self_attn.out_proj", "ffn_up": "mlp.fc1", "ffn_down": "mlp.fc2",
                     "ln1": "layer_norm1", "ln2": "layer_norm2"]
        guard let l = layer[parts[3]] else { return nil }
        return "model.vision_model.encoder.layers.\(i).\(l).\(parts[4])"
    }

    /// Every tensor under its Hugging Face name: f32/f16/bf16 in place from the mapping, block
    /// types dequantized once to `dequantizeTo` (bf16 or f32). Unknown tensors are an error.
    public func weights(threads: Int, dequantizeTo: DType = .bf16) throws -> ModelWeights {
        let path = file.path
        var out: [Tensor] = []
        let pool = smol_pool_create(Int32(max(1, threads)))
        defer { smol_pool_destroy(pool) }
        for name in file.tensorNames {
            let info = file.tensors[name]!
            guard let hf = Self.hfName(name) else {
                throw GGUFError.tensor(file: path, tensor: name, rule: "not a tensor of a SmolVLM (idefics3) projector")
            }
            if let dt = [GGMLType.f32: DType.f32, .f16: .f16, .bf16: .bf16][info.type] {
                out.append(Tensor(info: TensorInfo(name: hf, dtype: dt, shape: info.shape, begin: 0, byteCount: info.byteCount),
                                  data: file.pointer(for: info), owner: file))
                continue
            }
            guard info.type.isDequantizable else {
                throw GGUFError.tensor(file: path, tensor: name, rule: "type \(info.type.name) is not supported")
            }
            out.append(try file.dequantized(info, as: hf, to: dequantizeTo, rowMap: nil, pool: pool))
        }
        return try ModelWeights(source: path, tensors: out)
    }
}
