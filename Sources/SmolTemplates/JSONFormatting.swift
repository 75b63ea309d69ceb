import SmolJSON
/// `json.dumps` with the options transformers' `tojson` filter exposes. Output must match
/// CPython byte for byte: separators, indentation, float repr and escaping all show up in prompts.
struct JSONFormatter {
    var ensureASCII = false
    /// nil means compact single-line output.
    var indent: String?
    var itemSeparator: String
    var keySeparator: String
    var sortKeys = false

    init(ensureASCII: Bool = false, indent: String? = nil, separators: (String, String)? = nil, sortKeys: Bool = false) {
        self.ensureASCII = ensureASCII
        self.indent = indent
        self.sortKeys = sortKeys
        // Python switches the default item separator to "," when indenting, to avoid trailing spaces.
        let defaults = indent == nil ? (", ", ": ") : (",", ": ")
        (itemSeparator, keySeparator) = separators ?? defaults
    }

    func format(_ value: TemplateValue) throws -> String {
        var out = ""
        try write(value, into: &out, level: 0)
        return out
    }

    private func newline(_ out: inout String, level: Int) {
        guard let indent else { return }
        out += "\n"
        for _ in 0..<level { out += indent }
    }

    private func write(_ value: TemplateValue, into out: inout String, level: Int) throws {
        guard level < PythonRepr.maxDepth else {
            throw TemplateError(.depthLimit, "value nested too deeply for tojson")
        }
        switch value {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .int(let i): out += String(i)
        case .double(let d): out += JSONFormatter.float(d)
        case .string(let s): out += quote(s)
        case .array(let items), .tuple(let items):
            if items.isEmpty { out += "[]"; return }
            out += "["
            for (i, item) in items.enumerated() {
                if i > 0 { out += itemSeparator }
                newline(&out, level: level + 1)
                try write(item, into: &out, level: level + 1)
            }
            newline(&out, level: level)
            out += "]"
        case .dictionary(let dict):
            if dict.count == 0 { out += "{}"; return }
            var pairs = Array(dict.pairs)
            if sortKeys { pairs = try sortedPairs(pairs) }
            out += "{"
            for (i, (k, v)) in pairs.enumerated() {
                if i > 0 { out += itemSeparator }
                newline(&out, level: level + 1)
                out += quote(try keyString(k))
                out += keySeparator
                try write(v, into: &out, level: level + 1)
            }
            newline(&out, level: level)
            out += "}"
        case .undefined, .object:
            throw TemplateError(.typeError, "Object of type \(value.typeName) is not JSON serializable")
        }
    }

    private func sortedPairs(_ pairs: [(TemplateValue, TemplateValue)]) throws -> [(TemplateValue, TemplateValue)] {
        var failure: TemplateError?
        let sorted = pairs.sorted { a, b in
            do { return try Operators.lessThan(a.0, b.0) } catch {
                failure = error as? TemplateError
                return false
            }
        }
        if let failure { throw failure }
        return sorted
    }

    private func keyString(_ key: TemplateValue) throws -> String {
        switch key {
        case .string(let s): return s
        case .int(let i): return String(i)
        case .double(let d): return JSONFormatter.float(d)
        case .bool(let b): return b ? "true" : "false"
        case .null: return "null"
        default:
            throw TemplateError(.typeError, "keys must be str, int, float, bool or None, not \(key.typeName)")
        }
    }

    static func float(_ d: Double) -> String {
        if d.isNaN { return "NaN" }
        if d.isInfinite { return d < 0 ? "-Infinity" : "Infinity" }
        return PythonRepr.float(d)
    }

    func quote(_ s: String) -> String { jsonQuote(s, ensureASCII: ensureASCII) }
}
