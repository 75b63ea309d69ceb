import Foundation

/// Turns token strings back into text (tokenizers' Decoder: a list of tokens in, a list out).
protocol TokenDecoder: Sendable {
    func decode(_ tokens: [String]) -> [String]
}

struct ByteLevelDecoder: TokenDecoder {
    func decode(_ tokens: [String]) -> [String] {
        let bytes = ByteLevelMapping.decode(tokens.joined())
        return [String(decoding: bytes, as: UTF8.self)]
    }
}

/// `<0xXX>` tokens become bytes; runs of them decode as UTF-8 (U+FFFD per byte if invalid).
struct ByteFallbackDecoder: TokenDecoder {
    func decode(_ tokens: [String]) -> [String] {
        var out: [String] = []
        var pending: [UInt8] = []
        func flush() {
            guard !pending.isEmpty else { return }
            if let s = String(validating: pending, as: UTF8.self) { out.append(s) }
            else { out.append(contentsOf: Array(repeating: "\u{FFFD}", count: pending.count)) }
            pending = []
        }
        for t in tokens {
            if let b = Self.byteValue(t) { pending.append(b) } else { flush(); out.append(t) }
        }
        flush()
        return out
    }

    static func byteValue(_ t: String) -> UInt8? {
        let u = Array(t.utf8)
        guard u.count == 6, u[0] == 0x3C, u[1] == 0x30, u[2] == 0x78, u[5] == 0x3E else { return nil }
        return UInt8(String(decoding: u[3...4], as: UTF8.self), radix: 16)
    }
}

struct FuseDecoder: TokenDecoder {
    func decode(_ tokens: [String]) -> [String] { [tokens.joined()] }
}

struct StripDecoder: TokenDecoder {
    let content: Unicode.Scalar
    let start: Int
    let stop: Int
    func decode(_ tokens: [String]) -> [String] {
        // Scalars, as Rust chars: " \u{301}" is one Character but two chars.
        tokens.map { t in
            var chars = Array(t.unicodeScalars)
            var s = 0
            while s < start && s < chars.count && chars[s] == content { s += 1 }
            chars.removeFirst(s)
            var e = 0
            while e < stop && !chars.isEmpty && chars.last == content { chars.removeLast(); e += 1 }
            var v = String.UnicodeScalarView(); v.append(contentsOf: chars); return String(v)
        }
    }
}

struct ReplaceDecoder: TokenDecoder {
    let pattern: String
    let content: String
    func decode(_ tokens: [String]) -> [String] { tokens.map { ScalarText.replace($0, pattern, content) } }
}

struct MetaspaceDecoder: TokenDecoder {
    let replacement: Unicode.Scalar
    let prependScheme: String
    /// As tokenizers: every replacement character of the first token is dropped (not only a
    /// leading one) unless prepend_scheme is "never"; elsewhere it becomes a space.
    func decode(_ tokens: [String]) -> [String] {
        tokens.enumerated().map { i, t in
            var v = String.UnicodeScalarView()
            for u in t.unicodeScalars {
                if u != replacement { v.append(u) } else if i != 0 || prependScheme == "never" { v.append(" ") }
            }
            return String(v)
        }
    }
}

struct SequenceDecoder: TokenDecoder {
    let steps: [TokenDecoder]
    func decode(_ tokens: [String]) -> [String] { steps.reduce(tokens) { $1.decode($0) } }
}

enum DecoderFactory {
    static func make(_ json: [String: Any]?) throws -> TokenDecoder? {
        guard let json else { return nil }
        guard let type = json["type"] as? String else { throw TokenizerError.missingField(component: "decoder", field: "type") }
        switch type {
        case "ByteLevel": return ByteLevelDecoder()
        case "ByteFallback": return ByteFallbackDecoder()
        case "Fuse": return FuseDecoder()
        case "Strip":
            let c = (json["content"] as? String)?.unicodeScalars.first ?? " "
            return StripDecoder(content: c, start: json["start"] as? Int ?? 0, stop: json["stop"] as? Int ?? 0)
        case "Replace":
            let pattern = json["pattern"] as? [String: Any] ?? [:]
            guard let lit = pattern["String"] as? String else {
                throw TokenizerError.unsupportedOption(component: "Replace decoder", option: "regex pattern")
            }
            return ReplaceDecoder(pattern: lit, content: json["content"] as? String ?? "")
        case "Metaspace":
            var scheme = json["prepend_scheme"] as? String ?? "always"
            if let add = json["add_prefix_space"] as? Bool, json["prepend_scheme"] == nil { scheme = add ? "always" : "never" }
            return MetaspaceDecoder(replacement: (json["replacement"] as? String)?.unicodeScalars.first ?? "\u{2581}", prependScheme: scheme)
        case "Sequence":
            let list = json["decoders"] as? [[String: Any]] ?? []
            return SequenceDecoder(steps: try list.compactMap { try make($0) })
        default:
            throw TokenizerError.unsupportedType(component: "decoder", type: type)
        }
    }
}
