import CSmolKernels
import Foundation
import SmolJSON
import SmolKernels
import SmolTokenizers
import SmolVision
import SmolWeights

/// The vision half of a SmolVLM folder: image processor, SigLIP encoder and connector, plus
/// the prompt expansion that ties images to `<image>` tokens. The text decoder is the
/// folder's TransformerModel; image features replace its `<image>` embeddings.
public final class VisionLanguageModel: @unchecked Sendable {
    public let config: VisionLanguageConfig
    /// Settable before use, e.g. to cap upscaling (`config.capUpscaling`).
    public var processor: SmolVLMImageProcessor
    /// `<image>` tokens per tile, checked against the encoder's output rows per tile.
    public let imageSeqLen: Int
    let encoder: SigLIPEncoder
    let projection: WeightMatrix  // [text hidden, vision hidden * scale^2], no bias
    let ctx: ComputeContext
    let tokenizer: TextTokenizer
    /// What the encoder's and projection's matrices point into (an mmproj's own tensors live
    /// only here; a folder's are the text model's too).
    let weights: ModelWeights

    public convenience init(directory: String, config: VisionLanguageConfig, weights: ModelWeights, ctx: ComputeContext,
                            tokenizer: TextTokenizer) throws {
        let (proc, seqLen) = try Self.loadProcessor(directory: directory)
        if let seqLen, seqLen != config.imageSeqLen {
            throw ConfigError.invalid(file: directory + "/processor_config.json", field: "image_seq_len",
                                      reason: "\(seqLen), but the vision config gives \(config.imageSeqLen) tokens per tile")
        }
        guard proc.tileSize == config.vision.imageSize else {
            throw ConfigError.invalid(file: directory + "/preprocessor_config.json", field: "max_image_size.longest_edge",
                                      reason: "\(proc.tileSize), but the vision encoder takes \(config.vision.imageSize) px tiles")
        }
        try self.init(config: config, weights: weights, processor: proc, ctx: ctx, tokenizer: tokenizer)
    }

    /// A text model's GGUF and its `mmproj` GGUF (GGUFVisionSource): the tower, connector and
    /// image settings from the mmproj, `<image>`'s id from the text model's tokenizer.
    public convenience init(mmproj: GGUFVisionSource, text: TransformerConfig, threads: Int, dequantizeTo: DType,
                            ctx: ComputeContext, tokenizer: TextTokenizer) throws {
        guard let img = tokenizer.tokenId(SmolVLMPrompt.imageToken) else { throw VisionPromptError.missingToken(SmolVLMPrompt.imageToken) }
        let config = try VisionLanguageConfig(text: text, vision: mmproj.vision, scaleFactor: mmproj.scaleFactor, imageTokenId: img,
                                              file: mmproj.file.path)
        try self.init(config: config, weights: try mmproj.weights(threads: threads, dequantizeTo: dequantizeTo),
                      processor: mmproj.processor, ctx: ctx, tokenizer: tokenizer)
    }

    init(config: VisionLanguageConfig, weights: ModelWeights, processor proc: SmolVLMImageProcessor.Config, ctx: ComputeContext,
         tokenizer: TextTokenizer) throws {
        self.config = config
        self.ctx = ctx
        self.tokenizer = tokenizer
        self.weights = weights
        encoder = try SigLIPEncoder(config: config.vision, weights: weights)
        let s2 = config.scaleFactor * config.scaleFactor
        projection = try WeightBinder(weights).matrix("model.connector.modality_projection.proj.weight",
                                                      config.text.hiddenSize, config.vision.hiddenSize * s2)
        processor = SmolVLMImageProcessor(config: proc)
        imageSeqLen = config.imageSeqLen
        // The markers must be single tokens of this tokenizer, and <image> the config's id.
        for t in [SmolVLMPrompt.fakeToken, SmolVLMPrompt.globalToken] where tokenizer.tokenId(t) == nil {
            throw VisionPromptError.missingToken(t)
        }
        guard let img = tokenizer.tokenId(SmolVLMPrompt.imageToken) else { throw VisionPromptError.missingToken(SmolVLMPrompt.imageToken) }
        guard img == config.imageTokenId else {
            throw VisionPromptError.imageTokenId(tokenizer: img, config: config.imageTokenId)
        }
    }

