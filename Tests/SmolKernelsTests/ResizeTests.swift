import CSmolKernels
import Foundation
import Testing

/// smol_resize_lanczos_u8 against Pillow's Image.resize(LANCZOS) (scripts/make_resize_fixtures.py):
/// every output byte must be identical, for up- and downscaling, one-pass and two-pass resizes,
/// a single pixel, extreme aspect ratios and hard edges that overshoot and clip.
@Suite struct ResizeTests {
    struct Case: Decodable {
        let pattern: String
        let width, height, out_width, out_height: Int
        let fnv1a64: String
        let bytes_b64: String?
    }
    struct Fixture: Decodable { let generator: String; let cases: [Case] }

    static let fixture: Fixture = {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let url = root.appendingPathComponent("Tests/Fixtures/vision/resize_lanczos.json")
        do { return try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url)) } catch {
            return Fixture(generator: "missing: \(error)", cases: [])
        }
    }()

    /// The same formula as the fixture script.
    static func pattern(_ kind: String, _ w: Int, _ h: Int) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(w * h * 3)
        for y in 0..<h {
            for x in 0..<w {
                for c in 0..<3 {
                    if kind == "smooth" {
                        out.append(UInt8((x * 37 + y * 101 + c * 59 + ((x * y) % 13) * 17) % 256))
                    } else {
                        out.append(((x / 8) + (y / 8) + c) % 2 == 1 ? 255 : 0)
                    }
                }
            }
        }
        return out
    }

    static func fnv1a64(_ bytes: [UInt8]) -> String {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for b in bytes { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
        let hex = String(h, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }

    @Test func matchesPillowByteForByte() {
        #expect(Self.fixture.cases.count == 12, "\(Self.fixture.generator)")
        for c in Self.fixture.cases {
            let src = Self.pattern(c.pattern, c.width, c.height)
            var dst = [UInt8](repeating: 0, count: c.out_width * c.out_height * 3)
            let rc = smol_resize_lanczos_u8(src, c.width, c.height, 3, &dst, c.out_width, c.out_height)
            let label = "\(c.pattern) \(c.width)x\(c.height) -> \(c.out_width)x\(c.out_height)"
            #expect(rc == 0, "\(label)")
            if let b64 = c.bytes_b64, let want = Data(base64Encoded: b64) {
                let diff = zip(dst, want).enumerated().first { $0.element.0 != $0.element.1 }
                #expect(diff == nil, "\(label): first difference at byte \(diff?.offset ?? -1): \(diff.map { "\($0.element.0) vs \($0.element.1)" } ?? "")")
            }
            #expect(Self.fnv1a64(dst) == c.fnv1a64, "\(label)")
        }
    }

    @Test func refusesEmptySizes() {
        var dst = [UInt8](repeating: 0, count: 4)
        let src = [UInt8](repeating: 1, count: 4)
        #expect(smol_resize_lanczos_u8(src, 0, 1, 3, &dst, 1, 1) == -1)
        #expect(smol_resize_lanczos_u8(src, 1, 1, 3, &dst, 0, 1) == -1)
        #expect(smol_resize_lanczos_u8(src, 1, 1, 5, &dst, 1, 1) == -1)
    }
}
