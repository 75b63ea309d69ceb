import Foundation

/// Python's `str % args` (used by the `format` filter and the `%` operator).
enum PercentFormat {
    static func format(_ format: String, _ argument: TemplateValue) throws -> String {
        var positional: [TemplateValue]
        var mapping: TemplateDictionary?
        switch argument {
        case .tuple(let items): positional = items
        case .dictionary(let d): positional = [argument]; mapping = d
        default: positional = [argument]
        }
        var nextArg = 0
        var out = ""
        var chars = Array(format.unicodeScalars)[...]

        func takeArg() throws -> TemplateValue {
            guard nextArg < positional.count else {
                throw TemplateError(.typeError, "not enough arguments for format string")
            }
            defer { nextArg += 1 }
            return positional[nextArg]
        }

        var usedMapping = false
        while let c = chars.popFirst() {
            guard c == "%" else {
                out.unicodeScalars.append(c)
                continue
            }
            var value: TemplateValue?
            if chars.first == "(" {
                chars.removeFirst()
                var key = ""
                while let k = chars.popFirst(), k != ")" { key.unicodeScalars.append(k) }
                guard let mapping else { throw TemplateError(.typeError, "format requires a mapping") }
                guard let v = mapping[key] else { throw TemplateError(.valueError, "KeyError: '\(key)'") }
                value = v
                usedMapping = true
            }
            var flags = Set<Unicode.Scalar>()
            while let f = chars.first, "#0- +".unicodeScalars.contains(f) {
                flags.insert(f)
                chars.removeFirst()
            }
            var width = 0
            if chars.first == "*" {
                chars.removeFirst()
                width = try takeArg().intValue ?? 0
            }
            while let d = chars.first, ("0"..."9").contains(d) {
                width = try formatDigit(width, d)
                chars.removeFirst()
            }
            try checkFormatWidth(width)
            var precision: Int?
            if chars.first == "." {
                chars.removeFirst()
                var p = 0
                while let d = chars.first, ("0"..."9").contains(d) {
                    p = try formatDigit(p, d)
                    chars.removeFirst()
                }
                precision = p
            }
            while let l = chars.first, "hlL".unicodeScalars.contains(l) { chars.removeFirst() }
            guard let type = chars.popFirst() else { throw TemplateError(.valueError, "incomplete format") }
            if type == "%" {
                out += "%"
                continue
            }
            let arg = try value ?? takeArg()
            var body = try convert(arg, type: type, flags: flags, precision: precision)
            let count = body.unicodeScalars.count
            if width > count {
                let padCount = width - count
                if flags.contains("-") {
                    body += String(repeating: " ", count: padCount)
                } else if flags.contains("0"), "diouxXeEfFgG".unicodeScalars.contains(type) {
                    let signed = body.hasPrefix("-") || body.hasPrefix("+") || body.hasPrefix(" ")
                    let sign = signed ? String(body.removeFirst()) : ""
                    body = sign + String(repeating: "0", count: padCount) + body
                } else {
                    body = String(repeating: " ", count: padCount) + body
                }
            }
            out += body
        }
        if mapping == nil || !usedMapping, nextArg < positional.count, mapping == nil {
            throw TemplateError(.typeError, "not all arguments converted during string formatting")
        }
        return out
    }

    private static func convert(_ arg: TemplateValue, type: Unicode.Scalar, flags: Set<Unicode.Scalar>, precision: Int?) throws -> String {
        func sign(_ negative: Bool) -> String {
            negative ? "-" : (flags.contains("+") ? "+" : (flags.contains(" ") ? " " : ""))
        }
        switch type {
        case "s":
            let s = try PythonRepr.str(arg)
            return precision.map { String(String.UnicodeScalarView(s.unicodeScalars.prefix($0))) } ?? s
        case "r", "a":
            let s = try PythonRepr.repr(arg)
            return precision.map { String(String.UnicodeScalarView(s.unicodeScalars.prefix($0))) } ?? s
        case "d", "i", "u":
            guard let d = arg.doubleValue else {
                throw TemplateError(.typeError, "%\(type) format: a real number is required, not \(arg.typeName)")
            }
            let i = arg.intValue ?? Int(d.rounded(.towardZero))
            return sign(i < 0) + String(i.magnitude)
        case "x", "X", "o":
            guard let i = arg.intValue else {
                throw TemplateError(.typeError, "%\(type) format: an integer is required, not \(arg.typeName)")
            }
            var digits = String(i.magnitude, radix: type == "o" ? 8 : 16, uppercase: type == "X")
            if flags.contains("#") { digits = (type == "o" ? "0o" : (type == "x" ? "0x" : "0X")) + digits }
            return sign(i < 0) + digits
        case "f", "F", "e", "E", "g", "G":
            guard let d = arg.doubleValue else {
                throw TemplateError(.typeError, "must be real number, not \(arg.typeName)")
            }
            if !d.isFinite {
                let word = d.isNaN ? "nan" : "inf"
                let cased = "FEG".unicodeScalars.contains(type) ? word.uppercased() : word
                return sign(d < 0) + cased
            }
            let alt = flags.contains("#") ? "#" : ""
            let body = String(format: "%\(alt).\(precision ?? 6)\(Character(type))", abs(d))
            return sign(d.sign == .minus) + body
        case "c":
            if case .string(let s) = arg, s.unicodeScalars.count == 1 { return s }
            guard let i = arg.intValue, let u = Unicode.Scalar(UInt32(clamping: i)) else {
                throw TemplateError(.typeError, "%c requires int or char")
            }
            return String(u)
        default:
            throw TemplateError(.valueError, "unsupported format character '\(type)'")
        }
    }
}

