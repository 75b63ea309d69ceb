import SmolJSON
enum TokenKind: Equatable {
    case data(String)
    case variableBegin, variableEnd, blockBegin, blockEnd
    case name(String)
    case string(String)
    case integer(Int)
    case float(Double)
    case op(String)
    case eof
}

struct Token {
    var kind: TokenKind
    var loc: SourceLocation
}

/// Tokenizer mirroring `jinja2.lexer` with the settings transformers uses
/// (`trim_blocks=True`, `lstrip_blocks=True`, `keep_trailing_newline=False`).
/// Whitespace handling must match exactly: it decides the bytes of every prompt.
struct Lexer {
    private let src: [Unicode.Scalar]
    private var pos = 0
    private var tokens: [Token] = []
    private var lineStarts: [Int] = [0]
    /// Jinja's `line_starting`: whether the previous match ended with a newline.
    private var lineStarting = true
    let trimBlocks: Bool
    let lstripBlocks: Bool

    init(_ source: String, trimBlocks: Bool = true, lstripBlocks: Bool = true) {
        var scalars = Lexer.normalizeNewlines(source)
        if scalars.last == "\n" { scalars.removeLast() }
        src = scalars
        self.trimBlocks = trimBlocks
        self.lstripBlocks = lstripBlocks
        for (i, c) in src.enumerated() where c == "\n" { lineStarts.append(i + 1) }
    }

    static func normalizeNewlines(_ s: String) -> [Unicode.Scalar] {
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(s.unicodeScalars.count)
        var previousCR = false
        for c in s.unicodeScalars {
            if c == "\r" {
                out.append("\n")
                previousCR = true
                continue
            }
            if c == "\n", previousCR {
                previousCR = false
                continue
            }
            previousCR = false
            out.append(c)
        }
        return out
    }

