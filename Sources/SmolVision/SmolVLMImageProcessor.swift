import Foundation
import SmolJSON

/// transformers' SmolVLM image processor (PIL path): resize so the longest edge is
/// `size.longest_edge`, resize up to multiples of `max_image_size.longest_edge`, split into a
/// rows x cols grid of tiles (row-major) plus the whole image resized to one tile, rescale and
/// normalise to float32 CHW. Every size computation follows the reference's float and integer
/// steps, so tiles are identical.
public struct SmolVLMImageProcessor: Sendable {
    public struct Config: Sendable, Equatable {
        public var longestEdge = 4 * 364
        public var tileSize = 364
        public var doImageSplitting = true
        public var doResize = true
        public var doRescale = true
        public var doNormalize = true
        public var rescaleFactor = 1.0 / 255.0
        public var mean: [Float] = [0.5, 0.5, 0.5]
        public var std: [Float] = [0.5, 0.5, 0.5]
        /// Never enlarge: the longest-edge resize stops at the image's own size. Off by
        /// default (the reference upscales small images to `longest_edge`, which costs up to
        /// 17 tiles of encoder time for a thumbnail).
        public var capUpscaling = false
        /// `video_sampling`: frames per second, frame budget and frame longest edge.
        public var videoFPS = 1.0
        public var videoMaxFrames = 64
        public var videoLongestEdge: Int? = nil
        public init() {}
    }

    /// One image's tiles and its grid (rows = cols = 0 when it was not split).
    public struct Split: Sendable {
        public var tiles: [RGBImage]
        public var rows: Int
        public var cols: Int
    }

    public var config: Config
    /// The reference never resizes past 4k.
    static let maxImageSize = 4096

    public init(config: Config) { self.config = config }

    // MARK: sizes (transformers' helpers, step by step)

    /// `_resize_output_size_rescale_to_max_len` then `_resize_output_size_scale_below_upper_bound`.
    static func longestEdgeSize(height: Int, width: Int, longestEdge: Int) -> (height: Int, width: Int) {
        var h = height, w = width
        let aspect = Double(w) / Double(h)
        if w >= h {
            w = longestEdge
            h = Int(Double(w) / aspect)
            if h % 2 != 0 { h += 1 }
        } else {
            h = longestEdge
            w = Int(Double(h) * aspect)
            if w % 2 != 0 { w += 1 }
        }
        h = max(h, 1)
        w = max(w, 1)
        let aspect2 = Double(w) / Double(h)
        if w >= h && w > maxImageSize {
            w = maxImageSize
            h = Int(Double(w) / aspect2)
        } else if h > w && h > maxImageSize {
            h = maxImageSize
            w = Int(Double(h) * aspect2)
        }
        return (max(h, 1), max(w, 1))
    }

    /// `resize_for_vision_encoder`: both sides up to multiples of the tile size.
    static func tileMultipleSize(height: Int, width: Int, tile: Int) -> (height: Int, width: Int) {
        var h = height, w = width
        let aspect = Double(w) / Double(h)
        func up(_ v: Double) -> Int { Int((v / Double(tile)).rounded(.up)) * tile }
        if w >= h {
            w = up(Double(w))
            h = Int(Double(w) / aspect)
            h = up(Double(h))
        } else {
            h = up(Double(h))
            w = Int(Double(h) * aspect)
            w = up(Double(w))
        }
        return (h, w)
    }

    // MARK: pipeline

    public func split(_ image: RGBImage) throws(VisionError) -> Split {
        var img = image
        if config.doResize {
            var edge = config.longestEdge
            if config.capUpscaling { edge = min(edge, max(img.width, img.height, config.tileSize)) }
            let s = Self.longestEdgeSize(height: img.height, width: img.width, longestEdge: edge)
            img = try img.resized(width: s.width, height: s.height)
        }
        let t = config.tileSize
        guard config.doImageSplitting else {
            return Split(tiles: [try img.resized(width: t, height: t)], rows: 0, cols: 0)
        }
        let s = Self.tileMultipleSize(height: img.height, width: img.width, tile: t)
        img = try img.resized(width: s.width, height: s.height)
        guard img.height > t || img.width > t else { return Split(tiles: [img], rows: 0, cols: 0) }
        let rows = (img.height - t) / t + 1, cols = (img.width - t) / t + 1
        var tiles: [RGBImage] = []
        for r in 0..<rows {
            for c in 0..<cols { tiles.append(img.cropped(x: c * t, y: r * t, width: t, height: t)) }
        }
        tiles.append(try img.resized(width: t, height: t))
        return Split(tiles: tiles, rows: rows, cols: cols)
    }

    /// A video frame: longest edge to the video size, then squashed to one tile (frames are
    /// never split).
    public func videoFrame(_ image: RGBImage) throws(VisionError) -> RGBImage {
        let edge = config.videoLongestEdge ?? config.tileSize
        let s = Self.longestEdgeSize(height: image.height, width: image.width, longestEdge: edge)
        return try image.resized(width: s.width, height: s.height).resized(width: config.tileSize, height: config.tileSize)
    }

    /// float32 CHW: u8 * rescale (in double, then float32), then (v - mean) / std in float32.
    public func pixelValues(_ tile: RGBImage) -> [Float] {
        let hw = tile.width * tile.height
        var out = [Float](repeating: 0, count: 3 * hw)
        let mean = config.mean, std = config.std
        for i in 0..<hw {
            for c in 0..<3 {
                var v = Float(tile.pixels[i * 3 + c])
                if config.doRescale { v = Float(Double(tile.pixels[i * 3 + c]) * config.rescaleFactor) }
                if config.doNormalize { v = (v - mean[c]) / std[c] }
                out[c * hw + i] = v
            }
        }
        return out
    }
}

