/// JSON Schema `pattern` (and regex-shaped formats) as grammar over the *JSON-escaped* content
/// of a string. The subset: literals and escapes, `.`, classes `[...]`/`[^...]` with ranges,
/// `\d \w \s` (and negations), groups `(...)` `(?:...)`, `|`, quantifiers `* + ? {n} {n,} {n,m}`
/// (lazy forms too: same language), and `^`/`$` at the ends. A pattern without `^` (or `$`)
/// may have anything before (or after) the match, as JSON Schema's search semantics say.
/// Backreferences, lookaround, `\b` and inner anchors are refused with the offset.
public struct RegexGrammar {
    let s: [Unicode.Scalar]
    var i = 0
    let pattern: String
    /// Bound on a counted repetition, so `{1,100000}` cannot blow up the grammar.
    static let maxCount = 1000

    init(_ pattern: String) { self.pattern = pattern; s = Array(pattern.unicodeScalars) }

    /// The string content (between the quotes) that the pattern accepts.
    public static func content(_ pattern: String) throws(GrammarError) -> GrammarExpr {
        var p = RegexGrammar(pattern)
        var anchoredStart = false, anchoredEnd = false
        if p.s.first == "^" { anchoredStart = true; p.i = 1 }
        var body = try p.alternation()
        if p.i < p.s.count {
            if p.s[p.i] == "$" && p.i == p.s.count - 1 { anchoredEnd = true; p.i += 1 } else { throw p.fail("unexpected '\(p.s[p.i])'") }
        }
        let any = GrammarExpr.star(JSONText.anyChar)
        if !anchoredStart { body = .seq([any, body]) }
        if !anchoredEnd { body = .seq([body, any]) }
        return body
    }

    func fail(_ what: String) -> GrammarError {
        GrammarError("pattern \(jsonQuoteASCII(pattern)): \(what) at offset \(i) (supported: literals, ., [classes], \\d \\w \\s, groups, |, * + ? {n,m}, ^ and $ at the ends)")
    }

    mutating func alternation() throws(GrammarError) -> GrammarExpr {
        var alts = [try concat()]
        while i < s.count && s[i] == "|" { i += 1; alts.append(try concat()) }
        return alts.count == 1 ? alts[0] : .alt(alts)
    }

    mutating func concat() throws(GrammarError) -> GrammarExpr {
        var items: [GrammarExpr] = []
        while i < s.count && s[i] != "|" && s[i] != ")" {
            if s[i] == "$" && i == s.count - 1 { break }
            var atom = try self.atom()
            atom = try quantified(atom)
            items.append(atom)
        }
        return items.count == 1 ? items[0] : .seq(items)
    }

    mutating func quantified(_ atom: GrammarExpr) throws(GrammarError) -> GrammarExpr {
        guard i < s.count else { return atom }
        var r: GrammarExpr
        switch s[i] {
        case "*": i += 1; r = .star(atom)
        case "+": i += 1; r = .seq([atom, .star(atom)])
        case "?": i += 1; r = .opt(atom)
        case "{":
            let save = i
            i += 1
            guard let lo = number() else { i = save; return atom }
            var hi: Int? = lo
            if i < s.count && s[i] == "," {
                i += 1
                hi = number()
            }
            guard i < s.count && s[i] == "}" else { throw fail("unterminated {n,m}") }
            i += 1
            guard lo <= Self.maxCount, (hi ?? 0) <= Self.maxCount else { throw fail("repetition count over \(Self.maxCount)") }
            if let h = hi, h < lo { throw fail("{\(lo),\(h)} has max < min") }
            r = .rep(atom, min: lo, max: hi)
        default: return atom
        }
        if i < s.count && s[i] == "?" { i += 1 }  // lazy: the same language
        if i < s.count && (s[i] == "*" || s[i] == "+" || s[i] == "?") { throw fail("stacked quantifiers") }
        return r
    }

    mutating func number() -> Int? {
        var v = 0, any = false
        while i < s.count, let d = s[i].properties.numericType != nil ? Int(String(s[i])) : nil {
            v = min(v * 10 + d, 1 << 30); i += 1; any = true
        }
        return any ? v : nil
    }

