import SmolRuntime

/// The reply parsers (think blocks, <tool_call> blocks, the generic mode's JSON envelope) fed
/// any model output in pieces whose sizes come from the input: they must not crash, and a
/// reply must give the same events whatever its chunking.
func run(_ text: [UInt8], cuts: [Int], mode: UInt8) -> [ReplyStreamParser.Event] {
    var pieces: [String] = []
    var at = 0
    for c in cuts where at < text.count {
        let end = min(text.count, at + c)
        pieces.append(String(decoding: text[at..<end], as: UTF8.self))
        at = end
    }
    if at < text.count { pieces.append(String(decoding: text[at...], as: UTF8.self)) }
    var out: [ReplyStreamParser.Event] = []
    if mode % 2 == 0 {
        var p = ReplyStreamParser(reasoning: mode & 2 != 0, tools: mode & 4 != 0)
        for s in pieces { out += p.feed(s) }
        out += p.finish()
    } else {
        var p = EnvelopeReplyParser()
        for s in pieces { out += p.feed(s) }
        out += p.finish()
    }
    return out
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzReplyParser(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 2 else { return 0 }
    let mode = data[0]
    let text = Array(UnsafeBufferPointer(start: data + 2, count: size - 2))
    // Cut at whole characters only: a piece boundary inside a UTF-8 sequence is not what the
    // detokenizer hands the parser.
    guard String(validating: text, as: UTF8.self) != nil else { return 0 }
    let step = Int(data[1] % 7) + 1
    var cuts: [Int] = []
    var i = 0
    while i < text.count {
        var n = step
        while i + n < text.count && (text[i + n] & 0xC0) == 0x80 { n += 1 }
        cuts.append(n)
        i += n
    }
    let whole = run(text, cuts: [text.count], mode: mode)
    let pieces = run(text, cuts: cuts, mode: mode)
    // Consecutive text of one kind merged (kinds compared apart from the text: a combining
    // mark at the start of a text would otherwise join a prefix character).
    func joined(_ evs: [ReplyStreamParser.Event]) -> [[String]] {
        var out: [[String]] = []
        func add(_ kind: String, _ t: String) {
            if let last = out.last, last[0] == kind { out[out.count - 1][1] += t } else { out.append([kind, t]) }
        }
        for e in evs {
            switch e {
            case let .content(t): add("content", t)
            case let .reasoning(t): add("reasoning", t)
            case let .toolCall(c): out.append(["call", c.name + " " + c.arguments])
            }
        }
        return out
    }
    if joined(whole) != joined(pieces) {
        fatalError("chunking changed the reply (mode \(mode), step \(step)): \(joined(whole)) vs \(joined(pieces))")
    }
    return 0
}
