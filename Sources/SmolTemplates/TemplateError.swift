/// Position in the template source, 1-based, counted in Unicode scalars.
public struct SourceLocation: Sendable, Equatable, CustomStringConvertible {
    public var line: Int
    public var column: Int

    public init(line: Int, column: Int) {
        self.line = line
        self.column = column
    }

    public static let unknown = SourceLocation(line: 0, column: 0)

    public var description: String { "\(line):\(column)" }
}

/// Every failure while parsing or rendering a template surfaces as this one type,
/// so callers can report a position instead of crashing on untrusted Hub templates.
public struct TemplateError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        case syntax
        case unknownFilter
        case unknownTest
        case undefinedValue
        case typeError
        case valueError
        case zeroDivision
        case security
        /// `raise_exception(msg)` from the template; `message` is exactly `msg`.
        case raised
        case stepLimit
        case depthLimit
        case outputLimit
        case loading
    }

    public var kind: Kind
    public var message: String
    public var location: SourceLocation

    public var line: Int { location.line }
    public var column: Int { location.column }

    public init(_ kind: Kind, _ message: String, at location: SourceLocation = .unknown) {
        self.kind = kind
        self.message = message
        self.location = location
    }

    public var description: String {
        "TemplateError.\(kind) at \(location): \(message)"
    }

    /// Errors raised deep inside value helpers don't know where they are;
    /// the interpreter stamps the position of the node being evaluated.
    func located(_ loc: SourceLocation) -> TemplateError {
        guard location == .unknown else { return self }
        var copy = self
        copy.location = loc
        return copy
    }
}
