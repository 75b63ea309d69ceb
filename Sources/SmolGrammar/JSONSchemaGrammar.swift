import SmolJSON

/// Compiles JSON Schema to grammar. Outputs are a subset of what the schema allows, so every
/// output validates:
/// - objects write their properties in declared order, required ones first; extra properties
///   only where `additionalProperties` allows them (absent counts as false: a model need not
///   invent keys);
/// - whitespace is bounded (one space, or a newline and up to 24 indent characters) and numbers
///   have at most 16 integer and 16 fraction digits, so a model cannot run away inside them;
/// - `number` bounds restrict the integer part (a fraction only where the whole interval is
///   inside the bounds); `integer` bounds are exact;
/// - `oneOf` is treated as `anyOf`.
/// Unsupported keywords are an error naming their path (`#/properties/x/multipleOf`).
public struct JSONSchemaGrammar {
    public internal(set) var builder = GrammarBuilder()
    /// The document `$ref`s resolve against, and a name for it: several schemas (one per tool)
    /// can share one grammar, each with its own `#/$defs`.
    public private(set) var rootSchema: JSONValue
    private var scope = ""
    private var refRules: [String: Int] = [:]
    private var shared: [String: Int] = [:]

    public init(rootSchema: JSONValue) { self.rootSchema = rootSchema }

    /// A grammar for one JSON value of `schema`, with optional whitespace around it.
    public static func compile(_ schema: JSONValue) throws(GrammarError) -> Grammar {
        var c = JSONSchemaGrammar(rootSchema: schema)
        let v = try c.value(schema, path: "#")
        let ws = c.ws
        let root = c.builder.rule("root", .seq([ws, v, ws]))
        return try c.builder.build(root: root)
    }

    /// Any JSON object (OpenAI's `json_object`, Ollama's `format: "json"`).
    public static func anyObject() throws(GrammarError) -> Grammar {
        try compile(["type": "object", "additionalProperties": true])
    }

    /// A value of `schema`, whose `$ref`s resolve against `schema` itself (named `scope`, which
    /// must be unique per document in this grammar). Error paths start with `path`.
    public mutating func value(document schema: JSONValue, scope: String, path: String) throws(GrammarError) -> GrammarExpr {
        let (savedRoot, savedScope) = (rootSchema, self.scope)
        rootSchema = schema
        self.scope = scope
        defer { rootSchema = savedRoot; self.scope = savedScope }
        return try value(schema, path: path)
    }

    // MARK: building blocks

    public mutating func sharedRule(_ name: String, _ make: (inout JSONSchemaGrammar) throws(GrammarError) -> GrammarExpr) throws(GrammarError) -> GrammarExpr {
        if let id = shared[name] { return .ref(id) }
        let id = builder.declare(name)
        shared[name] = id
        builder.define(id, try make(&self))
        return .ref(id)
    }

    public var ws: GrammarExpr {
        mutating get {
            (try? sharedRule("ws") { _ throws(GrammarError) in
                .opt(.alt([.lit(" "), .seq([.lit("\n"), .rep(.bytes(ByteSet(bytes: [0x20, 0x09])), min: 0, max: 24)])]))
            }) ?? .empty
        }
    }

    mutating func sep() -> GrammarExpr { let w = ws; return .seq([w, .lit(","), w]) }

    mutating func string() -> GrammarExpr {
        (try? sharedRule("string") { _ throws(GrammarError) in .seq([.lit("\""), .star(JSONText.anyChar), .lit("\"")]) }) ?? .empty
    }

    /// What follows an opening quote: any characters, then the closing quote.
    mutating func stringRest() -> GrammarExpr {
        (try? sharedRule("string-rest") { _ throws(GrammarError) in .seq([.star(JSONText.anyChar), .lit("\"")]) }) ?? .empty
    }

    static let digit = GrammarExpr.range(0x30, 0x39)
    static let digits16 = GrammarExpr.rep(digit, min: 0, max: 15)
    static let unboundedInteger = GrammarExpr.seq([.opt(.lit("-")), .alt([.lit("0"), .seq([.range(0x31, 0x39), digits16])])])
    static let fraction = GrammarExpr.seq([.lit("."), .rep(digit, min: 1, max: 16)])

