/// llama.cpp's GBNF grammar format: `name ::= alternatives`, with "literals", [classes] and
/// [^negated] over code points, `.`, rule names, ( groups ), `*` `+` `?` `{m}` `{m,}` `{m,n}`
/// and `#` comments. The start rule is `root`. Text is UTF-8; classes match whole characters.
public enum GBNFParser {
    public static func parse(_ text: String) throws(GrammarError) -> Grammar {
        var p = Parser(Array(text.unicodeScalars))
        return try p.grammar()
    }

    struct Parser {
        let s: [Unicode.Scalar]
        var i = 0
        var b = GrammarBuilder()
        var ids: [String: Int] = [:]
        var defined: Set<String> = []
        init(_ s: [Unicode.Scalar]) { self.s = s }

        func fail(_ what: String) -> GrammarError {
            var line = 1, col = 1
            for c in s[..<min(i, s.count)] { if c == "\n" { line += 1; col = 1 } else { col += 1 } }
            return GrammarError("grammar line \(line) column \(col): \(what)")
        }

        mutating func id(_ name: String) -> Int {
            if let x = ids[name] { return x }
            let x = b.declare(name); ids[name] = x; return x
        }

        mutating func skipSpace() {
            while i < s.count {
                if s[i] == "#" { while i < s.count && s[i] != "\n" { i += 1 } }
                else if s[i] == " " || s[i] == "\t" || s[i] == "\n" || s[i] == "\r" { i += 1 }
                else { break }
            }
        }

        static func isNameChar(_ c: Unicode.Scalar) -> Bool {
            (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || (c >= "0" && c <= "9") || c == "-" || c == "_"
        }

        mutating func name() -> String? {
            let st = i
            while i < s.count && Self.isNameChar(s[i]) { i += 1 }
            return i > st ? String(String.UnicodeScalarView(s[st..<i])) : nil
        }

        /// At a rule head (`name ::=`)?
        func atRuleHead() -> Bool {
            var j = i
            while j < s.count && Self.isNameChar(s[j]) { j += 1 }
            guard j > i else { return false }
            while j < s.count && (s[j] == " " || s[j] == "\t") { j += 1 }
            return j + 2 < s.count + 0 && s[j] == ":" && s[j + 1] == ":" && s[j + 2] == "="
        }

        mutating func grammar() throws(GrammarError) -> Grammar {
            skipSpace()
            guard i < s.count else { throw fail("the grammar is empty") }
            while i < s.count {
                guard let n = name() else { throw fail("expected a rule name") }
                skipSpace()
                guard i + 2 < s.count, s[i] == ":", s[i + 1] == ":", s[i + 2] == "=" else { throw fail("expected ::= after '\(n)'") }
                i += 3
                guard !defined.contains(n) else { throw fail("rule '\(n)' is defined twice") }
                defined.insert(n)
                let e = try alternatives(topLevel: true)
                b.define(id(n), e)
                skipSpace()
            }
            guard let root = ids["root"], defined.contains("root") else { throw GrammarError("grammar: there is no 'root' rule") }
            for (n, _) in ids where !defined.contains(n) { throw GrammarError("grammar: rule '\(n)' is used but never defined") }
            return try b.build(root: root)
        }

        mutating func alternatives(topLevel: Bool) throws(GrammarError) -> GrammarExpr {
            var alts = [try sequence(topLevel: topLevel)]
            while i < s.count && s[i] == "|" { i += 1; alts.append(try sequence(topLevel: topLevel)) }
            return alts.count == 1 ? alts[0] : .alt(alts)
        }

        mutating func sequence(topLevel: Bool) throws(GrammarError) -> GrammarExpr {
            var items: [GrammarExpr] = []
            while true {
                skipSpace()
                guard i < s.count else { break }
                let c = s[i]
                if c == "|" || c == ")" { break }
                if topLevel && atRuleHead() { break }
                var e: GrammarExpr
                switch c {
                case "\"":
                    i += 1
                    var bytes: [UInt8] = []
                    while i < s.count && s[i] != "\"" {
                        let ch = try char()
                        bytes += CharSet.encode(ch)
                    }
                    guard i < s.count else { throw fail("unterminated string") }
                    i += 1
                    e = .bytes(bytes)
                case "[":
                    i += 1
                    var neg = false
                    if i < s.count && s[i] == "^" { neg = true; i += 1 }
                    var set = CharSet()
                    while i < s.count && s[i] != "]" {
                        let lo = try char()
                        var hi = lo
                        if i + 1 < s.count && s[i] == "-" && s[i + 1] != "]" { i += 1; hi = try char() }
                        guard lo <= hi else { throw fail("bad range in class") }
                        set.insert(lo...hi)
                    }
                    guard i < s.count else { throw fail("unterminated [") }
                    i += 1
                    e = (neg ? set.inverted : set).utf8
                case "(":
                    i += 1
                    e = try alternatives(topLevel: false)
                    skipSpace()
                    guard i < s.count && s[i] == ")" else { throw fail("expected )") }
                    i += 1
                case ".":
                    i += 1
                    e = CharSet.all.utf8
                default:
                    guard let n = name() else { throw fail("unexpected '\(c)'") }
                    e = .ref(id(n))
                }
                e = try quantifier(e)
                items.append(e)
            }
            return items.count == 1 ? items[0] : .seq(items)
        }

        mutating func quantifier(_ e: GrammarExpr) throws(GrammarError) -> GrammarExpr {
            guard i < s.count else { return e }
            switch s[i] {
            case "*": i += 1; return .star(e)
            case "+": i += 1; return .seq([e, .star(e)])
            case "?": i += 1; return .opt(e)
            case "{":
                i += 1
                func num(_ p: inout Parser) -> Int? {
                    var v = 0, any = false
                    while p.i < p.s.count, let d = Int(String(p.s[p.i])), p.s[p.i].isASCII { v = min(v * 10 + d, 1 << 20); p.i += 1; any = true }
                    return any ? v : nil
                }
                skipSpace()
                guard let lo = num(&self) else { throw fail("expected a number in {}") }
                skipSpace()
                var hi: Int? = lo
                if i < s.count && s[i] == "," { i += 1; skipSpace(); hi = num(&self); skipSpace() }
                guard i < s.count && s[i] == "}" else { throw fail("expected }") }
                i += 1
                if let h = hi, h < lo { throw fail("{\(lo),\(h)}: max below min") }
                guard lo <= 10_000, (hi ?? 0) <= 10_000 else { throw fail("repetition counts over 10000 are not supported") }
                return .rep(e, min: lo, max: hi)
            default: return e
            }
        }

        /// One character of a literal or class, escapes decoded.
        mutating func char() throws(GrammarError) -> UInt32 {
            let c = s[i]
            i += 1
            guard c == "\\" else { return c.value }
            guard i < s.count else { throw fail("trailing backslash") }
            let e = s[i]
            i += 1
            switch e {
            case "n": return 0x0A
            case "t": return 0x09
            case "r": return 0x0D
            case "\\", "\"", "[", "]", "-", "^": return e.value
            case "x", "u", "U":
                let n = e == "x" ? 2 : e == "u" ? 4 : 8
                guard i + n <= s.count, let v = UInt32(String(String.UnicodeScalarView(s[i..<(i + n)])), radix: 16), v <= 0x10FFFF else {
                    throw fail("\\\(e) needs \(n) hex digits")
                }
                i += n
                return v
            default: throw fail("unknown escape \\\(e)")
            }
        }
    }
}
