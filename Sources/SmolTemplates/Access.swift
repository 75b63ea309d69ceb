/// Attribute and item lookup with Jinja's sandbox rules: `a.b` tries the Python attribute
/// (method) first and then the item; `a[b]` the other way round. Methods that mutate
/// are blocked, as in `ImmutableSandboxedEnvironment`.
enum Access {
    static let stringMethods: Set<String> = [
        "startswith", "endswith", "strip", "lstrip", "rstrip", "split", "rsplit", "splitlines",
        "replace", "upper", "lower", "title", "capitalize", "swapcase", "casefold", "find", "rfind",
        "index", "rindex", "count", "format", "join", "isdigit", "isalpha", "isalnum", "isspace",
        "isupper", "islower", "isnumeric", "isdecimal", "center", "ljust", "rjust", "zfill",
        "partition", "rpartition", "removeprefix", "removesuffix",
    ]
    static let dictMethods: Set<String> = ["items", "keys", "values", "get", "copy"]
    static let unsafeDictMethods: Set<String> = ["pop", "popitem", "setdefault", "update", "clear"]
    static let listMethods: Set<String> = ["index", "count", "copy"]
    static let unsafeListMethods: Set<String> = ["append", "extend", "insert", "pop", "remove", "reverse", "sort", "clear"]

    static func undefinedError(_ hint: String) -> TemplateError {
        TemplateError(hint.hasPrefix("access to attribute") ? .security : .undefinedValue, hint)
    }

    static func requireDefined(_ value: TemplateValue) throws {
        if case .undefined(let hint) = value { throw undefinedError(hint) }
    }

    private static func unsafe(_ name: String, _ base: TemplateValue) -> TemplateValue {
        .undefined("access to attribute '\(name)' of '\(base.typeName)' object is unsafe.")
    }

    private static func missingAttribute(_ base: TemplateValue, _ name: String) -> TemplateValue {
        .undefined("'\(base.typeName) object' has no attribute '\(name)'")
    }

    /// `base.name`; the Python attribute wins over a same-named dict key (so `d.items` is the method).
    static func attribute(_ base: TemplateValue, _ name: String) throws -> TemplateValue {
        switch base {
        case .undefined(let hint):
            throw undefinedError(hint)
        case .string:
            if stringMethods.contains(name) { return method(base, name) }
        case .dictionary(let d):
            if dictMethods.contains(name) { return method(base, name) }
            if unsafeDictMethods.contains(name) { return unsafe(name, base) }
            if let v = d[name] { return v }
        case .array, .tuple:
            if listMethods.contains(name) { return method(base, name) }
            if case .array = base, unsafeListMethods.contains(name) { return unsafe(name, base) }
        case .object(let obj):
            switch obj.payload {
            case .namespace:
                if let v = obj.attributes[name] { return v }
            case .loop(let state):
                if let v = state.attribute(name) { return v }
                if name == "cycle" || name == "changed" { return method(base, name) }
            case .cycler:
                if name == "next" || name == "reset" { return method(base, name) }
            default:
                break
            }
        default:
            break
        }
        if name.hasPrefix("_") {
            return .undefined("access to attribute '\(name)' of '\(base.typeName)' object is unsafe.")
        }
        return missingAttribute(base, name)
    }

    private static func method(_ base: TemplateValue, _ name: String) -> TemplateValue {
        .object(TemplateObject(.boundMethod(base, name)))
    }

    /// `base[index]`; falls back to attribute lookup for string keys, like `Environment.getitem`.
    static func item(_ base: TemplateValue, _ index: TemplateValue) throws -> TemplateValue {
        switch base {
        case .undefined(let hint):
            throw undefinedError(hint)
        case .dictionary(let d):
            if let v = d.value(forKey: index) { return v }
            if HashKey(index) == nil { throw TemplateError(.typeError, "unhashable type: '\(index.typeName)'") }
        case .array(let items), .tuple(let items):
            if let i = index.intValue {
                let j = i < 0 ? i + items.count : i
                if j >= 0, j < items.count { return items[j] }
                return .undefined("'\(base.typeName) object' has no element \(i)")
            }
        case .string(let s):
            if let i = index.intValue {
                let scalars = Array(s.unicodeScalars)
                let j = i < 0 ? i + scalars.count : i
                if j >= 0, j < scalars.count { return .string(String(scalars[j])) }
                return .undefined("'str object' has no element \(i)")
            }
        default:
            break
        }
        if case .string(let name) = index { return try attribute(base, name) }
        return .undefined("'\(base.typeName) object' has no element \((try? PythonRepr.repr(index)) ?? "")")
    }

    /// Python slice semantics, including negative steps (`s[::-1]`).
    static func slice(_ base: TemplateValue, _ start: TemplateValue?, _ stop: TemplateValue?, _ step: TemplateValue?) throws -> TemplateValue {
        func bound(_ v: TemplateValue?) throws -> Int? {
            guard let v, !v.isNone else { return nil }
            guard let i = v.intValue else {
                throw TemplateError(.typeError, "slice indices must be integers or None or have an __index__ method")
            }
            return i
        }
        let stepValue = try bound(step) ?? 1
        guard stepValue != 0 else { throw TemplateError(.valueError, "slice step cannot be zero") }
        func indices(_ count: Int) throws -> [Int] {
            var lo = try bound(start)
            var hi = try bound(stop)
            if stepValue > 0 {
                lo = Self.clamp(lo ?? 0, count, low: 0, high: count)
                hi = Self.clamp(hi ?? count, count, low: 0, high: count)
                return stride(from: lo ?? 0, to: hi ?? count, by: stepValue).map { $0 }
            }
            lo = Self.clamp(lo ?? count - 1, count, low: -1, high: count - 1)
            hi = hi.map { Self.clamp($0, count, low: -1, high: count - 1) } ?? -1
            return stride(from: lo ?? -1, to: hi ?? -1, by: stepValue).map { $0 }
        }
        switch base {
        case .array(let items):
            return .array(try indices(items.count).map { items[$0] })
        case .tuple(let items):
            return .tuple(try indices(items.count).map { items[$0] })
        case .string(let s):
            let scalars = Array(s.unicodeScalars)
            var out = String.UnicodeScalarView()
            for i in try indices(scalars.count) { out.append(scalars[i]) }
            return .string(String(out))
        default:
            throw TemplateError(.typeError, "'\(base.typeName)' object is not subscriptable")
        }
    }

    private static func clamp(_ i: Int, _ count: Int, low: Int, high: Int) -> Int {
        let j = i < 0 ? i + count : i
        return min(max(j, low), high)
    }
}
