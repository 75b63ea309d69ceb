/// A JSON string literal escaped as Python's json.dumps does (short escapes for the common
/// control characters, \uXXXX for the rest; with `ensureASCII`, non-ASCII as UTF-16 escapes).
public func jsonQuote(_ s: String, ensureASCII: Bool = false) -> String {
    func hex4(_ v: UInt32) -> String {
        let h = String(v, radix: 16)
        return "\\u" + String(repeating: "0", count: max(0, 4 - h.count)) + h
    }
    var out = String.UnicodeScalarView()
    out.append("\"")
    for c in s.unicodeScalars {
        switch c {
        case "\"": out.append(contentsOf: "\\\"".unicodeScalars)
        case "\\": out.append(contentsOf: "\\\\".unicodeScalars)
        case "\n": out.append(contentsOf: "\\n".unicodeScalars)
        case "\r": out.append(contentsOf: "\\r".unicodeScalars)
        case "\t": out.append(contentsOf: "\\t".unicodeScalars)
        case "\u{08}": out.append(contentsOf: "\\b".unicodeScalars)
        case "\u{0C}": out.append(contentsOf: "\\f".unicodeScalars)
        default:
            if c.value < 0x20 || (ensureASCII && c.value > 0x7E) {
                if c.value > 0xFFFF {
                    let v = c.value - 0x10000
                    out.append(contentsOf: (hex4(0xD800 + (v >> 10)) + hex4(0xDC00 + (v & 0x3FF))).unicodeScalars)
                } else {
                    out.append(contentsOf: hex4(c.value).unicodeScalars)
                }
            } else {
                out.append(c)
            }
        }
    }
    out.append("\"")
    return String(out)
}
