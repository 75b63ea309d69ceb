import Foundation
import SmolJSON
import Testing
@testable import SmolVision

/// SmolVLMImageProcessor against transformers' SmolVLM image processor (PIL path), per tile:
/// the grid, the tile count and every float32 of every tile (64-bit FNV-1a of the bytes).
/// Goldens: scripts/make_vlm_tile_fixtures.py.
@Suite struct ProcessorTests {
    struct Case: Decodable {
        let cfg: String
        let w, h, rows, cols: Int
        let shape: [Int]
        let tiles: [String]
    }

    struct BatchFixture: Decodable {
        let samples: [[[Int]]]
        let shape, mask_shape: [Int]
        let tiles: [[String]]
        let mask_sums: [[Int]]
    }
    struct Fixture: Decodable { let generator: String; let cases: [Case]; let batch: BatchFixture }

    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func pattern(_ w: Int, _ h: Int) throws -> RGBImage {
        var px = [UInt8]()
        px.reserveCapacity(w * h * 3)
        for y in 0..<h {
            for x in 0..<w {
                for c in 0..<3 { px.append(UInt8((x * 37 + y * 101 + c * 59 + ((x * y) % 13) * 17) % 256)) }
            }
        }
        return try RGBImage(width: w, height: h, pixels: px)
    }

    static func fnv1a64(_ values: [Float]) -> String {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for v in values {
            var bits = v.bitPattern.littleEndian
            withUnsafeBytes(of: &bits) { for b in $0 { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 } }
        }
        let hex = String(h, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }

    static func config(_ name: String) -> SmolVLMImageProcessor.Config {
        var c = SmolVLMImageProcessor.Config()
        switch name {
        case "B": c.longestEdge = 2048; c.tileSize = 512
        default: c.longestEdge = 1536; c.tileSize = 384
        }
        c.doImageSplitting = name != "A0"
        return c
    }

    @Test func tilesMatchTransformers() throws {
        let url = Self.root.appendingPathComponent("Tests/Fixtures/vision/smolvlm_tiles.json")
        let cases = try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url)).cases
        #expect(cases.count == 6)
        for c in cases {
            let p = SmolVLMImageProcessor(config: Self.config(c.cfg))
            let split = try p.split(try Self.pattern(c.w, c.h))
            let label = "\(c.cfg) \(c.w)x\(c.h)"
            #expect(split.rows == c.rows && split.cols == c.cols, "\(label): grid \(split.rows)x\(split.cols)")
            #expect(split.tiles.count == c.shape[0], "\(label): tiles")
            for (i, tile) in split.tiles.enumerated() where i < c.tiles.count {
                #expect(tile.width == c.shape[3] && tile.height == c.shape[2], "\(label) tile \(i) size")
                #expect(Self.fnv1a64(p.pixelValues(tile)) == c.tiles[i], "\(label) tile \(i)")
            }
        }
    }
}

@Suite struct ProcessorConfigTests {
    @Test func readsBothConfigForms() throws {
        let flat = try JSONValue(parsing: #"{"size": {"longest_edge": 2048}, "max_image_size": {"longest_edge": 512}, "resample": 1, "image_mean": [0.5, 0.5, 0.5], "image_std": 0.5, "do_image_splitting": false}"#)
        let c = try SmolVLMImageProcessor.Config(json: flat)
        #expect(c.longestEdge == 2048 && c.tileSize == 512 && !c.doImageSplitting && c.std == [0.5, 0.5, 0.5])
        let nested = try JSONValue(parsing: #"{"image_processor": {"max_image_size": {"longest_edge": 384}}}"#)
        #expect(try SmolVLMImageProcessor.Config(json: nested).tileSize == 384)
    }

    @Test func badValuesNameTheField() throws {
        func field(_ s: String) throws -> String? {
            do { _ = try SmolVLMImageProcessor.Config(json: try JSONValue(parsing: s)); return nil } catch let e as VisionError {
                if case let .badConfig(f, _) = e { return f }
                return "\(e)"
            }
        }
        #expect(try field(#"{"resample": 3}"#) == "resample")
        #expect(try field(#"{"image_std": [0.5, 0, 0.5]}"#) == "image_std")
        #expect(try field(#"{"image_mean": [0.5, 0.5]}"#) == "image_mean")
        #expect(try field(#"{"max_image_size": {"longest_edge": -4}}"#) == "max_image_size.longest_edge")
        #expect(try field(#"{"size": {"longest_edge": 99999999}}"#) == "size.longest_edge")
        #expect(try field(#"{"do_image_splitting": "yes"}"#) == "do_image_splitting")
    }

    @Test func refusesBadImages() {
        #expect(throws: VisionError.self) { try RGBImage(width: 0, height: 3, pixels: []) }
        #expect(throws: VisionError.self) { try RGBImage(width: 2, height: 2, pixels: [1, 2, 3]) }
        #expect(throws: VisionError.self) { try RGBImage(width: Int.max / 2, height: 4, pixels: []) }
    }

    /// Two samples with different tile counts: zero tiles and a zero mask pad the shorter one.
    @Test func batchPadsLikeTransformers() throws {
        let url = ProcessorTests.root.appendingPathComponent("Tests/Fixtures/vision/smolvlm_tiles.json")
        let f = try JSONDecoder().decode(ProcessorTests.Fixture.self, from: Data(contentsOf: url)).batch
        let p = SmolVLMImageProcessor(config: ProcessorTests.config("A"))
        let b = try p.batch(try f.samples.map { try $0.map { try ProcessorTests.pattern($0[0], $0[1]) } })
        #expect([b.samples, b.maxTiles, 3, b.size, b.size] == f.shape)
        let per = 3 * b.size * b.size, area = b.size * b.size
        for s in 0..<b.samples {
            for t in 0..<b.maxTiles {
                let start = (s * b.maxTiles + t) * per
                #expect(ProcessorTests.fnv1a64(Array(b.pixelValues[start..<(start + per)])) == f.tiles[s][t], "sample \(s) tile \(t)")
                let m = (s * b.maxTiles + t) * area
                #expect(b.pixelAttentionMask[m..<(m + area)].reduce(0) { $0 + Int($1) } == f.mask_sums[s][t])
            }
        }
    }
}