    mutating func number() -> GrammarExpr {
        (try? sharedRule("number") { _ throws(GrammarError) in
            .seq([Self.unboundedInteger, .opt(Self.fraction),
                  .opt(.seq([.bytes(ByteSet(bytes: Array("eE".utf8))), .opt(.bytes(ByteSet(bytes: Array("+-".utf8)))), .rep(Self.digit, min: 1, max: 3)]))])
        }) ?? .empty
    }

    mutating func integer() -> GrammarExpr {
        (try? sharedRule("integer") { _ throws(GrammarError) in Self.unboundedInteger }) ?? .empty
    }

    /// Any JSON value.
    public mutating func anyValue() -> GrammarExpr {
        if let id = shared["value"] { return .ref(id) }
        let id = builder.declare("value")
        shared["value"] = id
        let w = ws, s = string(), n = number(), sp = sep()
        let member = GrammarExpr.seq([s, w, .lit(":"), w, .ref(id)])
        let object = GrammarExpr.seq([.lit("{"), w, .opt(.seq([member, .star(.seq([sp, member]))])), w, .lit("}")])
        let array = GrammarExpr.seq([.lit("["), w, .opt(.seq([.ref(id), .star(.seq([sp, .ref(id)]))])), w, .lit("]")])
        builder.define(id, .alt([object, array, s, n, .lit("true"), .lit("false"), .lit("null")]))
        return .ref(id)
    }

    // MARK: schemas

    static let annotations: Set<String> = ["title", "description", "default", "examples", "$schema", "$id", "$comment",
                                           "deprecated", "readOnly", "writeOnly", "discriminator", "$defs", "definitions",
                                           "strict", "name", "x-order"]

    public mutating func value(_ schema: JSONValue, path: String) throws(GrammarError) -> GrammarExpr {
        switch schema {
        case .bool(true): return anyValue()
        case .bool(false): throw GrammarError("\(path): the schema `false` allows no value")
        case let .object(pairs):
            let keys = Set(pairs.map(\.0))
            if let r = schema["$ref"] { return try ref(r, siblings: keys, path: path) }
            if let c = schema["const"] { return literal(c) }
            if case let .array(vs)? = schema["enum"] {
                guard !vs.isEmpty else { throw GrammarError("\(path)/enum: an empty enum allows no value") }
                return .alt(vs.map(literal))
            } else if schema["enum"] != nil { throw GrammarError("\(path)/enum: must be an array") }
            for k in ["anyOf", "oneOf"] {
                guard let v = schema[k] else { continue }
                guard case let .array(options) = v, !options.isEmpty else { throw GrammarError("\(path)/\(k): must be a non-empty array") }
                let rest = keys.subtracting(Self.annotations).subtracting([k])
                let base: [(String, JSONValue)] = pairs.filter { rest.contains($0.0) }
                var alts: [GrammarExpr] = []
                for (n, o) in options.enumerated() {
                    // Sibling keywords apply to every option: merge them in (the option wins on conflicts).
                    var merged = o
                    if !base.isEmpty, case let .object(op) = o {
                        merged = .object(base.filter { b in !op.contains { $0.0 == b.0 } } + op)
                    }
                    alts.append(try value(merged, path: "\(path)/\(k)/\(n)"))
                }
                return .alt(alts)
            }
            if let v = schema["allOf"] {
                guard case let .array(parts) = v, parts.count == 1 else {
                    throw GrammarError("\(path)/allOf: only a single-schema allOf is supported")
                }
                return try value(parts[0], path: "\(path)/allOf/0")
            }
            var nullable = false
            if case .bool(true)? = schema["nullable"] { nullable = true }
            var types: [String] = []
            switch schema["type"] {
            case let .string(t)?: types = [t]
            case let .array(ts)?:
                for t in ts { guard case let .string(s) = t else { throw GrammarError("\(path)/type: must be a string or an array of strings") }; types.append(s) }
            case nil:
                if keys.contains("properties") || keys.contains("additionalProperties") || keys.contains("required") { types = ["object"] }
                else if keys.contains("items") || keys.contains("prefixItems") || keys.contains("minItems") || keys.contains("maxItems") { types = ["array"] }
                else if keys.contains("pattern") || keys.contains("format") || keys.contains("minLength") || keys.contains("maxLength") { types = ["string"] }
                else if keys.contains("minimum") || keys.contains("maximum") || keys.contains("exclusiveMinimum") || keys.contains("exclusiveMaximum") { types = ["number"] }
                else {
                    try check(keys, allowed: ["nullable"], path: path)
                    return anyValue()
                }
            default: throw GrammarError("\(path)/type: must be a string or an array of strings")
            }
            if nullable && !types.contains("null") { types.append("null") }
            var alts: [GrammarExpr] = []
            for t in types { alts.append(try typed(t, schema, keys: keys, path: path)) }
            return alts.count == 1 ? alts[0] : .alt(alts)
        default:
            throw GrammarError("\(path): a schema must be an object or a boolean")
        }
    }