extension SmolVLMImageProcessor {
    /// Several prompts' images as transformers batches them: per sample the tiles of all its
    /// images in order, padded with all-zero tiles up to the largest sample; the mask is 1 over
    /// real tiles and 0 over padding. (Every tile is tileSize x tileSize, so only the tile count
    /// is ever padded.) The runtime encodes one prompt at a time and needs no padding; this is
    /// the reference's `pixel_values` / `pixel_attention_mask` for tools and tests.
    public struct Batch: Sendable {
        public var samples: Int
        public var maxTiles: Int
        public var size: Int
        /// [samples, maxTiles, 3, size, size]
        public var pixelValues: [Float]
        /// [samples, maxTiles, size, size]
        public var pixelAttentionMask: [UInt8]
    }

    public func batch(_ samples: [[RGBImage]]) throws(VisionError) -> Batch {
        var tiles: [[RGBImage]] = []
        for images in samples {
            var t: [RGBImage] = []
            for image in images { t += try split(image).tiles }
            tiles.append(t)
        }
        let n = tiles.map(\.count).max() ?? 0, s = config.tileSize, per = 3 * s * s
        var pv = [Float](repeating: 0, count: samples.count * n * per)
        var mask = [UInt8](repeating: 0, count: samples.count * n * s * s)
        for (b, sample) in tiles.enumerated() {
            for (i, tile) in sample.enumerated() {
                let base = (b * n + i) * per
                for (j, v) in pixelValues(tile).enumerated() { pv[base + j] = v }
                let m = (b * n + i) * s * s
                for j in 0..<(s * s) { mask[m + j] = 1 }
            }
        }
        return Batch(samples: samples.count, maxTiles: n, size: s, pixelValues: pv, pixelAttentionMask: mask)
    }
}

extension SmolVLMImageProcessor.Config {
    /// Reads `preprocessor_config.json`, or the `image_processor` object nested in
    /// `processor_config.json`. Absent keys keep transformers' defaults.
    public init(json: JSONValue) throws(VisionError) {
        self.init()
        let root = json["image_processor"] ?? json
        func int(_ path: String, _ v: JSONValue?) throws(VisionError) -> Int? {
            guard let v else { return nil }
            guard case let .int(i) = v, i > 0, i <= 16384 else { throw .badConfig(field: path, reason: "expected a positive integer <= 16384") }
            return Int(i)
        }
        func bool(_ key: String) throws(VisionError) -> Bool? {
            guard let v = root[key] else { return nil }
            guard case let .bool(b) = v else { throw .badConfig(field: key, reason: "expected true or false") }
            return b
        }
        func floats(_ key: String) throws(VisionError) -> [Float]? {
            guard let v = root[key] else { return nil }
            let items: [JSONValue]
            switch v {
            case let .array(a): items = a
            case .int, .double: items = [v, v, v]
            default: throw .badConfig(field: key, reason: "expected a number or 3 numbers")
            }
            var out: [Float] = []
            for item in items {
                switch item {
                case let .int(i): out.append(Float(i))
                case let .double(d): out.append(Float(d))
                default: throw .badConfig(field: key, reason: "expected numbers")
                }
            }
            guard out.count == 3 else { throw .badConfig(field: key, reason: "expected 3 values, got \(out.count)") }
            return out
        }
        if let v = try int("size.longest_edge", root["size"]?["longest_edge"]) { longestEdge = v }
        if let v = try int("max_image_size.longest_edge", root["max_image_size"]?["longest_edge"]) { tileSize = v }
        if let v = try bool("do_image_splitting") { doImageSplitting = v }
        if let v = try bool("do_resize") { doResize = v }
        if let v = try bool("do_rescale") { doRescale = v }
        if let v = try bool("do_normalize") { doNormalize = v }
        if let v = root["rescale_factor"] {
            switch v {
            case let .double(d) where d > 0: rescaleFactor = d
            case let .int(i) where i > 0: rescaleFactor = Double(i)
            default: throw .badConfig(field: "rescale_factor", reason: "expected a positive number")
            }
        }
        if let v = try floats("image_mean") { mean = v }
        if let v = try floats("image_std") {
            guard v.allSatisfy({ $0 != 0 && $0.isFinite }) else { throw .badConfig(field: "image_std", reason: "must be finite and non-zero") }
            std = v
        }
        if let vs = root["video_sampling"] {
            switch vs["fps"] {
            case nil: break
            case let .int(i)? where i > 0: videoFPS = Double(i)
            case let .double(d)? where d > 0 && d.isFinite: videoFPS = d
            default: throw .badConfig(field: "video_sampling.fps", reason: "expected a positive number")
            }
            if let v = try int("video_sampling.max_frames", vs["max_frames"]) { videoMaxFrames = v }
            if let v = try int("video_sampling.video_size.longest_edge", vs["video_size"]?["longest_edge"]) { videoLongestEdge = v }
        }
        if let r = root["resample"], r != .int(1) {
            throw .badConfig(field: "resample", reason: "only 1 (Lanczos, the SmolVLM default) is supported, got \(r.serialized)")
        }
    }
}
