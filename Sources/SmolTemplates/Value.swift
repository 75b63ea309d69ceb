/// A value as the template sees it. Mirrors the Python objects transformers hands to Jinja:
/// ints and floats stay distinct (JSON `1.0` must print as `1.0`), dictionaries keep insertion order.
public enum TemplateValue: Sendable {
    case null
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case array([TemplateValue])
    /// Python tuple: prints with parentheses, produced by `d.items()` and `(a, b)` literals.
    case tuple([TemplateValue])
    case dictionary(TemplateDictionary)
    /// Jinja's `Undefined`; the payload is the hint used when an operation on it fails.
    case undefined(String)
    /// Namespaces, macros, loop objects and built-in callables (internal to rendering).
    case object(TemplateObject)

    public static let missing = TemplateValue.undefined("value is undefined")

    public var isUndefined: Bool {
        if case .undefined = self { return true }
        return false
    }

    public var isNone: Bool {
        if case .null = self { return true }
        return false
    }

    /// Python truthiness; undefined is falsy like Jinja's `Undefined.__bool__`.
    public var isTruthy: Bool {
        switch self {
        case .null, .undefined: return false
        case .bool(let b): return b
        case .int(let i): return i != 0
        case .double(let d): return d != 0
        case .string(let s): return !s.isEmpty
        case .array(let a), .tuple(let a): return !a.isEmpty
        case .dictionary(let d): return d.count > 0
        case .object(let o): return o.isTruthy
        }
    }

    /// Python's type name, used in error messages so they read like Jinja's.
    var typeName: String {
        switch self {
        case .null: return "NoneType"
        case .bool: return "bool"
        case .int: return "int"
        case .double: return "float"
        case .string: return "str"
        case .array: return "list"
        case .tuple: return "tuple"
        case .dictionary: return "dict"
        case .undefined: return "Undefined"
        case .object(let o): return o.typeName
        }
    }

    var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    /// Numeric view where Python's `bool` counts as `int`.
    var intValue: Int? {
        switch self {
        case .int(let i): return i
        case .bool(let b): return b ? 1 : 0
        default: return nil
        }
    }

    var doubleValue: Double? {
        switch self {
        case .int(let i): return Double(i)
        case .bool(let b): return b ? 1 : 0
        case .double(let d): return d
        default: return nil
        }
    }

    var isNumber: Bool { doubleValue != nil }
}

// MARK: - Python equality

extension TemplateValue {
    /// `==` as Python evaluates it: `1 == 1.0 == True`, strings by code point, dicts ignore order.
    func pyEquals(_ other: TemplateValue) -> Bool {
        switch (self, other) {
        case (.null, .null), (.undefined, .undefined): return true
        case (.string(let a), .string(let b)): return a.utf8.elementsEqual(b.utf8)
        case (.array(let a), .array(let b)), (.tuple(let a), .tuple(let b)):
            return a.count == b.count && zip(a, b).allSatisfy { $0.pyEquals($1) }
        case (.dictionary(let a), .dictionary(let b)):
            guard a.count == b.count else { return false }
            for (k, v) in a.pairs {
                guard let w = b.value(forKey: k), v.pyEquals(w) else { return false }
            }
            return true
        case (.object(let a), .object(let b)): return a === b
        default:
            if let x = self.intValue, let y = other.intValue { return x == y }
            if let x = self.doubleValue, let y = other.doubleValue { return x == y }
            return false
        }
    }
}

// MARK: - Ordered dictionary

/// Hashable projection of a value, following Python's rule that equal numbers hash alike.
enum HashKey: Hashable {
    case none
    case int(Int)
    case double(Double)
    case string([UInt8])
    case tuple([HashKey])

    init?(_ value: TemplateValue) {
        switch value {
        case .null: self = .none
        case .bool(let b): self = .int(b ? 1 : 0)
        case .int(let i): self = .int(i)
        case .double(let d):
            if d.rounded() == d, abs(d) < 9.0e18 { self = .int(Int(d)) } else { self = .double(d) }
        case .string(let s): self = .string(Array(s.utf8))
        case .tuple(let items):
            var keys: [HashKey] = []
            for item in items {
                guard let k = HashKey(item) else { return nil }
                keys.append(k)
            }
            self = .tuple(keys)
        default: return nil
        }
    }
}

