import Foundation

/// Text transformations applied before pre-tokenization.
protocol Normalizer: Sendable {
    func normalize(_ s: String) -> String
}

struct FunctionNormalizer: Normalizer {
    let f: @Sendable (String) -> String
    func normalize(_ s: String) -> String { f(s) }
}

struct SequenceNormalizer: Normalizer {
    let steps: [Normalizer]
    func normalize(_ s: String) -> String { steps.reduce(s) { $1.normalize($0) } }
}

/// Literal replacement by Unicode scalars. Foundation's `replacingOccurrences` matches whole
/// grapheme clusters, so " " is not found in " \u{301}" (space + combining accent).
enum ScalarText {
    static func replace(_ s: String, _ pattern: String, _ content: String) -> String {
        let p = Array(pattern.unicodeScalars)
        guard !p.isEmpty else { return s }
        let t = Array(s.unicodeScalars), c = content.unicodeScalars
        var out = String.UnicodeScalarView()
        var i = 0
        while i < t.count {
            if t[i] == p[0], i + p.count <= t.count, t[i..<(i + p.count)].elementsEqual(p) {
                out.append(contentsOf: c); i += p.count
            } else { out.append(t[i]); i += 1 }
        }
        return String(out)
    }
}

enum NormalizerFactory {
    static func make(_ json: [String: Any]?) throws -> Normalizer? {
        guard let json else { return nil }
        guard let type = json["type"] as? String else { throw TokenizerError.missingField(component: "normalizer", field: "type") }
        switch type {
        case "Sequence":
            let list = json["normalizers"] as? [[String: Any]] ?? []
            return SequenceNormalizer(steps: try list.compactMap { try make($0) })
        case "NFC": return FunctionNormalizer { $0.precomposedStringWithCanonicalMapping }
        case "NFD": return FunctionNormalizer { $0.decomposedStringWithCanonicalMapping }
        case "NFKC": return FunctionNormalizer { $0.precomposedStringWithCompatibilityMapping }
        case "NFKD": return FunctionNormalizer { $0.decomposedStringWithCompatibilityMapping }
        case "Lowercase": return FunctionNormalizer { $0.lowercased() }
        case "Strip":
            let left = json["strip_left"] as? Bool ?? true, right = json["strip_right"] as? Bool ?? true
            return FunctionNormalizer { s in
                var scalars = Array(s.unicodeScalars)
                if right { while let l = scalars.last, CharClass.isWhitespace(l) { scalars.removeLast() } }
                if left { let k = scalars.prefix(while: CharClass.isWhitespace).count; scalars.removeFirst(k) }
                var v = String.UnicodeScalarView(); v.append(contentsOf: scalars); return String(v)
            }
        case "Prepend":
            let p = json["prepend"] as? String ?? ""
            return FunctionNormalizer { $0.isEmpty ? $0 : p + $0 }
        case "Replace":
            let pattern = json["pattern"] as? [String: Any] ?? [:]
            let content = json["content"] as? String ?? ""
            if let lit = pattern["String"] as? String {
                return FunctionNormalizer { ScalarText.replace($0, lit, content) }
            }
            if let re = pattern["Regex"] as? String {
                let regex: NSRegularExpression
                do { regex = try NSRegularExpression(pattern: re) } catch {
                    throw TokenizerError.badRegex(pattern: re, reason: "\(error)")
                }
                let r = regex
                return FunctionNormalizer { s in
                    r.stringByReplacingMatches(in: s, range: NSRange(s.startIndex..., in: s),
                                               withTemplate: NSRegularExpression.escapedTemplate(for: content))
                }
            }
            throw TokenizerError.missingField(component: "Replace normalizer", field: "pattern")
        default:
            throw TokenizerError.unsupportedType(component: "normalizer", type: type)
        }
    }
}
