import Foundation

/// Shared pieces of filter implementations.
extension Filters {
    /// Jinja's attribute paths (`"function.name"`, `"0"`): dotted, digits become indices, item lookup first.
    static func getAttributePath(_ item: TemplateValue, _ path: TemplateValue, default fallback: TemplateValue? = nil) throws -> TemplateValue {
        var parts: [TemplateValue] = []
        switch path {
        case .string(let s):
            parts = s.split(separator: ".", omittingEmptySubsequences: false).map { part in
                if let i = Int(part), part.allSatisfy(\.isNumber) { return .int(i) }
                return .string(String(part))
            }
        default:
            parts = [path]
        }
        var current = item
        for part in parts {
            current = try Access.item(current, part)
        }
        if current.isUndefined, let fallback { return fallback }
        return current
    }

    /// Jinja's `ignore_case`: only strings are folded.
    static func foldCase(_ v: TemplateValue) -> TemplateValue {
        if case .string(let s) = v { return .string(PyString.lower(s)) }
        return v
    }

    /// Stable sort by key, like Python's `sorted(key=..., reverse=...)`.
    static func sorted(_ items: [TemplateValue], reverse: Bool, key: (TemplateValue) throws -> TemplateValue) throws -> [TemplateValue] {
        let keys = try items.map(key)
        var failure: Error?
        let order = Array(items.indices).sorted { i, j in
            do {
                let before = reverse ? try Operators.lessThan(keys[j], keys[i]) : try Operators.lessThan(keys[i], keys[j])
                if before { return true }
                let after = reverse ? try Operators.lessThan(keys[i], keys[j]) : try Operators.lessThan(keys[j], keys[i])
                return !after && i < j
            } catch {
                failure = error
                return i < j
            }
        }
        if let failure { throw failure }
        return order.map { items[$0] }
    }