    private func check(_ keys: Set<String>, allowed: Set<String>, path: String) throws(GrammarError) {
        let common: Set<String> = ["type", "nullable"]
        for k in keys.sorted() where !Self.annotations.contains(k) && !allowed.contains(k) && !common.contains(k) {
            throw GrammarError("\(path)/\(k): unsupported JSON Schema keyword '\(k)'")
        }
    }

    private mutating func typed(_ t: String, _ schema: JSONValue, keys: Set<String>, path: String) throws(GrammarError) -> GrammarExpr {
        let stringKeys: Set<String> = ["minLength", "maxLength", "pattern", "format"]
        let numberKeys: Set<String> = ["minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"]
        let objectKeys: Set<String> = ["properties", "required", "additionalProperties"]
        let arrayKeys: Set<String> = ["items", "prefixItems", "minItems", "maxItems", "uniqueItems", "additionalItems"]
        // With several types, each type takes the keywords that are its own.
        let all = stringKeys.union(numberKeys).union(objectKeys).union(arrayKeys)
        switch t {
        case "string":
            try check(keys, allowed: all, path: path)
            return try stringSchema(schema, path: path)
        case "integer", "number":
            try check(keys, allowed: all, path: path)
            return try numberSchema(schema, integer: t == "integer", path: path)
        case "boolean": try check(keys, allowed: all, path: path); return .alt([.lit("true"), .lit("false")])
        case "null": try check(keys, allowed: all, path: path); return .lit("null")
        case "object":
            try check(keys, allowed: all, path: path)
            return try objectSchema(schema, path: path)
        case "array":
            try check(keys, allowed: all, path: path)
            if case .bool(true)? = schema["uniqueItems"] { throw GrammarError("\(path)/uniqueItems: unsupported JSON Schema keyword 'uniqueItems'") }
            return try arraySchema(schema, path: path)
        default: throw GrammarError("\(path)/type: unknown type '\(t)'")
        }
    }

    private mutating func ref(_ r: JSONValue, siblings: Set<String>, path: String) throws(GrammarError) -> GrammarExpr {
        guard case let .string(target) = r else { throw GrammarError("\(path)/$ref: must be a string") }
        for k in siblings.sorted() where k != "$ref" && !Self.annotations.contains(k) {
            throw GrammarError("\(path)/\(k): keywords beside $ref are not supported")
        }
        if let id = refRules[scope + "\u{0}" + target] { return .ref(id) }
        guard target == "#" || target.hasPrefix("#/") else { throw GrammarError("\(path)/$ref: only local references (#/...) are supported, not '\(target)'") }
        var node = rootSchema
        for raw in target.dropFirst(2).split(separator: "/", omittingEmptySubsequences: false) where target != "#" {
            let key = raw.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
            if let next = node[key] { node = next }
            else if case let .array(xs) = node, let n = Int(key), n >= 0, n < xs.count { node = xs[n] }
            else { throw GrammarError("\(path)/$ref: '\(target)' does not resolve") }
        }
        let id = builder.declare("ref:\(scope)\(target)")
        refRules[scope + "\u{0}" + target] = id
        builder.define(id, try value(node, path: target))
        return .ref(id)
    }

    /// A JSON value exactly as given (compact form).
    func literal(_ v: JSONValue) -> GrammarExpr { .lit(v.serialized) }

    // MARK: strings

