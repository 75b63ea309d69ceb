/// Unicode classes the split patterns use: \p{L}, \p{N} and \s (the White_Space property,
/// as Oniguruma, which Hugging Face tokenizers uses, defines \s).
enum CharClass {
    static let letter: UInt8 = 1
    static let number: UInt8 = 2
    static let space: UInt8 = 4

    static func of(_ s: Unicode.Scalar) -> UInt8 {
        let v = s.value
        if v < 128 {
            switch v {
            case 0x41...0x5A, 0x61...0x7A: return letter
            case 0x30...0x39: return number
            case 0x09...0x0D, 0x20: return space
            default: return 0
            }
        }
        let p = s.properties
        if p.isWhitespace { return space }
        switch p.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return letter
        case .decimalNumber, .letterNumber, .otherNumber: return number
        default: return 0
        }
    }

    static func classify(_ s: ArraySlice<Unicode.Scalar>) -> [UInt8] { s.map(of) }

    static func isNumeric(_ s: Unicode.Scalar) -> Bool { of(s) == number }
    static func isWhitespace(_ s: Unicode.Scalar) -> Bool { of(s) == space }
    static func isAlphanumeric(_ s: Unicode.Scalar) -> Bool { of(s) & (letter | number) != 0 }

    /// Oniguruma's Unicode `\w`, as tokenizers' Whitespace pre-tokenizer (`\w+|[^\w\s]+`) uses it:
    /// Alphabetic, marks (Mn Mc Me), decimal digits (Nd), connector punctuation (Pc) and
    /// Join_Control (ZWNJ, ZWJ). Not No: "\u{B2}", "\u{BD}", "\u{2460}" are not word characters.
    static func isWordCharacter(_ s: Unicode.Scalar) -> Bool {
        if s.isASCII { return of(s) & (letter | number) != 0 || s == "_" }
        let p = s.properties
        if p.isAlphabetic || p.isJoinControl { return true }
        switch p.generalCategory {
        case .nonspacingMark, .spacingMark, .enclosingMark, .decimalNumber, .connectorPunctuation: return true
        default: return false
        }
    }

    /// Rust's char::is_ascii_punctuation or Unicode punctuation (HF's Punctuation pre-tokenizer).
    static func isPunctuation(_ s: Unicode.Scalar) -> Bool {
        if s.isASCII { return (0x21...0x2F).contains(s.value) || (0x3A...0x40).contains(s.value) || (0x5B...0x60).contains(s.value) || (0x7B...0x7E).contains(s.value) }
        switch s.properties.generalCategory {
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
             .initialPunctuation, .finalPunctuation, .otherPunctuation: return true
        default: return false
        }
    }
}
