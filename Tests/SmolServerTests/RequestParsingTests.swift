import SmolJSON
import SmolRuntime
import Testing
@testable import SmolServer

func parseJSON(_ s: String) throws -> JSONValue { try JSONValue(parsing: s) }

@Suite struct OpenAIRequestTests {
    let limits = ServerLimits()

    func parse(_ body: String) throws(APIError) -> ChatJob {
        let v: JSONValue
        do { v = try parseJSON(body) } catch { fatalError("test JSON: \(error)") }
        return try OpenAIRequest.parse(v, limits: limits).job
    }

    func error(_ body: String) -> APIError? {
        do { _ = try parse(body); return nil } catch { return error }
    }

    @Test func readsAClawCodeShapedRequest() throws {
        let job = try parse("""
        {"model": "smollm3:3b", "stream": true, "stream_options": {"include_usage": true}, "max_tokens": 64000,
         "temperature": 0.2, "top_p": 0.9, "tool_choice": "auto", "reasoning_effort": "none", "x-unknown": [1],
         "tools": [{"type": "function", "function": {"name": "bash", "description": "Run", "parameters":
            {"type": "object", "properties": {"cmd": {"type": "string"}}, "additionalProperties": false}}}],
         "messages": [
          {"role": "system", "content": "You are an agent."},
          {"role": "user", "content": "list files"},
          {"role": "assistant", "content": null, "tool_calls": [{"id": "t1", "type": "function",
             "function": {"name": "bash", "arguments": "{\\"cmd\\": \\"ls\\"}"}}]},
          {"role": "tool", "tool_call_id": "t1", "content": "a.txt", "is_error": true}]}
        """)
        #expect(job.stream && job.includeUsage)
        #expect(job.maxTokens == 64000)
        #expect(job.enableThinking == false)
        #expect(job.toolNames == ["bash"])
        #expect(job.messages.count == 4)
        #expect(job.messages[2].toolCalls == [ToolCall(id: "t1", name: "bash", arguments: "{\"cmd\":\"ls\"}")])
        #expect(job.messages[3].toolCallId == "t1")
        #expect(job.messages[3].text == "Error: a.txt")
    }

    @Test func wrongTypesNameTheField() {
        #expect(error(#"{"model": "m", "messages": "hi"}"#)?.param == "messages")
        #expect(error(#"{"model": "m", "messages": [{"content": "x"}]}"#)?.param == "messages[0].role")
        #expect(error(#"{"model": "m", "messages": [{"role": "user", "content": 5}]}"#)?.param == "messages[0].content")
        #expect(error(#"{"model": "m", "messages": [{"role": "user", "content": "x"}], "temperature": "hot"}"#)?.param == "temperature")
        #expect(error(#"{"model": "m", "messages": [{"role": "user", "content": "x"}], "temperature": 9}"#)?.param == "temperature")
        #expect(error(#"{"model": "m", "messages": [{"role": "user", "content": "x"}], "max_tokens": -1}"#)?.param == "max_tokens")
        #expect(error(#"{"model": "m", "messages": [{"role": "user", "content": "x"}], "stream": "yes"}"#)?.param == "stream")
        #expect(error(#"{"model": "m", "messages": [{"role": "wizard", "content": "x"}]}"#)?.param == "messages[0].role")
        #expect(error(#"{"messages": []}"#)?.param == "model")
        #expect(error(#"{"model": "m", "messages": []}"#)?.param == "messages")
        #expect(error(#"{"model": "m", "messages": [{"role": "user", "content": "x"}], "tools": [{"type": "function"}]}"#)?.param == "tools[0].function")
        #expect(error(#"{"model": "m", "messages": [{"role": "user", "content": "x"}], "tool_choice": 3}"#)?.param == "tool_choice")
        #expect(error("[1]")?.status == 400)
    }

