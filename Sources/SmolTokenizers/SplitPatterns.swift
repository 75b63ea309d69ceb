import Foundation

/// Finds the match ranges of a Split pre-tokenizer's regex inside one piece.
protocol SplitMatcher: Sendable {
    func matches(_ s: ArraySlice<Unicode.Scalar>) -> [Range<Int>]
}

enum SplitPatterns {
    /// GPT-2's pattern, used by the ByteLevel pre-tokenizer when `use_regex` is true.
    static let gpt2 = #"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"#
    /// Llama 3's pattern (SmolLM3).
    static let llama3 = #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#

    /// Hand-written matchers for the known patterns (linear time, no regex engine); any
    /// other pattern goes through NSRegularExpression.
    static func matcher(for pattern: String) throws -> SplitMatcher {
        switch pattern {
        case gpt2: return GPT2Matcher()
        case llama3: return Llama3Matcher()
        default: return try RegexMatcher(pattern: pattern)
        }
    }

    /// Length of a contraction ('s 't 're 've 'm 'll 'd) at i, or 0.
    static func contraction(_ s: ArraySlice<Unicode.Scalar>, _ i: Int, caseInsensitive: Bool) -> Int {
        guard s[i] == "'", i + 1 < s.endIndex else { return 0 }
        func low(_ k: Int) -> UInt32? {
            guard k < s.endIndex else { return nil }
            var v = s[k].value
            if caseInsensitive, (0x41...0x5A).contains(v) { v += 32 }
            return v
        }
        guard let a = low(i + 1) else { return 0 }
        switch a {
        case 0x73, 0x74, 0x6D, 0x64: return 2  // s t m d
        case 0x72, 0x76: return low(i + 2) == 0x65 ? 3 : 0  // re ve
        case 0x6C: return low(i + 2) == 0x6C ? 3 : 0  // ll
        default: return 0
        }
    }
}

/// `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
struct GPT2Matcher: SplitMatcher {
    func matches(_ s: ArraySlice<Unicode.Scalar>) -> [Range<Int>] {
        let cls = CharClass.classify(s)
        let base = s.startIndex, n = s.endIndex
        func c(_ i: Int) -> UInt8 { cls[i - base] }
        var out: [Range<Int>] = []
        var i = base
        while i < n {
            let k = SplitPatterns.contraction(s, i, caseInsensitive: false)
            if k > 0 { out.append(i..<(i + k)); i += k; continue }
            let sp = s[i] == " " ? 1 : 0
            if i + sp < n {
                let f = c(i + sp)
                if f != CharClass.space {
                    var j = i + sp
                    while j < n && c(j) == f { j += 1 }
                    out.append(i..<j)
                    i = j
                    continue
                }
            }
            var e = i
            while e < n && c(e) == CharClass.space { e += 1 }
            let end = (e == n || e - i == 1) ? e : e - 1  // \s+(?!\S) leaves the last space
            out.append(i..<end)
            i = end
        }
        return out
    }
}

/// Llama 3's pattern: see SplitPatterns.llama3.
struct Llama3Matcher: SplitMatcher {
    func matches(_ s: ArraySlice<Unicode.Scalar>) -> [Range<Int>] {
        let cls = CharClass.classify(s)
        let base = s.startIndex, n = s.endIndex
        func c(_ i: Int) -> UInt8 { cls[i - base] }
        func isNL(_ i: Int) -> Bool { s[i] == "\r" || s[i] == "\n" }
        var out: [Range<Int>] = []
        var i = base
        while i < n {
            let k = SplitPatterns.contraction(s, i, caseInsensitive: true)
            if k > 0 { out.append(i..<(i + k)); i += k; continue }
            let ci = c(i)
            // [^\r\n\p{L}\p{N}]?\p{L}+
            var start = -1
            if ci == CharClass.letter { start = i }
            else if ci != CharClass.number && !isNL(i) && i + 1 < n && c(i + 1) == CharClass.letter { start = i + 1 }
            if start >= 0 {
                var j = start
                while j < n && c(j) == CharClass.letter { j += 1 }
                out.append(i..<j); i = j; continue
            }
            // \p{N}{1,3}
            if ci == CharClass.number {
                var j = i
                while j < n && j < i + 3 && c(j) == CharClass.number { j += 1 }
                out.append(i..<j); i = j; continue
            }
            // ' ?[^\s\p{L}\p{N}]+[\r\n]*'
            let sp = s[i] == " " ? 1 : 0
            if i + sp < n && c(i + sp) == 0 {
                var j = i + sp
                while j < n && c(j) == 0 { j += 1 }
                while j < n && isNL(j) { j += 1 }
                out.append(i..<j); i = j; continue
            }
            // Whitespace: \s*[\r\n]+ | \s+(?!\S) | \s+
            var e = i
            var lastNL = -1
            while e < n && c(e) == CharClass.space {
                if isNL(e) { lastNL = e }
                e += 1
            }
            let end: Int
            if lastNL >= 0 { end = lastNL + 1 }
            else if e == n || e - i == 1 { end = e }
            else { end = e - 1 }
            out.append(i..<end)
            i = end
        }
        return out
    }
}