/// Insertion-ordered mapping, because chat templates serialize tool schemas and
/// Python dicts keep the order the JSON had.
public struct TemplateDictionary: Sendable {
    public private(set) var keys: [TemplateValue] = []
    public private(set) var values: [TemplateValue] = []
    private var index: [HashKey: Int] = [:]

    public init() {}

    public init(_ pairs: [(String, TemplateValue)]) {
        for (k, v) in pairs { self[k] = v }
    }

    public var count: Int { keys.count }

    public var pairs: Zip2Sequence<[TemplateValue], [TemplateValue]> { zip(keys, values) }

    public subscript(key: String) -> TemplateValue? {
        get { value(forKey: .string(key)) }
        set {
            if let newValue { _ = try? set(.string(key), newValue) } else { remove(.string(key)) }
        }
    }

    func value(forKey key: TemplateValue) -> TemplateValue? {
        guard let h = HashKey(key), let i = index[h] else { return nil }
        return values[i]
    }

    func contains(_ key: TemplateValue) -> Bool { value(forKey: key) != nil }

    mutating func set(_ key: TemplateValue, _ value: TemplateValue) throws {
        guard let h = HashKey(key) else {
            throw TemplateError(.typeError, "unhashable type: '\(key.typeName)'")
        }
        if let i = index[h] {
            values[i] = value
        } else {
            index[h] = keys.count
            keys.append(key)
            values.append(value)
        }
    }

    mutating func remove(_ key: TemplateValue) {
        guard let h = HashKey(key), let i = index[h] else { return }
        keys.remove(at: i)
        values.remove(at: i)
        index = [:]
        for (j, k) in keys.enumerated() {
            if let hk = HashKey(k) { index[hk] = j }
        }
    }
}

// MARK: - Reference objects

/// Values with identity: Jinja namespaces are mutable, macros and callables carry behaviour.
public final class TemplateObject: @unchecked Sendable {
    enum Payload {
        case namespace
        case macro(Macro)
        case function(String, BuiltinFunction)
        case boundMethod(TemplateValue, String)
        case loop(LoopState)
        case cycler
    }

    let payload: Payload
    /// Namespace attributes; rendering is single-threaded so plain mutation is safe.
    var attributes = TemplateDictionary()

    init(_ payload: Payload) { self.payload = payload }

    var isTruthy: Bool { true }

    var typeName: String {
        switch payload {
        case .namespace: return "Namespace"
        case .macro: return "Macro"
        case .function, .boundMethod: return "builtin_function_or_method"
        case .loop: return "LoopContext"
        case .cycler: return "Cycler"
        }
    }

    var isCallable: Bool {
        switch payload {
        case .macro, .function, .boundMethod: return true
        default: return false
        }
    }
}

/// Positional and keyword arguments of a call, kept apart like Python's `*args, **kwargs`.
struct Arguments {
    var positional: [TemplateValue] = []
    var keyword: [(String, TemplateValue)] = []

    func keywordValue(_ name: String) -> TemplateValue? {
        keyword.last(where: { $0.0 == name })?.1
    }

    /// Binds by position then name, like a Python signature with defaults.
    func bind(_ names: [String], function: String) throws -> [TemplateValue?] {
        guard positional.count <= names.count else {
            throw TemplateError(.typeError, "\(function)() takes at most \(names.count) arguments (\(positional.count) given)")
        }
        var result: [TemplateValue?] = Array(repeating: nil, count: names.count)
        for (i, v) in positional.enumerated() { result[i] = v }
        for (k, v) in keyword {
            guard let i = names.firstIndex(of: k) else {
                throw TemplateError(.typeError, "\(function)() got an unexpected keyword argument '\(k)'")
            }
            if result[i] != nil, i < positional.count {
                throw TemplateError(.typeError, "\(function)() got multiple values for argument '\(k)'")
            }
            result[i] = v
        }
        return result
    }
}

typealias BuiltinFunction = (Interpreter, Arguments) throws -> TemplateValue
