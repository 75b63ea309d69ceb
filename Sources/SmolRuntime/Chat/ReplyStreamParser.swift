/// Turns generated text, as it streams, into what an API client sees: reasoning (between
/// `<think>` tags), answer text, and complete tool calls. Text that might start a tag or a tool
/// call is held back until it is decided; whitespace at the edges of the answer and of the
/// reasoning is trimmed, so the client sees the same text streamed or not.
public struct ReplyStreamParser: Sendable {
    public enum Event: Sendable, Equatable {
        case reasoning(String)
        case content(String)
        case toolCall(ToolCall)
    }

    private var splitter: ReasoningSplitter?
    private let parseTools: Bool
    private let idPrefix: String
    private var buffer = ""
    private var inCall = false
    private var callCount = 0
    private var contentEdge = EdgeTrimmer()
    private var reasoningEdge = EdgeTrimmer()

    /// `reasoning`: split `<think>` blocks out; `tools`: parse `<tool_call>` blocks.
    /// Tool call ids are `idPrefix` + the call's index.
    public init(reasoning: Bool, tools: Bool, idPrefix: String = "call_") {
        splitter = reasoning ? ReasoningSplitter() : nil
        parseTools = tools
        self.idPrefix = idPrefix
    }

    /// How many tool calls have been emitted.
    public var toolCallCount: Int { callCount }

    public mutating func feed(_ text: String) -> [Event] {
        let pieces = splitter.map { s -> [ReasoningSplitter.Piece] in
            var s = s
            defer { splitter = s }
            return s.feed(text)
        } ?? [.answer(text)]
        return route(pieces, final: false)
    }

    public mutating func finish() -> [Event] {
        var pieces: [ReasoningSplitter.Piece] = []
        if var s = splitter { pieces = s.finish(); splitter = s }
        var out = route(pieces, final: true)
        if inCall {
            // Cut off inside a call (token budget): the client gets the raw text, not a half call.
            out += contentEdge.feed(ToolCallParser.open + buffer).map(Event.content)
            inCall = false
        } else if !buffer.isEmpty {
            out += contentEdge.feed(buffer).map(Event.content)
        }
        buffer = ""
        // Trailing whitespace of the answer is the model's (e.g. text before a stop string);
        // only the whitespace around think blocks and tool calls is layout.
        if callCount == 0 { out += contentEdge.flush().map(Event.content) }
        return out
    }

    private mutating func route(_ pieces: [ReasoningSplitter.Piece], final: Bool) -> [Event] {
        var out: [Event] = []
        for p in pieces {
            switch p {
            case let .reasoning(t): out += reasoningEdge.feed(t).map(Event.reasoning)
            case let .answer(t): out += answer(t)
            }
        }
        return out
    }

    private mutating func answer(_ text: String) -> [Event] {
        guard parseTools else { return contentEdge.feed(text).map(Event.content) }
        buffer += text
        var out: [Event] = []
        while true {
            if inCall {
                guard let end = buffer.range(of: ToolCallParser.close) else { return out }
                let body = String(buffer[..<end.lowerBound]).trimmingWhitespace
                let raw = ToolCallParser.open + buffer[..<end.upperBound]
                buffer = String(buffer[end.upperBound...])
                inCall = false
                if let call = try? ToolCallParser.call(fromJSON: body, id: "\(idPrefix)\(callCount)") {
                    callCount += 1
                    contentEdge.dropPendingSpace()
                    out.append(.toolCall(call))
                } else {
                    // Not a valid call: the client still sees what the model wrote.
                    out += contentEdge.feed(String(raw)).map(Event.content)
                }
                continue
            }
            if let start = buffer.range(of: ToolCallParser.open) {
                out += contentEdge.feed(String(buffer[..<start.lowerBound])).map(Event.content)
                buffer = String(buffer[start.upperBound...])
                inCall = true
                continue
            }
            let hold = heldSuffix(buffer, ToolCallParser.open)
            out += contentEdge.feed(String(buffer.dropLast(hold))).map(Event.content)
            buffer = String(buffer.suffix(hold))
            return out
        }
    }
}

/// The length of the longest suffix of `text` that is a proper prefix of `tag`.
func heldSuffix(_ text: String, _ tag: String) -> Int {
    for len in stride(from: min(tag.count - 1, text.count), through: 1, by: -1) where text.hasSuffix(String(tag.prefix(len))) {
        return len
    }
    return 0
}

/// Drops leading whitespace and holds trailing whitespace until more text follows (or the
/// caller flushes or drops it), so streamed pieces concatenate to the same text as one piece.
struct EdgeTrimmer: Sendable {
    mutating func flush() -> [String] {
        defer { pendingSpace = "" }
        return started && !pendingSpace.isEmpty ? [pendingSpace] : []
    }

    mutating func dropPendingSpace() { pendingSpace = "" }

    private var started = false
    private var pendingSpace = ""

    mutating func feed(_ text: String) -> [String] {
        var t = Substring(text)
        if !started {
            t = t.drop(while: { $0.isWhitespace })
            if t.isEmpty { return [] }
            started = true
        }
        let body = t.reversed().drop(while: { $0.isWhitespace })
        let trailing = t.count - body.count
        if body.isEmpty { pendingSpace += t; return [] }
        let out = pendingSpace + t.dropLast(trailing)
        pendingSpace = String(t.suffix(trailing))
        return [out]
    }
}

extension StringProtocol {
    var trimmingWhitespace: String {
        String(drop(while: { $0.isWhitespace }).reversed().drop(while: { $0.isWhitespace }).reversed())
    }
}
