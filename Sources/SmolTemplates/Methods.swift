/// Python methods callable from templates (`s.strip()`, `d.items()`, `loop.cycle(...)`).
enum Methods {
    static func call(_ name: String, on receiver: TemplateValue, _ args: Arguments, interpreter: Interpreter) throws -> TemplateValue {
        switch receiver {
        case .string(let s): return try stringMethod(name, s, args)
        case .dictionary(let d): return try dictMethod(name, d, args)
        case .array(let items), .tuple(let items): return try listMethod(name, receiver, items, args)
        case .object(let obj):
            if case .loop(let state) = obj.payload { return try loopMethod(name, state, args) }
        default: break
        }
        throw TemplateError(.typeError, "'\(receiver.typeName)' object has no method '\(name)'")
    }

    private static func str(_ v: TemplateValue?, _ what: String) throws -> String? {
        guard let v, !v.isNone else { return nil }
        guard case .string(let s) = v else {
            throw TemplateError(.typeError, "\(what) arg must be None or str, not \(v.typeName)")
        }
        return s
    }

    private static func int(_ v: TemplateValue?, default d: Int) throws -> Int {
        guard let v else { return d }
        guard let i = v.intValue else {
            throw TemplateError(.typeError, "'\(v.typeName)' object cannot be interpreted as an integer")
        }
        return i
    }

    static func stringMethod(_ name: String, _ s: String, _ args: Arguments) throws -> TemplateValue {
        switch name {
        case "startswith", "endswith":
            let a = try args.bind(["prefix"], function: name)
            let candidates: [TemplateValue]
            switch a[0] {
            case .tuple(let items)?, .array(let items)?: candidates = items
            case let v?: candidates = [v]
            case nil: throw TemplateError(.typeError, "\(name)() takes at least 1 argument (0 given)")
            }
            let bytes = Array(s.utf8)
            for c in candidates {
                guard case .string(let p) = c else {
                    throw TemplateError(.typeError, "\(name) first arg must be str or a tuple of str, not \(c.typeName)")
                }
                let pb = Array(p.utf8)
                if name == "startswith" ? bytes.starts(with: pb) : bytes.reversed().starts(with: pb.reversed()) {
                    return .bool(true)
                }
            }
            return .bool(false)
        case "strip", "lstrip", "rstrip":
            let a = try args.bind(["chars"], function: name)
            let chars = try str(a[0], name)
            return .string(PyString.strip(s, chars: chars, leading: name != "rstrip", trailing: name != "lstrip"))
        case "split", "rsplit":
            let a = try args.bind(["sep", "maxsplit"], function: name)
            let sep = try str(a[0], name)
            let maxSplit = try int(a[1], default: -1)
            let parts = name == "split"
                ? try PyString.split(s, sep: sep, maxSplit: maxSplit)
                : try PyString.rsplit(s, sep: sep, maxSplit: maxSplit)
            return .array(parts.map { .string($0) })
        case "splitlines":
            let a = try args.bind(["keepends"], function: name)
            return .array(PyString.splitlines(s, keepEnds: a[0]?.isTruthy ?? false).map { .string($0) })
        case "replace":
            let a = try args.bind(["old", "new", "count"], function: name)
            guard case .string(let old)? = a[0], case .string(let new)? = a[1] else {
                throw TemplateError(.typeError, "replace() arguments must be str")
            }
            return .string(PyString.replace(s, old, new, count: try int(a[2], default: -1)))
        case "upper": return .string(PyString.upper(s))
        case "lower", "casefold": return .string(PyString.lower(s))
        case "title": return .string(PyString.title(s))
        case "capitalize": return .string(PyString.capitalize(s))
        case "swapcase":
            return .string(s.unicodeScalars.reduce(into: "") {
                $0 += $1.properties.isUppercase ? $1.properties.lowercaseMapping
                    : ($1.properties.isLowercase ? $1.properties.uppercaseMapping : String($1))
            })
        case "find", "rfind", "index", "rindex":
            let a = try args.bind(["sub", "start", "end"], function: name)
            guard case .string(let sub)? = a[0] else { throw TemplateError(.typeError, "must be str") }
            let scalars = Array(s.unicodeScalars)
            var start = try int(a[1], default: 0)
            var end = try int(a[2], default: scalars.count)
            if start < 0 { start = max(0, start + scalars.count) }
            if end < 0 { end = max(0, end + scalars.count) }
            end = min(end, scalars.count)
            var found: Int?
            if start <= end {
                let window = Array(String(String.UnicodeScalarView(scalars[start..<end])).utf8)
                let needle = Array(sub.utf8)
                let hit = name.hasPrefix("r") ? PyString.rfind(window, needle) : PyString.find(window, needle, from: 0)
                found = hit.map { start + PyString.scalarIndex(window, byteOffset: $0) }
            }
            if let found { return .int(found) }
            if name.hasSuffix("index") { throw TemplateError(.valueError, "substring not found") }
            return .int(-1)
        case "count":
            let a = try args.bind(["sub"], function: name)
            guard case .string(let sub)? = a[0] else { throw TemplateError(.typeError, "must be str") }
            return .int(PyString.count(s, sub))
        case "format":
            return .string(try BraceFormat.format(s, args))
        case "join":
            let a = try args.bind(["iterable"], function: name)
            var parts: [String] = []
            for item in try Operators.iterate(a[0] ?? .array([])) {
                guard case .string(let p) = item else {
                    throw TemplateError(.typeError, "sequence item \(parts.count): expected str instance, \(item.typeName) found")
                }
                parts.append(p)
            }
            return .string(parts.joined(separator: s))
        case "isdigit", "isdecimal", "isnumeric":
            return .bool(!s.isEmpty && s.unicodeScalars.allSatisfy { $0.properties.numericType != nil && (name == "isnumeric" || $0.properties.numericType != .numeric) })
        case "isalpha": return .bool(!s.isEmpty && s.unicodeScalars.allSatisfy { $0.properties.isAlphabetic })
        case "isalnum": return .bool(!s.isEmpty && s.unicodeScalars.allSatisfy { $0.properties.isAlphabetic || $0.properties.numericType != nil })
        case "isspace": return .bool(!s.isEmpty && s.unicodeScalars.allSatisfy(isPySpace))
        case "isupper", "islower":
            let cased = s.unicodeScalars.filter(PyString.isCased)
            let want = name == "isupper"
            return .bool(!cased.isEmpty && cased.allSatisfy { want ? !$0.properties.isLowercase : !$0.properties.isUppercase })
        case "center", "ljust", "rjust":
            let a = try args.bind(["width", "fillchar"], function: name)
            let fill = (try str(a[1], name))?.unicodeScalars.first ?? " "
            let align: Character = name == "center" ? "^" : (name == "ljust" ? "<" : ">")
            return .string(PyString.padded(s, width: try int(a[0], default: 0), fill: fill, align: align))
        case "zfill":
            let a = try args.bind(["width"], function: name)
            let width = try int(a[0], default: 0)
            var body = s
            var sign = ""
            if let f = s.unicodeScalars.first, f == "-" || f == "+" {
                sign = String(f)
                body = String(String.UnicodeScalarView(s.unicodeScalars.dropFirst()))
            }
            return .string(sign + PyString.padded(body, width: width - sign.count, fill: "0", align: ">"))
        case "partition", "rpartition":
            let a = try args.bind(["sep"], function: name)
            guard case .string(let sep)? = a[0], !sep.isEmpty else { throw TemplateError(.valueError, "empty separator") }
            let h = Array(s.utf8)
            let p = Array(sep.utf8)
            let hit = name == "partition" ? PyString.find(h, p, from: 0) : PyString.rfind(h, p)
            guard let j = hit else {
                return name == "partition" ? .tuple([.string(s), "", ""]) : .tuple(["", "", .string(s)])
            }
            return .tuple([.string(PyString.string(h[..<j])), .string(sep), .string(PyString.string(h[(j + p.count)...]))])
        case "removeprefix", "removesuffix":
            let a = try args.bind(["affix"], function: name)
            guard case .string(let affix)? = a[0] else { throw TemplateError(.typeError, "must be str") }
            let h = Array(s.utf8)
            let p = Array(affix.utf8)
            if name == "removeprefix", h.starts(with: p) { return .string(PyString.string(h[p.count...])) }
            if name == "removesuffix", !p.isEmpty, h.reversed().starts(with: p.reversed()) {
                return .string(PyString.string(h[..<(h.count - p.count)]))
            }
            return .string(s)
        default:
            throw TemplateError(.typeError, "'str' object has no attribute '\(name)'")
        }
    }

