import Foundation
import SmolTemplates
import Testing
@testable import SmolRuntime

@Suite struct ToolCallParserTests {
    @Test func parsesCallsAndContent() throws {
        let text = "Let me check.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\", \"days\": 2}}\n</tool_call>"
        let (content, calls) = try ToolCallParser.parse(text)
        #expect(content == "Let me check.")
        #expect(calls == [ToolCall(id: "call_0", name: "get_weather", arguments: "{\"city\":\"Paris\",\"days\":2}")])
    }

    @Test func malformedCallsAreErrors() {
        #expect(throws: ChatError.self) { try ToolCallParser.parse("<tool_call>{\"name\": \"x\", \"arguments\": {</tool_call>") }
        #expect(throws: ChatError.self) { try ToolCallParser.parse("<tool_call>{\"arguments\": {}}</tool_call>") }
        #expect(throws: ChatError.self) { try ToolCallParser.parse("<tool_call>{\"name\": \"x\"}") }
    }

    @Test func roundTripsThroughRender() throws {
        let call = ToolCall(id: "call_0", name: "f", arguments: "{\"a\":1}")
        let (_, calls) = try ToolCallParser.parse(ToolCallParser.render(call))
        #expect(calls == [call])
    }
}

@Suite struct ReasoningSplitterTests {
    @Test func splitsAcrossChunkBoundaries() {
        var s = ReasoningSplitter()
        var pieces: [ReasoningSplitter.Piece] = []
        for chunk in ["<thi", "nk>\nplan", " it</th", "ink>\nAnswer", "."] { pieces += s.feed(chunk) }
        pieces += s.finish()
        let reasoning = pieces.compactMap { if case let .reasoning(t) = $0 { t } else { nil } }.joined()
        let answer = pieces.compactMap { if case let .answer(t) = $0 { t } else { nil } }.joined()
        #expect(reasoning == "\nplan it")
        #expect(answer == "\nAnswer.")
    }
}

@Suite struct PromptBuilderTests {
    static let smolLM3 = FixturePaths.smolLM3Metadata

    func builder() throws -> PromptBuilder {
        let b = try #require(try PromptBuilder.load(directory: Self.smolLM3))
        let fixed = try ChatTemplate(source: b.template.source, clock: .fixed(year: 2026, month: 11, day: 22, hour: 14, minute: 5, second: 9))
        return PromptBuilder(template: fixed, bosToken: b.bosToken, eosToken: b.eosToken)
    }

    /// OpenAI-style tools reach SmolLM3 as `xml_tools` of plain function dicts.
    @Test func openAIToolsBecomeXMLTools() throws {
        let b = try builder()
        let fn: TemplateValue = ["name": "get_weather", "description": "Weather for a city",
                                 "parameters": ["type": "object", "properties": ["city": ["type": "string"]], "required": ["city"]]]
        var o = PromptOptions()
        o.tools = [["type": "function", "function": fn]]
        let viaTools = try b.render([.user("Weather in Paris?")], options: o)
        let direct = try b.template.render(messages: [["role": "user", "content": "Weather in Paris?"]], addGenerationPrompt: true,
                                           extra: ["xml_tools": [fn]], eosToken: "<|im_end|>")
        #expect(viaTools == direct)
        #expect(viaTools.contains("{'name': 'get_weather', 'description': 'Weather for a city'"))
        #expect(!viaTools.contains("'type': 'function'"))
    }

    @Test func assistantToolCallsInlinedForSmolLM3() throws {
        var a = ChatMessage.assistant("")
        a.toolCalls = [ToolCall(id: "call_0", name: "get_weather", arguments: "{\"city\":\"Paris\"}")]
        let text = try builder().render([.user("Weather?"), a, .tool("{\"temp\": 18}")])
        #expect(text.contains("<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\":\"Paris\"}}\n</tool_call><|im_end|>"))
        #expect(text.contains("<|im_start|>user\n{\"temp\": 18}<|im_end|>"))
    }

    @Test func noThinkOption() throws {
        var o = PromptOptions()
        o.enableThinking = false
        let text = try builder().render([.user("hi")], options: o)
        #expect(text.hasSuffix("<|im_start|>assistant\n<think>\n\n</think>\n"))
        #expect(text.contains("Reasoning Mode: /no_think"))
    }

