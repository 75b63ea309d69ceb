import CSmolImage
import Foundation

/// Ceilings for untrusted image files, checked before anything is decoded.
public struct ImageLimits: Sendable, Equatable {
    public var maxFileBytes = 256 << 20
    public var maxWidth = 32768
    public var maxHeight = 32768
    /// 64 Mpixel: a 192 MB RGB buffer. Pillow's own bomb guard refuses above ~179 Mpixel.
    public var maxPixels = 64 << 20
    public init() {}
}

public enum ImageFormat: String, Sendable { case png, jpeg }

/// Why an image file could not be used. Each names the file.
public enum ImageError: Error, CustomStringConvertible, Equatable {
    case notFound(String)
    case isDirectory(String)
    case unreadable(String, reason: String)
    case empty(String)
    case fileTooLarge(String, bytes: Int, limit: Int)
    case unknownFormat(String)
    case zeroSize(String, detail: String)
    case tooLarge(String, detail: String)
    case truncated(String, detail: String)
    case corrupt(String, detail: String)
    case outOfMemory(String)

    public var description: String {
        switch self {
        case let .notFound(f): return "\(f): no such image file"
        case let .isDirectory(f): return "\(f): is a directory, not an image file"
        case let .unreadable(f, r): return "\(f): cannot read image file: \(r)"
        case let .empty(f): return "\(f): image file is empty"
        case let .fileTooLarge(f, b, l): return "\(f): image file is \(b) bytes; the limit is \(l)"
        case let .unknownFormat(f): return "\(f): not a PNG or JPEG image (only those formats are supported)"
        case let .zeroSize(f, d): return "\(f): image has no pixels (\(d))"
        case let .tooLarge(f, d): return "\(f): image dimensions too large: \(d)"
        case let .truncated(f, d): return "\(f): image file is truncated (\(d))"
        case let .corrupt(f, d): return "\(f): corrupt image data (\(d))"
        case let .outOfMemory(f): return "\(f): out of memory decoding the image"
        }
    }
}

/// A decoded image and what it was before conversion to RGB.
public struct DecodedImage: Sendable {
    public var image: RGBImage
    public var format: ImageFormat
    /// Colour model as stored: "gray", "gray+alpha", "palette", "rgb", "rgba", "cmyk", "ycck", "ycbcr".
    public var sourceMode: String
    public var bitDepth: Int
    /// EXIF orientation found in the file (1 = upright); already applied to `image`.
    public var orientation: Int
}

/// PNG and JPEG files to RGB, the way transformers' `load_image` reads them: EXIF orientation
/// applied (`ImageOps.exif_transpose`), then Pillow's `convert("RGB")`: alpha is dropped
/// (colour kept as stored, no compositing), palettes expanded, gray replicated, 16-bit colour
/// keeps the high byte, 16-bit gray clips at 255 (Pillow's "I;16" conversion), and CMYK JPEGs
/// are read Adobe-inverted.
public enum ImageDecoder {
    public static func load(path: String, limits: ImageLimits = .init()) throws(ImageError) -> DecodedImage {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else { throw .notFound(path) }
        guard !isDir.boolValue else { throw .isDirectory(path) }
        let size: Int
        do {
            let attrs = try FileManager.default.attributesOfItem(atPath: path)
            size = (attrs[.size] as? NSNumber)?.intValue ?? 0
        } catch {
            throw .unreadable(path, reason: "\(error.localizedDescription)")
        }
        guard size <= limits.maxFileBytes else { throw .fileTooLarge(path, bytes: size, limit: limits.maxFileBytes) }
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw .unreadable(path, reason: "\(error.localizedDescription)")
        }
        return try decode(data, name: path, limits: limits)
    }

    /// `name` labels errors (a file name, or "image 2 of the request").
    public static func decode(_ data: Data, name: String, limits: ImageLimits = .init()) throws(ImageError) -> DecodedImage {
        guard !data.isEmpty else { throw .empty(name) }
        guard data.count <= limits.maxFileBytes else { throw .fileTooLarge(name, bytes: data.count, limit: limits.maxFileBytes) }
        var lim = smol_image_limits(max_width: limits.maxWidth, max_height: limits.maxHeight, max_pixels: limits.maxPixels)
        var img = smol_image()
        let rc = data.withUnsafeBytes { raw in
            smol_image_decode(raw.bindMemory(to: UInt8.self).baseAddress, raw.count, &lim, &img)
        }
        defer { smol_image_free(&img) }
        let detail = message(&img)
        switch Int(rc) {
        case SMOL_IMG_OK: break
        case SMOL_IMG_UNKNOWN_FORMAT: throw .unknownFormat(name)
        case SMOL_IMG_ZERO_SIZE: throw .zeroSize(name, detail: detail)
        case SMOL_IMG_TOO_LARGE: throw .tooLarge(name, detail: detail)
        case SMOL_IMG_TRUNCATED: throw .truncated(name, detail: detail)
        case SMOL_IMG_NO_MEMORY: throw .outOfMemory(name)
        default: throw .corrupt(name, detail: detail)
        }
        let w = img.width, h = img.height
        let pixels = [UInt8](UnsafeBufferPointer(start: img.pixels, count: w * h * 3))
        let rgb: RGBImage
        do { rgb = try RGBImage(width: w, height: h, pixels: pixels) } catch { throw .corrupt(name, detail: "\(error)") }
        return DecodedImage(
            image: rgb.oriented(exif: Int(img.orientation)),
            format: Int(img.format) == SMOL_IMG_PNG ? .png : .jpeg,
            sourceMode: String(cString: smol_image_mode_name(img.source_mode)),
            bitDepth: Int(img.bit_depth),
            orientation: Int(img.orientation))
    }

    private static func message(_ img: inout smol_image) -> String {
        withUnsafeBytes(of: &img.message) { raw in
            String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
        }
    }
}

extension RGBImage {
    /// The upright image for an EXIF orientation, as Pillow's `ImageOps.exif_transpose`.
    public func oriented(exif orientation: Int) -> RGBImage {
        let w = width, h = height
        // Source pixel for destination (x, y) in a dw x dh result.
        let map: ((Int, Int) -> (Int, Int))?
        var dw = w, dh = h
        switch orientation {
        case 2: map = { x, y in (w - 1 - x, y) }                          // mirror
        case 3: map = { x, y in (w - 1 - x, h - 1 - y) }                  // 180
        case 4: map = { x, y in (x, h - 1 - y) }                          // flip
        case 5: dw = h; dh = w; map = { x, y in (y, x) }                  // transpose
        case 6: dw = h; dh = w; map = { x, y in (y, h - 1 - x) }          // 90 clockwise
        case 7: dw = h; dh = w; map = { x, y in (w - 1 - y, h - 1 - x) }  // transverse
        case 8: dw = h; dh = w; map = { x, y in (w - 1 - y, x) }          // 90 counter-clockwise
        default: map = nil
        }
        guard let map else { return self }
        var out = [UInt8](repeating: 0, count: dw * dh * 3)
        pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for y in 0..<dh {
                    for x in 0..<dw {
                        let (sx, sy) = map(x, y)
                        let s = (sy * w + sx) * 3, d = (y * dw + x) * 3
                        dst[d] = src[s]; dst[d + 1] = src[s + 1]; dst[d + 2] = src[s + 2]
                    }
                }
            }
        }
        return RGBImage(validated: dw, dh, out)
    }
}