    /// preprocessor_config.json, else the `image_processor` inside processor_config.json;
    /// `image_seq_len` from processor_config.json when present.
    static func loadProcessor(directory: String) throws -> (SmolVLMImageProcessor.Config, Int?) {
        func read(_ name: String) throws -> JSONValue? {
            let path = directory + "/" + name
            guard let data = FileManager.default.contents(atPath: path) else { return nil }
            guard data.count < 1 << 20 else { throw ConfigError.invalid(file: path, field: "(file)", reason: "larger than 1 MB") }
            do { return try StrictJSONParser().parse([UInt8](data)) } catch {
                throw ConfigError.invalid(file: path, field: "(file)", reason: "\(error)")
            }
        }
        let pre = try read("preprocessor_config.json")
        let proc = try read("processor_config.json")
        guard let source = pre ?? proc?["image_processor"] else {
            throw ConfigError.missingFile(directory + "/preprocessor_config.json (SmolVLM image processor settings)")
        }
        let cfg: SmolVLMImageProcessor.Config
        do { cfg = try SmolVLMImageProcessor.Config(json: source) } catch {
            throw ConfigError.invalid(file: directory + (pre != nil ? "/preprocessor_config.json" : "/processor_config.json"),
                                      field: "image processor", reason: error.description)
        }
        var seq: Int? = nil
        if let v = proc?["image_seq_len"] {
            guard case let .int(i) = v, i > 0, i < 1 << 20 else {
                throw ConfigError.invalid(file: directory + "/processor_config.json", field: "image_seq_len", reason: "expected a positive integer")
            }
            seq = Int(i)
        }
        return (cfg, seq)
    }

    // MARK: images -> features

    /// Encoder output for float32 CHW tiles: [tiles * patchesPerTile, vision hidden].
    /// `pixelAttentionMask` (per tile, imageSize x imageSize, 1 = image, 0 = padding) is the
    /// processor's mask for padded inputs; a patch counts as image when any of its pixels does,
    /// as transformers' unfold rule. The runtime's own tiles are never padded.
    public func encode(pixelValues tiles: [[Float]], pixelAttentionMask: [[UInt8]]? = nil) throws -> [Float] {
        var patchMasks: [[Bool]]? = nil
        if let masks = pixelAttentionMask {
            let v = config.vision, S = v.imageSize, p = v.patchSize, side = v.patchesPerSide
            patchMasks = try masks.map { m in
                guard m.count == S * S else {
                    throw ModelError.shapeMismatch(tensor: "pixel_attention_mask", expected: [S, S], actual: [m.count])
                }
                return (0..<(side * side)).map { i in
                    let py = i / side, px = i % side
                    for y in (py * p)..<(py * p + p) {
                        for x in (px * p)..<(px * p + p) where m[y * S + x] != 0 { return true }
                    }
                    return false
                }
            }
        }
        return try encoder.encode(tiles, patchMasks: patchMasks, ctx: ctx)
    }

    /// The connector: pixel shuffle by scale_factor, then the projection to the text width.
    /// [tiles * imageSeqLen, text hidden].
    public func connect(_ encoded: [Float], tiles: Int) -> [Float] {
        let v = config.vision, r = config.scaleFactor, side = v.patchesPerSide, d = v.hiddenSize
        let outSide = side / r, seq = outSide * outSide, wide = d * r * r
        var shuffled = [Float](repeating: 0, count: tiles * seq * wide)  // [tiles * seq, d * r^2]
        encoded.withUnsafeBufferPointer { src in
            shuffled.withUnsafeMutableBufferPointer { dst in
                for t in 0..<tiles {
                    for i in 0..<outSide {
                        for j in 0..<outSide {
                            let row = dst.baseAddress! + (t * seq + i * outSide + j) * wide
                            for di in 0..<r {
                                for dj in 0..<r {
                                    let from = src.baseAddress! + (t * side * side + (i * r + di) * side + (j * r + dj)) * d
                                    (row + (di * r + dj) * d).update(from: from, count: d)
                                }
                            }
                        }
                    }
                }
            }
        }
        let n = tiles * seq
        var out = [Float](repeating: 0, count: n * config.text.hiddenSize)
        let per = TransformerModel.scratchPerThread(cols: wide)
        let scratch = Buffer(ctx.threads * per)
        shuffled.withUnsafeBufferPointer { x in
            out.withUnsafeMutableBufferPointer { y in
                MatMul.matmul(ctx, projection, x: x.baseAddress!, n: n, y: y.baseAddress!, scratch: scratch.p, scratchPerThread: per)
            }
        }
        return out
    }

