import Foundation

/// Frames chosen from a video, with their times.
public struct VideoClip: Sendable {
    public var frames: [RGBImage]
    /// Seconds from the start, one per frame.
    public var timestamps: [Double]
    /// Length of the whole video in seconds.
    public var duration: Double
    public init(frames: [RGBImage], timestamps: [Double], duration: Double) {
        self.frames = frames
        self.timestamps = timestamps
        self.duration = duration
    }
}

/// How frames are sampled (SmolVLM2's `video_sampling`: fps 1, at most 64 frames).
public struct VideoOptions: Sendable, Equatable {
    public var fps: Double? = nil
    public var maxFrames: Int? = nil
    /// Frame rate assumed for a folder or list of frame images (one frame per second).
    public var framesFolderFPS = 1.0
    public var limits = ImageLimits()
    /// Where to look for ffmpeg/ffprobe (default: $PATH).
    public var toolSearchPath: String? = nil
    public init() {}
}

public enum VideoError: Error, CustomStringConvertible, Equatable {
    case notFound(String)
    case ffmpegMissing
    case ffmpegFailed(String, String)
    case noFrames(String)
    case badMetadata(String, String)

    public var description: String {
        switch self {
        case let .notFound(f): return "\(f): no such video file or folder"
        case .ffmpegMissing:
            return "reading video files needs the ffmpeg command-line tools (Debian: apt-get install ffmpeg); or pass the frames as images with --frames DIR"
        case let .ffmpegFailed(f, e): return "\(f): ffmpeg failed: \(e)"
        case let .noFrames(f): return "\(f): no frames (a folder needs .png or .jpg files)"
        case let .badMetadata(f, e): return "\(f): cannot read the video's frame count and rate: \(e)"
        }
    }
}

/// SmolVLM2's video sampling and prompt, as transformers' SmolVLMVideoProcessor and
/// SmolVLMProcessor write them.
public enum SmolVLMVideo {
    /// Frame indices: about `fps` frames per second, at most `maxFrames`, evenly spread
    /// (truncated, deduplicated), skipping the first and last second of long videos.
    public static func sampleIndices(totalFrames: Int, videoFPS: Double, fps: Double, maxFrames: Int) -> [Int] {
        guard totalFrames > 0 else { return [] }
        let duration = Double(totalFrames) / videoFPS
        let estimated = Int((fps * duration).rounded(.toNearestOrEven))
        let desired = max(1, min(estimated, maxFrames))
        var start = 0, end = totalFrames - 1
        let skip = 1.0
        if duration - 2 * skip > Double(maxFrames) * fps {
            start = Int(skip * videoFPS)
            end = Int(Double(totalFrames) - skip * videoFPS)
        }
        start = max(0, start)
        end = min(end, totalFrames - 1)
        if start >= end { start = 0; end = totalFrames - 1 }
        // np.linspace(start, end, desired, dtype=int): start + i * step, the last exactly end.
        var out: [Int] = []
        let step = desired > 1 ? Double(end - start) / Double(desired - 1) : 0
        for i in 0..<desired {
            let v = i == desired - 1 && desired > 1 ? Double(end) : Double(start) + Double(i) * step
            let idx = Int(v)
            if out.last != idx && !out.contains(idx) { out.append(idx) }
        }
        return out.sorted()
    }

    /// The text that replaces `<video>`: an intro with the frame count in words and the
    /// duration as H:MM:SS, then per frame "\nFrame from MM:SS:" and the frame's image block.
    public static func promptText(timestamps: [Double], duration: Double?, seqLen: Int) -> String {
        let d = Int(duration ?? timestamps.last ?? 0)
        var s = "You are provided the following series of \(numberWords(timestamps.count)) frames from a \(timedelta(d)) [H:MM:SS] video.\n"
        for t in timestamps {
            let mm = Int((t / 60).rounded(.down)), ss = Int(t.truncatingRemainder(dividingBy: 60))
            s += "\nFrame from \(twoDigits(mm)):\(twoDigits(ss)):" + SmolVLMPrompt.imageText(rows: 0, cols: 0, seqLen: seqLen)
        }
        return s + "\n\n"
    }

    static func twoDigits(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }

    /// Python's str(timedelta(seconds=s)): "H:MM:SS", with "N day(s), " past a day.
    static func timedelta(_ seconds: Int) -> String {
        let days = seconds / 86400, rest = seconds % 86400
        let hms = "\(rest / 3600):\(twoDigits(rest % 3600 / 60)):\(twoDigits(rest % 60))"
        return days == 0 ? hms : "\(days) day\(days == 1 ? "" : "s"), " + hms
    }

