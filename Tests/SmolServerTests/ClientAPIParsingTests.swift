import SmolJSON
import SmolRuntime
import Testing
@testable import SmolServer

/// The request readers of the Ollama, Responses and legacy completions routes, and the
/// generic tool mode's conversation: fields map onto the job, bad ones name themselves.
@Suite struct ClientAPIParsingTests {
    let limits = ServerLimits()

    func json(_ s: String) -> JSONValue {
        do { return try parseJSON(s) } catch { fatalError("test JSON: \(error)") }
    }

    /// The error message a parse gives, nil if it succeeds.
    func message<T>(_ f: () throws -> T) -> String? {
        do { _ = try f(); return nil } catch let e as APIError { return e.message } catch { return "\(error)" }
    }

    @Test func ollamaChatOptionsAndMessages() throws {
        let (model, job) = try OllamaRequest.chat(json("""
        {"model": "smollm3", "think": false, "format": "json", "keep_alive": "5m",
         "options": {"temperature": 0.1, "top_k": 5, "top_p": 0.8, "min_p": 0.05, "num_predict": 7, "num_ctx": 2048,
                     "seed": 3, "stop": ["x"], "repeat_penalty": 1.2},
         "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}],
         "messages": [{"role": "user", "content": "hi"},
                      {"role": "assistant", "content": "", "tool_calls": [{"function": {"name": "f", "arguments": {"a": 1}}}]},
                      {"role": "tool", "content": "ok", "tool_name": "f"}]}
        """), limits: limits)
        #expect(model == "smollm3")
        #expect(job.stream)  // Ollama streams unless told not to
        #expect(job.enableThinking == false)
        #expect(job.responseFormat == .jsonObject)
        #expect(job.temperature == 0.1 && job.topK == 5 && job.topP == 0.8 && job.minP == 0.05)
        #expect(job.maxTokens == 7 && job.numCtx == 2048 && job.seed == 3 && job.stop == ["x"] && job.repetitionPenalty == 1.2)
        #expect(job.messages[1].toolCalls == [ToolCall(id: "call_0", name: "f", arguments: "{\"a\":1}")])
        #expect(job.messages[2].name == "f")
        #expect(job.toolNames == ["f"])
    }