    /// Tiles of every image and frame, in prompt order, and the prompt text with each
    /// `<image>` / `<video>` placeholder expanded, as SmolVLMProcessor does.
    public func expand(prompt: String, images: [RGBImage], videos: [VideoClip] = []) throws -> (text: String, tiles: [RGBImage]) {
        var imageTiles: [[RGBImage]] = [], imageTexts: [String] = []
        for image in images {
            let split = try processor.split(image)
            imageTiles.append(split.tiles)
            imageTexts.append(SmolVLMPrompt.imageText(rows: split.rows, cols: split.cols, seqLen: imageSeqLen))
            if split.rows > 0 {
                let last = SmolVLMPrompt.tileToken(row: split.rows, col: split.cols)
                guard tokenizer.tokenId(last) != nil else { throw VisionPromptError.missingToken(last) }
            }
        }
        var videoTiles: [[RGBImage]] = [], videoTexts: [String] = []
        for clip in videos {
            videoTiles.append(try clip.frames.map { try processor.videoFrame($0) })
            videoTexts.append(SmolVLMVideo.promptText(timestamps: clip.timestamps, duration: clip.duration, seqLen: imageSeqLen))
        }
        let text = try SmolVLMPrompt.expand(prompt, images: imageTexts, videos: videoTexts)
        // Tiles in the order their placeholders appear.
        var tiles: [RGBImage] = [], i = 0, v = 0, rest = Substring(prompt)
        while let next = [rest.range(of: SmolVLMPrompt.imageToken), rest.range(of: SmolVLMPrompt.videoToken)]
            .compactMap({ $0 }).min(by: { $0.lowerBound < $1.lowerBound }) {
            if rest[next] == SmolVLMPrompt.imageToken { tiles += imageTiles[i]; i += 1 } else { tiles += videoTiles[v]; v += 1 }
            rest = rest[next.upperBound...]
        }
        return (text, tiles)
    }

    /// Prompt ids for a rendered prompt holding one `<image>` placeholder per image and one
    /// `<video>` per video, and the tiles whose features its image tokens take (see `features`).
    public func tokenize(prompt: String, images: [RGBImage], videos: [VideoClip] = []) throws -> (ids: [Int], text: String, tiles: [RGBImage]) {
        let (text, tiles) = try expand(prompt: prompt, images: images, videos: videos)
        let ids = try tokenizer.encode(text, addSpecialTokens: false)
        let count = ids.reduce(0) { $0 + ($1 == config.imageTokenId ? 1 : 0) }
        guard count == tiles.count * imageSeqLen else {
            throw ModelError.imageTokenMismatch(tokens: count, features: tiles.count * imageSeqLen)
        }
        return (ids, text, tiles)
    }

    /// Encoder and connector over all tiles in one batch: the rows for the image tokens.
    public func features(tiles: [RGBImage]) throws -> ImageFeatures? {
        guard !tiles.isEmpty else { return nil }
        let encoded = try encode(pixelValues: tiles.map(processor.pixelValues))
        return ImageFeatures(tokenId: config.imageTokenId, hidden: config.text.hiddenSize, rows: connect(encoded, tiles: tiles.count))
    }

    public func prepare(prompt: String, images: [RGBImage], videos: [VideoClip] = []) throws
        -> (ids: [Int], features: ImageFeatures?, text: String, tiles: Int) {
        let (ids, text, tiles) = try tokenize(prompt: prompt, images: images, videos: videos)
        return (ids, try features(tiles: tiles), text, tiles.count)
    }
}

public enum VisionPromptError: Error, CustomStringConvertible, Equatable {
    case missingToken(String)
    case imageTokenId(tokenizer: Int, config: Int)

    public var description: String {
        switch self {
        case let .missingToken(t): return "tokenizer.json has no '\(t)' token, which SmolVLM prompts need"
        case let .imageTokenId(t, c): return "tokenizer.json maps '<image>' to \(t) but config.json's image_token_id is \(c)"
        }
    }
}
