extension JSONValue {
    /// Compact JSON text, keys in their stored order. Non-finite doubles become null, as
    /// JSON cannot carry them.
    public var serialized: String {
        var out = ""
        write(to: &out)
        return out
    }

    public func write(to out: inout String) {
        switch self {
        case .null: out += "null"
        case let .bool(b): out += b ? "true" : "false"
        case let .int(i): out += String(i)
        case let .double(d):
            if !d.isFinite { out += "null" }
            else if d == d.rounded(), abs(d) < 1e15 { out += String(Int64(d)) }
            else { out += "\(d)" }
        case let .string(s): out += jsonQuote(s)
        case let .array(items):
            out += "["
            for (i, v) in items.enumerated() {
                if i > 0 { out += "," }
                v.write(to: &out)
            }
            out += "]"
        case let .object(pairs):
            out += "{"
            for (i, (k, v)) in pairs.enumerated() {
                if i > 0 { out += "," }
                out += jsonQuote(k)
                out += ":"
                v.write(to: &out)
            }
            out += "}"
        }
    }

    /// Parses text with the strict parser (depth-limited, duplicate keys rejected).
    public init(parsing text: String, maxDepth: Int = 64) throws(JSONParseError) {
        var p = StrictJSONParser()
        p.maxDepth = maxDepth
        self = try p.parse(Array(text.utf8))
    }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral {
    public init(stringLiteral s: String) { self = .string(s) }
    public init(integerLiteral i: Int64) { self = .int(i) }
    public init(booleanLiteral b: Bool) { self = .bool(b) }
    public init(arrayLiteral items: JSONValue...) { self = .array(items) }
    public init(dictionaryLiteral pairs: (String, JSONValue)...) { self = .object(pairs) }
    public init(nilLiteral: ()) { self = .null }
}