/// Python's `str.format` for the common field forms: `{}`, `{0}`, `{name}` with an optional
/// `[[fill]align][width][.precision][type]` spec.
enum BraceFormat {
    static func format(_ format: String, _ args: Arguments) throws -> String {
        var out = ""
        var chars = Array(format.unicodeScalars)[...]
        var auto = 0
        while let c = chars.popFirst() {
            if c == "}" {
                guard chars.popFirst() == "}" else { throw TemplateError(.valueError, "Single '}' encountered in format string") }
                out += "}"
                continue
            }
            guard c == "{" else {
                out.unicodeScalars.append(c)
                continue
            }
            if chars.first == "{" {
                chars.removeFirst()
                out += "{"
                continue
            }
            var field = ""
            var closed = false
            while let f = chars.popFirst() {
                if f == "}" { closed = true; break }
                field.unicodeScalars.append(f)
            }
            guard closed else { throw TemplateError(.valueError, "expected '}' before end of string") }
            var name = field
            var spec = ""
            if let colon = field.firstIndex(of: ":") {
                name = String(field[..<colon])
                spec = String(field[field.index(after: colon)...])
            }
            if name.hasSuffix("!r") || name.hasSuffix("!s") { name.removeLast(2) }
            let value: TemplateValue
            if name.isEmpty {
                guard auto < args.positional.count else { throw TemplateError(.valueError, "Replacement index \(auto) out of range for positional args tuple") }
                value = args.positional[auto]
                auto += 1
            } else if let i = Int(name) {
                guard i < args.positional.count else { throw TemplateError(.valueError, "Replacement index \(i) out of range for positional args tuple") }
                value = args.positional[i]
            } else if let v = args.keywordValue(name) {
                value = v
            } else {
                throw TemplateError(.valueError, "KeyError: '\(name)'")
            }
            out += try applySpec(value, spec: spec, raw: field.hasSuffix("!r"))
        }
        return out
    }

    private static func applySpec(_ value: TemplateValue, spec: String, raw: Bool) throws -> String {
        var s = Array(spec.unicodeScalars)[...]
        var fill: Unicode.Scalar = " "
        var align: Character?
        if s.count >= 2, "<>^".unicodeScalars.contains(s[s.startIndex + 1]) {
            fill = s[s.startIndex]
            align = Character(s[s.startIndex + 1])
            s = s.dropFirst(2)
        } else if let a = s.first, "<>^".unicodeScalars.contains(a) {
            align = Character(a)
            s = s.dropFirst()
        }
        var width = 0
        while let d = s.first, ("0"..."9").contains(d) { width = try formatDigit(width, d); s = s.dropFirst() }
        try checkFormatWidth(width)
        var precision: Int?
        if s.first == "." {
            s = s.dropFirst()
            var p = 0
            while let d = s.first, ("0"..."9").contains(d) { p = try formatDigit(p, d); s = s.dropFirst() }
            precision = p
        }
        let type = s.first
        var text: String
        switch type {
        case "f"?, "F"?, "e"?, "E"?, "g"?, "G"?, "%"?:
            guard let d = value.doubleValue else { throw TemplateError(.valueError, "Unknown format code for \(value.typeName)") }
            if type == "%" {
                text = String(format: "%.\(precision ?? 6)f", d * 100) + "%"
            } else {
                text = String(format: "%.\(precision ?? 6)\(Character(type ?? "f"))", d)
            }
        case "d"?:
            guard case .int(let i) = value else { throw TemplateError(.valueError, "Unknown format code 'd' for object of type '\(value.typeName)'") }
            text = String(i)
        default:
            text = raw ? try PythonRepr.repr(value) : try PythonRepr.str(value)
            if let precision, value.stringValue != nil {
                text = String(String.UnicodeScalarView(text.unicodeScalars.prefix(precision)))
            }
        }
        let defaultAlign: Character = value.isNumber && value.stringValue == nil ? ">" : "<"
        return PyString.padded(text, width: width, fill: fill, align: align ?? defaultAlign)
    }
}

/// Widths and precisions in format specs: a padded field is allocated before any output
/// budget sees it, so they are capped here (found by the template fuzzer: "%4444444444444444d"
/// asked for 4 PB; more digits overflowed the parse).
let maxFormatWidth = 1 << 20

func formatDigit(_ value: Int, _ d: Unicode.Scalar) throws -> Int {
    guard value <= maxFormatWidth else { throw TemplateError(.valueError, "format width or precision over \(maxFormatWidth)") }
    let v = value * 10 + Int(d.value - 48)
    guard v <= maxFormatWidth else { throw TemplateError(.valueError, "format width or precision over \(maxFormatWidth)") }
    return v
}

func checkFormatWidth(_ width: Int) throws {
    guard width <= maxFormatWidth else { throw TemplateError(.valueError, "format width over \(maxFormatWidth)") }
}
