import Foundation

/// Jinja's built-in filters plus transformers' `tojson` override.
enum Filters {
    static let names: Set<String> = [
        "abs", "attr", "batch", "capitalize", "center", "count", "d", "default", "dictsort", "e", "escape",
        "first", "float", "forceescape", "format", "indent", "int", "items", "join", "last", "length",
        "list", "lower", "map", "max", "min", "reject", "rejectattr", "replace", "reverse", "round", "safe",
        "select", "selectattr", "sort", "string", "sum", "title", "tojson", "trim", "truncate", "unique",
        "upper", "wordcount",
    ]

    static func apply(_ name: String, to value: TemplateValue, arguments args: Arguments, interpreter: Interpreter, at loc: SourceLocation) throws -> TemplateValue {
        switch name {
        case "abs":
            if let i = value.intValue { return .int(i == Int.min ? i : abs(i)) }
            if case .double(let d) = value { return .double(abs(d)) }
            try Access.requireDefined(value)
            throw TemplateError(.typeError, "bad operand type for abs(): '\(value.typeName)'")
        case "attr":
            let a = try args.bind(["name"], function: name)
            guard case .string(let attr)? = a[0] else { throw TemplateError(.typeError, "attribute name must be a string") }
            if case .dictionary = value, !Access.dictMethods.contains(attr) {
                return .undefined("'dict object' has no attribute '\(attr)'")
            }
            return try Access.attribute(value, attr)
        case "batch":
            let a = try args.bind(["linecount", "fill_with"], function: name)
            let size = a[0]?.intValue ?? 1
            guard size > 0 else { throw TemplateError(.valueError, "batch size must be positive") }
            let items = try Operators.iterate(value)
            var rows: [TemplateValue] = []
            var i = 0
            while i < items.count {
                var row = Array(items[i..<min(i + size, items.count)])
                if row.count < size, let fill = a[1], !fill.isNone {
                    row += Array(repeating: fill, count: size - row.count)
                }
                rows.append(.array(row))
                i += size
            }
            return .array(rows)
        case "capitalize":
            return .string(PyString.capitalize(try PythonRepr.str(value)))
        case "center":
            let a = try args.bind(["width"], function: name)
            return .string(PyString.padded(try PythonRepr.str(value), width: a[0]?.intValue ?? 80, fill: " ", align: "^"))
        case "count", "length":
            return .int(try Operators.length(value))
        case "d", "default":
            let a = try args.bind(["default_value", "boolean"], function: name)
            if value.isUndefined || ((a[1]?.isTruthy ?? false) && !value.isTruthy) {
                return a[0] ?? .string("")
            }
            return value
        case "dictsort":
            let a = try args.bind(["case_sensitive", "by", "reverse"], function: name)
            guard case .dictionary(let d) = value else { throw TemplateError(.typeError, "dictsort expects a mapping") }
            let byValue: Bool
            switch a[1] {
            case nil, .string("key")?: byValue = false
            case .string("value")?: byValue = true
            default: throw TemplateError(.valueError, "You can only sort by either \"key\" or \"value\"")
            }
            let caseSensitive = a[0]?.isTruthy ?? false
            let pairs = d.pairs.map { TemplateValue.tuple([$0, $1]) }
            return .array(try sorted(pairs, reverse: a[2]?.isTruthy ?? false) { pair in
                let part = pair.arrayValue?[byValue ? 1 : 0] ?? .null
                return caseSensitive ? part : foldCase(part)
            })
        case "e", "escape", "forceescape":
            return .string(escapeHTML(try PythonRepr.str(value)))
        case "first", "last":
            let items = try Operators.iterate(value)
            guard let item = name == "first" ? items.first : items.last else {
                return .undefined("No \(name) item, sequence was empty.")
            }
            return item
        case "float":
            let a = try args.bind(["default"], function: name)
            return toFloat(value) ?? a[0] ?? .double(0)
        case "format":
            let format = try PythonRepr.str(value)
            if !args.keyword.isEmpty {
                var d = TemplateDictionary()
                for (k, v) in args.keyword { d[k] = v }
                return .string(try PercentFormat.format(format, .dictionary(d)))
            }
            return .string(try PercentFormat.format(format, .tuple(args.positional)))
        case "indent":
            let a = try args.bind(["width", "first", "blank"], function: name)
            return .string(indent(try PythonRepr.str(value), width: a[0] ?? .int(4), first: a[1]?.isTruthy ?? false, blank: a[2]?.isTruthy ?? false))
        case "int":
            let a = try args.bind(["default", "base"], function: name)
            return try toInt(value, base: a[1]?.intValue ?? 10) ?? a[0] ?? .int(0)
        case "items":
            switch value {
            case .undefined: return .array([])
            case .dictionary(let d): return .array(d.pairs.map { .tuple([$0, $1]) })
            default: throw TemplateError(.typeError, "Can only get item pairs from a mapping.")
            }
        case "join":
            let a = try args.bind(["d", "attribute"], function: name)
            var items = try Operators.iterate(value)
            if let attr = a[1], !attr.isNone { items = try items.map { try getAttributePath($0, attr) } }
            let sep = try PythonRepr.str(a[0] ?? .string(""))
            return .string(try items.map { try PythonRepr.str($0) }.joined(separator: sep))
        case "list":
            return .array(try Operators.iterate(value))
        case "lower":
            return .string(PyString.lower(try PythonRepr.str(value)))
        case "upper":
            return .string(PyString.upper(try PythonRepr.str(value)))
        case "map":
            return try FilterSequences.map(value, args, interpreter: interpreter, at: loc)
        case "select", "reject", "selectattr", "rejectattr":
            return try FilterSequences.select(name, value, args, interpreter: interpreter)
        case "max", "min":
            let a = try args.bind(["case_sensitive", "attribute"], function: name)
            let items = try Operators.iterate(value)
            let ordered = try sorted(items, reverse: false) { item in
                let v = try a[1].map { try getAttributePath(item, $0) } ?? item
                return (a[0]?.isTruthy ?? false) ? v : foldCase(v)
            }
            guard let pick = name == "min" ? ordered.first : ordered.last else {
                return .undefined("No aggregated item, sequence was empty.")
            }
            return pick
        case "replace":
            let a = try args.bind(["old", "new", "count"], function: name)
            let count = (a[2].flatMap { $0.isNone ? nil : $0.intValue }) ?? -1
            return .string(PyString.replace(try PythonRepr.str(value), try PythonRepr.str(a[0] ?? ""), try PythonRepr.str(a[1] ?? ""), count: count))
        case "reverse":
            if case .string(let s) = value { return .string(String(String.UnicodeScalarView(s.unicodeScalars.reversed()))) }
            return .array(try Operators.iterate(value).reversed())
        case "round":
            let a = try args.bind(["precision", "method"], function: name)
            return try round(value, precision: a[0]?.intValue ?? 0, method: a[1]?.stringValue ?? "common")
        case "safe", "string":
            return .string(try PythonRepr.str(value))
        case "sort":
            let a = try args.bind(["reverse", "case_sensitive", "attribute"], function: name)
            let caseSensitive = a[1]?.isTruthy ?? false
            return .array(try sorted(try Operators.iterate(value), reverse: a[0]?.isTruthy ?? false) { item in
                let v = try a[2].map { try getAttributePath(item, $0) } ?? item
                return caseSensitive ? v : foldCase(v)
            })
        case "sum":
            let a = try args.bind(["attribute", "start"], function: name)
            var total = a[1] ?? .int(0)
            for item in try Operators.iterate(value) {
                let v = try a[0].map { try getAttributePath(item, $0) } ?? item
                total = try Operators.add(total, v)
            }
            return total
        case "title":
            return .string(jinjaTitle(try PythonRepr.str(value)))
        case "tojson":
            return try toJSON(value, args)
        case "trim":
            let a = try args.bind(["chars"], function: name)
            let chars = a[0].flatMap { $0.isNone ? nil : $0.stringValue }
            return .string(PyString.strip(try PythonRepr.str(value), chars: chars, leading: true, trailing: true))
        case "truncate":
            let a = try args.bind(["length", "killwords", "end", "leeway"], function: name)
            return .string(try truncate(try PythonRepr.str(value), length: a[0]?.intValue ?? 255, killWords: a[1]?.isTruthy ?? false,
                                        end: a[2]?.stringValue ?? "...", leeway: a[3]?.intValue ?? 5))
        case "unique":
            let a = try args.bind(["case_sensitive", "attribute"], function: name)
            var seen: [TemplateValue] = []
            var out: [TemplateValue] = []
            for item in try Operators.iterate(value) {
                var key = try a[1].map { try getAttributePath(item, $0) } ?? item
                if !(a[0]?.isTruthy ?? false) { key = foldCase(key) }
                if !seen.contains(where: { $0.pyEquals(key) }) {
                    seen.append(key)
                    out.append(item)
                }
            }
            return .array(out)
        case "wordcount":
            let s = try PythonRepr.str(value)
            var count = 0
            var inWord = false
            for c in s.unicodeScalars {
                let word = c == "_" || c.properties.isAlphabetic || c.properties.numericType != nil
                if word, !inWord { count += 1 }
                inWord = word
            }
            return .int(count)
        default:
            throw TemplateError(.unknownFilter, "No filter named '\(name)'.")
        }
    }
}