    private mutating func stringSchema(_ schema: JSONValue, path: String) throws(GrammarError) -> GrammarExpr {
        let minLen = try int(schema["minLength"], path: "\(path)/minLength") ?? 0
        let maxLen = try int(schema["maxLength"], path: "\(path)/maxLength")
        if let mx = maxLen, mx < minLen { throw GrammarError("\(path)/maxLength: is below minLength") }
        if case let .string(p)? = schema["pattern"] {
            if schema["format"] != nil || schema["minLength"] != nil || schema["maxLength"] != nil {
                throw GrammarError("\(path)/pattern: pattern together with format/minLength/maxLength is not supported")
            }
            do { return .seq([.lit("\""), try RegexGrammar.content(p), .lit("\"")]) } catch {
                throw GrammarError("\(path)/pattern: \(error.message)")
            }
        } else if schema["pattern"] != nil { throw GrammarError("\(path)/pattern: must be a string") }
        if case let .string(f)? = schema["format"] {
            guard let content = Self.formats[f] else {
                throw GrammarError("\(path)/format: format '\(f)' is not supported (supported: \(Self.formats.keys.sorted().joined(separator: ", ")))")
            }
            if schema["minLength"] != nil || schema["maxLength"] != nil {
                throw GrammarError("\(path)/format: format together with minLength/maxLength is not supported")
            }
            return try sharedRule("format-\(f)") { _ throws(GrammarError) in
                .seq([.lit("\""), try RegexGrammar.content(content), .lit("\"")])
            }
        } else if schema["format"] != nil { throw GrammarError("\(path)/format: must be a string") }
        if minLen == 0 && maxLen == nil { return string() }
        guard minLen <= 10_000, (maxLen ?? 0) <= 10_000 else {
            throw GrammarError("\(path): minLength/maxLength over 10000 are not supported")
        }
        return .seq([.lit("\""), .rep(JSONText.anyChar, min: minLen, max: maxLen), .lit("\"")])
    }

    /// Formats as anchored patterns. `date` allows the days every year has (no 29 February), so
    /// each one parses with Python's `date.fromisoformat`.
    static let formats: [String: String] = {
        let date = "[0-9]{4}-((0[13578]|1[02])-(0[1-9]|[12][0-9]|3[01])|(0[469]|11)-(0[1-9]|[12][0-9]|30)|02-(0[1-9]|1[0-9]|2[0-8]))"
        let time = "([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\\.[0-9]{1,6})?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])"
        let octet = "(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
        return [
            "date": "^\(date)$",
            "time": "^\(time)$",
            "date-time": "^\(date)T\(time)$",
            "uuid": "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$",
            "email": "^[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(\\.[A-Za-z0-9-]{1,63}){0,4}\\.[A-Za-z]{2,24}$",
            "ipv4": "^\(octet)\\.\(octet)\\.\(octet)\\.\(octet)$",
        ]
    }()

    private func int(_ v: JSONValue?, path: String) throws(GrammarError) -> Int? {
        switch v {
        case nil: return nil
        case let .int(n)?: guard n >= 0 else { throw GrammarError("\(path): must be >= 0") }; return Int(min(n, 1 << 40))
        case let .double(d)? where d >= 0 && d == d.rounded() && d < 1e12: return Int(d)
        default: throw GrammarError("\(path): must be a non-negative integer")
        }
    }

    private func bound(_ v: JSONValue?, path: String) throws(GrammarError) -> Double? {
        switch v {
        case nil: return nil
        case let .int(n)?: return Double(n)
        case let .double(d)?: return d
        default: throw GrammarError("\(path): must be a number")
        }
    }

    // MARK: numbers