    @Test func imagesAreCheckedBeforeAnything() {
        let remote = error(#"{"model": "m", "messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "https://x/y.png"}}]}]}"#)
        #expect(remote?.code == "remote_images_disabled")
        #expect(remote?.param == "messages[0].content[0].image_url.url")
        var small = ServerLimits()
        small.maxImageBytes = 10
        let big = "data:image/png;base64," + String(repeating: "A", count: 100)
        #expect(throws: APIError.self) { try ImageURL.check(big, field: "f", limits: small) }
        #expect(throws: APIError.self) { try ImageURL.check("data:text/html;base64,AAAA", field: "f", limits: small) }
        #expect(throws: APIError.self) { try ImageURL.check("file:///etc/passwd", field: "f", limits: small) }
    }

    @Test func thinkingSwitches() throws {
        let base = #"{"model": "m", "messages": [{"role": "user", "content": "x"}]"#
        #expect(try parse(base + "}").enableThinking == nil)
        #expect(try parse(base + #", "chat_template_kwargs": {"enable_thinking": false}}"#).enableThinking == false)
        #expect(try parse(base + #", "reasoning_effort": "high"}"#).enableThinking == true)
        #expect(try parse(base + #", "tool_choice": {"type": "function", "function": {"name": "f"}}}"#).toolChoice == .function("f"))
    }

    @Test func historyArgumentsAlwaysRenderAsJSON() {
        #expect(ToolArguments.normalized("{\"a\": 1}") == "{\"a\":1}")
        #expect(ToolArguments.normalized("not json") == "\"not json\"")
    }
}

@Suite struct AnthropicRequestTests {
    @Test func mapsBlocksOntoChatMessages() throws {
        let v = try parseJSON("""
        {"model": "m", "max_tokens": 100, "system": [{"type": "text", "text": "Be brief."}],
         "thinking": {"type": "enabled", "budget_tokens": 1024}, "stop_sequences": ["END"],
         "tools": [{"name": "get_weather", "description": "d", "input_schema": {"type": "object"}}],
         "tool_choice": {"type": "any"},
         "messages": [
          {"role": "user", "content": "Weather?"},
          {"role": "assistant", "content": [{"type": "thinking", "thinking": "hmm", "signature": ""},
             {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}}]},
          {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": [{"type": "text", "text": "Sunny"}]},
             {"type": "text", "text": "Thanks"}]}]}
        """)
        let job = try AnthropicRequest.parse(v, limits: ServerLimits()).job
        #expect(job.messages.map(\.role) == ["system", "user", "assistant", "tool", "user"])
        #expect(job.messages[0].text == "Be brief.")
        #expect(job.messages[2].toolCalls == [ToolCall(id: "toolu_1", name: "get_weather", arguments: "{\"city\":\"Paris\"}")])
        #expect(job.messages[2].reasoning == "hmm")
        #expect(job.messages[3].toolCallId == "toolu_1" && job.messages[3].text == "Sunny")
        #expect(job.messages[4].text == "Thanks")
        #expect(job.enableThinking == true)
        #expect(job.toolChoice == .required)
        #expect(job.stop == ["END"])
        #expect(job.toolNames == ["get_weather"])
    }

    @Test func defaultsToNoThinkingAndNamesBadFields() throws {
        let ok = try AnthropicRequest.parse(try parseJSON(#"{"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]}"#), limits: ServerLimits())
        #expect(ok.job.enableThinking == false)
        func param(_ s: String) throws -> String? {
            do { _ = try AnthropicRequest.parse(try parseJSON(s), limits: ServerLimits()); return nil } catch let e as APIError { return e.param }
        }
        #expect(try param(#"{"model": "m", "messages": [{"role": "system", "content": "x"}]}"#) == "messages[0].role")
        #expect(try param(#"{"model": "m", "messages": [{"role": "user", "content": [{"type": "tool_result"}]}]}"#) == "messages[0].content[0].tool_use_id")
        #expect(try param(#"{"model": "m", "max_tokens": 0, "messages": [{"role": "user", "content": "x"}]}"#) == "max_tokens")
        #expect(try param(#"{"model": "m", "messages": [{"role": "user", "content": "x"}], "tools": [{"name": "web", "type": "web_search_20250305"}]}"#) == "tools[0]")
    }
}