    static func dictMethod(_ name: String, _ d: TemplateDictionary, _ args: Arguments) throws -> TemplateValue {
        switch name {
        case "items":
            _ = try args.bind([], function: name)
            return .array(d.pairs.map { .tuple([$0, $1]) })
        case "keys":
            _ = try args.bind([], function: name)
            return .array(d.keys)
        case "values":
            _ = try args.bind([], function: name)
            return .array(d.values)
        case "get":
            let a = try args.bind(["key", "default"], function: name)
            guard let key = a[0] else { throw TemplateError(.typeError, "get expected at least 1 argument, got 0") }
            return d.value(forKey: key) ?? a[1] ?? .null
        case "copy":
            return .dictionary(d)
        default:
            throw TemplateError(.typeError, "'dict' object has no attribute '\(name)'")
        }
    }

    static func listMethod(_ name: String, _ receiver: TemplateValue, _ items: [TemplateValue], _ args: Arguments) throws -> TemplateValue {
        switch name {
        case "index":
            let a = try args.bind(["value"], function: name)
            if let v = a[0], let i = items.firstIndex(where: { $0.pyEquals(v) }) { return .int(i) }
            throw TemplateError(.valueError, "value is not in list")
        case "count":
            let a = try args.bind(["value"], function: name)
            return .int(items.filter { $0.pyEquals(a[0] ?? .null) }.count)
        case "copy":
            return receiver
        default:
            throw TemplateError(.typeError, "'\(receiver.typeName)' object has no attribute '\(name)'")
        }
    }

    static func loopMethod(_ name: String, _ state: LoopState, _ args: Arguments) throws -> TemplateValue {
        switch name {
        case "cycle":
            guard !args.positional.isEmpty else { throw TemplateError(.typeError, "no items for cycling given") }
            return args.positional[state.index0 % args.positional.count]
        case "changed":
            let changed = state.lastChanged.map { old in
                old.count != args.positional.count || !zip(old, args.positional).allSatisfy { $0.pyEquals($1) }
            } ?? true
            if changed { state.lastChanged = args.positional }
            return .bool(changed)
        default:
            throw TemplateError(.typeError, "'LoopContext' object has no attribute '\(name)'")
        }
    }
}