/// Any other pattern, through ICU's regex engine (Perl-like semantics, as Oniguruma).
struct RegexMatcher: SplitMatcher, @unchecked Sendable {
    let regex: NSRegularExpression

    init(pattern: String) throws {
        do { regex = try NSRegularExpression(pattern: pattern) }
        catch { throw TokenizerError.badRegex(pattern: pattern, reason: "\(error)") }
    }

    func matches(_ s: ArraySlice<Unicode.Scalar>) -> [Range<Int>] {
        var str = String.UnicodeScalarView()
        str.append(contentsOf: s)
        let text = String(str)
        // Map UTF-16 offsets back to scalar indices.
        var utf16ToScalar: [Int: Int] = [:]
        var u = 0
        for (k, sc) in s.enumerated() {
            utf16ToScalar[u] = s.startIndex + k
            u += sc.utf16.count
        }
        utf16ToScalar[u] = s.endIndex
        let ns = text as NSString
        return regex.matches(in: text, range: NSRange(location: 0, length: ns.length)).compactMap { m in
            guard m.range.length > 0, let a = utf16ToScalar[m.range.location],
                  let b = utf16ToScalar[m.range.location + m.range.length] else { return nil }
            return a..<b
        }
    }
}

/// Splits by a string literal (Split with a String pattern).
struct LiteralMatcher: SplitMatcher {
    let needle: [Unicode.Scalar]
    func matches(_ s: ArraySlice<Unicode.Scalar>) -> [Range<Int>] {
        guard !needle.isEmpty else { return [] }
        var out: [Range<Int>] = []
        var i = s.startIndex
        while i + needle.count <= s.endIndex {
            if s[i..<(i + needle.count)].elementsEqual(needle) {
                out.append(i..<(i + needle.count)); i += needle.count
            } else { i += 1 }
        }
        return out
    }
}

/// HF's SplitDelimiterBehavior applied to match ranges.
enum SplitBehavior: String, Sendable {
    case removed = "Removed", isolated = "Isolated", mergedWithPrevious = "MergedWithPrevious"
    case mergedWithNext = "MergedWithNext", contiguous = "Contiguous"

    /// Cuts `piece` given delimiter ranges (sorted, non-overlapping).
    func apply(_ piece: ArraySlice<Unicode.Scalar>, delimiters: [Range<Int>], invert: Bool) -> [ArraySlice<Unicode.Scalar>] {
        // Build (range, isMatch) covering the whole piece.
        var parts: [(Range<Int>, Bool)] = []
        var pos = piece.startIndex
        for r in delimiters {
            if r.lowerBound > pos { parts.append((pos..<r.lowerBound, invert)) }
            parts.append((r, !invert))
            pos = r.upperBound
        }
        if pos < piece.endIndex { parts.append((pos..<piece.endIndex, invert)) }
        var out: [Range<Int>] = []
        switch self {
        case .removed:
            out = parts.filter { !$0.1 }.map(\.0)
        case .isolated:
            out = parts.map(\.0)
        case .contiguous:
            for (r, m) in parts {
                if m, let last = out.last, let prevIsMatch = parts.first(where: { $0.0.upperBound == last.upperBound })?.1,
                   prevIsMatch, last.upperBound == r.lowerBound {
                    out[out.count - 1] = last.lowerBound..<r.upperBound
                } else { out.append(r) }
            }
        case .mergedWithPrevious:
            var prevMatch = false
            for (r, m) in parts {
                if m, !prevMatch, let last = out.last { out[out.count - 1] = last.lowerBound..<r.upperBound }
                else { out.append(r) }
                prevMatch = m
            }
        case .mergedWithNext:
            var pending: Range<Int>? = nil
            for (r, m) in parts {
                if m {
                    if let p = pending { out.append(p) }
                    pending = r
                } else if let p = pending {
                    out.append(p.lowerBound..<r.upperBound); pending = nil
                } else { out.append(r) }
            }
            if let p = pending { out.append(p) }
        }
        return out.filter { !$0.isEmpty }.map { piece[$0] }
    }
}
