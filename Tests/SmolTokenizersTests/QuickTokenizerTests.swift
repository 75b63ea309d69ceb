import Foundation
import Testing
@testable import SmolTokenizers

private let repo: String = {
    var url = URL(fileURLWithPath: #filePath)
    for _ in 0..<3 { url.deleteLastPathComponent() }
    return url.path
}()

@Suite struct KnownIdsTests {
    @Test func smolLM2KnownIds() throws {
        let tok = try Tokenizer(file: repo + "/Models/SmolLM2-135M-Instruct/tokenizer.json")
        #expect(try tok.encode("Hello world 12345") == [19556, 905, 216, 33, 34, 35, 36, 37])
        let chat = "<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n"
        #expect(try tok.encode(chat) == [1, 4093, 198, 1780, 314, 260, 3575, 282, 4649, 47, 2, 198, 1, 520, 9531, 198])
        #expect(tok.decode([19556, 905, 216, 33, 34]) == "Hello world 12")
    }
}