    private mutating func numberSchema(_ schema: JSONValue, integer: Bool, path: String) throws(GrammarError) -> GrammarExpr {
        var lo = try bound(schema["minimum"], path: "\(path)/minimum")
        var hi = try bound(schema["maximum"], path: "\(path)/maximum")
        var loExclusive = false, hiExclusive = false
        // Draft 4's boolean form and the numeric form of later drafts.
        switch schema["exclusiveMinimum"] {
        case .bool(let b)?: loExclusive = b
        case nil: break
        default:
            let e = try bound(schema["exclusiveMinimum"], path: "\(path)/exclusiveMinimum")!
            if lo == nil || e >= lo! { lo = e; loExclusive = true }
        }
        switch schema["exclusiveMaximum"] {
        case .bool(let b)?: hiExclusive = b
        case nil: break
        default:
            let e = try bound(schema["exclusiveMaximum"], path: "\(path)/exclusiveMaximum")!
            if hi == nil || e <= hi! { hi = e; hiExclusive = true }
        }
        if lo == nil && hi == nil { return integer ? self.integer() : number() }
        let limit = 1e15
        guard (lo ?? 0) > -limit, (lo ?? 0) < limit, (hi ?? 0) > -limit, (hi ?? 0) < limit else {
            throw GrammarError("\(path): bounds beyond ±1e15 are not supported")
        }
        // Integers in range.
        let iLo: Int64? = lo.map { Int64(loExclusive ? $0.rounded(.down) + 1 : $0.rounded(.up)) }
        let iHi: Int64? = hi.map { Int64(hiExclusive ? $0.rounded(.up) - 1 : $0.rounded(.down)) }
        var alts: [GrammarExpr] = []
        if let e = IntegerRange.expr(iLo, iHi) { alts.append(e) }
        if !integer {
            // I.F with I >= 0 lies in [I, I+1); -k.F lies in (-(k+1), -k].
            let kMaxBig: Int64 = 999_999_999_999_999
            let posLo: Int64 = max(0, lo.map { Int64(loExclusive ? $0.rounded(.down) + 1 : $0.rounded(.up)) } ?? 0)
            let posHi: Int64? = hi.map { Int64(($0 - 1).rounded(.down)) }
            if posHi.map({ $0 >= posLo }) ?? true, let e = IntegerRange.nonNegative(posLo, posHi ?? kMaxBig) {
                alts.append(.seq([e, Self.fraction]))
            }
            let negLo: Int64 = max(0, hi.map { Int64(hiExclusive ? (-$0).rounded(.down) + 1 : (-$0).rounded(.up)) } ?? 0)
            let negHi: Int64? = lo.map { Int64((-$0 - 1).rounded(.down)) }
            if negHi.map({ $0 >= negLo }) ?? true, let e = IntegerRange.nonNegative(negLo, negHi ?? kMaxBig) {
                alts.append(.seq([.lit("-"), e, Self.fraction]))
            }
        }
        guard !alts.isEmpty else { throw GrammarError("\(path): no \(integer ? "integer" : "number") satisfies the bounds") }
        return alts.count == 1 ? alts[0] : .alt(alts)
    }

    // MARK: objects

    private mutating func objectSchema(_ schema: JSONValue, path: String) throws(GrammarError) -> GrammarExpr {
        var props: [(String, JSONValue)] = []
        switch schema["properties"] {
        case let .object(p)?: props = p
        case nil: break
        default: throw GrammarError("\(path)/properties: must be an object")
        }
        var required: Set<String> = []
        switch schema["required"] {
        case let .array(r)?:
            for x in r { guard case let .string(s) = x else { throw GrammarError("\(path)/required: must be an array of strings") }; required.insert(s) }
        case nil: break
        default: throw GrammarError("\(path)/required: must be an array of strings")
        }
        for r in required.sorted() where !props.contains(where: { $0.0 == r }) {
            // A required key without a schema: any value under that name.
            props.append((r, .bool(true)))
        }
        var additional: GrammarExpr? = nil
        switch schema["additionalProperties"] {
        case nil, .bool(false)?: additional = nil
        case .bool(true)?: additional = anyValue()
        case let s?: additional = try value(s, path: "\(path)/additionalProperties")
        }
        let w = ws
        var kv: [GrammarExpr] = [], isRequired: [Bool] = []
        for (name, s) in props {
            let v = try value(s, path: "\(path)/properties/\(name)")
            kv.append(.seq([.lit(jsonQuoteJSON(name)), w, .lit(":"), w, v]))
            isRequired.append(required.contains(name))
        }
        let req = kv.indices.filter { isRequired[$0] }.map { kv[$0] }
        let opt = kv.indices.filter { !isRequired[$0] }.map { kv[$0] }
        let sp = sep()
        var extraTail: GrammarExpr = .empty
        var extraFirst: GrammarExpr? = nil
        if let additional {
            let key = try keyNotIn(props.map(\.0))
            let member = GrammarExpr.seq([key, w, .lit(":"), w, additional])
            extraTail = .star(.seq([sp, member]))
            extraFirst = .seq([member, extraTail])
        }
        // T_j: optional members j..., each preceded by a comma; then the extras.
        var tails: [GrammarExpr] = [extraTail]
        for j in stride(from: opt.count - 1, through: 0, by: -1) {
            let next = tails[0]
            let id = builder.rule("obj-tail", .alt([.seq([sp, opt[j], next]), next]))
            tails.insert(.ref(id), at: 0)
        }
        let body: GrammarExpr
        if !req.isEmpty {
            var items: [GrammarExpr] = [req[0]]
            for r in req.dropFirst() { items.append(sp); items.append(r) }
            items.append(tails[0])
            body = .seq(items)
        } else {
            // S_j: the first present member is optional j (no comma before it), or an extra.
            var s: GrammarExpr = extraFirst.map { .opt($0) } ?? .empty
            for j in stride(from: opt.count - 1, through: 0, by: -1) {
                let id = builder.rule("obj-first", .alt([.seq([opt[j], tails[j + 1]]), s]))
                s = .ref(id)
            }
            body = s
        }
        return .seq([.lit("{"), w, body, w, .lit("}")])
    }

