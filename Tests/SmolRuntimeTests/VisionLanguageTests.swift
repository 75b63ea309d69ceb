import Foundation
import SmolKernels
import SmolVision
import Testing
@testable import SmolRuntime

/// SmolVLM end to end against transformers on tiny random checkpoints of both SmolVLM2 shapes
/// (scripts/make_vlm_checkpoint.py builds them, scripts/make_vlm_fixtures.py recorded the
/// reference): the rendered chat prompt byte for byte, the expanded prompt ids exactly, every
/// tile's pixel values bit for bit, sampled vision-encoder, connector and last-position logits
/// within tolerance, and the greedy tokens.
@Suite(.serialized) struct VisionLanguageTests {
    struct Sampled: Decodable { let shape: [Int]; let indices: [Int]; let values: [Double] }
    struct Probe: Decodable { let indices: [Int]; let values: [Double] }
    struct Case: Decodable {
        let label: String
        let images: [String]
        /// Video cases: frame files at `timestamps` of a `duration`-second clip.
        let video_frames: [String]?
        let timestamps: [Double]?
        let duration: Double?
        let question, text: String
        let input_ids: [Int]
        let tiles: [String]
        let vision_tile0, connector, logits: Sampled
        let top5, greedy: [Int]
    }
    struct Padded: Decodable {
        let `case`: String
        let valid_rows, valid_cols: Int
        let full_tile, padded_tile: Sampled
    }
    struct Fixture: Decodable {
        let shape: String
        let image_seq_len: Int
        let weight_probes: [String: Probe]
        let cases: [Case]
        let padded: Padded
    }

