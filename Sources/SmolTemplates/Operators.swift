import Foundation

/// Python semantics for arithmetic, comparison, membership and iteration.
/// Python ints are unbounded; here overflow is reported instead of wrapping.
enum Operators {
    static func typeError(_ op: String, _ a: TemplateValue, _ b: TemplateValue) -> TemplateError {
        TemplateError(.typeError, "unsupported operand type(s) for \(op): '\(a.typeName)' and '\(b.typeName)'")
    }

    static func overflow() -> TemplateError {
        TemplateError(.valueError, "integer result too large")
    }

    static func binary(_ op: BinaryOperator, _ a: TemplateValue, _ b: TemplateValue, limits: RenderLimits) throws -> TemplateValue {
        try Access.requireDefined(a)
        // `'%s' % undefined` formats via str(), which Undefined allows; other operators fail on it.
        if op == .modulo, case .string(let format) = a { return .string(try PercentFormat.format(format, b)) }
        try Access.requireDefined(b)
        switch op {
        case .add: return try add(a, b)
        case .subtract:
            if let x = a.intValue, let y = b.intValue {
                let (r, o) = x.subtractingReportingOverflow(y)
                if o { throw overflow() }
                return .int(r)
            }
            if let x = a.doubleValue, let y = b.doubleValue { return .double(x - y) }
            throw typeError("-", a, b)
        case .multiply: return try multiply(a, b, limits: limits)
        case .divide:
            guard let x = a.doubleValue, let y = b.doubleValue else { throw typeError("/", a, b) }
            if y == 0 { throw TemplateError(.zeroDivision, "division by zero") }
            return .double(x / y)
        case .floorDivide:
            if let x = a.intValue, let y = b.intValue {
                if y == 0 { throw TemplateError(.zeroDivision, "integer division or modulo by zero") }
                if x == Int.min, y == -1 { throw overflow() }
                let q = x / y
                return .int((x % y != 0 && (x < 0) != (y < 0)) ? q - 1 : q)
            }
            guard let x = a.doubleValue, let y = b.doubleValue else { throw typeError("//", a, b) }
            if y == 0 { throw TemplateError(.zeroDivision, "float floor division by zero") }
            return .double((x / y).rounded(.down))
        case .modulo:
            if let x = a.intValue, let y = b.intValue {
                if y == 0 { throw TemplateError(.zeroDivision, "integer division or modulo by zero") }
                if y == -1 { return .int(0) }
                let r = x % y
                return .int((r != 0 && (r < 0) != (y < 0)) ? r + y : r)
            }
            guard let x = a.doubleValue, let y = b.doubleValue else { throw typeError("%", a, b) }
            if y == 0 { throw TemplateError(.zeroDivision, "float modulo") }
            var r = fmod(x, y)
            if r != 0, (r < 0) != (y < 0) { r += y }
            return .double(r)
        case .power:
            if let x = a.intValue, let y = b.intValue, y >= 0 {
                var result = 1
                var base = x
                var e = y
                while e > 0 {
                    if e & 1 == 1 {
                        let (r, o) = result.multipliedReportingOverflow(by: base)
                        if o { throw overflow() }
                        result = r
                    }
                    e >>= 1
                    if e > 0 {
                        let (sq, o) = base.multipliedReportingOverflow(by: base)
                        if o { throw overflow() }
                        base = sq
                    }
                }
                return .int(result)
            }
            guard let x = a.doubleValue, let y = b.doubleValue else { throw typeError("** or pow()", a, b) }
            if x == 0, y < 0 { throw TemplateError(.zeroDivision, "0.0 cannot be raised to a negative power") }
            return .double(pow(x, y))
        }
    }

    static func add(_ a: TemplateValue, _ b: TemplateValue) throws -> TemplateValue {
        switch (a, b) {
        case (.string(let x), .string(let y)): return .string(x + y)
        case (.array(let x), .array(let y)): return .array(x + y)
        case (.tuple(let x), .tuple(let y)): return .tuple(x + y)
        case (.string, _):
            throw TemplateError(.typeError, "can only concatenate str (not \"\(b.typeName)\") to str")
        case (.array, _):
            throw TemplateError(.typeError, "can only concatenate list (not \"\(b.typeName)\") to list")
        default:
            if let x = a.intValue, let y = b.intValue {
                let (r, o) = x.addingReportingOverflow(y)
                if o { throw overflow() }
                return .int(r)
            }
            if let x = a.doubleValue, let y = b.doubleValue { return .double(x + y) }
            throw typeError("+", a, b)
        }
    }