    /// num2words in English for 0...999_999 ("sixty-four", "one hundred and five").
    public static func numberWords(_ n: Int) -> String {
        let ones = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
                    "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"]
        let tens = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
        func below100(_ v: Int) -> String {
            v < 20 ? ones[v] : tens[v / 10] + (v % 10 == 0 ? "" : "-" + ones[v % 10])
        }
        func below1000(_ v: Int) -> String {
            guard v >= 100 else { return below100(v) }
            return ones[v / 100] + " hundred" + (v % 100 == 0 ? "" : " and " + below100(v % 100))
        }
        guard n >= 1000 else { return below1000(n) }
        let rest = n % 1000
        return below1000(n / 1000) + " thousand" + (rest == 0 ? "" : (rest < 100 ? " and " : ", ") + below1000(rest))
    }

    // MARK: sources

    /// Frames from a folder of images (sorted by name) or a list of image files, taken as a
    /// video at `options.framesFolderFPS`, then sampled.
    public static func loadFrames(_ files: [String], label: String, fps: Double, maxFrames: Int, options: VideoOptions) throws -> VideoClip {
        guard !files.isEmpty else { throw VideoError.noFrames(label) }
        let rate = options.framesFolderFPS
        let idx = sampleIndices(totalFrames: files.count, videoFPS: rate, fps: fps, maxFrames: maxFrames)
        let frames = try idx.map { try ImageDecoder.load(path: files[$0], limits: options.limits).image }
        return VideoClip(frames: frames, timestamps: idx.map { Double($0) / rate }, duration: Double(files.count) / rate)
    }

    public static func frameFiles(inFolder dir: String) throws -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
        let images = names.filter { n in [".png", ".jpg", ".jpeg"].contains { n.lowercased().hasSuffix($0) } }.sorted()
        guard !images.isEmpty else { throw VideoError.noFrames(dir) }
        return images.map { dir + "/" + $0 }
    }

    /// Frames of a video file through the ffmpeg CLI: frame count and rate from ffprobe,
    /// the sampled frames decoded to PNG in a temporary folder.
    public static func loadVideo(path: String, fps: Double, maxFrames: Int, options: VideoOptions) throws -> VideoClip {
        guard FileManager.default.fileExists(atPath: path) else { throw VideoError.notFound(path) }
        let search = options.toolSearchPath ?? ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        guard let ffprobe = which("ffprobe", in: search), let ffmpeg = which("ffmpeg", in: search) else { throw VideoError.ffmpegMissing }
        let probe = try run(ffprobe, ["-v", "error", "-select_streams", "v:0", "-count_packets",
                                      "-show_entries", "stream=nb_read_packets,r_frame_rate,avg_frame_rate",
                                      "-of", "default=noprint_wrappers=1", path], label: path)
        var fields: [String: String] = [:]
        for line in probe.split(separator: "\n") {
            let kv = line.split(separator: "=", maxSplits: 1).map(String.init)
            if kv.count == 2 { fields[kv[0]] = kv[1] }
        }
        func rate(_ s: String?) -> Double? {
            guard let s else { return nil }
            let p = s.split(separator: "/").compactMap { Double($0) }
            if p.count == 2, p[1] > 0, p[0] > 0 { return p[0] / p[1] }
            return p.count == 1 && p[0] > 0 ? p[0] : nil
        }
        guard let total = fields["nb_read_packets"].flatMap({ Int($0) }), total > 0 else {
            throw VideoError.badMetadata(path, "no video frames")
        }
        guard let videoFPS = rate(fields["avg_frame_rate"]) ?? rate(fields["r_frame_rate"]) else {
            throw VideoError.badMetadata(path, "no frame rate")
        }
        let idx = sampleIndices(totalFrames: total, videoFPS: videoFPS, fps: fps, maxFrames: maxFrames)
        let tmp = NSTemporaryDirectory() + "smol-frames-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: tmp, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: tmp) }
        let select = idx.map { "eq(n\\,\($0))" }.joined(separator: "+")
        _ = try run(ffmpeg, ["-v", "error", "-nostdin", "-i", path, "-vf", "select=\(select)", "-fps_mode", "passthrough",
                             "-pix_fmt", "rgb24", tmp + "/%06d.png"], label: path)
        let files = try frameFiles(inFolder: tmp)
        guard files.count == idx.count else {
            throw VideoError.ffmpegFailed(path, "expected \(idx.count) frames, got \(files.count)")
        }
        let frames = try files.map { try ImageDecoder.load(path: $0, limits: options.limits).image }
        return VideoClip(frames: frames, timestamps: idx.map { Double($0) / videoFPS }, duration: Double(total) / videoFPS)
    }

    static func which(_ tool: String, in search: String) -> String? {
        for dir in search.split(separator: ":") {
            let p = "\(dir)/\(tool)"
            if FileManager.default.isExecutableFile(atPath: p) { return p }
        }
        return nil
    }

    static func run(_ exe: String, _ args: [String], label: String) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: exe)
        p.arguments = args
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else {
            throw VideoError.ffmpegFailed(label, String(decoding: errData.prefix(500), as: UTF8.self))
        }
        return String(decoding: data, as: UTF8.self)
    }
}
