import Foundation

/// Serializes a GGUF v3 file: metadata in the given order, then tensor infos, then the data,
/// each tensor aligned to `general.alignment` (default 32), as llama.cpp's `gguf_write` lays it out.
/// Used by the tests (valid and corrupt files) and by `smol quantize`.
public struct GGUFWriter {
    public struct Tensor {
        public let name: String
        public let type: GGMLType
        /// ggml order: dims[0] is the contiguous (column) count.
        public let dims: [Int]
        public let bytes: [UInt8]
        public init(name: String, type: GGMLType, dims: [Int], bytes: [UInt8]) {
            self.name = name
            self.type = type
            self.dims = dims
            self.bytes = bytes
        }
    }

    public var metadata: [(key: String, value: GGUFValue)] = []
    public var tensors: [Tensor] = []
    public var alignment = GGUFFile.defaultAlignment
    public init() {}

    public mutating func set(_ key: String, _ value: GGUFValue) {
        if let i = metadata.firstIndex(where: { $0.key == key }) { metadata[i].value = value } else { metadata.append((key, value)) }
    }

    public func serialize() -> [UInt8] {
        var out = header(tensors.map { ($0.name, $0.type, $0.dims, $0.bytes.count) })
        for t in tensors {
            out += t.bytes
            Self.pad(&out, alignment)
        }
        return out
    }

    /// Header, metadata and tensor table for tensors of the given sizes, padded to the data start.
    public func header(_ infos: [(name: String, type: GGMLType, dims: [Int], byteCount: Int)]) -> [UInt8] {
        var out: [UInt8] = []
        out += Array("GGUF".utf8)
        Self.put(&out, UInt32(3))
        Self.put(&out, UInt64(infos.count))
        Self.put(&out, UInt64(metadata.count))
        for (k, v) in metadata {
            Self.putString(&out, k)
            Self.put(&out, Self.typeId(v))
            Self.putValue(&out, v)
        }
        var offset = 0
        for t in infos {
            Self.putString(&out, t.name)
            Self.put(&out, UInt32(t.dims.count))
            for d in t.dims { Self.put(&out, UInt64(d)) }
            Self.put(&out, t.type.rawValue)
            Self.put(&out, UInt64(offset))
            offset += (t.byteCount + alignment - 1) / alignment * alignment
        }
        Self.pad(&out, alignment)
        return out
    }

    /// Writes a file whose tensor data is produced one tensor at a time (`produce(i)` must return
    /// exactly infos[i].byteCount bytes), so the whole file is never in memory. The file is
    /// written next to `path` and renamed into place when complete.
    public func write(to path: String, infos: [(name: String, type: GGMLType, dims: [Int], byteCount: Int)],
                      produce: (Int) throws -> [UInt8]) throws {
        let tmp = path + ".partial"
        guard FileManager.default.createFile(atPath: tmp, contents: nil) else {
            throw GGUFError.cannotOpen(file: tmp, reason: "cannot create the file")
        }
        let fh = try FileHandle(forWritingTo: URL(fileURLWithPath: tmp))
        var ok = false
        defer {
            try? fh.close()
            if !ok { try? FileManager.default.removeItem(atPath: tmp) }
        }
        try fh.write(contentsOf: header(infos))
        for (i, t) in infos.enumerated() {
            var bytes = try produce(i)
            guard bytes.count == t.byteCount else {
                throw GGUFError.tensor(file: path, tensor: t.name, rule: "produced \(bytes.count) bytes, expected \(t.byteCount)")
            }
            Self.pad(&bytes, alignment)
            try fh.write(contentsOf: bytes)
        }
        try fh.synchronize()
        try fh.close()
        if FileManager.default.fileExists(atPath: path) { try FileManager.default.removeItem(atPath: path) }
        try FileManager.default.moveItem(atPath: tmp, toPath: path)
        ok = true
    }

    static func pad(_ out: inout [UInt8], _ alignment: Int) {
        let r = out.count % alignment
        if r != 0 { out += [UInt8](repeating: 0, count: alignment - r) }
    }

    static func put<T: FixedWidthInteger>(_ out: inout [UInt8], _ v: T) {
        withUnsafeBytes(of: v.littleEndian) { out += $0 }
    }

    static func putString(_ out: inout [UInt8], _ s: String) {
        let b = Array(s.utf8)
        put(&out, UInt64(b.count))
        out += b
    }

    static func typeId(_ v: GGUFValue) -> UInt32 {
        switch v {
        case .uint8: return 0
        case .int8: return 1
        case .uint16: return 2
        case .int16: return 3
        case .uint32: return 4
        case .int32: return 5
        case .float32: return 6
        case .bool: return 7
        case .string: return 8
        case .array: return 9
        case .uint64: return 10
        case .int64: return 11
        case .float64: return 12
        }
    }

    static func putValue(_ out: inout [UInt8], _ v: GGUFValue) {
        switch v {
        case let .uint8(x): put(&out, x)
        case let .int8(x): put(&out, x)
        case let .uint16(x): put(&out, x)
        case let .int16(x): put(&out, x)
        case let .uint32(x): put(&out, x)
        case let .int32(x): put(&out, x)
        case let .float32(x): put(&out, x.bitPattern)
        case let .bool(x): out.append(x ? 1 : 0)
        case let .string(s): putString(&out, s)
        case let .uint64(x): put(&out, x)
        case let .int64(x): put(&out, x)
        case let .float64(x): put(&out, x.bitPattern)
        case let .array(t, items):
            put(&out, t)
            put(&out, UInt64(items.count))
            for i in items { putValue(&out, i) }
        }
    }
}
