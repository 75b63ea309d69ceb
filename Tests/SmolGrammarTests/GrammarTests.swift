import Foundation
import SmolJSON
import Testing
@testable import SmolGrammar

/// A vocabulary of the 256 single bytes plus multi-byte pieces like a BPE vocabulary has.
func testVocabulary() -> TokenVocabulary {
    var toks: [[UInt8]?] = (0..<256).map { [UInt8($0)] }
    for s in ["{\"", "\":", "\": ", "\",", "\"}", " \"", "true", "false", "null", "12", "0.", "name", "\"name\"", "arguments",
              "\n  ", "},", "[{", "}]", "é", "日本", "</tool_call>", "<tool_call>", "abc\"", "\"\n", "-1", "e+"] {
        toks.append(Array(s.utf8))
    }
    toks.append(nil)  // a special token: never allowed
    return TokenVocabulary(bytes: toks)
}

func matches(_ g: Grammar, _ text: String) -> Bool {
    var m = GrammarMatcher(GrammarAutomaton(grammar: g, vocabulary: testVocabulary()))
    return m.accept(Array(text.utf8)) && m.isAccepting()
}

@Suite struct GBNFTests {
    @Test func literalsClassesAndRepetition() throws {
        let g = try GBNFParser.parse(#"""
        root ::= greeting " " name ("!" | "?")?   # trailing comment
        greeting ::= "hello" | "hi"
        name ::= [A-Z] [a-z]{1,5}
        """#)
        #expect(matches(g, "hello World!"))
        #expect(matches(g, "hi Bob"))
        #expect(!matches(g, "hi bob"))
        #expect(!matches(g, "hi Bobbbbbb"))
        #expect(!matches(g, "hey Bob"))
    }

    @Test func unicodeClassesMatchWholeCharacters() throws {
        let g = try GBNFParser.parse(#"root ::= [^a-z]+ "\u00e9" ."#)
        #expect(matches(g, "日本éx"))
        #expect(matches(g, "Aé€"))
        #expect(!matches(g, "aé€"))
        // A lone continuation byte is never a character.
        var m = GrammarMatcher(GrammarAutomaton(grammar: g, vocabulary: testVocabulary()))
        let lone = m.accept([0x80])
        #expect(!lone)
    }

    @Test func errorsNameTheProblem() {
        #expect(throws: GrammarError.self) { try GBNFParser.parse("root ::= foo") }
        do { _ = try GBNFParser.parse("root ::= a\na ::= a \"x\"") ; Issue.record("left recursion accepted") } catch {
            #expect("\(error)".contains("left-recursive"))
        }
        do { _ = try GBNFParser.parse("start ::= \"x\"") ; Issue.record("no root accepted") } catch {
            #expect("\(error)".contains("root"))
        }
        do { _ = try GBNFParser.parse("root ::= \"x") ; Issue.record("unterminated") } catch {
            #expect("\(error)".contains("line 1"))
        }
    }

    @Test func masksFollowTheGrammar() throws {
        let v = testVocabulary()
        let g = try GBNFParser.parse(#"root ::= "true" | "12" [0-9]*"#)
        var m = GrammarMatcher(GrammarAutomaton(grammar: g, vocabulary: v))
        let bits = m.mask()
        func allowed(_ id: Int) -> Bool { bits[id >> 6] >> (UInt64(id) & 63) & 1 == 1 }
        let ids = (0..<v.size).filter(allowed).map { String(decoding: v.tokenBytes[$0], as: UTF8.self) }
        #expect(Set(ids) == ["t", "1", "true", "12"])
        let a0 = m.isAccepting()
        #expect(!a0)
        let a1 = m.accept(Array("12".utf8)), a2 = m.isAccepting(), a3 = m.canContinue()
        #expect(a1 && a2 && a3)
        let a4 = m.accept(Array("3".utf8)), a5 = m.accept(Array("x".utf8))
        #expect(a4 && !a5)
    }
}

@Suite struct JSONSchemaGrammarTests {
    func g(_ schema: String) throws -> Grammar { try JSONSchemaGrammar.compile(try JSONValue(parsing: schema)) }

    @Test func objectsRequiredOptionalAndAdditional() throws {
        let s = try g(#"{"type":"object","properties":{"a":{"type":"integer"},"b":{"type":"string"},"c":{"type":"boolean"}},"required":["b"]}"#)
        #expect(matches(s, #"{"b":"x"}"#))
        #expect(matches(s, #"{"b": "x", "a": 1}"#))
        #expect(matches(s, #"{"b":"x","a":-12,"c":true}"#))
        #expect(matches(s, "{\n  \"b\": \"x\",\n  \"c\": false\n}"))
        #expect(!matches(s, #"{"a":1}"#))
        #expect(!matches(s, #"{"b":"x","d":1}"#))
        #expect(!matches(s, #"{"b":"x",}"#))
        let open = try g(#"{"type":"object","properties":{"a":{"type":"integer"}},"additionalProperties":{"type":"number"}}"#)
        #expect(matches(open, #"{"a":1,"zz":2.5}"#))
        #expect(matches(open, #"{"ab":1}"#))
        #expect(!matches(open, #"{"a":1,"a":2}"#))
        #expect(!matches(open, #"{"zz":"s"}"#))
        #expect(matches(open, #"{}"#))
    }

    @Test func arraysEnumsConstAndRefs() throws {
        let s = try g(#"""
        {"$defs":{"node":{"type":"object","properties":{"v":{"enum":["x",2,null]},"kids":{"type":"array","items":{"$ref":"#/$defs/node"},"maxItems":2}},"required":["v"]}},
         "type":"array","prefixItems":[{"const":"head"}],"items":{"$ref":"#/$defs/node"},"minItems":2,"maxItems":3}
        """#)
        #expect(matches(s, #"["head",{"v":"x"}]"#))
        #expect(matches(s, #"["head",{"v":2,"kids":[{"v":null},{"v":"x","kids":[]}]},{"v":2}]"#))
        #expect(!matches(s, #"["head"]"#))
        #expect(!matches(s, #"["head",{"v":3}]"#))
        #expect(!matches(s, #"["tail",{"v":2}]"#))
        #expect(!matches(s, #"["head",{"v":2},{"v":2},{"v":2}]"#))
    }

    @Test func stringsPatternsAndFormats() throws {
        let s = try g(#"{"type":"object","properties":{"id":{"type":"string","pattern":"^[A-Z]{2}-\\d{3}$"},"d":{"type":"string","format":"date"},"n":{"type":"string","minLength":2,"maxLength":3}},"required":["id","d","n"]}"#)
        #expect(matches(s, #"{"id":"AB-123","d":"2024-02-28","n":"éé"}"#))
        #expect(!matches(s, #"{"id":"AB-12","d":"2024-02-28","n":"ab"}"#))
        #expect(!matches(s, #"{"id":"AB-123","d":"2024-02-30","n":"ab"}"#))
        #expect(!matches(s, #"{"id":"AB-123","d":"2024-02-28","n":"abcd"}"#))
        #expect(matches(s, #"{"id":"AB-123","d":"2024-12-31","n":"a\"b"}"#))
        let unanchored = try g(#"{"type":"string","pattern":"ab+c"}"#)
        #expect(matches(unanchored, #""xxabbbcyy""#))
        #expect(!matches(unanchored, #""xxacyy""#))
    }

    @Test func numberBounds() throws {
        let i = try g(#"{"type":"integer","minimum":-15,"maximum":120}"#)
        for v in [-15, -9, -1, 0, 7, 10, 99, 100, 119, 120] { #expect(matches(i, String(v)), "\(v)") }
        for v in ["-16", "121", "200", "-20", "007", "1.5"] { #expect(!matches(i, v), "\(v)") }
        let ex = try g(#"{"type":"integer","exclusiveMinimum":0,"exclusiveMaximum":10}"#)
        #expect(!matches(ex, "0") && matches(ex, "1") && matches(ex, "9") && !matches(ex, "10"))
        let n = try g(#"{"type":"number","minimum":-2.5,"maximum":3}"#)
        for v in ["-2", "-1.75", "0.5", "2.999", "3", "-0.5"] { #expect(matches(n, v), "\(v)") }
        for v in ["3.5", "-3", "4", "3.0001"] { #expect(!matches(n, v), "\(v)") }
    }

    @Test func unsupportedKeywordsNameTheirPath() {
        for (schema, path) in [
            (#"{"type":"object","properties":{"x":{"type":"number","multipleOf":3}}}"#, "#/properties/x/multipleOf"),
            (#"{"type":"array","uniqueItems":true}"#, "#/uniqueItems"),
            (#"{"not":{"type":"string"}}"#, "#/not"),
            (#"{"type":"string","format":"hostname-ish"}"#, "#/format"),
            (#"{"$ref":"https://example.com/s.json"}"#, "#/$ref"),
        ] {
            do { _ = try g(schema); Issue.record("accepted \(schema)") } catch {
                #expect("\(error)".hasPrefix(path), "\(error)")
            }
        }
    }

    @Test func randomWalksAlwaysValidate() throws {
        // Random schemas, random walks through the masks: every finished output must parse and validate.
        var rng = SplitMix(seed: 7)
        let v = testVocabulary()
        var finished = 0
        for _ in 0..<60 {
            let schema = randomSchema(&rng, depth: 0)
            let grammar = try JSONSchemaGrammar.compile(schema)
            let a = GrammarAutomaton(grammar: grammar, vocabulary: v)
            for _ in 0..<4 {
                var m = GrammarMatcher(a)
                var out: [UInt8] = []
                for _ in 0..<400 {
                    if m.isAccepting() && (!m.canContinue() || rng.next() % 8 == 0) { break }
                    let bits = m.mask()
                    let allowed = (0..<v.size).filter { bits[$0 >> 6] >> (UInt64($0) & 63) & 1 == 1 }
                    #expect(!allowed.isEmpty, "dead end in \(schema.serialized) after \(String(decoding: out, as: UTF8.self))")
                    guard !allowed.isEmpty else { break }
                    let t = allowed[Int(rng.next() % UInt64(allowed.count))]
                    let ok = m.accept(v.tokenBytes[t])
                    #expect(ok)
                    out += v.tokenBytes[t]
                }
                guard m.isAccepting() else { continue }
                finished += 1
                if ProcessInfo.processInfo.environment["SHOW_WALKS"] != nil { print("WALK", schema.serialized, "=>", String(decoding: out, as: UTF8.self)) }
                let text = String(decoding: out, as: UTF8.self)
                let value: JSONValue
                do { value = try JSONValue(parsing: text) } catch { Issue.record("\(text) does not parse: \(error)"); continue }
                let problems = MiniValidator(root: schema).validate(value, schema)
                #expect(problems.isEmpty, "\(text) against \(schema.serialized): \(problems)")
            }
        }
        #expect(finished > 60)
    }
}

struct SplitMix {
    var x: UInt64
    init(seed: UInt64) { x = seed }
    mutating func next() -> UInt64 {
        x &+= 0x9E3779B97F4A7C15
        var z = x
        z = (z ^ (z >> 30)) &* 0xBF58476D1CE4E5B9
        z = (z ^ (z >> 27)) &* 0x94D049BB133111EB
        return z ^ (z >> 31)
    }
    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
}

func randomSchema(_ r: inout SplitMix, depth: Int) -> JSONValue {
    let kinds = depth > 2 ? 6 : 9
    switch r.below(kinds) {
    case 0: return ["type": "string"]
    case 1:
        let lo = r.below(3)
        return ["type": "string", "minLength": .int(Int64(lo)), "maxLength": .int(Int64(lo + r.below(4)))]
    case 2:
        let lo = Int64(r.below(200)) - 100
        return ["type": "integer", "minimum": .int(lo), "maximum": .int(lo + Int64(r.below(300)))]
    case 3: return ["type": "number", "minimum": .double(-1.5), "maximum": .int(Int64(r.below(20)))]
    case 4: return ["enum": ["a", 1, true, .null]]
    case 5: return [["type": "string", "pattern": "^[a-c]{1,3}-[0-9]+$"], ["type": "string", "format": "date"], ["type": "boolean"]][r.below(3)]
    case 6, 7:
        var props: [(String, JSONValue)] = []
        var req: [JSONValue] = []
        for i in 0..<(1 + r.below(3)) {
            let name = ["name", "a", "b\"q", "é"][i % 4] + (i >= 4 ? "\(i)" : "")
            props.append((name, randomSchema(&r, depth: depth + 1)))
            if r.below(2) == 0 { req.append(.string(name)) }
        }
        var o: [(String, JSONValue)] = [("type", "object"), ("properties", .object(props)), ("required", .array(req))]
        if r.below(3) == 0 { o.append(("additionalProperties", randomSchema(&r, depth: 3))) }
        return .object(o)
    default:
        let mn = r.below(2)
        return ["type": "array", "items": randomSchema(&r, depth: depth + 1), "minItems": .int(Int64(mn)), "maxItems": .int(Int64(mn + r.below(3)))]
    }
}

/// An independent validator for the subset the tests generate.
struct MiniValidator {
    let root: JSONValue
    func validate(_ v: JSONValue, _ s: JSONValue, _ path: String = "$") -> [String] {
        var errs: [String] = []
        if case let .string(ref)? = s["$ref"] {
            var node = root
            for k in ref.dropFirst(2).split(separator: "/") { node = node[String(k)] ?? .null }
            return validate(v, node, path)
        }
        if case let .array(e)? = s["enum"], !e.contains(where: { same($0, v) }) { errs.append("\(path) not in enum") }
        if let c = s["const"], !same(c, v) { errs.append("\(path) != const") }
        if case let .array(opts)? = s["anyOf"] ?? s["oneOf"], !opts.contains(where: { validate(v, $0, path).isEmpty }) { errs.append("\(path) matches no anyOf") }
        guard case let .string(t)? = s["type"] else { return errs }
        func num(_ x: JSONValue?) -> Double? { switch x { case let .int(i)?: Double(i); case let .double(d)?: d; default: nil } }
        switch (t, v) {
        case let ("string", .string(str)):
            let n = str.unicodeScalars.count
            if let mn = num(s["minLength"]), Double(n) < mn { errs.append("\(path) too short") }
            if let mx = num(s["maxLength"]), Double(n) > mx { errs.append("\(path) too long") }
            if case let .string(p)? = s["pattern"], str.range(of: p, options: .regularExpression) == nil { errs.append("\(path) !~ \(p)") }
            if case .string("date")? = s["format"] {
                let f = DateFormatter(); f.dateFormat = "yyyy-MM-dd"; f.timeZone = TimeZone(identifier: "UTC"); f.isLenient = false
                if str.count != 10 || f.date(from: str).map({ f.string(from: $0) }) != str { errs.append("\(path) bad date \(str)") }
            }
        case ("integer", .int), ("number", .int), ("number", .double):
            let x = num(v)!
            if let mn = num(s["minimum"]), x < mn { errs.append("\(path) < minimum") }
            if let mx = num(s["maximum"]), x > mx { errs.append("\(path) > maximum") }
        case ("boolean", .bool), ("null", .null): break
        case let ("object", .object(pairs)):
            let props: [(String, JSONValue)]
            if case let .object(p)? = s["properties"] { props = p } else { props = [] }
            if case let .array(req)? = s["required"] {
                for case let .string(k) in req where !pairs.contains(where: { $0.0 == k }) { errs.append("\(path) missing \(k)") }
            }
            for (k, x) in pairs {
                if let ps = props.first(where: { $0.0 == k })?.1 { errs += validate(x, ps, "\(path).\(k)") }
                else if let add = s["additionalProperties"], add != .bool(true) {
                    if add == .bool(false) { errs.append("\(path) extra \(k)") } else { errs += validate(x, add, "\(path).\(k)") }
                } else if s["additionalProperties"] == nil { errs.append("\(path) extra \(k) (closed by default)") }
            }
        case let ("array", .array(items)):
            if let mn = num(s["minItems"]), Double(items.count) < mn { errs.append("\(path) too few") }
            if let mx = num(s["maxItems"]), Double(items.count) > mx { errs.append("\(path) too many") }
            if let it = s["items"] { for (i, x) in items.enumerated() { errs += validate(x, it, "\(path)[\(i)]") } }
        default: errs.append("\(path) is not \(t): \(v.serialized)")
        }
        return errs
    }
    func same(_ a: JSONValue, _ b: JSONValue) -> Bool {
        switch (a, b) {
        case let (.int(x), .double(y)), let (.double(y), .int(x)): return Double(x) == y
        default: return a == b
        }
    }
}
