import Foundation

/// Global functions of transformers' chat-template environment.
enum Globals {
    static func install(into scope: Scope) {
        func add(_ name: String, _ fn: @escaping BuiltinFunction) {
            scope.variables[name] = .object(TemplateObject(.function(name, fn)))
        }
        add("range", range)
        add("namespace") { _, args in
            let ns = TemplateObject(.namespace)
            ns.attributes = try dictionary(args, function: "namespace")
            for key in ns.attributes.keys {
                if case .string(let k) = key, k.hasPrefix("_") {
                    throw TemplateError(.security, "Chat templates cannot store underscore-prefixed attributes on a namespace, but got '\(k)'. Please rename the attribute.")
                }
            }
            return .object(ns)
        }
        add("dict") { _, args in .dictionary(try dictionary(args, function: "dict")) }
        add("raise_exception") { _, args in
            let message = try args.positional.first.map { try PythonRepr.str($0) } ?? ""
            throw TemplateError(.raised, message)
        }
        add("strftime_now") { interpreter, args in
            let a = try args.bind(["format"], function: "strftime_now")
            guard case .string(let format)? = a[0] else {
                throw TemplateError(.typeError, "strftime() argument 1 must be str")
            }
            return .string(Strftime.format(format, date: interpreter.clock.now(), timeZone: interpreter.clock.timeZone))
        }
        add("joiner") { _, args in
            let a = try args.bind(["sep"], function: "joiner")
            let separator = a[0] ?? .string(", ")
            final class Flag { var used = false }
            let flag = Flag()
            return .object(TemplateObject(.function("joiner", { _, _ in
                if flag.used { return separator }
                flag.used = true
                return .string("")
            })))
        }
    }

    /// `dict(mapping_or_pairs, **kwargs)` argument handling shared by `dict()` and `namespace()`.
    static func dictionary(_ args: Arguments, function: String) throws -> TemplateDictionary {
        var d = TemplateDictionary()
        guard args.positional.count <= 1 else {
            throw TemplateError(.typeError, "\(function) expected at most 1 argument, got \(args.positional.count)")
        }
        if let first = args.positional.first {
            switch first {
            case .dictionary(let src): d = src
            default:
                for pair in try Operators.iterate(first) {
                    guard let kv = pair.arrayValue, kv.count == 2 else {
                        throw TemplateError(.valueError, "dictionary update sequence element has wrong length")
                    }
                    try d.set(kv[0], kv[1])
                }
            }
        }
        for (k, v) in args.keyword { try d.set(.string(k), v) }
        return d
    }

    static func range(_ interpreter: Interpreter, _ args: Arguments) throws -> TemplateValue {
        guard args.keyword.isEmpty else { throw TemplateError(.typeError, "range() takes no keyword arguments") }
        var bounds: [Int] = []
        for v in args.positional {
            guard let i = v.intValue else {
                throw TemplateError(.typeError, "'\(v.typeName)' object cannot be interpreted as an integer")
            }
            bounds.append(i)
        }
        let (start, stop, step): (Int, Int, Int)
        switch bounds.count {
        case 1: (start, stop, step) = (0, bounds[0], 1)
        case 2: (start, stop, step) = (bounds[0], bounds[1], 1)
        case 3: (start, stop, step) = (bounds[0], bounds[1], bounds[2])
        default: throw TemplateError(.typeError, "range expected 1 to 3 arguments, got \(bounds.count)")
        }
        guard step != 0 else { throw TemplateError(.valueError, "range() arg 3 must not be zero") }
        // Doubles avoid overflow on extreme bounds; precision loss doesn't matter at the cap's scale.
        let span = max(0, ((Double(stop) - Double(start)) / Double(step)).rounded(.up))
        let limit = interpreter.limits.maxRange
        guard span <= Double(limit) else {
            throw TemplateError(.security, "Range too big. The sandbox blocks ranges larger than MAX_RANGE (\(limit)).")
        }
        return .array(Swift.stride(from: start, to: stop, by: step).map { .int($0) })
    }
}