    static let shapes = ["smolvlm-256m-shape", "smolvlm-2.2b-shape"]
    static func fixture(_ shape: String) throws -> Fixture {
        let url = URL(fileURLWithPath: FixturePaths.repoRoot + "/Tests/Fixtures/vlm/\(shape).json")
        return try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url))
    }
    static let loaded = SharedModels()

    final class SharedModels: @unchecked Sendable {
        private var models: [String: SmolModel] = [:]
        private let lock = NSLock()
        func get(_ shape: String) throws -> SmolModel {
            lock.lock(); defer { lock.unlock() }
            if let m = models[shape] { return m }
            let dir = FixturePaths.repoRoot + "/Models/" + shape
            guard FileManager.default.fileExists(atPath: dir + "/model.safetensors") else {
                throw CheckpointMissing(path: dir)
            }
            let m = try SmolModel(directory: dir, options: .exactF32)
            models[shape] = m
            return m
        }
    }
    struct CheckpointMissing: Error, CustomStringConvertible {
        let path: String
        var description: String {
            "\(path) is missing: build it with scripts/make_vlm_checkpoint.py --tokenizer Models/SmolLM2-135M-Instruct/tokenizer.json --out Models (scripts/test.sh does)"
        }
    }

    static func close(_ got: [Float], _ want: Sampled, tol: Double, _ what: String) {
        #expect(got.count == want.shape.reduce(1, *), "\(what): \(got.count) values, want shape \(want.shape)")
        guard got.count == want.shape.reduce(1, *) else { return }
        var worst = 0.0, at = 0
        for (i, v) in zip(want.indices, want.values) {
            let d = abs(Double(got[i]) - v) / max(1, abs(v))
            if d > worst { worst = d; at = i }
        }
        #expect(worst <= tol, "\(what): worst difference \(worst) at \(at)")
    }

    @Test(arguments: shapes)
    func weightsMatchTheGenerator(_ shape: String) throws {
        let f = try Self.fixture(shape)
        let m = try Self.loaded.get(shape)
        for (name, probe) in f.weight_probes {
            let t = try #require(m.model.weights.tensor(name), "\(name)")
            let values = try #require(t.toFloats())
            for (i, v) in zip(probe.indices, probe.values) {
                #expect(Double(values[i]) == v, "\(shape) \(name)[\(i)]: numpy's stream changed; rebuild the fixtures")
            }
        }
        #expect(m.vision?.imageSeqLen == f.image_seq_len)
    }

    @Test(arguments: shapes)
    func matchesTransformers(_ shape: String) throws {
        let f = try Self.fixture(shape)
        #expect(f.cases.count >= 5)
        let m = try Self.loaded.get(shape)
        let vision = try #require(m.vision)
        let prompt = try #require(m.prompt)
        for c in f.cases {
            let label = "\(shape) / \(c.label)"
            func load(_ file: String) throws -> RGBImage {
                try ImageDecoder.load(path: FixturePaths.repoRoot + "/Tests/Fixtures/vision/images/" + file).image
            }
            var parts = c.images.map { ContentPart.image(path: $0) }
            var videos: [VideoClip] = []
            if let frames = c.video_frames, let stamps = c.timestamps, let duration = c.duration {
                parts.append(.video(path: "clip"))
                videos.append(VideoClip(frames: try frames.map(load), timestamps: stamps, duration: duration))
            }
            parts.append(.text(c.question))
            let text = try prompt.render([ChatMessage(role: "user", parts: parts)])
            #expect(text == c.text, "\(label): rendered prompt")
            let images = try c.images.map(load)
            let (expanded, tiles) = try vision.expand(prompt: text, images: images, videos: videos)
            #expect(tiles.map { ProcessorTestsDigest.fnv1a64(vision.processor.pixelValues($0)) } == c.tiles, "\(label): pixel values")
            let (ids, features, _, _) = try vision.prepare(prompt: text, images: images, videos: videos)
            #expect(ids == c.input_ids, "\(label): expanded prompt ids (\(ids.count) vs \(c.input_ids.count)): \(expanded.prefix(200))")
            let pixels = tiles.map(vision.processor.pixelValues)
            let encoded = try vision.encode(pixelValues: pixels)
            let perTile = vision.config.vision.patchesPerTile * vision.config.vision.hiddenSize
            Self.close(Array(encoded[0..<perTile]), c.vision_tile0, tol: 1e-4, "\(label): vision encoder tile 0")
            Self.close(features?.rows ?? [], c.connector, tol: 1e-4, "\(label): connector")

            let cache = m.model.makeCache(capacity: 4096)
            let logits = Array(try m.model.forward(ids, cache: cache, imageFeatures: features, eachPosition: nil))
            Self.close(logits, c.logits, tol: 1e-3, "\(label): last-position logits")
            let top5 = logits.indices.sorted { logits[$0] > logits[$1] }.prefix(5)
            #expect(Array(top5) == c.top5, "\(label): top-5")
            var greedy: [Int] = []
            var last = logits
            for _ in 0..<c.greedy.count {
                let next = last.indices.max { last[$0] < last[$1] }!
                greedy.append(next)
                last = Array(try m.model.forward([next], cache: cache, eachPosition: nil))
            }
            #expect(greedy == c.greedy, "\(label): greedy tokens")
        }
    }

    /// A padded tile with its pixel mask, through the vision tower: positions spread over the
    /// valid patches (transformers' bucketize) and padded patches masked out of attention.
    @Test(arguments: shapes)
    func paddedTilesMatchTransformers(_ shape: String) throws {
        let f = try Self.fixture(shape)
        let m = try Self.loaded.get(shape)
        let vision = try #require(m.vision)
        let c = try #require(f.cases.first { $0.label == f.padded.case })
        let images = try c.images.map { try ImageDecoder.load(path: FixturePaths.repoRoot + "/Tests/Fixtures/vision/images/" + $0).image }
        let prompt = try #require(m.prompt).render([ChatMessage(role: "user", parts: c.images.map { .image(path: $0) } + [.text(c.question)])])
        let tiles = try vision.expand(prompt: prompt, images: images).tiles
        let S = vision.config.vision.imageSize, rows = f.padded.valid_rows, cols = f.padded.valid_cols
        let full = vision.processor.pixelValues(tiles[0])
        var padded = vision.processor.pixelValues(tiles[1])
        var mask = [UInt8](repeating: 0, count: S * S)
        for y in 0..<S {
            for x in 0..<S {
                if y < rows && x < cols { mask[y * S + x] = 1 } else { for ch in 0..<3 { padded[ch * S * S + y * S + x] = 0 } }
            }
        }
        let out = try vision.encode(pixelValues: [full, padded], pixelAttentionMask: [[UInt8](repeating: 1, count: S * S), mask])
        let per = vision.config.vision.patchesPerTile * vision.config.vision.hiddenSize
        Self.close(Array(out[0..<per]), f.padded.full_tile, tol: 1e-4, "\(shape): full tile beside a padded one")
        Self.close(Array(out[per..<(2 * per)]), f.padded.padded_tile, tol: 1e-4, "\(shape): padded tile")
    }

    @Test func positionIdsOfFullTilesAreTheIdentity() {
        for (side, n) in [(9, 9), (16, 16), (27, 27), (32, 32)] {
            #expect(SigLIPEncoder.positionIds(mask: [Bool](repeating: true, count: side * side), side: side, perSide: n) == Array(0..<(side * side)))
        }
        // 8x8 grid with a valid 4x6 region: transformers gives rows [0,1,2,4,5,6,0,0], [16,17,18,20,21,22,0,0], ...
        var mask = [Bool](repeating: false, count: 64)
        for r in 0..<4 { for c in 0..<6 { mask[r * 8 + c] = true } }
        let ids = SigLIPEncoder.positionIds(mask: mask, side: 8, perSide: 8)
        #expect(Array(ids[0..<8]) == [0, 1, 2, 4, 5, 6, 0, 0])
        #expect(Array(ids[8..<16]) == [16, 17, 18, 20, 21, 22, 0, 0])
    }

    /// SmolVLM's template iterates content parts: plain-text messages are passed as one text
    /// part, or their text would vanish from the prompt.
    @Test func plainTextMessagesKeepTheirText() throws {
        let m = try Self.loaded.get("smolvlm-256m-shape")
        let text = try #require(m.prompt).render([.system("Be brief."), .user("Hello")])
        #expect(text == "<|im_start|>System: Be brief.<end_of_utterance>\nUser: Hello<end_of_utterance>\nAssistant:")
    }

    @Test func placeholderCountMustMatchImages() throws {
        let m = try Self.loaded.get("smolvlm-256m-shape")
        let vision = try #require(m.vision)
        let img = try RGBImage(width: 2, height: 2, pixels: [UInt8](repeating: 9, count: 12))
        #expect(throws: VisionError.placeholderMismatch(placeholders: 0, images: 1)) {
            _ = try vision.prepare(prompt: "no placeholder", images: [img])
        }
        #expect(throws: VisionError.placeholderMismatch(placeholders: 2, images: 1)) {
            _ = try vision.prepare(prompt: "<image><image>", images: [img])
        }
        // Features for fewer image tokens than the prompt holds are refused before running.
        let (ids, features, _, _) = try vision.prepare(prompt: "<image>", images: [img])
        let short = ImageFeatures(tokenId: features!.tokenId, hidden: features!.hidden, rows: Array(features!.rows.dropLast(features!.hidden)))
        #expect(throws: ModelError.imageTokenMismatch(tokens: ids.filter { $0 == features!.tokenId }.count, features: short.count)) {
            _ = try m.model.forward(ids, cache: m.model.makeCache(capacity: 2048), imageFeatures: short, eachPosition: nil)
        }
    }
}