    static func escapeHTML(_ s: String) -> String {
        var out = ""
        for c in s.unicodeScalars {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&#34;"
            case "'": out += "&#39;"
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }

    static func parseFloat(_ text: String) -> Double? {
        let t = PyString.strip(text, chars: nil, leading: true, trailing: true)
        let lower = t.lowercased()
        if lower.contains("x") || lower.contains("p") { return nil }
        return Double(t.replacingOccurrences(of: "_", with: ""))
    }

    static func toFloat(_ value: TemplateValue) -> TemplateValue? {
        switch value {
        case .string(let s): return parseFloat(s).map { .double($0) }
        default: return value.doubleValue.map { .double($0) }
        }
    }

    /// `int(value)` with Jinja's fallback through `float` so `"42.23"|int` is 42.
    static func toInt(_ value: TemplateValue, base: Int) throws -> TemplateValue? {
        switch value {
        case .string(let s):
            var t = PyString.strip(s, chars: nil, leading: true, trailing: true)
            var sign = 1
            if t.hasPrefix("-") || t.hasPrefix("+") {
                sign = t.hasPrefix("-") ? -1 : 1
                t.removeFirst()
            }
            let prefixes = [16: "0x", 8: "0o", 2: "0b"]
            if let p = prefixes[base], t.lowercased().hasPrefix(p) { t.removeFirst(2) }
            if !t.hasPrefix("_"), !t.hasSuffix("_"), !t.contains("__"),
                let i = Int(t.replacingOccurrences(of: "_", with: ""), radix: base)
            {
                return .int(sign * i)
            }
            guard let d = parseFloat(s) else { return nil }
            return try truncateDouble(d)
        case .double(let d):
            return try truncateDouble(d)
        default:
            return value.intValue.map { .int($0) }
        }
    }

    private static func truncateDouble(_ d: Double) throws -> TemplateValue? {
        if d.isNaN { return nil }
        guard d.isFinite, abs(d) < 9.2e18 else {
            throw TemplateError(.valueError, "cannot convert float infinity to integer")
        }
        return .int(Int(d))
    }

    static func round(_ value: TemplateValue, precision: Int, method: String) throws -> TemplateValue {
        guard ["common", "ceil", "floor"].contains(method) else {
            throw TemplateError(.valueError, "method must be common, ceil or floor")
        }
        if method == "common", precision >= 0, let i = value.intValue, case .int = value { return .int(i) }
        guard let d = value.doubleValue else {
            throw TemplateError(.typeError, "type \(value.typeName) doesn't define __round__ method")
        }
        if method != "common" {
            let scale = pow(10.0, Double(precision))
            let scaled = d * scale
            return .double((method == "ceil" ? scaled.rounded(.up) : scaled.rounded(.down)) / scale)
        }
        guard d.isFinite else { return .double(d) }
        // printf rounds the exact binary value half-to-even, which is what Python's round() does.
        if precision >= 0 {
            let text = String(format: "%.\(min(precision, 300))f", d)
            return .double(Double(text) ?? d)
        }
        let scale = pow(10.0, Double(-precision))
        return .double((d / scale).rounded(.toNearestOrEven) * scale)
    }

    static func indent(_ text: String, width: TemplateValue, first: Bool, blank: Bool) -> String {
        let indentation: String
        if case .string(let s) = width { indentation = s } else { indentation = String(repeating: " ", count: max(0, width.intValue ?? 4)) }
        // Jinja appends a newline first so a trailing newline survives `splitlines`.
        let lines = PyString.splitlines(text + "\n")
        var result: String
        if blank {
            result = lines.joined(separator: "\n" + indentation)
        } else {
            result = lines.first ?? ""
            let rest = lines.dropFirst()
            if !rest.isEmpty {
                result += "\n" + rest.map { $0.isEmpty ? $0 : indentation + $0 }.joined(separator: "\n")
            }
        }
        return first ? indentation + result : result
    }

    /// Jinja's `title` filter (not `str.title`): words start after `-`, whitespace or an opening bracket.
    static func jinjaTitle(_ s: String) -> String {
        var chunks: [(String, Bool)] = []
        for c in s.unicodeScalars {
            let isBoundary = c == "-" || c == "(" || c == "{" || c == "[" || c == "<" || isPySpace(c)
            if let last = chunks.last, last.1 == isBoundary {
                chunks[chunks.count - 1].0.unicodeScalars.append(c)
            } else {
                chunks.append((String(c), isBoundary))
            }
        }
        return chunks.map { chunk in
            let scalars = chunk.0.unicodeScalars
            guard let head = scalars.first else { return "" }
            return head.properties.uppercaseMapping + PyString.lower(String(String.UnicodeScalarView(scalars.dropFirst())))
        }.joined()
    }

    static func truncate(_ s: String, length: Int, killWords: Bool, end: String, leeway: Int) throws -> String {
        let scalars = Array(s.unicodeScalars)
        let endCount = end.unicodeScalars.count
        guard length >= endCount else { throw TemplateError(.valueError, "expected length >= \(endCount), got \(length)") }
        if scalars.count <= length + leeway { return s }
        let head = String(String.UnicodeScalarView(scalars[0..<max(0, length - endCount)]))
        if killWords { return head + end }
        return (try PyString.rsplit(head, sep: " ", maxSplit: 1).first ?? head) + end
    }

    /// transformers' `tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False)`.
    static func toJSON(_ value: TemplateValue, _ args: Arguments) throws -> TemplateValue {
        let a = try args.bind(["ensure_ascii", "indent", "separators", "sort_keys"], function: "tojson")
        var indent: String?
        switch a[1] {
        case .string(let s)?: indent = s
        case let v? where v.intValue != nil: indent = String(repeating: " ", count: max(0, v.intValue ?? 0))
        default: indent = nil
        }
        var separators: (String, String)?
        if let seps = a[2]?.arrayValue {
            guard seps.count == 2, case .string(let item) = seps[0], case .string(let key) = seps[1] else {
                throw TemplateError(.valueError, "separators must be a pair of strings")
            }
            separators = (item, key)
        }
        let formatter = JSONFormatter(ensureASCII: a[0]?.isTruthy ?? false, indent: indent,
                                      separators: separators, sortKeys: a[3]?.isTruthy ?? false)
        return .string(try formatter.format(value))
    }
}

/// `map`, `select`, `reject`, `selectattr`, `rejectattr`. Jinja returns generators; these return lists,
/// which print differently (`[...]` instead of `<generator ...>`) but iterate identically.
enum FilterSequences {
    static func map(_ value: TemplateValue, _ args: Arguments, interpreter: Interpreter, at loc: SourceLocation) throws -> TemplateValue {
        let items = try Operators.iterate(value)
        if args.positional.isEmpty, let attribute = args.keywordValue("attribute") {
            let fallback = args.keywordValue("default")
            return .array(try items.map { try Filters.getAttributePath($0, attribute, default: fallback) })
        }
        guard case .string(let filter)? = args.positional.first else {
            throw TemplateError(.valueError, "map requires a filter argument")
        }
        let rest = Arguments(positional: Array(args.positional.dropFirst()), keyword: args.keyword)
        var out: [TemplateValue] = []
        for item in items {
            try interpreter.step(loc)
            out.append(try Filters.apply(filter, to: item, arguments: rest, interpreter: interpreter, at: loc))
        }
        return .array(out)
    }

    static func select(_ name: String, _ value: TemplateValue, _ args: Arguments, interpreter: Interpreter) throws -> TemplateValue {
        let byAttribute = name.hasSuffix("attr")
        let keep = name.hasPrefix("select")
        var offset = 0
        var attribute: TemplateValue?
        if byAttribute {
            guard let a = args.positional.first else {
                throw TemplateError(.valueError, "Missing parameter for attribute name")
            }
            attribute = a
            offset = 1
        }
        var testName: String?
        if args.positional.count > offset {
            guard case .string(let t) = args.positional[offset] else {
                throw TemplateError(.typeError, "test name must be a string")
            }
            testName = t
        }
        let testArgs = Arguments(positional: Array(args.positional.dropFirst(offset + 1)), keyword: args.keyword)
        var out: [TemplateValue] = []
        for item in try Operators.iterate(value) {
            try interpreter.step(.unknown)
            let subject = try attribute.map { try Filters.getAttributePath(item, $0) } ?? item
            let passed = try testName.map { try Tests.apply($0, to: subject, arguments: testArgs, interpreter: interpreter) } ?? subject.isTruthy
            if passed == keep { out.append(item) }
        }
        return .array(out)
    }
}