    static func multiply(_ a: TemplateValue, _ b: TemplateValue, limits: RenderLimits) throws -> TemplateValue {
        if let x = a.intValue, let y = b.intValue {
            let (r, o) = x.multipliedReportingOverflow(by: y)
            if o { throw overflow() }
            return .int(r)
        }
        if let x = a.doubleValue, let y = b.doubleValue { return .double(x * y) }
        func repeated<T>(_ items: [T], _ n: Int, unit: Int) throws -> [T] {
            guard n > 0, !items.isEmpty else { return [] }
            guard unit * n <= limits.maxOutputBytes, items.count * n <= limits.maxOutputBytes else {
                throw TemplateError(.outputLimit, "repetition result too large")
            }
            return Array([[T]](repeating: items, count: n).joined())
        }
        switch (a, b) {
        case (.string(let s), _) where b.intValue != nil:
            return .string(String(String.UnicodeScalarView(try repeated(Array(s.unicodeScalars), b.intValue ?? 0, unit: s.utf8.count))))
        case (_, .string(let s)) where a.intValue != nil:
            return .string(String(String.UnicodeScalarView(try repeated(Array(s.unicodeScalars), a.intValue ?? 0, unit: s.utf8.count))))
        case (.array(let items), _) where b.intValue != nil:
            return .array(try repeated(items, b.intValue ?? 0, unit: items.count))
        case (_, .array(let items)) where a.intValue != nil:
            return .array(try repeated(items, a.intValue ?? 0, unit: items.count))
        case (.tuple(let items), _) where b.intValue != nil:
            return .tuple(try repeated(items, b.intValue ?? 0, unit: items.count))
        default:
            throw typeError("*", a, b)
        }
    }

    static func negate(_ v: TemplateValue) throws -> TemplateValue {
        try Access.requireDefined(v)
        if let i = v.intValue {
            if i == Int.min { throw overflow() }
            return .int(-i)
        }
        if case .double(let d) = v { return .double(-d) }
        throw TemplateError(.typeError, "bad operand type for unary -: '\(v.typeName)'")
    }

    static func compare(_ op: CompareOperator, _ a: TemplateValue, _ b: TemplateValue) throws -> Bool {
        switch op {
        case .eq: return a.pyEquals(b)
        case .ne: return !a.pyEquals(b)
        case .lt: return try lessThan(a, b, op: "<")
        case .gt: return try lessThan(b, a, op: ">", swapped: true)
        case .le: return try !lessThan(b, a, op: "<=", swapped: true)
        case .ge: return try !lessThan(a, b, op: ">=")
        case .isIn: return try contains(b, a)
        case .notIn: return try !contains(b, a)
        }
    }

    /// Python's ordering. NaN makes `<=` differ from `not >` in Python; ignored here.
    static func lessThan(_ a: TemplateValue, _ b: TemplateValue, op: String = "<", swapped: Bool = false) throws -> Bool {
        try Access.requireDefined(a)
        try Access.requireDefined(b)
        switch (a, b) {
        case (.string(let x), .string(let y)):
            return x.utf8.lexicographicallyPrecedes(y.utf8)
        case (.array(let x), .array(let y)), (.tuple(let x), .tuple(let y)):
            for (p, q) in zip(x, y) where !p.pyEquals(q) {
                return try lessThan(p, q, op: op)
            }
            return x.count < y.count
        default:
            if let x = a.intValue, let y = b.intValue { return x < y }
            if let x = a.doubleValue, let y = b.doubleValue { return x < y }
            let (l, r) = swapped ? (b, a) : (a, b)
            throw TemplateError(.typeError, "'\(op)' not supported between instances of '\(l.typeName)' and '\(r.typeName)'")
        }
    }

    static func contains(_ container: TemplateValue, _ item: TemplateValue) throws -> Bool {
        switch container {
        case .string(let s):
            guard case .string(let needle) = item else {
                try Access.requireDefined(item)
                throw TemplateError(.typeError, "'in <string>' requires string as left operand, not \(item.typeName)")
            }
            return PyString.find(Array(s.utf8), Array(needle.utf8), from: 0) != nil
        case .array(let items), .tuple(let items):
            return items.contains { $0.pyEquals(item) }
        case .dictionary(let d):
            if HashKey(item) == nil { throw TemplateError(.typeError, "unhashable type: '\(item.typeName)'") }
            return d.contains(item)
        case .undefined:
            return false
        case .object(let o):
            if case .namespace = o.payload, case .string(let k) = item { return o.attributes[k] != nil }
            fallthrough
        default:
            throw TemplateError(.typeError, "argument of type '\(container.typeName)' is not iterable")
        }
    }

    /// What `for x in value` visits: dict keys, string characters (code points), nothing for undefined.
    static func iterate(_ value: TemplateValue) throws -> [TemplateValue] {
        switch value {
        case .array(let items), .tuple(let items): return items
        case .dictionary(let d): return d.keys
        case .string(let s): return s.unicodeScalars.map { .string(String($0)) }
        case .undefined: return []
        case .object(let o):
            if case .loop(let state) = o.payload { return state.items }
            fallthrough
        default:
            throw TemplateError(.typeError, "'\(value.typeName)' object is not iterable")
        }
    }

    static func length(_ value: TemplateValue) throws -> Int {
        switch value {
        case .string(let s): return s.unicodeScalars.count
        case .array(let items), .tuple(let items): return items.count
        case .dictionary(let d): return d.count
        case .undefined: return 0
        default: throw TemplateError(.typeError, "object of type '\(value.typeName)' has no len()")
        }
    }
}
