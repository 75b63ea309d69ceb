import SmolJSON

/// A JSON value with the path it was read from, so that every type error names the field
/// (`messages[1].content[0].image_url.url`) the way the client wrote it.
struct Field {
    let value: JSONValue
    let path: String

    init(_ value: JSONValue, path: String) {
        self.value = value
        self.path = path
    }

    subscript(key: String) -> Field? {
        guard case let .object(pairs) = value, let v = pairs.first(where: { $0.0 == key })?.1 else { return nil }
        if case .null = v { return nil }
        return Field(v, path: path.isEmpty ? key : "\(path).\(key)")
    }

    var isNull: Bool { if case .null = value { true } else { false } }

    func object() throws(APIError) -> [(String, JSONValue)] {
        guard case let .object(p) = value else { throw .invalid(path, "expected an object, got \(kind)") }
        return p
    }

    func array() throws(APIError) -> [Field] {
        guard case let .array(a) = value else { throw .invalid(path, "expected an array, got \(kind)") }
        return a.enumerated().map { Field($1, path: "\(path)[\($0)]") }
    }

    func string() throws(APIError) -> String {
        guard case let .string(s) = value else { throw .invalid(path, "expected a string, got \(kind)") }
        return s
    }

    func bool() throws(APIError) -> Bool {
        guard case let .bool(b) = value else { throw .invalid(path, "expected true or false, got \(kind)") }
        return b
    }

    func double() throws(APIError) -> Double {
        switch value {
        case let .int(i): return Double(i)
        case let .double(d): return d
        default: throw .invalid(path, "expected a number, got \(kind)")
        }
    }

    func int() throws(APIError) -> Int {
        switch value {
        case let .int(i): return Int(i)
        case let .double(d) where d == d.rounded() && abs(d) < 1e15: return Int(d)
        default: throw .invalid(path, "expected an integer, got \(kind)")
        }
    }

    func double(in range: ClosedRange<Double>) throws(APIError) -> Double {
        let d = try double()
        guard range.contains(d) else { throw .invalid(path, "must be between \(range.lowerBound) and \(range.upperBound), got \(d)") }
        return d
    }

    /// A string or a list of strings (OpenAI `stop`).
    func strings() throws(APIError) -> [String] {
        if case let .string(s) = value { return [s] }
        return try array().map { f throws(APIError) in try f.string() }
    }

    var kind: String {
        switch value {
        case .null: "null"
        case .bool: "a boolean"
        case .int, .double: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }
}

extension Field {
    /// The request root: an object with a string `model`.
    /// The body's object and its model name, from the first of `modelKeys` present
    /// (Ollama's older clients send `name`).
    static func requestRoot(_ body: JSONValue, modelKeys: [String] = ["model"]) throws(APIError) -> (root: Field, model: String) {
        let root = Field(body, path: "")
        _ = try root.object()
        guard let modelField = modelKeys.lazy.compactMap({ root[$0] }).first else { throw .missing(modelKeys[0]) }
        return (root, try modelField.string())
    }
}
