/// Python's `str()` and `repr()` for template values, because `{{ dict }}` and `| string`
/// print what CPython would, and chat templates embed that text into prompts.
enum PythonRepr {
    /// `str(value)`: strings bare, everything else via repr; undefined prints nothing.
    static func str(_ value: TemplateValue) throws -> String {
        switch value {
        case .string(let s): return s
        case .undefined: return ""
        default: return try repr(value)
        }
    }

    static func repr(_ value: TemplateValue) throws -> String {
        var out = ""
        try write(value, into: &out, depth: 0)
        return out
    }

    /// Nesting limit for printing; namespaces can hold themselves, so cycles are possible.
    static let maxDepth = 300

    static func write(_ value: TemplateValue, into out: inout String, depth: Int) throws {
        guard depth < maxDepth else {
            throw TemplateError(.depthLimit, "value nested too deeply to print")
        }
        switch value {
        case .null: out += "None"
        case .bool(let b): out += b ? "True" : "False"
        case .int(let i): out += String(i)
        case .double(let d): out += float(d)
        case .string(let s): out += string(s)
        case .array(let items):
            out += "["
            try writeItems(items, into: &out, depth: depth)
            out += "]"
        case .tuple(let items):
            out += "("
            try writeItems(items, into: &out, depth: depth)
            if items.count == 1 { out += "," }
            out += ")"
        case .dictionary(let d):
            out += "{"
            var first = true
            for (k, v) in d.pairs {
                if !first { out += ", " }
                first = false
                try write(k, into: &out, depth: depth + 1)
                out += ": "
                try write(v, into: &out, depth: depth + 1)
            }
            out += "}"
        case .undefined: out += "Undefined"
        case .object(let o):
            switch o.payload {
            case .namespace:
                out += "<Namespace "
                try write(.dictionary(o.attributes), into: &out, depth: depth + 1)
                out += ">"
            case .macro(let m): out += "<Macro '\(m.name)'>"
            case .function(let name, _): out += "<built-in function \(name)>"
            case .boundMethod(let recv, let name): out += "<built-in method \(name) of \(recv.typeName) object>"
            case .loop: out += "<LoopContext>"
            case .cycler: out += "<Cycler>"
            }
        }
    }

    private static func writeItems(_ items: [TemplateValue], into out: inout String, depth: Int) throws {
        for (i, item) in items.enumerated() {
            if i > 0 { out += ", " }
            try write(item, into: &out, depth: depth + 1)
        }
    }

    /// CPython's quote choice and escaping for `repr(str)`.
    static func string(_ s: String) -> String {
        let hasSingle = s.utf8.contains(UInt8(ascii: "'"))
        let hasDouble = s.utf8.contains(UInt8(ascii: "\""))
        let quote: Unicode.Scalar = (hasSingle && !hasDouble) ? "\"" : "'"
        var out = String.UnicodeScalarView()
        out.append(quote)
        for c in s.unicodeScalars {
            switch c {
            case "\\": out.append(contentsOf: "\\\\".unicodeScalars)
            case "\n": out.append(contentsOf: "\\n".unicodeScalars)
            case "\r": out.append(contentsOf: "\\r".unicodeScalars)
            case "\t": out.append(contentsOf: "\\t".unicodeScalars)
            default:
                if c == quote {
                    out.append("\\")
                    out.append(c)
                } else if isPrintable(c) {
                    out.append(c)
                } else {
                    out.append(contentsOf: escapeNonPrintable(c).unicodeScalars)
                }
            }
        }
        out.append(quote)
        return String(out)
    }

    private static func escapeNonPrintable(_ c: Unicode.Scalar) -> String {
        let v = c.value
        if v < 0x100 { return "\\x" + hex(v, width: 2) }
        if v < 0x10000 { return "\\u" + hex(v, width: 4) }
        return "\\U" + hex(v, width: 8)
    }

    static func hex(_ v: UInt32, width: Int) -> String {
        let h = String(v, radix: 16)
        return String(repeating: "0", count: max(0, width - h.count)) + h
    }

    /// Python's `str.isprintable` per character: everything except "Other" and
    /// "Separator" categories, with the ASCII space allowed.
    static func isPrintable(_ c: Unicode.Scalar) -> Bool {
        if c == " " { return true }
        switch c.properties.generalCategory {
        case .control, .format, .surrogate, .privateUse, .unassigned,
            .lineSeparator, .paragraphSeparator, .spaceSeparator:
            return false
        default:
            return true
        }
    }

    /// `repr(float)`: shortest round-trip digits, fixed notation for 1e-4 <= |x| < 1e16.
    static func float(_ d: Double) -> String {
        if d.isNaN { return "nan" }
        if d.isInfinite { return d < 0 ? "-inf" : "inf" }
        if d == 0 { return d.sign == .minus ? "-0.0" : "0.0" }
        let (digits, decpt) = shortestDigits(abs(d))
        let sign = d < 0 ? "-" : ""
        if decpt > 16 || decpt <= -4 {
            var mantissa = String(digits.prefix(1))
            if digits.count > 1 { mantissa += "." + digits.dropFirst() }
            let e = decpt - 1
            let expText = e < 0 ? "-" + pad2(-e) : "+" + pad2(e)
            return sign + mantissa + "e" + expText
        }
        if decpt <= 0 {
            return sign + "0." + String(repeating: "0", count: -decpt) + digits
        }
        if decpt >= digits.count {
            return sign + digits + String(repeating: "0", count: decpt - digits.count) + ".0"
        }
        let idx = digits.index(digits.startIndex, offsetBy: decpt)
        return sign + digits[..<idx] + "." + digits[idx...]
    }

    private static func pad2(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }

    /// Splits Swift's shortest round-trip description into significant digits and
    /// the decimal point position (value = 0.DIGITS * 10^decpt), so we can re-layout it.
    static func shortestDigits(_ d: Double) -> (String, Int) {
        let text = d.description
        var mantissa = Substring(text)
        var exponent = 0
        if let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            mantissa = text[..<e]
            exponent = Int(text[text.index(after: e)...]) ?? 0
        }
        var intPart = Substring(mantissa)
        var fracPart = Substring("")
        if let dot = mantissa.firstIndex(of: ".") {
            intPart = mantissa[..<dot]
            fracPart = mantissa[mantissa.index(after: dot)...]
        }
        var digits = String(intPart) + String(fracPart)
        var decpt = intPart.count + exponent
        while digits.hasPrefix("0"), digits.count > 1 {
            digits.removeFirst()
            decpt -= 1
        }
        while digits.hasSuffix("0"), digits.count > 1 { digits.removeLast() }
        return (digits, decpt)
    }
}
