import Foundation

/// Typed access to a decoded JSON object with errors that name the file and the field.
public struct JSONObject {
    public let file: String
    public let values: [String: Any]

    public init(file: String, values: [String: Any]) {
        self.file = file
        self.values = values
    }

    /// Reads a JSON object from a file, capping its size before parsing.
    public static func load(_ path: String, maxBytes: Int = 64 << 20) throws -> JSONObject {
        let url = URL(fileURLWithPath: path)
        let attrs = try? FileManager.default.attributesOfItem(atPath: path)
        if let size = attrs?[.size] as? Int, size > maxBytes {
            throw ConfigError.invalid(file: path, field: "(file)", reason: "file is \(size) bytes, limit \(maxBytes)")
        }
        guard let data = try? Data(contentsOf: url) else { throw ConfigError.missingFile(path) }
        guard let obj = try? JSONSerialization.jsonObject(with: data), let dict = obj as? [String: Any] else {
            throw ConfigError.invalid(file: path, field: "(file)", reason: "not a JSON object")
        }
        return JSONObject(file: path, values: dict)
    }

    public func has(_ key: String) -> Bool { values[key] != nil && !(values[key] is NSNull) }

    func bad(_ key: String, _ reason: String) -> ConfigError { .invalid(file: file, field: key, reason: reason) }

    public func int(_ key: String) throws -> Int? {
        guard let v = values[key], !(v is NSNull) else { return nil }
        guard let n = v as? NSNumber, !Self.isBool(n) else { throw bad(key, "must be an integer") }
        let d = n.doubleValue
        guard d.rounded() == d, abs(d) < 9.0e15 else { throw bad(key, "must be an integer, got \(n)") }
        return Int(d)
    }

    public func requireInt(_ key: String) throws -> Int {
        guard let v = try int(key) else { throw ConfigError.missingField(file: file, field: key) }
        return v
    }

    public func double(_ key: String) throws -> Double? {
        guard let v = values[key], !(v is NSNull) else { return nil }
        guard let n = v as? NSNumber, !Self.isBool(n) else { throw bad(key, "must be a number") }
        return n.doubleValue
    }

    public func bool(_ key: String) throws -> Bool? {
        guard let v = values[key], !(v is NSNull) else { return nil }
        guard let n = v as? NSNumber, Self.isBool(n) else { throw bad(key, "must be true or false") }
        return n.boolValue
    }

    public func string(_ key: String) throws -> String? {
        guard let v = values[key], !(v is NSNull) else { return nil }
        guard let s = v as? String else { throw bad(key, "must be a string") }
        return s
    }

    public func object(_ key: String) throws -> JSONObject? {
        guard let v = values[key], !(v is NSNull) else { return nil }
        guard let d = v as? [String: Any] else { throw bad(key, "must be an object") }
        return JSONObject(file: "\(file) [\(key)]", values: d)
    }

    public func intArray(_ key: String) throws -> [Int]? {
        guard let v = values[key], !(v is NSNull) else { return nil }
        if let n = v as? NSNumber, !Self.isBool(n) { return [try requireInt(key)] }
        guard let a = v as? [Any] else { throw bad(key, "must be an integer or a list of integers") }
        return try a.map { e in
            guard let n = e as? NSNumber, !Self.isBool(n), n.doubleValue.rounded() == n.doubleValue else {
                throw bad(key, "must contain only integers")
            }
            return n.intValue
        }
    }

    public func stringArray(_ key: String) throws -> [String]? {
        guard let v = values[key], !(v is NSNull) else { return nil }
        if let s = v as? String { return [s] }
        guard let a = v as? [Any], let s = a as? [String] else { throw bad(key, "must be a list of strings") }
        return s
    }

    /// JSON true/false decode as a boolean NSNumber subclass; `as? Bool` also accepts 0 and 1.
    static func isBool(_ n: NSNumber) -> Bool {
        #if canImport(Darwin)
        return CFGetTypeID(n) == CFBooleanGetTypeID()
        #else
        return String(describing: type(of: n)).contains("Boolean")
        #endif
    }
}

public enum ConfigError: Error, CustomStringConvertible, Equatable {
    case missingFile(String)
    case missingField(file: String, field: String)
    case invalid(file: String, field: String, reason: String)
    case unsupported(file: String, field: String, value: String, supported: String)
    case unknownArchitecture(file: String, modelType: String, known: [String])

    public var description: String {
        switch self {
        case let .missingFile(f): return "\(f): file not found or unreadable"
        case let .missingField(f, k): return "\(f): missing required field '\(k)'"
        case let .invalid(f, k, r): return "\(f): field '\(k)': \(r)"
        case let .unsupported(f, k, v, s): return "\(f): field '\(k)' = \(v) is not supported (supported: \(s))"
        case let .unknownArchitecture(f, t, known):
            return "\(f): model_type '\(t)' is not supported (supported: \(known.joined(separator: ", ")))"
        }
    }
}