    /// A quoted key that is none of `names` (so an extra property never repeats a declared one).
    private mutating func keyNotIn(_ names: [String]) throws(GrammarError) -> GrammarExpr {
        if names.isEmpty { return string() }
        let contents = names.map { Array(jsonQuoteJSON($0).utf8.dropFirst().dropLast()) }
        let rest = stringRest()
        let raw = JSONText.raw
        func node(_ prefix: [UInt8]) -> GrammarExpr {
            let here = contents.filter { $0.starts(with: prefix) }
            let isName = here.contains { $0.count == prefix.count }
            let next = Set(here.compactMap { $0.count > prefix.count ? $0[prefix.count] : nil })
            var alts: [GrammarExpr] = []
            if !isName { alts.append(.lit("\"")) }
            for b in next.sorted() { alts.append(.seq([.bytes(ByteSet(byte: b)), node(prefix + [b])])) }
            // A first character that no name continues with, then anything.
            var ascii = CharSet(0x20...0x7F).intersection(raw)
            for b in next where b < 0x80 { ascii = ascii.subtracting(CharSet(UInt32(b)...UInt32(b))) }
            var firsts: [GrammarExpr] = [JSONText.chars(ascii)]
            if !next.contains(0x5C) {
                firsts.append(.seq([.lit("\\"), .alt([.bytes(ByteSet(bytes: Array("\"\\/bfnrt".utf8))),
                                                     .seq([.lit("u"), .rep(.bytes(ByteSet(bytes: Array("0123456789abcdefABCDEF".utf8))), min: 4, max: 4)])])]))
            }
            if !next.contains(where: { $0 >= 0x80 }) { firsts.append(raw.intersection(CharSet(0x80...0x10FFFF)).utf8) }
            alts.append(.seq([.alt(firsts), rest]))
            return .alt(alts)
        }
        return .seq([.lit("\""), node([])])
    }

    // MARK: arrays

    private mutating func arraySchema(_ schema: JSONValue, path: String) throws(GrammarError) -> GrammarExpr {
        var prefix: [GrammarExpr] = []
        var items: GrammarExpr? = anyValue()
        if case let .array(ps)? = schema["prefixItems"] {
            for (n, p) in ps.enumerated() { prefix.append(try value(p, path: "\(path)/prefixItems/\(n)")) }
        } else if schema["prefixItems"] != nil { throw GrammarError("\(path)/prefixItems: must be an array") }
        switch schema["items"] {
        case nil: break
        case .bool(false)?: items = nil
        case let .array(ps)?:  // draft 7 tuple form
            guard prefix.isEmpty else { throw GrammarError("\(path)/items: an array form beside prefixItems") }
            for (n, p) in ps.enumerated() { prefix.append(try value(p, path: "\(path)/items/\(n)")) }
            switch schema["additionalItems"] {
            case nil, .bool(true)?: break
            case .bool(false)?: items = nil
            case let s?: items = try value(s, path: "\(path)/additionalItems")
            }
        case let s?: items = try value(s, path: "\(path)/items")
        }
        let minItems = try int(schema["minItems"], path: "\(path)/minItems") ?? 0
        var maxItems = try int(schema["maxItems"], path: "\(path)/maxItems")
        if items == nil { maxItems = min(maxItems ?? prefix.count, prefix.count) }
        if let m = maxItems, m < minItems { throw GrammarError("\(path): no array satisfies minItems/maxItems (and items)") }
        guard minItems <= 1000, (maxItems ?? 0) <= 1000 || maxItems == nil else {
            throw GrammarError("\(path): minItems/maxItems over 1000 are not supported")
        }
        let w = ws, sp = sep()
        func element(_ i: Int) -> GrammarExpr { i < prefix.count ? prefix[i] : items! }
        // Elements after the first: the rest of the prefix (each needed while below minItems), then items.
        func after(_ i: Int) -> GrammarExpr {
            if let m = maxItems, i >= m { return .empty }
            if i >= prefix.count {
                guard let items else { return .empty }
                let need = max(0, minItems - i)
                return .rep(.seq([sp, items]), min: need, max: maxItems.map { $0 - i })
            }
            let one = GrammarExpr.seq([sp, element(i), after(i + 1)])
            return i < minItems ? one : .opt(one)
        }
        let body: GrammarExpr
        if maxItems == 0 { body = .empty } else {
            let full = GrammarExpr.seq([element(0), after(1)])
            body = minItems > 0 ? full : .opt(full)
        }
        return .seq([.lit("["), w, body, w, .lit("]")])
    }
}

