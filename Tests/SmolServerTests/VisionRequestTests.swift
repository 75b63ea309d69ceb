import Foundation
import SmolJSON
import SmolRuntime
import Testing
@testable import SmolServer

/// Images through the OpenAI and Anthropic request shapes on the tiny SmolVLM checkpoint:
/// the same prompt ids and greedy tokens as transformers (Tests/Fixtures/vlm), images only as
/// data URIs, and bad images as 400s that name the field.
@Suite(.serialized) struct VisionRequestTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    static let model: SmolModel? = try? SmolModel(directory: root + "/Models/smolvlm-256m-shape", options: .exactF32)

    struct Case: Decodable { let label: String; let images: [String]; let question: String; let input_ids: [Int]; let greedy: [Int] }
    struct Fixture: Decodable { let cases: [Case] }

    static func dataURI(_ file: String) throws -> String {
        let data = try Data(contentsOf: URL(fileURLWithPath: root + "/Tests/Fixtures/vision/images/" + file))
        return "data:image/\(file.hasSuffix(".png") ? "png" : "jpeg");base64," + data.base64EncodedString()
    }

    func vlm() throws -> SmolModel {
        try #require(Self.model, "Models/smolvlm-256m-shape is missing: scripts/make_vlm_checkpoint.py builds it (scripts/test.sh does)")
    }

    @Test func openAIImagesGiveTheReferenceIdsAndTokens() throws {
        let m = try vlm()
        let url = URL(fileURLWithPath: Self.root + "/Tests/Fixtures/vlm/smolvlm-256m-shape.json")
        let fixture = try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url))
        for c in fixture.cases where c.label == "one image" || c.label == "two images" {
            let parts = try c.images.map { #"{"type": "image_url", "image_url": {"url": "\#(try Self.dataURI($0))"}}"# }
            let body = #"{"model": "m", "temperature": 0, "max_tokens": \#(c.greedy.count), "messages": [{"role": "user", "content": [\#(parts.joined(separator: ",")), {"type": "text", "text": "\#(c.question)"}]}]}"#
            let job = try OpenAIRequest.parse(try JSONValue(parsing: body), limits: ServerLimits()).job
            let prepared = try job.prepare(for: m, contextLength: 4096)
            #expect(prepared.request.promptIds == c.input_ids, "\(c.label): prompt ids")
            #expect(prepared.request.imageTiles.count == (c.images.count == 1 ? 13 : 26))
            var req = prepared.request
            req.eosTokenIds = []
            let summary = try m.generator.run(req, cache: m.model.makeCache(capacity: 4096))
            #expect(summary.tokens == c.greedy, "\(c.label): greedy tokens")
            #expect(summary.imageEncodeSeconds > 0)
        }
    }

    @Test func anthropicImageBlocksWork() throws {
        let m = try vlm()
        let body = #"{"model": "m", "max_tokens": 4, "messages": [{"role": "user", "content": [{"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "\#(try Self.dataURI("rgb_2x2.png").split(separator: ",")[1])"}}, {"type": "text", "text": "Colours?"}]}]}"#
        let job = try AnthropicRequest.parse(try JSONValue(parsing: body), limits: ServerLimits()).job
        let prepared = try job.prepare(for: m, contextLength: 4096)
        #expect(prepared.request.imageTiles.count == 17)  // 2x2 upscaled to 256: 4x4 tiles + global
    }

    @Test func badImagesAre400sNamingTheField() throws {
        let m = try vlm()
        let truncated = try Self.dataURI("bad_truncated.png")
        let body = #"{"model": "m", "messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "\#(truncated)"}}, {"type": "text", "text": "?"}]}]}"#
        let job = try OpenAIRequest.parse(try JSONValue(parsing: body), limits: ServerLimits()).job
        do {
            _ = try job.prepare(for: m, contextLength: 4096)
            Issue.record("a truncated image was accepted")
        } catch {
            #expect(error.status == 400 && error.code == "invalid_image")
            #expect(error.message.contains("truncated"), "\(error.message)")
        }
        // A literal <image> in text without an image does not reach the model.
        let literal = #"{"model": "m", "messages": [{"role": "user", "content": "what is <image>?"}]}"#
        let job2 = try OpenAIRequest.parse(try JSONValue(parsing: literal), limits: ServerLimits()).job
        #expect(throws: APIError.self) { _ = try job2.prepare(for: m, contextLength: 4096) }
    }

    @Test func localPathsAreNeverRead() throws {
        var media = MediaOptions()
        media.allowLocalFiles = false
        #expect(throws: MediaError.localFilesNotAllowed("/etc/passwd")) { _ = try SmolModel.loadImage("/etc/passwd", media: media) }
        #expect(throws: MediaError.localFilesNotAllowed("/etc/passwd")) { _ = try SmolModel.loadImage("file:///etc/passwd", media: media) }
    }
}
