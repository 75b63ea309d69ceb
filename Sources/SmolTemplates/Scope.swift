import Foundation

/// Variable frame. `for` iterations, macro calls and `with` blocks get a child scope,
/// which is why a `set` inside a loop doesn't leak out (Jinja's reason for `namespace`).
final class Scope {
    var variables: [String: TemplateValue] = [:]
    let parent: Scope?

    init(parent: Scope?) { self.parent = parent }

    func lookup(_ name: String) -> TemplateValue? {
        var scope: Scope? = self
        while let s = scope {
            if let v = s.variables[name] { return v }
            scope = s.parent
        }
        return nil
    }
}

/// A macro (or a `{% call %}` body) bound to the scope it was defined in.
final class Macro {
    let name: String
    let parameters: [(String, Node?)]
    let body: [Statement]
    let closure: Scope
    /// Set for macros invoked through `{% call %}`: the body that `caller()` renders.
    var caller: TemplateValue?

    init(name: String, parameters: [(String, Node?)], body: [Statement], closure: Scope) {
        self.name = name
        self.parameters = parameters
        self.body = body
        self.closure = closure
    }
}

/// Backing data of Jinja's `loop` variable.
final class LoopState {
    let items: [TemplateValue]
    var index0 = 0
    let depth0: Int
    var lastChanged: [TemplateValue]?

    init(items: [TemplateValue], depth0: Int) {
        self.items = items
        self.depth0 = depth0
    }

    func attribute(_ name: String) -> TemplateValue? {
        let n = items.count
        switch name {
        case "index": return .int(index0 + 1)
        case "index0": return .int(index0)
        case "revindex": return .int(n - index0)
        case "revindex0": return .int(n - index0 - 1)
        case "first": return .bool(index0 == 0)
        case "last": return .bool(index0 == n - 1)
        case "length": return .int(n)
        case "depth": return .int(depth0 + 1)
        case "depth0": return .int(depth0)
        case "previtem": return index0 > 0 ? items[index0 - 1] : .undefined("there is no previous item")
        case "nextitem": return index0 + 1 < n ? items[index0 + 1] : .undefined("there is no next item")
        default: return nil
        }
    }
}

/// Resource limits for one render. Templates come from the Hub, so each one is a hard stop, not a hint.
public struct RenderLimits: Sendable {
    /// Node evaluations (expressions and statements) before giving up.
    public var maxSteps: Int = 10_000_000
    /// Nesting depth for parsing and for evaluation (macro recursion, nested blocks).
    public var maxDepth: Int = 256
    /// Bytes of UTF-8 in any produced string, including the final output.
    public var maxOutputBytes: Int = 64 << 20
    /// Elements in any list the template builds; `range()` is capped separately like Jinja's sandbox.
    public var maxCollectionLength: Int = 1_000_000
    public var maxRange: Int = 100_000

    public init() {}
}

/// Time source for `strftime_now`, injectable so tests are deterministic.
public struct TemplateClock: Sendable {
    public var now: @Sendable () -> Date
    public var timeZone: TimeZone

    public init(timeZone: TimeZone = .current, now: @escaping @Sendable () -> Date = { Date() }) {
        self.now = now
        self.timeZone = timeZone
    }

    public static let system = TemplateClock()

    /// A clock stuck at the given wall-clock time, interpreted in UTC.
    public static func fixed(year: Int, month: Int, day: Int, hour: Int = 0, minute: Int = 0, second: Int = 0) -> TemplateClock {
        var calendar = Calendar(identifier: .gregorian)
        let utc = TimeZone(identifier: "UTC") ?? TimeZone.current
        calendar.timeZone = utc
        let comps = DateComponents(year: year, month: month, day: day, hour: hour, minute: minute, second: second)
        let date = calendar.date(from: comps) ?? Date(timeIntervalSince1970: 0)
        return TemplateClock(timeZone: utc, now: { date })
    }
}
