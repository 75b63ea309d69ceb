import SmolJSON
import Foundation

/// Writes a safetensors file (used by `smol logits` and by tests that build files).
public struct SafeTensorsWriter {
    public struct Entry {
        public let name: String
        public let dtype: DType
        public let shape: [Int]
        public let bytes: [UInt8]
        public init(name: String, dtype: DType, shape: [Int], bytes: [UInt8]) {
            self.name = name
            self.dtype = dtype
            self.shape = shape
            self.bytes = bytes
        }
        public static func f32(_ name: String, shape: [Int], _ values: [Float]) -> Entry {
            Entry(name: name, dtype: .f32, shape: shape, bytes: values.withUnsafeBytes { Array($0) })
        }
        public static func i64(_ name: String, shape: [Int], _ values: [Int]) -> Entry {
            Entry(name: name, dtype: .i64, shape: shape, bytes: values.map(Int64.init).withUnsafeBytes { Array($0) })
        }
    }

    public var entries: [Entry] = []
    public var metadata: [String: String] = [:]
    public init() {}

    /// The header JSON and data, laid out as the format requires (8-byte aligned header).
    public func serialize() -> [UInt8] {
        var header = "{"
        var parts: [String] = []
        if !metadata.isEmpty {
            let m = metadata.sorted { $0.key < $1.key }.map { "\(Self.quote($0.key)):\(Self.quote($0.value))" }
            parts.append("\"__metadata__\":{\(m.joined(separator: ","))}")
        }
        var offset = 0
        for e in entries {
            let shape = e.shape.map(String.init).joined(separator: ",")
            parts.append("\(Self.quote(e.name)):{\"dtype\":\"\(e.dtype.rawValue)\",\"shape\":[\(shape)],\"data_offsets\":[\(offset),\(offset + e.bytes.count)]}")
            offset += e.bytes.count
        }
        header += parts.joined(separator: ",") + "}"
        var hb = Array(header.utf8)
        while hb.count % 8 != 0 { hb.append(0x20) }
        var out: [UInt8] = []
        out.reserveCapacity(8 + hb.count + offset)
        var n = UInt64(hb.count)
        for _ in 0..<8 { out.append(UInt8(n & 0xFF)); n >>= 8 }
        out += hb
        for e in entries { out += e.bytes }
        return out
    }

    public func write(to path: String) throws {
        try Data(serialize()).write(to: URL(fileURLWithPath: path), options: .atomic)
    }

    static func quote(_ s: String) -> String { jsonQuote(s) }
}
