import SmolJSON
import SmolRuntime
import Testing
@testable import SmolServer

@Suite struct AnthropicStreamTests {
    @Test func blocksOpenAndCloseInOrder() throws {
        var w = AnthropicBlockWriter()
        var frames: [String] = []
        frames += w.events(for: .reasoning("a"))
        frames += w.events(for: .reasoning("b"))
        frames += w.events(for: .content("Hi"))
        frames += w.events(for: .toolCall(ToolCall(id: "toolu_1", name: "f", arguments: "{\"x\":1}")))
        frames += w.close()
        let parsed = try frames.map { f -> (String, JSONValue) in
            let lines = f.split(separator: "\n")
            #expect(f.hasSuffix("\n\n"))
            return (String(lines[0].dropFirst("event: ".count)), try JSONValue(parsing: String(lines[1].dropFirst("data: ".count))))
        }
        let names = parsed.map(\.0)
        #expect(names == ["content_block_start", "content_block_delta", "content_block_delta", "content_block_delta", "content_block_stop",
                          "content_block_start", "content_block_delta", "content_block_stop",
                          "content_block_start", "content_block_delta", "content_block_stop"])
        // Event name and data type agree; indexes count blocks.
        for (name, data) in parsed { #expect(data["type"] == .string(name)) }
        #expect(parsed.map { $0.1["index"] } == [0, 0, 0, 0, 0, 1, 1, 1, 2, 2, 2].map { JSONValue.int($0) })
        #expect(parsed[3].1["delta"]?["type"] == "signature_delta")
        #expect(parsed[8].1["content_block"] == ["type": "tool_use", "id": "toolu_1", "name": "f", "input": [:]])
        #expect(parsed[9].1["delta"] == ["type": "input_json_delta", "partial_json": "{\"x\":1}"])
    }
}

@Suite struct ServerPolicyTests {
    @Test func loopbackNames() {
        for h in ["localhost", "127.0.0.1", "::1", "127.1.2.3"] { #expect(ServerOptions.isLoopback(h)) }
        for h in ["0.0.0.0", "evil.com", "localhost.evil.com", "192.168.1.2"] { #expect(!ServerOptions.isLoopback(h)) }
        #expect(hostName(authority: "[::1]:8080") == "::1")
        #expect(hostName(authority: "localhost:80") == "localhost")
        #expect(hostName(authority: "evil.com") == "evil.com")
    }

    @Test func exposedServerNeedsAKey() {
        var o = ServerOptions()
        o.host = "0.0.0.0"
        #expect(throws: ServerError.self) { try o.validate() }
        o.apiKey = "k"
        #expect(throws: Never.self) { try o.validate() }
        o.apiKey = nil
        o.insecure = true
        #expect(throws: Never.self) { try o.validate() }
    }

    @Test func keysCompareExactly() {
        #expect(constantTimeEqual("secret", "secret"))
        #expect(!constantTimeEqual("secret", "secreT"))
        #expect(!constantTimeEqual("secret", "secret2"))
        #expect(!constantTimeEqual("", "x"))
    }

    @Test func modelIdsHaveAColon() {
        #expect(defaultModelId(folder: "/m/SmolLM3-3B") == "smollm3:3b")
        #expect(defaultModelId(folder: "Models/SmolLM2-135M-Instruct") == "smollm2:135m-instruct")
        #expect(defaultModelId(folder: "tiny") == "tiny:latest")
        #expect(defaultModelId(folder: "Models/SmolLM2-135M-Instruct.Q4_1.gguf") == "smollm2:135m-instruct-q4_1")
        #expect(defaultModelId(folder: "/c/hub/models--HuggingFaceTB--SmolLM3-3B/snapshots/abc123") == "smollm3:3b")
        #expect(defaultModelId(folder: "/c/hub/models--ggml-org--SmolLM3-3B-GGUF/snapshots/abc/SmolLM3-Q4_K_M.gguf") == "smollm3:q4_k_m")
    }

    @Test func errorShapes() {
        let e = APIError.invalid("temperature", "expected a number")
        #expect(e.openAIBody["error"]?["param"] == "temperature")
        #expect(e.openAIBody["error"]?["type"] == "invalid_request_error")
        #expect(e.anthropicBody["type"] == "error")
        #expect(e.anthropicBody["error"]?["type"] == "invalid_request_error")
        #expect(APIError(status: 429, message: "busy").anthropicType == "rate_limit_error")
    }

    @Test func jsonWriterRoundTrips() throws {
        let text = #"{"a":[1,2.5,"x\"y\n",true,null,{"b":{}}],"é":"\u0001"}"#
        let v = try JSONValue(parsing: text)
        #expect(try JSONValue(parsing: v.serialized) == v)
        #expect(JSONValue.double(.nan).serialized == "null")
        #expect(JSONValue.double(3).serialized == "3")
    }
}