    @Test func ollamaErrorsNameTheField() {
        #expect(message { try OllamaRequest.chat(json(#"{"model": "m", "options": {"num_predict": 0}}"#), limits: limits) }?
            .contains("options.num_predict") == true)
        #expect(message { try OllamaRequest.chat(json(#"{"model": "m", "messages": [{"role": "user", "content": "x", "images": ["aGk="]}]}"#), limits: limits) }?
            .contains("messages[0].images[0]") == true)
        #expect(message { try OllamaRequest.generate(json(#"{"model": "m", "prompt": "x", "context": [1, "a"]}"#), limits: limits) } != nil)
        #expect(message { try OllamaRequest.chat(json(#"{"model": "m", "think": "maybe"}"#), limits: limits) }?.contains("think") == true)
        #expect(message { try OllamaRequest.generate(json(#"{"model": "m", "prompt": "x", "suffix": "y"}"#), limits: limits) }?
            .contains("suffix") == true)
    }

    @Test func ollamaGenerateRawSystemAndLoad() throws {
        let (_, raw, loadRaw) = try OllamaRequest.generate(json(#"{"model": "m", "prompt": "abc", "raw": true, "stream": false}"#), limits: limits)
        #expect(raw.rawPrompt == "abc" && raw.messages.isEmpty && !raw.stream && !loadRaw)
        let (_, chat, _) = try OllamaRequest.generate(json(#"{"model": "m", "prompt": "q", "system": "s", "context": [1, 2]}"#), limits: limits)
        #expect(chat.messages.map(\.role) == ["system", "user"])
        #expect(chat.contextIds == [1, 2])
        let (_, _, load) = try OllamaRequest.generate(json(#"{"model": "m"}"#), limits: limits)
        #expect(load)
    }

    @Test func responsesInputItemsBecomeTheConversation() throws {
        let p = try ResponsesRequest.parse(json("""
        {"model": "m", "instructions": "be brief", "reasoning": {"effort": "none"}, "max_output_tokens": 9, "store": true,
         "tools": [{"type": "function", "name": "get", "parameters": {"type": "object"}}],
         "tool_choice": {"type": "function", "name": "get"}, "text": {"format": {"type": "json_schema", "name": "x", "schema": {"type": "object"}, "strict": true}},
         "input": [{"role": "user", "content": [{"type": "input_text", "text": "hi"}]},
                   {"type": "reasoning", "id": "rs_1", "summary": [{"type": "summary_text", "text": "think"}]},
                   {"type": "function_call", "call_id": "c1", "name": "get", "arguments": "{}"},
                   {"type": "function_call", "call_id": "c2", "name": "get", "arguments": "{\\"a\\": 1}"},
                   {"type": "function_call_output", "call_id": "c2", "output": "done"},
                   {"role": "assistant", "content": [{"type": "output_text", "text": "ok"}]}]}
        """), limits: limits)
        let m = p.job.messages
        #expect(m.map(\.role) == ["system", "user", "assistant", "tool", "assistant"])
        #expect(m[2].reasoning == "think")
        #expect(m[2].toolCalls.map(\.id) == ["c1", "c2"])
        #expect(m[3].toolCallId == "c2" && m[3].name == "get" && m[3].text == "done")
        #expect(p.job.enableThinking == false && p.job.maxTokens == 9)
        #expect(p.job.toolChoice == .function("get"))
        #expect(p.job.responseFormat == .jsonSchema(["type": "object"], strict: true))
        #expect(p.job.toolNames == ["get"])
    }

    @Test func responsesRefusesWhatAStatelessServerCannotDo() {
        #expect(message { try ResponsesRequest.parse(json(#"{"model": "m", "input": "x", "previous_response_id": "resp_1"}"#), limits: limits) }?
            .contains("previous_response_id") == true)
        #expect(message { try ResponsesRequest.parse(json(#"{"model": "m", "input": "x", "tools": [{"type": "file_search"}]}"#), limits: limits) }?
            .contains("tools[0].type") == true)
        #expect(message { try ResponsesRequest.parse(json(#"{"model": "m", "input": [{"type": "computer_call"}]}"#), limits: limits) }?
            .contains("computer_call") == true)
        #expect(message { try ResponsesRequest.parse(json(#"{"model": "m"}"#), limits: limits) }?.contains("input") == true)
    }

    @Test func completionsPromptsAndLimits() throws {
        let (_, jobs, echo) = try CompletionsRequest.parse(json(#"{"model": "m", "prompt": ["a", [1, 2]], "n": 2, "echo": true, "max_tokens": 5}"#))
        #expect(jobs.count == 2 && echo)
        #expect(jobs[0].rawPrompt == "a" && jobs[1].rawPromptIds == [1, 2])
        #expect(jobs.allSatisfy { $0.n == 2 && $0.maxTokens == 5 })
        let (_, one, _) = try CompletionsRequest.parse(json(#"{"model": "m", "prompt": [5, 6, 7]}"#))
        #expect(one.count == 1 && one[0].rawPromptIds == [5, 6, 7] && one[0].maxTokens == 16)
        #expect(message { try CompletionsRequest.parse(json(#"{"model": "m", "prompt": "x", "suffix": "y"}"#)) }?.contains("suffix") == true)
        #expect(message { try CompletionsRequest.parse(json(#"{"model": "m", "prompt": "x", "echo": true, "logprobs": 1}"#)) }?.contains("echo") == true)
        #expect(message { try CompletionsRequest.parse(json(#"{"model": "m", "prompt": ["a", "b", "c"], "n": 6}"#)) }?.contains("limit") == true)
        #expect(message { try CompletionsRequest.parse(json(#"{"model": "m", "prompt": ""}"#)) }?.contains("empty") == true)
        #expect(message { try CompletionsRequest.parse(json(#"{"model": "m", "prompt": {"a": 1}}"#)) }?.contains("prompt") == true)
    }

    @Test func responseFormatsAndChatExtras() throws {
        let job = try OpenAIRequest.parse(json("""
        {"model": "m", "messages": [{"role": "user", "content": "x"}], "n": 3, "logprobs": true, "top_logprobs": 4,
         "response_format": {"type": "json_schema", "json_schema": {"name": "s", "strict": true, "schema": {"type": "object"}}},
         "parallel_tool_calls": false, "min_p": 0.1, "repetition_penalty": 1.1}
        """), limits: limits).job
        #expect(job.n == 3 && job.logprobs == 4)
        #expect(job.responseFormat == .jsonSchema(["type": "object"], strict: true))
        #expect(job.parallelToolCalls == false && job.minP == 0.1 && job.repetitionPenalty == 1.1)
        func err(_ extra: String) -> String? {
            message { try OpenAIRequest.parse(json(#"{"model": "m", "messages": [{"role": "user", "content": "x"}], "# + extra + "}"), limits: limits) }
        }
        #expect(err(#""n": 17"#)?.contains("n:") == true)
        #expect(err(#""top_logprobs": 2"#)?.contains("logprobs: true") == true)
        #expect(err(#""response_format": {"type": "xml"}"#)?.contains("response_format.type") == true)
        #expect(err(#""grammar": "root ::= \"a\"", "response_format": {"type": "json_object"}"#)?.contains("grammar") == true)
    }

    @Test func genericModeDescribesToolsAndRewritesHistory() throws {
        var job = ChatJob()
        job.tools = [["type": "function", "function": ["name": "get", "description": "Get it", "parameters": ["type": "object"]]]]
        var call = ChatMessage(role: "assistant", text: "")
        call.toolCalls = [ToolCall(id: "c1", name: "get", arguments: "{\"a\":1}")]
        var result = ChatMessage(role: "tool", text: "42")
        result.toolCallId = "c1"
        job.messages = [.system("You help."), ChatMessage(role: "user", text: "q"), call, result]
        let out = job.genericMessages(offered: job.tools)
        #expect(out.map(\.role) == ["system", "user", "assistant", "user"])
        #expect(out[0].text?.hasPrefix("You help.\n\nYou can call these tools:\n{\"name\":\"get\"") == true)
        #expect(out[0].text?.contains("{\"tool_call\": {\"name\": \"<tool name>\"") == true)  // one call by default
        #expect(out[0].text?.contains("{\"response\":") == true)  // tool_choice auto may answer
        #expect(out[2].text == #"{"tool_call":{"name":"get","arguments":{"a":1}}}"#)
        #expect(out[3].text == #"{"tool_response":{"name":"get","content":"42"}}"#)
        job.parallelToolCalls = true
        job.toolChoice = .required
        let par = job.genericMessages(offered: job.tools)
        #expect(par[0].text?.contains("{\"tool_calls\": [") == true)
        #expect(par[0].text?.contains("\"response\"") == false)
    }
}