    @Test func messagesFileParts() throws {
        let json = #"[{"role":"user","content":[{"type":"text","text":"What is in "},{"type":"image","path":"a.png"},{"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA"}}]},{"role":"assistant","content":"x","tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{}"}}]}]"#
        let msgs = try ChatMessage.list(fromJSON: Data(json.utf8))
        #expect(msgs[0].parts == [.text("What is in "), .image(path: "a.png"), .image(path: "data:image/png;base64,AAAA")])
        #expect(msgs[1].toolCalls.first?.name == "f")
        #expect(throws: ChatError.self) { try ChatMessage.list(fromJSON: Data(#"[{"content":"no role"}]"#.utf8)) }
        #expect(throws: ChatError.self) { try ChatMessage.list(fromJSON: Data(#"[{"role":"user","content":[{"type":"audio"}]}]"#.utf8)) }
    }
}

@Suite(.serialized) struct ChatSessionTests {
    @Test func secondTurnReusesTheCache() throws {
        let m = try #require(RealModelTests.model, "default model missing: run scripts/setup.sh")
        let s = try ChatSession(model: m, contextLength: 1024)
        s.sampling = SamplingParameters()  // greedy
        s.maxTokens = 24
        let (r1, first) = try s.send(.user("What is the capital of France?"))
        #expect(r1.plainText.contains("Paris"))
        #expect(first.cachedPromptTokens == 0)
        let (_, second) = try s.send(.user("And of Italy?"))
        // Everything up to the first reply is reused; only the new turn is prefilled.
        #expect(second.cachedPromptTokens >= first.promptTokens)
        #expect(second.promptTokens - second.cachedPromptTokens < 20)
        #expect(s.messages.count == 4)
    }
}

@Suite struct ReplyStreamParserTests {
    static let reply = "<think>\nI should look it up.\n</think>\n\nLet me check.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>\n"

    func collect(_ pieces: [String], reasoning: Bool = true, tools: Bool = true) -> [ReplyStreamParser.Event] {
        var p = ReplyStreamParser(reasoning: reasoning, tools: tools)
        var out: [ReplyStreamParser.Event] = []
        for piece in pieces { out += p.feed(piece) }
        return out + p.finish()
    }

    /// Merges adjacent text events so that chunkings can be compared.
    func merged(_ evs: [ReplyStreamParser.Event]) -> [ReplyStreamParser.Event] {
        var out: [ReplyStreamParser.Event] = []
        for e in evs {
            switch (out.last, e) {
            case let (.reasoning(a)?, .reasoning(b)): out[out.count - 1] = .reasoning(a + b)
            case let (.content(a)?, .content(b)): out[out.count - 1] = .content(a + b)
            default: out.append(e)
            }
        }
        return out
    }

    @Test func splitsReasoningContentAndCalls() {
        let expected: [ReplyStreamParser.Event] = [
            .reasoning("I should look it up."), .content("Let me check."),
            .toolCall(ToolCall(id: "call_0", name: "get_weather", arguments: "{\"city\":\"Paris\"}")),
        ]
        #expect(merged(collect([Self.reply])) == expected)
        // Character by character: nothing of a tag or a call leaks as text.
        let perChar = collect(Self.reply.map { String($0) })
        #expect(merged(perChar) == expected)
        for e in perChar {
            if case let .content(t) = e { #expect(!t.contains("<")) }
        }
    }

    @Test func toolsOffLeavesCallsAsText() {
        let evs = merged(collect([Self.reply], tools: false))
        #expect(evs.count == 2)
        if case let .content(t) = evs[1] { #expect(t.hasPrefix("Let me check.\n<tool_call>")) } else { Issue.record("expected content") }
    }

    @Test func malformedOrCutCallsStayVisible() {
        #expect(merged(collect(["Hi <tool_call>{\"name\": }</tool_call> bye"], reasoning: false))
            == [.content("Hi <tool_call>{\"name\": }</tool_call> bye")])
        #expect(merged(collect(["Hi <tool_call>{\"name\": \"f\", \"argu"], reasoning: false))
            == [.content("Hi <tool_call>{\"name\": \"f\", \"argu")])
        // A lone '<' that never becomes a tag is released at the end.
        #expect(merged(collect(["a <", "tool"], reasoning: false)) == [.content("a <tool")])
    }

    @Test func twoCallsGetDistinctIds() {
        let text = "<tool_call>{\"name\": \"a\", \"arguments\": {}}</tool_call><tool_call>{\"name\": \"b\", \"arguments\": {\"x\": [1, 2]}}</tool_call>"
        var p = ReplyStreamParser(reasoning: false, tools: true, idPrefix: "call_7_")
        let evs = p.feed(text) + p.finish()
        #expect(evs == [.toolCall(ToolCall(id: "call_7_0", name: "a", arguments: "{}")),
                        .toolCall(ToolCall(id: "call_7_1", name: "b", arguments: "{\"x\":[1,2]}"))])
        #expect(p.toolCallCount == 2)
    }
}
