import Foundation
import Testing
@testable import SmolVision

/// PNG/JPEG decoding against transformers' `load_image` (Pillow 12.2: EXIF transpose, then
/// convert("RGB")): every RGB byte of every fixture image, plus the processor's tiles for some.
/// Bad files each give their own error. Fixtures: scripts/make_image_fixtures.py.
@Suite struct DecoderTests {
    struct Case: Decodable { let file, mode: String; let w, h: Int; let rgb: String; let tiles: [String]? }
    struct Bad: Decodable { let file, error: String }
    struct Fixture: Decodable { let cases: [Case]; let bad: [Bad] }

    static let dir = ProcessorTests.root.appendingPathComponent("Tests/Fixtures/vision/images").path
    static let fixture: Fixture = {
        let url = ProcessorTests.root.appendingPathComponent("Tests/Fixtures/vision/decoded_images.json")
        return try! JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url))
    }()

    static func fnv1a64(_ bytes: [UInt8]) -> String {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for b in bytes { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
        let hex = String(h, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }

    @Test func coversEveryFormat() {
        let modes = Set(Self.fixture.cases.map(\.mode))
        #expect(modes.isSuperset(of: ["RGB", "L", "LA", "RGBA", "P", "I;16", "1", "CMYK"]))
        #expect(Self.fixture.cases.count >= 30)
    }

    @Test(arguments: fixture.cases.map(\.file))
    func decodesLikePillow(_ file: String) throws {
        let c = Self.fixture.cases.first { $0.file == file }!
        let d = try ImageDecoder.load(path: Self.dir + "/" + file)
        #expect(d.image.width == c.w && d.image.height == c.h, "\(file): \(d.image.width)x\(d.image.height)")
        #expect(Self.fnv1a64(d.image.pixels) == c.rgb, "\(file) (\(d.sourceMode), \(d.bitDepth)-bit)")
        if let tiles = c.tiles {
            var cfg = SmolVLMImageProcessor.Config()
            cfg.longestEdge = 1536
            cfg.tileSize = 384
            let p = SmolVLMImageProcessor(config: cfg)
            let split = try p.split(d.image)
            #expect(split.tiles.map { ProcessorTests.fnv1a64(p.pixelValues($0)) } == tiles, "\(file) tiles")
        }
    }

    @Test(arguments: fixture.bad.map(\.file))
    func refusesBadFile(_ file: String) {
        let b = Self.fixture.bad.first { $0.file == file }!
        let path = Self.dir + "/" + file
        do {
            _ = try ImageDecoder.load(path: path)
            Issue.record("\(file) decoded")
        } catch {
            let kind: String
            switch error {
            case .truncated: kind = "truncated"
            case .tooLarge: kind = "tooLarge"
            case .zeroSize: kind = "zeroSize"
            case .corrupt: kind = "corrupt"
            case .unknownFormat: kind = "unknownFormat"
            case .empty: kind = "empty"
            default: kind = "\(error)"
            }
            #expect(kind == b.error, "\(file): \(error)")
            #expect(error.description.contains(path), "error names the file: \(error)")
        }
    }

    @Test func directoryAndMissingFile() {
        #expect(throws: ImageError.isDirectory(Self.dir)) { try ImageDecoder.load(path: Self.dir) }
        #expect(throws: ImageError.notFound(Self.dir + "/nope.png")) { try ImageDecoder.load(path: Self.dir + "/nope.png") }
    }

    @Test func limitsComeFromTheHeaderBeforeDecoding() throws {
        var lim = ImageLimits()
        lim.maxWidth = 32
        #expect(throws: ImageError.self) { try ImageDecoder.load(path: Self.dir + "/rgb_33x17.png", limits: lim) }
        lim = ImageLimits()
        lim.maxPixels = 64 * 48 - 1
        do {
            _ = try ImageDecoder.load(path: Self.dir + "/rgb_64x48.jpg", limits: lim)
            Issue.record("limit ignored")
        } catch {
            guard case let .tooLarge(_, detail) = error else { Issue.record("\(error)"); return }
            #expect(detail.contains("64x48"))
        }
        lim = ImageLimits()
        lim.maxFileBytes = 100
        let size = try Data(contentsOf: URL(fileURLWithPath: Self.dir + "/rgb_64x48.jpg")).count
        #expect(throws: ImageError.fileTooLarge(Self.dir + "/rgb_64x48.jpg", bytes: size, limit: 100)) {
            try ImageDecoder.load(path: Self.dir + "/rgb_64x48.jpg", limits: lim)
        }
    }

    /// Every prefix of a file is refused (never a partial image), and never crashes.
    @Test func everyTruncationIsAnError() throws {
        for file in ["rgb_interlaced_37x29.png", "rgb_progressive_50x30.jpg", "cmyk_26x18.jpg"] {
            let data = try Data(contentsOf: URL(fileURLWithPath: Self.dir + "/" + file))
            for cut in stride(from: 0, to: data.count - 1, by: max(1, data.count / 97)) {
                #expect(throws: ImageError.self, "\(file) cut at \(cut)") {
                    try ImageDecoder.decode(data.prefix(cut), name: file)
                }
            }
        }
    }
}
