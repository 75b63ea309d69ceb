/// GPT-2's reversible byte <-> printable character mapping used by byte-level BPE.
enum ByteLevelMapping {
    static let byteToScalar: [Unicode.Scalar] = {
        var bs: [Int] = Array(0x21...0x7E) + Array(0xA1...0xAC) + Array(0xAE...0xFF)
        var cs = bs
        var n = 0
        for b in 0..<256 where !bs.contains(b) {
            bs.append(b)
            cs.append(256 + n)
            n += 1
        }
        var table = [Unicode.Scalar](repeating: " ", count: 256)
        for (b, c) in zip(bs, cs) { table[b] = Unicode.Scalar(UInt32(c))! }
        return table
    }()

    static let scalarToByte: [UInt32: UInt8] = {
        var d: [UInt32: UInt8] = [:]
        for (b, s) in byteToScalar.enumerated() { d[s.value] = UInt8(b) }
        return d
    }()

    static func encode(_ s: ArraySlice<Unicode.Scalar>) -> [Unicode.Scalar] {
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(s.count)
        for sc in s {
            for b in String(sc).utf8 { out.append(byteToScalar[Int(b)]) }
        }
        return out
    }

    /// Maps characters back to bytes; characters outside the mapping keep their UTF-8 bytes.
    static func decode(_ text: String) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(text.unicodeScalars.count)
        for sc in text.unicodeScalars {
            if let b = scalarToByte[sc.value] { out.append(b) } else { out.append(contentsOf: String(sc).utf8) }
        }
        return out
    }
}
