import Foundation
import Testing
@testable import SmolVision

/// SmolVLM2 video sampling and the text that replaces `<video>`, against transformers'
/// SmolVLMVideoProcessor.sample_frames and SmolVLMProcessor.replace_video_token
/// (scripts/make_video_fixtures.py).
@Suite struct VideoTests {
    struct Case: Decodable {
        let total: Int
        let video_fps, fps: Double
        let max_frames: Int
        let indices: [Int]
        let timestamps: [Double]
        let duration: Double
        let text: String
    }
    struct Fixture: Decodable { let cases: [Case] }
    static let fixture: Fixture = {
        let url = ProcessorTests.root.appendingPathComponent("Tests/Fixtures/vision/video_prompts.json")
        return try! JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url))
    }()

    @Test func samplesAndPromptsLikeTransformers() {
        #expect(Self.fixture.cases.count >= 10)
        for c in Self.fixture.cases {
            let idx = SmolVLMVideo.sampleIndices(totalFrames: c.total, videoFPS: c.video_fps, fps: c.fps, maxFrames: c.max_frames)
            #expect(idx == c.indices, "\(c.total) frames at \(c.video_fps) fps")
            let stamps = idx.map { Double($0) / c.video_fps }
            #expect(stamps == c.timestamps)
            #expect(SmolVLMVideo.promptText(timestamps: stamps, duration: c.duration, seqLen: 2) == c.text, "\(c.total) frames prompt")
        }
    }

    @Test func numberWordsAndDurations() {
        #expect(SmolVLMVideo.numberWords(1) == "one")
        #expect(SmolVLMVideo.numberWords(64) == "sixty-four")
        #expect(SmolVLMVideo.numberWords(105) == "one hundred and five")
        #expect(SmolVLMVideo.numberWords(1234) == "one thousand, two hundred and thirty-four")
        #expect(SmolVLMVideo.timedelta(100) == "0:01:40")
        #expect(SmolVLMVideo.timedelta(90061) == "1 day, 1:01:01")
    }

    @Test func imagesAndVideosExpandInPromptOrder() throws {
        let out = try SmolVLMPrompt.expand("a<video>b<image>c<image>", images: ["I1", "I2"], videos: ["V1"])
        #expect(out == "aV1bI1cI2")
        // Inserted text is not searched again.
        #expect(try SmolVLMPrompt.expand("<image>", images: ["<image><video>"]) == "<image><video>")
        #expect(throws: VisionError.videoPlaceholderMismatch(placeholders: 1, videos: 0)) {
            try SmolVLMPrompt.expand("<video>", images: [])
        }
    }

    @Test func framesFromAFolderAreSampledAndDecoded() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("smol-frames-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let src = ProcessorTests.root.appendingPathComponent("Tests/Fixtures/vision/images/rgb_2x2.png").path
        for i in 0..<5 { try FileManager.default.copyItem(atPath: src, toPath: dir + String(format: "/f%03d.png", i)) }
        try "not a frame".write(toFile: dir + "/notes.txt", atomically: true, encoding: .utf8)
        let files = try SmolVLMVideo.frameFiles(inFolder: dir)
        #expect(files.count == 5)
        let clip = try SmolVLMVideo.loadFrames(files, label: dir, fps: 1, maxFrames: 3, options: VideoOptions())
        #expect(clip.frames.count == 3 && clip.timestamps == [0, 2, 4] && clip.duration == 5)
        #expect(throws: VideoError.noFrames(dir + "/none")) { try SmolVLMVideo.frameFiles(inFolder: dir + "/none") }
    }

    @Test func missingFFmpegIsAClearError() throws {
        let file = ProcessorTests.root.appendingPathComponent("Tests/Fixtures/vision/images/rgb_2x2.png").path
        var options = VideoOptions()
        options.toolSearchPath = "/nonexistent"
        #expect(throws: VideoError.ffmpegMissing) { try SmolVLMVideo.loadVideo(path: file, fps: 1, maxFrames: 4, options: options) }
    }

    @Test func capUpscalingKeepsSmallImagesSmall() throws {
        var cfg = SmolVLMImageProcessor.Config()
        cfg.longestEdge = 1536
        cfg.tileSize = 384
        let img = try RGBImage(width: 300, height: 200, pixels: [UInt8](repeating: 7, count: 300 * 200 * 3))
        #expect(try SmolVLMImageProcessor(config: cfg).split(img).tiles.count == 4 * 3 + 1)
        cfg.capUpscaling = true
        // 300x200 stays under one 384 tile: a single tile, no split.
        #expect(try SmolVLMImageProcessor(config: cfg).split(img).tiles.count == 1)
    }

    static let ffmpeg = SmolVLMVideo.which("ffmpeg", in: ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin")
    /// scripts/test.sh installs ffmpeg and sets SMOL_REQUIRE_FFMPEG=1, so CI always runs this.
    static let runFFmpegTest = ffmpeg != nil || ProcessInfo.processInfo.environment["SMOL_REQUIRE_FFMPEG"] == "1"

    /// A lossless 3 s clip at 10 fps whose frame n is red n*8, green 255-n*8: the sampled
    /// frames must be exactly frames 0, 14 and 29 (transformers' indices for this clip).
    @Test(.enabled(if: runFFmpegTest)) func videoFileThroughFFmpeg() throws {
        let ffmpeg = try #require(Self.ffmpeg, "ffmpeg is not installed (apt-get install ffmpeg)")
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("smol-ramp-\(UUID().uuidString).mkv").path
        defer { try? FileManager.default.removeItem(atPath: file) }
        _ = try SmolVLMVideo.run(ffmpeg, ["-v", "error", "-y", "-f", "lavfi", "-i",
                                          "color=c=black:s=16x16:r=10:d=3,format=rgb24,geq=r='N*8':g='255-N*8':b='128'",
                                          "-c:v", "ffv1", "-pix_fmt", "bgr0", file], label: file)
        let clip = try SmolVLMVideo.loadVideo(path: file, fps: 1, maxFrames: 64, options: VideoOptions())
        #expect(clip.timestamps == [0, 1.4, 2.9] && clip.duration == 3)
        #expect(clip.frames.map { Array($0.pixels.prefix(3)) } == [[0, 255, 128], [112, 143, 128], [232, 23, 128]])
        #expect(clip.frames.allSatisfy { $0.width == 16 && $0.height == 16 })
        // Not a video: ffprobe's error is passed on, naming the file.
        let notVideo = ProcessorTests.root.appendingPathComponent("Tests/Fixtures/vision/images/bad_not_an_image.png").path
        #expect(throws: VideoError.self) { try SmolVLMVideo.loadVideo(path: notVideo, fps: 1, maxFrames: 4, options: VideoOptions()) }
    }
}