/// The tile digest the vision fixtures use (64-bit FNV-1a of the float32 bytes).
enum ProcessorTestsDigest {
    static func fnv1a64(_ values: [Float]) -> String {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for v in values {
            var bits = v.bitPattern.littleEndian
            withUnsafeBytes(of: &bits) { for b in $0 { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 } }
        }
        let hex = String(h, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}

/// A cached prompt is reused past an image only for the same image (cache keys carry the image content).
@Suite(.serialized) struct ImagePrefixCacheTests {
    @Test func sameImageIsReusedAnotherImageIsNot() throws {
        let m = try VisionLanguageTests.loaded.get("smolvlm-256m-shape")
        let vision = try #require(m.vision)
        let prompt = try #require(m.prompt)
        let dir = FixturePaths.repoRoot + "/Tests/Fixtures/vision/images/"
        let a = try ImageDecoder.load(path: dir + "rgb_64x48.jpg").image
        let b = try ImageDecoder.load(path: dir + "rgb_33x17.png").image
        let text = try prompt.render([ChatMessage(role: "user", parts: [.image(path: "x"), .text("What is in the picture?")])])
        func request(_ img: RGBImage) throws -> GenerationRequest {
            let (ids, features, _, _) = try vision.prepare(prompt: text, images: [img], videos: [])
            var r = GenerationRequest(promptIds: ids, maxTokens: 6, sampling: SamplingParameters(), eosTokenIds: [])
            r.ignoreEOS = true
            r.imageFeatures = features
            return r
        }
        let ra = try request(a), rb = try request(b)
        let firstImage = try #require(ra.promptIds.firstIndex(of: vision.config.imageTokenId))
        let coldA = try m.generator.run(ra, cache: m.model.makeCache(capacity: 4096))
        let coldB = try m.generator.run(rb, cache: m.model.makeCache(capacity: 4096))
        let cache = m.model.makeCache(capacity: 4096)
        _ = try m.generator.run(ra, cache: cache)
        let warmA = try m.generator.run(ra, cache: cache)
        #expect(warmA.cachedPromptTokens == ra.promptIds.count - 1)
        #expect(warmA.tokens == coldA.tokens)
        let thenB = try m.generator.run(rb, cache: cache)
        #expect(thenB.cachedPromptTokens == firstImage)
        #expect(thenB.tokens == coldB.tokens)
        // Nothing from the image on goes to disk.
        #expect(savablePositions(cache, imageTokenId: vision.config.imageTokenId) == firstImage)
    }
}

/// SmolVLM's vision half from llama.cpp's mmproj files (Tests/Fixtures/gguf/*-mmproj-f32.gguf,
/// converted from the tiny folders by convert_hf_to_gguf.py --mmproj; scripts/make_mmproj_fixtures.py):
/// the same tower settings, image processor settings and, for the fixture prompts' images, the
/// same image features as the folder, to the bit (the same f32 values in the same kernels).
@Suite(.serialized) struct GGUFVisionTests {
    static func mmproj(_ shape: String) -> String { FixturePaths.repoRoot + "/Tests/Fixtures/gguf/\(shape)-mmproj-f32.gguf" }

    @Test(arguments: VisionLanguageTests.shapes)
    func mmprojGivesTheFoldersFeatures(_ shape: String) throws {
        let m = try VisionLanguageTests.loaded.get(shape)
        let folder = try #require(m.vision)
        let src = try GGUFVisionSource(path: Self.mmproj(shape))
        #expect(src.vision == folder.config.vision)
        #expect(src.scaleFactor == folder.config.scaleFactor)
        var want = folder.processor.config
        want.videoLongestEdge = src.processor.videoLongestEdge  // not in the mmproj keys; the tile size there
        #expect(src.processor == want)
        let gguf = try VisionLanguageModel(mmproj: src, text: m.config, threads: 2, dequantizeTo: .f32, ctx: m.model.ctx,
                                           tokenizer: m.tokenizer)
        #expect(gguf.config == folder.config)
        #expect(gguf.imageSeqLen == folder.imageSeqLen)
        let f = try VisionLanguageTests.fixture(shape)
        for c in f.cases where !c.images.isEmpty {
            let images = try c.images.map { try ImageDecoder.load(path: FixturePaths.repoRoot + "/Tests/Fixtures/vision/images/" + $0).image }
            let text = "<|im_start|>User:" + String(repeating: "<image>", count: images.count) + "What is this?<end_of_utterance>\nAssistant:"
            // Bits are compared: both at one kernel level, which tests walking the levels
            // (process-wide) must not change in between.
            let (a, b) = try ComputeContext.withISA(ComputeContext.bestISA) {
                (try folder.prepare(prompt: text, images: images), try gguf.prepare(prompt: text, images: images))
            }
            #expect(a.ids == b.ids, "\(shape) / \(c.label): ids")
            #expect(a.features?.rows == b.features?.rows, "\(shape) / \(c.label): image features differ")
        }
    }

    @Test func badProjectorFilesAreRefusedByName() throws {
        // A text model's GGUF is not a projector.
        #expect { try GGUFVisionSource(path: GGUFModelTests.dir + "/llama_tied_f32.gguf") } throws: {
            "\($0)".contains("general.architecture") && "\($0)".contains("mmproj")
        }
        // A folder carries its own vision weights.
        var o = SmolModel.LoadOptions.exactF32
        o.mmproj = Self.mmproj("smolvlm-256m-shape")
        #expect { try SmolModel(directory: FixturePaths.repoRoot + "/Models/smolvlm-256m-shape", options: o) } throws: {
            "\($0)".contains("--mmproj")
        }
    }
}
