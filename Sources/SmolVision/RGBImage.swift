import CSmolKernels

/// An 8-bit RGB image, rows top to bottom, pixels interleaved (HWC), as PIL's "RGB" mode.
public struct RGBImage: Sendable, Equatable {
    public let width: Int
    public let height: Int
    public var pixels: [UInt8]

    public init(width: Int, height: Int, pixels: [UInt8]) throws(VisionError) {
        guard width > 0, height > 0 else { throw .badSize("image is \(width)x\(height)") }
        let (row, o1) = height.multipliedReportingOverflow(by: 3)
        let (n, o2) = width.multipliedReportingOverflow(by: row)
        guard !o1, !o2 else { throw .badSize("\(width)x\(height) is too large") }
        guard pixels.count == n else { throw .badSize("\(width)x\(height) RGB needs \(n) bytes, got \(pixels.count)") }
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// Lanczos resize with Pillow's 8-bit arithmetic (what transformers' PIL path does).
    public func resized(width w: Int, height h: Int) throws(VisionError) -> RGBImage {
        guard w > 0, h > 0 else { throw .badSize("cannot resize to \(w)x\(h)") }
        if w == width && h == height { return self }
        var out = [UInt8](repeating: 0, count: w * h * 3)
        let rc = pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                smol_resize_lanczos_u8(src.baseAddress, width, height, 3, dst.baseAddress, w, h)
            }
        }
        guard rc == 0 else { throw .outOfMemory("resizing \(width)x\(height) to \(w)x\(h)") }
        return RGBImage(validated: w, h, out)
    }

    /// The `w` x `h` region at (`x`, `y`), which must lie inside the image.
    public func cropped(x: Int, y: Int, width w: Int, height h: Int) -> RGBImage {
        var out = [UInt8]()
        out.reserveCapacity(w * h * 3)
        for row in y..<(y + h) {
            let start = (row * width + x) * 3
            out.append(contentsOf: pixels[start..<(start + w * 3)])
        }
        return RGBImage(validated: w, h, out)
    }

    /// For sizes this module computed itself (resize, crop, EXIF orientation).
    init(validated w: Int, _ h: Int, _ pixels: [UInt8]) {
        width = w
        height = h
        self.pixels = pixels
    }
}

public enum VisionError: Error, CustomStringConvertible, Equatable {
    case badSize(String)
    case outOfMemory(String)
    case badConfig(field: String, reason: String)
    case placeholderMismatch(placeholders: Int, images: Int)
    case videoPlaceholderMismatch(placeholders: Int, videos: Int)

    public var description: String {
        switch self {
        case let .badSize(s): return "image size: \(s)"
        case let .outOfMemory(s): return "out of memory \(s)"
        case let .badConfig(f, r): return "image processor config: \(f): \(r)"
        case let .placeholderMismatch(p, i): return "the prompt has \(p) <image> placeholders for \(i) images"
        case let .videoPlaceholderMismatch(p, v): return "the prompt has \(p) <video> placeholders for \(v) videos"
        }
    }
}
