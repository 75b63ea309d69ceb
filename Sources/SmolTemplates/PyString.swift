/// Python `str` algorithms on code points. Swift compares and searches by grapheme cluster,
/// which would disagree with Python on combining marks, so these work on bytes or scalars.
enum PyString {
    /// Byte offset of `needle` in `haystack` at or after `from`; UTF-8 matches align to code points.
    static func find(_ haystack: [UInt8], _ needle: [UInt8], from: Int) -> Int? {
        if needle.isEmpty { return from <= haystack.count ? from : nil }
        guard haystack.count >= needle.count else { return nil }
        var i = from
        let last = haystack.count - needle.count
        while i <= last {
            if haystack[i] == needle[0] {
                var j = 1
                while j < needle.count, haystack[i + j] == needle[j] { j += 1 }
                if j == needle.count { return i }
            }
            i += 1
        }
        return nil
    }

    static func rfind(_ haystack: [UInt8], _ needle: [UInt8]) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        var i = haystack.count - needle.count
        while i >= 0 {
            if Array(haystack[i..<i + needle.count]) == needle { return i }
            i -= 1
        }
        return nil
    }

    static func string(_ bytes: ArraySlice<UInt8>) -> String { String(decoding: bytes, as: UTF8.self) }

    /// Converts a UTF-8 byte offset to a code point index (what Python's `find` returns).
    static func scalarIndex(_ bytes: [UInt8], byteOffset: Int) -> Int {
        bytes[..<byteOffset].reduce(0) { $0 + (($1 & 0xC0) == 0x80 ? 0 : 1) }
    }

    static func count(_ s: String, _ sub: String) -> Int {
        let h = Array(s.utf8)
        let n = Array(sub.utf8)
        if n.isEmpty { return s.unicodeScalars.count + 1 }
        var total = 0
        var i = 0
        while let j = find(h, n, from: i) {
            total += 1
            i = j + n.count
        }
        return total
    }

    static func replace(_ s: String, _ old: String, _ new: String, count limit: Int = -1) -> String {
        let h = Array(s.utf8)
        let o = Array(old.utf8)
        let n = Array(new.utf8)
        var out: [UInt8] = []
        var done = 0
        if o.isEmpty {
            // Python inserts the replacement between every code point and at both ends.
            let scalars = Array(s.unicodeScalars)
            var result = ""
            for (i, c) in scalars.enumerated() {
                if limit < 0 || i < limit { result += new }
                result.unicodeScalars.append(c)
            }
            if limit < 0 || scalars.count < limit { result += new }
            return result
        }
        var i = 0
        while limit < 0 || done < limit, let j = find(h, o, from: i) {
            out.append(contentsOf: h[i..<j])
            out.append(contentsOf: n)
            i = j + o.count
            done += 1
        }
        out.append(contentsOf: h[i...])
        return String(decoding: out, as: UTF8.self)
    }

    static func strip(_ s: String, chars: String?, leading: Bool, trailing: Bool) -> String {
        let scalars = Array(s.unicodeScalars)
        let set = chars.map { Set($0.unicodeScalars) }
        func strippable(_ c: Unicode.Scalar) -> Bool { set.map { $0.contains(c) } ?? isPySpace(c) }
        var lo = 0
        var hi = scalars.count
        if leading { while lo < hi, strippable(scalars[lo]) { lo += 1 } }
        if trailing { while hi > lo, strippable(scalars[hi - 1]) { hi -= 1 } }
        return String(String.UnicodeScalarView(scalars[lo..<hi]))
    }

    /// `str.split(sep, maxsplit)`; no separator splits on whitespace runs and drops empties.
    static func split(_ s: String, sep: String?, maxSplit: Int) throws -> [String] {
        if let sep {
            guard !sep.isEmpty else { throw TemplateError(.valueError, "empty separator") }
            let h = Array(s.utf8)
            let p = Array(sep.utf8)
            var parts: [String] = []
            var i = 0
            while maxSplit < 0 || parts.count < maxSplit, let j = find(h, p, from: i) {
                parts.append(string(h[i..<j]))
                i = j + p.count
            }
            parts.append(string(h[i...]))
            return parts
        }
        let scalars = Array(s.unicodeScalars)
        var parts: [String] = []
        var i = 0
        while i < scalars.count {
            while i < scalars.count, isPySpace(scalars[i]) { i += 1 }
            guard i < scalars.count else { break }
            if maxSplit >= 0, parts.count == maxSplit {
                // Python keeps the remainder verbatim, trailing whitespace included.
                parts.append(String(String.UnicodeScalarView(scalars[i...])))
                return parts
            }
            let start = i
            while i < scalars.count, !isPySpace(scalars[i]) { i += 1 }
            parts.append(String(String.UnicodeScalarView(scalars[start..<i])))
        }
        return parts
    }

    static func rsplit(_ s: String, sep: String?, maxSplit: Int) throws -> [String] {
        guard maxSplit >= 0 else { return try split(s, sep: sep, maxSplit: -1) }
        // Reversing the code points turns rsplit into split; the separator is reversed too.
        func rev(_ x: String) -> String { String(String.UnicodeScalarView(x.unicodeScalars.reversed())) }
        let parts = try split(rev(s), sep: sep.map(rev), maxSplit: maxSplit)
        return parts.reversed().map(rev)
    }

    /// Line boundaries recognised by `str.splitlines`.
    static func isLineBreak(_ c: Unicode.Scalar) -> Bool {
        switch c.value {
        case 0x0A, 0x0B, 0x0C, 0x0D, 0x1C, 0x1D, 0x1E, 0x85, 0x2028, 0x2029: return true
        default: return false
        }
    }

    static func splitlines(_ s: String, keepEnds: Bool = false) -> [String] {
        let scalars = Array(s.unicodeScalars)
        var lines: [String] = []
        var start = 0
        var i = 0
        while i < scalars.count {
            if isLineBreak(scalars[i]) {
                var end = i + 1
                if scalars[i] == "\r", end < scalars.count, scalars[end] == "\n" { end += 1 }
                lines.append(String(String.UnicodeScalarView(scalars[start..<(keepEnds ? end : i)])))
                start = end
                i = end
            } else {
                i += 1
            }
        }
        if start < scalars.count { lines.append(String(String.UnicodeScalarView(scalars[start...]))) }
        return lines
    }

    static func isCased(_ c: Unicode.Scalar) -> Bool {
        c.properties.isUppercase || c.properties.isLowercase || c.properties.generalCategory == .titlecaseLetter
    }

    /// Python `str.title`: a letter after a cased letter is lowercased, otherwise titlecased.
    static func title(_ s: String) -> String {
        var out = ""
        var previousCased = false
        for c in s.unicodeScalars {
            if previousCased {
                out += c.properties.lowercaseMapping
            } else {
                out += c.properties.titlecaseMapping
            }
            previousCased = isCased(c)
        }
        return out
    }

    /// Python `str.capitalize`: first code point titlecased, the rest lowercased.
    static func capitalize(_ s: String) -> String {
        var out = ""
        for (i, c) in s.unicodeScalars.enumerated() {
            out += i == 0 ? c.properties.titlecaseMapping : c.properties.lowercaseMapping
        }
        return out
    }

    static func upper(_ s: String) -> String {
        s.unicodeScalars.reduce(into: "") { $0 += $1.properties.uppercaseMapping }
    }

    static func lower(_ s: String) -> String {
        s.unicodeScalars.reduce(into: "") { $0 += $1.properties.lowercaseMapping }
    }

    static func scalarCount(_ s: String) -> Int { s.unicodeScalars.count }

    static func padded(_ s: String, width: Int, fill: Unicode.Scalar, align: Character) -> String {
        let n = s.unicodeScalars.count
        guard width > n else { return s }
        let total = width - n
        let f = String(fill)
        switch align {
        case "<": return s + String(repeating: f, count: total)
        case ">": return String(repeating: f, count: total) + s
        default:
            // CPython's `str.center` rounding: the odd pad goes left only when the target width is odd.
            let left = total / 2 + (total & width & 1)
            return String(repeating: f, count: left) + s + String(repeating: f, count: total - left)
        }
    }
}