/// A string as a JSON literal, the way `JSONValue.serialized` writes it.
func jsonQuoteJSON(_ s: String) -> String { JSONValue.string(s).serialized }

/// Decimal integers in a range, as grammar (no leading zeros, "-" for negatives).
public enum IntegerRange {
    /// [lo, hi], either end open when nil (then at most 16 digits).
    public static func expr(_ lo: Int64?, _ hi: Int64?) -> GrammarExpr? {
        let big: Int64 = 9_999_999_999_999_999
        var alts: [GrammarExpr] = []
        let l = lo ?? -big, h = hi ?? big
        guard l <= h else { return nil }
        if l < 0 {
            // -k for k in [max(1, -h), -l]
            if let e = nonNegative(max(1, -min(h, -1)), -l) { alts.append(.seq([.lit("-"), e])) }
        }
        if h >= 0, let e = nonNegative(max(l, 0), h) { alts.append(e) }
        return alts.isEmpty ? nil : (alts.count == 1 ? alts[0] : .alt(alts))
    }

    /// Non-negative integers in [lo, hi].
    public static func nonNegative(_ lo: Int64, _ hi: Int64) -> GrammarExpr? {
        guard lo >= 0, lo <= hi else { return nil }
        let a = digits(lo), b = digits(hi)
        var alts: [GrammarExpr] = []
        for len in a.count...b.count {
            let from = len == a.count ? a : [1] + [UInt8](repeating: 0, count: len - 1)
            let to = len == b.count ? b : [UInt8](repeating: 9, count: len)
            alts.append(sameLength(from[...], to[...]))
        }
        return alts.count == 1 ? alts[0] : .alt(alts)
    }

    static func digits(_ v: Int64) -> [UInt8] { Array(String(v).utf8).map { $0 - 0x30 } }

    static func d(_ x: UInt8) -> GrammarExpr { .bytes(ByteSet(byte: 0x30 + x)) }

    /// Numbers from a to b (same digit count, a <= b).
    static func sameLength(_ a: ArraySlice<UInt8>, _ b: ArraySlice<UInt8>) -> GrammarExpr {
        guard let a0 = a.first, let b0 = b.first else { return .empty }
        let ra = a.dropFirst(), rb = b.dropFirst()
        if a0 == b0 { return .seq([d(a0), sameLength(ra, rb)]) }
        let n = ra.count
        var alts: [GrammarExpr] = []
        var lo = a0, hi = b0
        if !ra.allSatisfy({ $0 == 0 }) { alts.append(.seq([d(a0), sameLength(ra, ArraySlice(repeating: 9, count: n))])); lo += 1 }
        if !rb.allSatisfy({ $0 == 9 }) { alts.append(.seq([d(b0), sameLength(ArraySlice(repeating: 0, count: n), rb)])); hi -= 1 }
        if lo <= hi { alts.append(.seq([.range(0x30 + lo, 0x30 + hi), .rep(.range(0x30, 0x39), min: n, max: n)])) }
        return alts.count == 1 ? alts[0] : .alt(alts)
    }
}
