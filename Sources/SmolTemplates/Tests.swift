/// Jinja tests (`x is defined`, `n is divisibleby 3`, ...).
enum Tests {
    static let names: Set<String> = [
        "boolean", "callable", "defined", "divisibleby", "eq", "equalto", "==", "escaped", "even", "false",
        "filter", "float", "ge", ">=", "gt", "greaterthan", ">", "in", "integer", "iterable", "le", "<=",
        "lower", "lt", "lessthan", "<", "mapping", "ne", "!=", "none", "number", "odd", "sameas", "sequence",
        "string", "test", "true", "undefined", "upper",
    ]

    static func apply(_ name: String, to value: TemplateValue, arguments args: Arguments, interpreter: Interpreter) throws -> Bool {
        func operand() throws -> TemplateValue {
            guard let other = args.positional.first ?? args.keyword.first?.1 else {
                throw TemplateError(.typeError, "test '\(name)' requires an argument")
            }
            return other
        }
        switch name {
        case "defined": return !value.isUndefined
        case "undefined": return value.isUndefined
        case "none": return value.isNone
        case "boolean":
            if case .bool = value { return true }
            return false
        case "true":
            if case .bool(true) = value { return true }
            return false
        case "false":
            if case .bool(false) = value { return true }
            return false
        case "integer":
            if case .int = value { return true }
            return false
        case "float":
            if case .double = value { return true }
            return false
        case "number": return value.isNumber
        case "string": return value.stringValue != nil
        case "mapping":
            if case .dictionary = value { return true }
            return false
        case "iterable":
            switch value {
            case .string, .array, .tuple, .dictionary, .undefined: return true
            default: return false
            }
        case "sequence":
            switch value {
            case .string, .array, .tuple, .dictionary, .undefined: return true
            default: return false
            }
        case "callable":
            if case .object(let o) = value { return o.isCallable }
            return false
        case "odd", "even":
            let r = try Operators.binary(.modulo, value, .int(2), limits: interpreter.limits)
            return r.pyEquals(.int(name == "odd" ? 1 : 0))
        case "divisibleby":
            return try Operators.binary(.modulo, value, try operand(), limits: interpreter.limits).pyEquals(.int(0))
        case "in": return try Operators.contains(try operand(), value)
        case "eq", "equalto", "==": return value.pyEquals(try operand())
        case "ne", "!=": return !value.pyEquals(try operand())
        case "lt", "lessthan", "<": return try Operators.compare(.lt, value, try operand())
        case "le", "<=": return try Operators.compare(.le, value, try operand())
        case "gt", "greaterthan", ">": return try Operators.compare(.gt, value, try operand())
        case "ge", ">=": return try Operators.compare(.ge, value, try operand())
        case "sameas":
            let other = try operand()
            switch (value, other) {
            case (.null, .null): return true
            case (.bool(let a), .bool(let b)): return a == b
            case (.object(let a), .object(let b)): return a === b
            default: return false
            }
        case "lower", "upper":
            guard case .string(let s) = value else { return false }
            return try Methods.stringMethod(name == "lower" ? "islower" : "isupper", s, Arguments()).isTruthy
        case "escaped": return false
        case "filter":
            guard case .string(let s) = value else { return false }
            return Filters.names.contains(s)
        case "test":
            guard case .string(let s) = value else { return false }
            return names.contains(s)
        default:
            throw TemplateError(.unknownTest, "No test named '\(name)'.")
        }
    }
}
