import SmolJSON

/// Reads the generic tool mode's reply, a JSON envelope (for chat templates without tools):
/// `{"tool_call": {"name", "arguments"}}`, `{"tool_calls": [...]}` or `{"response": ...}`.
/// A string response streams as it is decoded; tool calls and other values come at the end.
/// A reply that is not an envelope (constraining off, or cut off by the token budget) reaches
/// the client as the text the model wrote.
public struct EnvelopeReplyParser: Sendable {
    public typealias Event = ReplyStreamParser.Event
    private let idPrefix: String
    private var text = ""
    /// Streaming a string response: how much of `text` has been decoded, and the state.
    private var streamFrom: String.Index? = nil
    private var closed = false
    private var callCount = 0

    public init(idPrefix: String = "call_") { self.idPrefix = idPrefix }
    public var toolCallCount: Int { callCount }

    private static let responseOpen: [UInt8] = Array("\"response\"".utf8)

    public mutating func feed(_ piece: String) -> [Event] {
        text += piece
        if streamFrom == nil, let start = Self.stringResponseStart(text) { streamFrom = start }
        guard let from = streamFrom, !closed else { return [] }
        let (decoded, next, done) = Self.decodeString(text, from: from)
        streamFrom = next
        closed = done
        guard !decoded.isEmpty else { return [] }
        return [.content(decoded)]
    }

    public mutating func finish() -> [Event] {
        if streamFrom != nil {
            // A string response went out as it came (a reply cut off inside an escape loses it).
            return []
        }
        let body = text.trimmingWhitespace
        guard let v = try? JSONValue(parsing: body), case .object = v else { return body.isEmpty ? [] : [.content(body)] }
        var out: [Event] = []
        var calls: [JSONValue] = []
        if let c = v["tool_call"] { calls = [c] }
        if case let .array(cs)? = v["tool_calls"] { calls = cs }
        for c in calls {
            guard case let .string(name)? = c["name"] else { continue }
            let args = c["arguments"] ?? .object([])
            out.append(.toolCall(ToolCall(id: "\(idPrefix)\(callCount)", name: name, arguments: args.serialized)))
            callCount += 1
        }
        if let r = v["response"] {
            if case let .string(s) = r { out.append(.content(s)) } else { out.append(.content(r.serialized)) }
        }
        if out.isEmpty { out.append(.content(body)) }
        return out
    }

    /// Where the characters of a string response begin: after `{ "response" : "`.
    static func stringResponseStart(_ s: String) -> String.Index? {
        var i = s.utf8.startIndex
        let u = s.utf8
        func skipWS() { while i < u.endIndex, [0x20, 0x0A, 0x0D, 0x09].contains(u[i]) { i = u.index(after: i) } }
        func expect(_ bytes: [UInt8]) -> Bool {
            for b in bytes { guard i < u.endIndex, u[i] == b else { return false }; i = u.index(after: i) }
            return true
        }
        skipWS(); guard expect([0x7B]) else { return nil }
        skipWS(); guard expect(responseOpen) else { return nil }
        skipWS(); guard expect([0x3A]) else { return nil }
        skipWS(); guard expect([0x22]) else { return nil }
        return i
    }

    /// Decodes JSON string characters from `from`; stops before an incomplete escape. Returns
    /// the text, where to resume, and whether the closing quote was reached.
    static func decodeString(_ s: String, from: String.Index) -> (String, String.Index, Bool) {
        let u = s.utf8
        var out: [UInt8] = []
        var i = from
        func hex4(_ at: String.Index) -> UInt32? {
            var v: UInt32 = 0, j = at
            for _ in 0..<4 {
                guard j < u.endIndex, let d = hexDigit(u[j]) else { return nil }
                v = v << 4 | UInt32(d); j = u.index(after: j)
            }
            return v
        }
        func append(_ scalar: UInt32) { out += Array(String(Unicode.Scalar(scalar).map(Character.init) ?? "\u{FFFD}").utf8) }
        while i < u.endIndex {
            let b = u[i]
            if b == 0x22 { return (String(decoding: out, as: UTF8.self), u.index(after: i), true) }
            if b != 0x5C { out.append(b); i = u.index(after: i); continue }
            guard u.distance(from: i, to: u.endIndex) >= 2 else { break }
            let e = u[u.index(after: i)]
            let simple: [UInt8: UInt8] = [0x22: 0x22, 0x5C: 0x5C, 0x2F: 0x2F, 0x62: 0x08, 0x66: 0x0C, 0x6E: 0x0A, 0x72: 0x0D, 0x74: 0x09]
            if let c = simple[e] { out.append(c); i = u.index(i, offsetBy: 2); continue }
            guard e == 0x75 else { i = u.index(i, offsetBy: 2); continue }
            guard u.distance(from: i, to: u.endIndex) >= 6, let hi = hex4(u.index(i, offsetBy: 2)) else { break }
            if (0xD800..<0xDC00).contains(hi) {
                guard u.distance(from: i, to: u.endIndex) >= 12 else { break }
                let j = u.index(i, offsetBy: 6)
                if u[j] == 0x5C, u[u.index(after: j)] == 0x75, let lo = hex4(u.index(j, offsetBy: 2)), (0xDC00..<0xE000).contains(lo) {
                    append(0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00))
                    i = u.index(i, offsetBy: 12)
                } else {
                    append(0xFFFD); i = u.index(i, offsetBy: 6)
                }
                continue
            }
            append(hi)
            i = u.index(i, offsetBy: 6)
        }
        return (String(decoding: out, as: UTF8.self), i, false)
    }

    static func hexDigit(_ b: UInt8) -> UInt8? {
        switch b {
        case 0x30...0x39: b - 0x30
        case 0x41...0x46: b - 0x41 + 10
        case 0x61...0x66: b - 0x61 + 10
        default: nil
        }
    }
}