    mutating func atom() throws(GrammarError) -> GrammarExpr {
        let c = s[i]
        switch c {
        case "(":
            i += 1
            if i + 1 < s.count && s[i] == "?" {
                guard s[i + 1] == ":" else { throw fail("lookaround and named groups are not supported") }
                i += 2
            }
            let inner = try alternation()
            guard i < s.count && s[i] == ")" else { throw fail("unclosed group") }
            i += 1
            return inner
        case "[": return JSONText.chars(try charClass())
        case ".": i += 1; return JSONText.chars(CharSet.all.subtracting(CharSet("\n")))
        case "\\":
            i += 1
            return JSONText.chars(try escape(inClass: false))
        case "^", "$": throw fail("anchors are only supported at the start and end")
        case "*", "+", "?", "{": throw fail("quantifier with nothing to repeat")
        default:
            i += 1
            return JSONText.chars(CharSet(c))
        }
    }

    static let digit = CharSet(0x30...0x39)
    static let word = CharSet(ranges: [0x30...0x39, 0x41...0x5A, 0x5F...0x5F, 0x61...0x7A])
    static let space = CharSet(ranges: [0x09...0x0D, 0x20...0x20])

    mutating func escape(inClass: Bool) throws(GrammarError) -> CharSet {
        guard i < s.count else { throw fail("trailing backslash") }
        let c = s[i]
        i += 1
        switch c {
        case "d": return Self.digit
        case "D": return Self.digit.inverted
        case "w": return Self.word
        case "W": return Self.word.inverted
        case "s": return Self.space
        case "S": return Self.space.inverted
        case "n": return CharSet("\n")
        case "t": return CharSet("\t")
        case "r": return CharSet("\r")
        case "f": return CharSet(Unicode.Scalar(0x0C))
        case "v": return CharSet(Unicode.Scalar(0x0B))
        case "u":
            guard i + 4 <= s.count, let v = UInt32(String(String.UnicodeScalarView(s[i..<(i + 4)])), radix: 16) else { throw fail("\\u needs 4 hex digits") }
            i += 4
            return CharSet(v...v)
        case "b" where inClass: return CharSet(Unicode.Scalar(0x08))
        default:
            if c.properties.isAlphabetic || c.properties.numericType != nil { throw fail("escape \\\(c) is not supported") }
            return CharSet(c)
        }
    }

    mutating func charClass() throws(GrammarError) -> CharSet {
        i += 1
        var negate = false
        if i < s.count && s[i] == "^" { negate = true; i += 1 }
        var set = CharSet()
        var first = true
        while i < s.count && (s[i] != "]" || first) {
            first = false
            var lo: CharSet
            if s[i] == "\\" { i += 1; lo = try escape(inClass: true) } else { lo = CharSet(s[i]); i += 1 }
            if i + 1 < s.count && s[i] == "-" && s[i + 1] != "]", lo.ranges.count == 1, lo.ranges[0].count == 1 {
                i += 1
                var hi: CharSet
                if s[i] == "\\" { i += 1; hi = try escape(inClass: true) } else { hi = CharSet(s[i]); i += 1 }
                guard hi.ranges.count == 1, hi.ranges[0].count == 1, lo.ranges[0].lowerBound <= hi.ranges[0].lowerBound else {
                    throw fail("bad range in class")
                }
                lo = CharSet(lo.ranges[0].lowerBound...hi.ranges[0].lowerBound)
            }
            set = set.union(lo)
        }
        guard i < s.count else { throw fail("unclosed [") }
        i += 1
        return negate ? set.inverted : set
    }
}

/// A string for messages: JSON-quoted, ASCII only.
func jsonQuoteASCII(_ s: String) -> String {
    var out = "\""
    for u in s.unicodeScalars {
        switch u {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case _ where u.value < 0x20 || u.value > 0x7E: out += "\\u{\(String(u.value, radix: 16))}"
        default: out.unicodeScalars.append(u)
        }
    }
    return out + "\""
}