    func location(_ offset: Int) -> SourceLocation {
        var lo = 0
        var hi = lineStarts.count - 1
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if lineStarts[mid] <= offset { lo = mid } else { hi = mid - 1 }
        }
        return SourceLocation(line: lo + 1, column: offset - lineStarts[lo] + 1)
    }

    private func error(_ msg: String, at offset: Int) -> TemplateError {
        TemplateError(.syntax, msg, at: location(offset))
    }

    private func at(_ i: Int, _ s: String) -> Bool {
        var j = i
        for c in s.unicodeScalars {
            guard j < src.count, src[j] == c else { return false }
            j += 1
        }
        return true
    }

    mutating func tokenize() throws -> [Token] {
        while pos < src.count {
            try lexRootSegment()
        }
        tokens.append(Token(kind: .eof, loc: location(src.count)))
        return tokens
    }

    private func findTagStart(from start: Int) -> Int {
        var i = start
        while i + 1 < src.count {
            if src[i] == "{", src[i + 1] == "{" || src[i + 1] == "%" || src[i + 1] == "#" { return i }
            i += 1
        }
        return src.count
    }

    /// Applies `{%-` stripping or lstrip_blocks to the text in front of a tag, as Jinja's `OptionalLStrip` does.
    private func strippedText(_ text: ArraySlice<Unicode.Scalar>, sign: Unicode.Scalar?, isVariable: Bool) -> ArraySlice<Unicode.Scalar> {
        if sign == "-" {
            var end = text.endIndex
            while end > text.startIndex, isPySpace(text[end - 1]) { end -= 1 }
            return text[text.startIndex..<end]
        }
        guard sign != "+", lstripBlocks, !isVariable else { return text }
        let lineStart = (text.lastIndex(of: "\n").map { $0 + 1 }) ?? text.startIndex
        guard lineStart > text.startIndex || lineStarting else { return text }
        let tail = text[lineStart...]
        if !tail.isEmpty, tail.allSatisfy(isPySpace) { return text[text.startIndex..<lineStart] }
        return text
    }

    private mutating func emitData(_ text: ArraySlice<Unicode.Scalar>, at offset: Int) {
        guard !text.isEmpty else { return }
        var s = String.UnicodeScalarView()
        s.append(contentsOf: text)
        tokens.append(Token(kind: .data(String(s)), loc: location(offset)))
    }

    private mutating func lexRootSegment() throws {
        let start = pos
        let tag = findTagStart(from: pos)
        if tag >= src.count {
            emitData(src[start..<src.count], at: start)
            pos = src.count
            return
        }
        let kindChar = src[tag + 1]
        var sign: Unicode.Scalar?
        if tag + 2 < src.count, src[tag + 2] == "-" || src[tag + 2] == "+" { sign = src[tag + 2] }
        let afterOpen = tag + 2 + (sign == nil ? 0 : 1)
        let text = strippedText(src[start..<tag], sign: sign, isVariable: kindChar == "{")
        emitData(text, at: start)
        pos = afterOpen
        lineStarting = false
        switch kindChar {
        case "#": try lexComment(openedAt: tag)
        case "%":
            if let rawBodyStart = rawBlockBody(from: afterOpen) {
                pos = rawBodyStart
                try lexRaw(openedAt: tag)
            } else {
                tokens.append(Token(kind: .blockBegin, loc: location(tag)))
                try lexInsideTag(isBlock: true, openedAt: tag)
            }
        default:
            tokens.append(Token(kind: .variableBegin, loc: location(tag)))
            try lexInsideTag(isBlock: false, openedAt: tag)
        }
    }

    private func skipSpaces(_ i: Int) -> Int {
        var j = i
        while j < src.count, isPySpace(src[j]) { j += 1 }
        return j
    }

    /// Returns where the body starts if this `{%` opens `{% raw %}`; raw's opening tag ignores trim_blocks.
    private func rawBlockBody(from i: Int) -> Int? {
        var j = skipSpaces(i)
        guard at(j, "raw") else { return nil }
        j = skipSpaces(j + 3)
        if at(j, "-%}") { return skipSpaces(j + 3) }
        if at(j, "%}") { return j + 2 }
        return nil
    }

    private mutating func lexRaw(openedAt open: Int) throws {
        var i = pos
        while true {
            let tag = findTagStart(from: i)
            guard tag < src.count else { throw error("Missing end of raw directive", at: open) }
            guard src[tag + 1] == "%" else { i = tag + 1; continue }
            var sign: Unicode.Scalar?
            var j = tag + 2
            if j < src.count, src[j] == "-" || src[j] == "+" { sign = src[j]; j += 1 }
            j = skipSpaces(j)
            guard at(j, "endraw") else { i = tag + 1; continue }
            j = skipSpaces(j + 6)
            let text = strippedText(src[pos..<tag], sign: sign, isVariable: false)
            emitData(text, at: pos)
            pos = try consumeTagEnd(at: j, close: "%}", trims: true, openedAt: open)
            return
        }
    }

    /// Consumes `-%}`/`+%}`/`%}` at `j` and returns the new position, applying trim rules.
    private mutating func consumeTagEnd(at j: Int, close: String, trims: Bool, openedAt open: Int) throws -> Int {
        let n = close.unicodeScalars.count
        if at(j, "-" + close) {
            let end = skipSpaces(j + n + 1)
            lineStarting = end > j + n + 1 && src[end - 1] == "\n"
            return end
        }
        if at(j, "+" + close) {
            lineStarting = false
            return j + n + 1
        }
        if at(j, close) {
            var end = j + n
            if trims, trimBlocks, end < src.count, src[end] == "\n" { end += 1 }
            lineStarting = src[end - 1] == "\n"
            return end
        }
        throw error("unexpected end of tag", at: open)
    }

    private mutating func lexComment(openedAt open: Int) throws {
        var i = pos
        while i + 1 < src.count {
            if src[i] == "#", src[i + 1] == "}" {
                let endStart = (i > pos && src[i - 1] == "-") ? i - 1 : i
                let plus = i > pos && src[i - 1] == "+"
                pos = try consumeTagEnd(at: plus ? i - 1 : endStart, close: "#}", trims: true, openedAt: open)
                return
            }
            i += 1
        }
        throw error("Missing end of comment tag", at: open)
    }

    private static let operators: [String] = [
        "//", "**", "==", "!=", ">=", "<=",
        "+", "-", "/", "*", "%", "~", "[", "]", "(", ")", "{", "}", ">", "<", "=", ".", ":", "|", ",", ";",
    ]

    private mutating func lexInsideTag(isBlock: Bool, openedAt open: Int) throws {
        let close = isBlock ? "%}" : "}}"
        var brackets: [(Unicode.Scalar, Int)] = []
        while true {
            pos = skipSpaces(pos)
            guard pos < src.count else {
                throw error(isBlock ? "Unexpected end of template, expected '%}'" : "Unexpected end of template, expected '}}'", at: open)
            }
            // Jinja ignores end markers while brackets are open, so `{{ {'a': 1}}}` works.
            if brackets.isEmpty, at(pos, close) || at(pos, "-" + close) || at(pos, "+" + close) {
                let loc = location(pos)
                pos = try consumeTagEnd(at: pos, close: close, trims: isBlock, openedAt: open)
                tokens.append(Token(kind: isBlock ? .blockEnd : .variableEnd, loc: loc))
                return
            }
            let start = pos
            let c = src[pos]
            if let number = try lexNumber() {
                tokens.append(Token(kind: number, loc: location(start)))
            } else if c == "_" || (c.isASCII && c.properties.isAlphabetic) {
                var j = pos
                while j < src.count, src[j] == "_" || (src[j].isASCII && (src[j].properties.isAlphabetic || ("0"..."9").contains(src[j]))) { j += 1 }
                tokens.append(Token(kind: .name(String(String.UnicodeScalarView(src[pos..<j]))), loc: location(start)))
                pos = j
            } else if c == "'" || c == "\"" {
                tokens.append(Token(kind: .string(try lexString()), loc: location(start)))
            } else if let op = Lexer.operators.first(where: { at(pos, $0) }) {
                let first = op.unicodeScalars.first ?? " "
                if op == "(" || op == "[" || op == "{" {
                    brackets.append((first, pos))
                } else if op == ")" || op == "]" || op == "}" {
                    let expected: Unicode.Scalar = op == ")" ? "(" : (op == "]" ? "[" : "{")
                    guard let last = brackets.popLast() else { throw error("unexpected '\(op)'", at: pos) }
                    guard last.0 == expected else {
                        throw error("unexpected '\(op)', expected '\(Lexer.closer(last.0))'", at: pos)
                    }
                }
                tokens.append(Token(kind: .op(op), loc: location(start)))
                pos += op.unicodeScalars.count
            } else {
                throw error("unexpected char '\(c)'", at: pos)
            }
        }
    }

    private static func closer(_ c: Unicode.Scalar) -> String {
        c == "(" ? ")" : (c == "[" ? "]" : "}")
    }

    private func isDigit(_ i: Int) -> Bool { i < src.count && ("0"..."9").contains(src[i]) }

    /// Digits with Python-style `_` separators, starting at `i`; returns end index.
    private func digitRun(_ i: Int) -> Int {
        var j = i
        while isDigit(j) || (j < src.count && src[j] == "_" && isDigit(j + 1) && j > i) { j += 1 }
        return j
    }

    private mutating func lexNumber() throws -> TokenKind? {
        guard isDigit(pos) else { return nil }
        // Jinja's float regex refuses to start right after a dot, so `x.0.1` reads as attribute lookups.
        let afterDot = pos > 0 && src[pos - 1] == "."
        let start = pos
        if src[pos] == "0", pos + 1 < src.count, let radix = ["b": 2, "o": 8, "x": 16, "B": 2, "O": 8, "X": 16][Character(src[pos + 1])] {
            var j = pos + 2
            var text = ""
            while j < src.count, src[j] == "_" || Int(String(src[j]), radix: radix) != nil {
                if src[j] != "_" { text.unicodeScalars.append(src[j]) }
                j += 1
            }
            if !text.isEmpty {
                guard let v = Int(text, radix: radix) else { throw error("integer literal too large", at: start) }
                pos = j
                return .integer(v)
            }
        }
        var j = digitRun(pos)
        var isFloat = false
        if !afterDot, j + 1 < src.count, src[j] == ".", isDigit(j + 1) {
            j = digitRun(j + 1)
            isFloat = true
        }
        if !afterDot, j < src.count, src[j] == "e" || src[j] == "E" {
            var k = j + 1
            if k < src.count, src[k] == "+" || src[k] == "-" { k += 1 }
            if isDigit(k) {
                j = digitRun(k)
                isFloat = true
            }
        }
        let text = String(String.UnicodeScalarView(src[start..<j].filter { $0 != "_" }))
        pos = j
        if isFloat {
            guard let d = Double(text) else { throw error("invalid float literal", at: start) }
            return .float(d)
        }
        guard let v = Int(text) else { throw error("integer literal too large", at: start) }
        return .integer(v)
    }

    /// Decodes a string literal the way Jinja does (Python `unicode-escape`).
    private mutating func lexString() throws -> String {
        let quote = src[pos]
        let start = pos
        var j = pos + 1
        var out = String.UnicodeScalarView()
        while true {
            guard j < src.count else { throw error("unexpected char '\(quote)'", at: start) }
            let c = src[j]
            if c == quote { break }
            guard c == "\\" else {
                out.append(c)
                j += 1
                continue
            }
            guard j + 1 < src.count else { throw error("unexpected char '\(quote)'", at: start) }
            let e = src[j + 1]
            j += 2
            switch e {
            case "\n": break
            case "\\": out.append("\\")
            case "'": out.append("'")
            case "\"": out.append("\"")
            case "a": out.append("\u{07}")
            case "b": out.append("\u{08}")
            case "f": out.append("\u{0C}")
            case "n": out.append("\n")
            case "r": out.append("\r")
            case "t": out.append("\t")
            case "v": out.append("\u{0B}")
            case "0"..."7":
                var v = e.value - 0x30
                var count = 1
                while count < 3, j < src.count, ("0"..."7").contains(src[j]) {
                    v = v * 8 + (src[j].value - 0x30)
                    j += 1
                    count += 1
                }
                out.append(Unicode.Scalar(v) ?? "\u{FFFD}")
            case "x", "u", "U":
                let width = e == "x" ? 2 : (e == "u" ? 4 : 8)
                var v: UInt32 = 0
                for k in 0..<width {
                    guard j + k < src.count, src[j + k].isASCII, let d = hexDigitValue(UInt8(src[j + k].value)) else {
                        throw error("invalid \\\(e) escape in string literal", at: start)
                    }
                    v = v &* 16 &+ d
                }
                j += width
                guard let scalar = Unicode.Scalar(v) else {
                    throw error("invalid code point in string literal", at: start)
                }
                out.append(scalar)
            default:
                out.append("\\")
                out.append(e)
            }
        }
        pos = j + 1
        return String(out)
    }
}

/// Python's `str.isspace`, which is also what `\s` matches in Jinja's regexes.
func isPySpace(_ c: Unicode.Scalar) -> Bool {
    c.properties.isWhitespace || (0x1C...0x1F).contains(c.value)
}
