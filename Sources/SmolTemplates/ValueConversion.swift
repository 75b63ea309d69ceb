import SmolJSON
import Foundation

extension TemplateValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByFloatLiteral, ExpressibleByBooleanLiteral, ExpressibleByArrayLiteral,
    ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .int(value) }
    public init(floatLiteral value: Double) { self = .double(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(arrayLiteral elements: TemplateValue...) { self = .array(elements) }
    public init(nilLiteral: ()) { self = .null }
    public init(dictionaryLiteral elements: (String, TemplateValue)...) {
        self = .dictionary(TemplateDictionary(elements))
    }
}

extension TemplateValue {
    /// Converts `JSONSerialization` output. Dictionary key order is whatever Foundation
    /// yields (not the document order); use `init(jsonString:)` when order matters.
    public init(jsonObject: Any) throws {
        // Check exact Swift types first: on Linux an Int also bridges to NSNumber and `is Bool`.
        if type(of: jsonObject) == Bool.self, let b = jsonObject as? Bool {
            self = .bool(b)
        } else if type(of: jsonObject) == Int.self, let i = jsonObject as? Int {
            self = .int(i)
        } else if type(of: jsonObject) == Double.self, let d = jsonObject as? Double {
            self = .double(d)
        } else if let s = jsonObject as? String {
            self = .string(s)
        } else if let n = jsonObject as? NSNumber {
            self = TemplateValue.fromNumber(n)
        } else if jsonObject is NSNull {
            self = .null
        } else if let a = jsonObject as? [Any] {
            self = .array(try a.map { try TemplateValue(jsonObject: $0) })
        } else if let d = jsonObject as? [String: Any] {
            var dict = TemplateDictionary()
            for (k, v) in d { dict[k] = try TemplateValue(jsonObject: v) }
            self = .dictionary(dict)
        } else if let v = jsonObject as? TemplateValue {
            self = v
        } else {
            throw TemplateError(.loading, "cannot convert \(type(of: jsonObject)) to a template value")
        }
    }

    private static func fromNumber(_ n: NSNumber) -> TemplateValue {
        // JSON booleans decode as a CFBoolean on both Darwin and Linux; its class name is the only reliable tell.
        let className = String(describing: type(of: n))
        if className.contains("Boolean") { return .bool(n.boolValue) }
        switch String(cString: n.objCType) {
        case "d", "f": return .double(n.doubleValue)
        case "Q":
            let u = n.uint64Value
            return u <= UInt64(Int.max) ? .int(Int(u)) : .double(n.doubleValue)
        default: return .int(n.intValue)
        }
    }

    /// Parses JSON text keeping key order and the int/float distinction, as Python's `json.loads` does.
    public init(jsonString: String) throws {
        try self.init(jsonBytes: Array(jsonString.utf8))
    }

    public init(jsonData: Data) throws {
        try self.init(jsonBytes: Array(jsonData))
    }

    init(jsonBytes: [UInt8]) throws {
        var parser = StrictJSONParser()
        parser.maxDepth = 512
        parser.rejectDuplicateKeys = false  // json.loads keeps the last value
        do {
            self.init(json: try parser.parse(jsonBytes))
        } catch {
            throw TemplateError(.loading, "invalid JSON: \(error)")
        }
    }

    public init(json: JSONValue) {
        switch json {
        case .null: self = .null
        case let .bool(b): self = .bool(b)
        case let .int(i): self = .int(Int(i))
        case let .double(d): self = .double(d)
        case let .string(s): self = .string(s)
        case let .array(a): self = .array(a.map(TemplateValue.init(json:)))
        case let .object(pairs):
            var d = TemplateDictionary()
            for (k, v) in pairs { d[k] = TemplateValue(json: v) }
            self = .dictionary(d)
        }
    }

    /// Convenience accessors for tests and callers.
    public subscript(key: String) -> TemplateValue? {
        if case .dictionary(let d) = self { return d[key] }
        return nil
    }

    public var arrayValue: [TemplateValue]? {
        switch self {
        case .array(let a), .tuple(let a): return a
        default: return nil
        }
    }

    public var dictionaryValue: TemplateDictionary? {
        if case .dictionary(let d) = self { return d }
        return nil
    }

    public var string: String? { stringValue }
}
