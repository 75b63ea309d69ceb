import Testing
@testable import SmolRuntime

@Suite struct EnvelopeReplyParserTests {
    func run(_ pieces: [String]) -> [ReplyStreamParser.Event] {
        var p = EnvelopeReplyParser(idPrefix: "call_")
        var out: [ReplyStreamParser.Event] = []
        for s in pieces { out += p.feed(s) }
        return out + p.finish()
    }

    func text(_ evs: [ReplyStreamParser.Event]) -> String {
        evs.map { if case let .content(t) = $0 { t } else { "" } }.joined()
    }

    @Test func stringResponsesStreamDecoded() {
        let pieces = ["{", "\"response", "\": \"", "Hi", " \\", "\"there\\", "\" \\u00e9", "\\ud83d", "\\ude00\\n", "\"}"]
        let evs = run(pieces)
        #expect(text(evs) == "Hi \"there\" é😀\n")
        // It streamed: more than one content event, the first before the end.
        #expect(evs.count > 3)
        var p = EnvelopeReplyParser()
        _ = p.feed("{\"response\": \"")
        #expect(p.feed("Hel") == [.content("Hel")])
    }

    @Test func callsComeAtTheEnd() {
        let evs = run(["{\"tool_calls\": [{\"name\": \"a\", \"arguments\": {\"x\": 1}}, ", "{\"name\": \"b\", \"arguments\": {}}]}"])
        #expect(evs == [.toolCall(ToolCall(id: "call_0", name: "a", arguments: "{\"x\":1}")),
                        .toolCall(ToolCall(id: "call_1", name: "b", arguments: "{}"))])
        #expect(run(["{\"tool_call\": {\"name\": \"a\", \"arguments\": {\"x\": 1}}}"]).count == 1)
    }

    @Test func otherRepliesAreText() {
        #expect(run(["{\"response\": {\"age\": 3}}"]) == [.content("{\"age\":3}")])
        #expect(run(["Just text"]) == [.content("Just text")])
        #expect(run(["{\"tool_call\": {\"name\": \"a\", \"argu"]) == [.content("{\"tool_call\": {\"name\": \"a\", \"argu")])
    }
}
