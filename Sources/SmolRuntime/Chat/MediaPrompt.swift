import Foundation
import SmolVision

/// Where images may come from and how large they may be.
public struct MediaOptions: Sendable {
    /// Local file paths in image parts. Servers turn this off: a client must not make the
    /// server read its files. Base64 `data:` URIs are always accepted.
    public var allowLocalFiles = true
    public var limits = ImageLimits()
    /// Images per prompt (each costs up to 17 tiles of encoder time).
    public var maxImages = 32
    /// Video sampling (frames from a file need the ffmpeg CLI).
    public var video = VideoOptions()
    public init() {}
}

/// A prompt ready to run: token ids and, for images, the rows that replace their tokens.
public struct PreparedPrompt: Sendable {
    public var ids: [Int]
    public var features: ImageFeatures?
    /// The prompt text after `<image>` expansion.
    public var text: String
    public var images: Int
    public var tiles: Int
    public var encodeSeconds: Double
}

public enum MediaError: Error, CustomStringConvertible, Equatable {
    case textOnlyModel(modelType: String)
    case tooManyImages(count: Int, limit: Int)
    case localFilesNotAllowed(String)
    case remoteURL(String)
    case badDataURI(String)

    public var description: String {
        switch self {
        case let .textOnlyModel(t): return "this model (\(t)) reads text only; images and video need a vision model such as SmolVLM2"
        case let .tooManyImages(n, l): return "\(n) images in one prompt; the limit is \(l)"
        case let .localFilesNotAllowed(p): return "\(p): local image paths are not accepted here; send the image as a base64 data URI"
        case let .remoteURL(u): return "\(u.prefix(80)): remote image URLs are not fetched; download the image and pass a file or a data URI"
        case let .badDataURI(why): return "image data URI: \(why)"
        }
    }
}

extension SmolModel {
    /// Decodes an image part: a file path, or a `data:image/...;base64,` URI.
    public static func loadImage(_ source: String, media: MediaOptions = .init(), label: String? = nil) throws -> RGBImage {
        if source.hasPrefix("http://") || source.hasPrefix("https://") { throw MediaError.remoteURL(source) }
        if source.hasPrefix("data:") {
            guard let comma = source.firstIndex(of: ","), source[..<comma].hasSuffix(";base64") else {
                throw MediaError.badDataURI("expected data:image/png;base64,... or data:image/jpeg;base64,...")
            }
            guard let data = Data(base64Encoded: String(source[source.index(after: comma)...]), options: .ignoreUnknownCharacters) else {
                throw MediaError.badDataURI("the base64 payload does not decode")
            }
            return try ImageDecoder.decode(data, name: label ?? "image data URI", limits: media.limits).image
        }
        let path = source.hasPrefix("file://") ? String(source.dropFirst(7)) : source
        guard media.allowLocalFiles else { throw MediaError.localFilesNotAllowed(path) }
        return try ImageDecoder.load(path: path, limits: media.limits).image
    }

    /// Images of the image parts, in conversation order.
    public func loadImages(_ messages: [ChatMessage], media: MediaOptions = .init()) throws -> [RGBImage] {
        var sources: [String] = []
        for m in messages {
            for p in m.parts ?? [] { if case let .image(s) = p { sources.append(s) } }
        }
        guard sources.count <= media.maxImages else { throw MediaError.tooManyImages(count: sources.count, limit: media.maxImages) }
        return try sources.enumerated().map { i, s in
            try Self.loadImage(s, media: media, label: "image \(i + 1) of \(sources.count)")
        }
    }

    /// Clips of the video parts, in conversation order: a folder of frame images, or a video
    /// file read through ffmpeg; sampled with the folder's video_sampling unless overridden.
    public func loadVideos(_ messages: [ChatMessage], media: MediaOptions = .init()) throws -> [VideoClip] {
        var sources: [String] = []
        for m in messages {
            for p in m.parts ?? [] { if case let .video(s) = p { sources.append(s) } }
        }
        guard !sources.isEmpty else { return [] }
        guard let vision else { throw MediaError.textOnlyModel(modelType: config.modelType) }
        let fps = media.video.fps ?? vision.processor.config.videoFPS
        let maxFrames = media.video.maxFrames ?? vision.processor.config.videoMaxFrames
        return try sources.map { s in
            if s.hasPrefix("http://") || s.hasPrefix("https://") { throw MediaError.remoteURL(s) }
            guard media.allowLocalFiles else { throw MediaError.localFilesNotAllowed(s) }
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: s, isDirectory: &isDir), isDir.boolValue {
                return try SmolVLMVideo.loadFrames(try SmolVLMVideo.frameFiles(inFolder: s), label: s, fps: fps,
                                                   maxFrames: maxFrames, options: media.video)
            }
            return try SmolVLMVideo.loadVideo(path: s, fps: fps, maxFrames: maxFrames, options: media.video)
        }
    }

    /// Token ids for a rendered prompt, with every `<image>` placeholder expanded and its
    /// features computed (SmolVLM); plain tokenization when there are no images.
    public func prepare(text: String, images: [RGBImage], videos: [VideoClip] = [], addSpecialTokens: Bool = false) throws -> PreparedPrompt {
        guard !images.isEmpty || !videos.isEmpty else {
            return PreparedPrompt(ids: try tokenizer.encode(text, addSpecialTokens: addSpecialTokens), features: nil,
                                  text: text, images: 0, tiles: 0, encodeSeconds: 0)
        }
        guard let vision else { throw MediaError.textOnlyModel(modelType: config.modelType) }
        let t0 = Date()
        let p = try vision.prepare(prompt: text, images: images, videos: videos)
        return PreparedPrompt(ids: p.ids, features: p.features, text: p.text, images: images.count, tiles: p.tiles,
                              encodeSeconds: Date().timeIntervalSince(t0))
    }
}
