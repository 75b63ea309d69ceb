#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A metadata value of a GGUF file.
public indirect enum GGUFValue: Sendable, Equatable {
    case uint8(UInt8), int8(Int8), uint16(UInt16), int16(Int16), uint32(UInt32), int32(Int32)
    case float32(Float), bool(Bool), string(String), uint64(UInt64), int64(Int64), float64(Double)
    /// Elements all of one type (`elementType`, a GGUF value type id).
    case array(elementType: UInt32, [GGUFValue])

    /// GGUF value type ids, in the format's order.
    public static let typeNames = ["uint8", "int8", "uint16", "int16", "uint32", "int32", "float32", "bool", "string",
                                   "array", "uint64", "int64", "float64"]

    public var typeName: String {
        switch self {
        case .uint8: return "uint8"
        case .int8: return "int8"
        case .uint16: return "uint16"
        case .int16: return "int16"
        case .uint32: return "uint32"
        case .int32: return "int32"
        case .float32: return "float32"
        case .bool: return "bool"
        case .string: return "string"
        case .uint64: return "uint64"
        case .int64: return "int64"
        case .float64: return "float64"
        case let .array(t, _): return "array of " + (Int(t) < Self.typeNames.count ? Self.typeNames[Int(t)] : "?")
        }
    }

    /// Any integer type, when it fits an Int.
    public var int: Int? {
        switch self {
        case let .uint8(v): return Int(v)
        case let .int8(v): return Int(v)
        case let .uint16(v): return Int(v)
        case let .int16(v): return Int(v)
        case let .uint32(v): return Int(v)
        case let .int32(v): return Int(v)
        case let .uint64(v): return v <= UInt64(Int.max) ? Int(v) : nil
        case let .int64(v): return Int(v)
        default: return nil
        }
    }

    /// Floats, and integers (converters write some float settings as integers).
    public var double: Double? {
        switch self {
        case let .float32(v): return Double(v)
        case let .float64(v): return v
        default: return int.map(Double.init)
        }
    }

    public var string: String? { if case let .string(s) = self { return s }; return nil }
    public var bool: Bool? { if case let .bool(b) = self { return b }; return nil }
    public var array: [GGUFValue]? { if case let .array(_, a) = self { return a }; return nil }
}

/// Where one tensor's bytes are, as validated from the tensor-info table.
public struct GGUFTensorInfo: Sendable, Equatable {
    public let name: String
    public let type: GGMLType
    /// ggml order: dims[0] is the fastest-varying (the columns of a matrix).
    public let dims: [Int]
    /// Offset from the start of the data section.
    public let offset: Int
    public let byteCount: Int
    /// Row-major (numpy / Hugging Face) shape: the dims reversed.
    public var shape: [Int] { dims.reversed() }
    public var elementCount: Int { dims.reduce(1, *) }
}

/// Failures name the file, then the key or the tensor, then the rule that was broken.
public enum GGUFError: Error, CustomStringConvertible, Equatable {
    case cannotOpen(file: String, reason: String)
    case notARegularFile(file: String)
    case mmapFailed(file: String, reason: String)
    /// The fixed header or the layout of the file (magic, version, counts, data section).
    case header(file: String, rule: String)
    case metadata(file: String, key: String, rule: String)
    case tensor(file: String, tensor: String, rule: String)

    public var description: String {
        switch self {
        case let .cannotOpen(f, r): return "\(f): cannot open: \(r)"
        case let .notARegularFile(f): return "\(f): not a regular file"
        case let .mmapFailed(f, r): return "\(f): cannot map file: \(r)"
        case let .header(f, r): return "\(f): GGUF header: \(r)"
        case let .metadata(f, k, r): return "\(f): GGUF metadata '\(k)': \(r)"
        case let .tensor(f, t, r): return "\(f): GGUF tensor '\(t)': \(r)"
        }
    }
}

/// A memory-mapped GGUF file (versions 2 and 3, little-endian), validated as untrusted input
/// before anything is sized from it. Tensors are zero-copy views into the mapping.
public final class GGUFFile: @unchecked Sendable {
    /// Limits a hostile file cannot push past. Real files are far below them (a 128k-token
    /// vocabulary with its merges is about 0.5M array elements).
    public static let maxArrayElements = 8 << 20
    public static let maxNesting = 3
    public static let maxKeyLength = 65_535
    /// ggml's GGML_MAX_NAME counts the terminating zero.
    public static let maxTensorNameLength = 63
    public static let maxDims = 4
    public static let defaultAlignment = 32

    public let path: String
    public let version: Int
    /// Keys in file order, and their values.
    public let keys: [String]
    public let metadata: [String: GGUFValue]
    /// Tensor names in file order.
    public let tensorNames: [String]
    public let tensors: [String: GGUFTensorInfo]
    public let alignment: Int
    public let dataStart: Int
    public let fileSize: Int
    private let mapping: MappedFile

    public init(path: String) throws(GGUFError) {
        self.path = path
        do {
            mapping = try MappedFile(path: path, minSize: 24)
        } catch {
            switch error {
            case let .cannotOpen(r): throw .cannotOpen(file: path, reason: r)
            case .notARegularFile: throw .notARegularFile(file: path)
            case let .tooSmall(n): throw .header(file: path, rule: "the file is \(n) bytes; a GGUF header needs 24")
            case let .mmapFailed(r): throw .mmapFailed(file: path, reason: r)
            }
        }
        let p = Parser(base: mapping.base, size: mapping.size, file: path)
        try p.parse()
        version = p.version
        keys = p.keys
        metadata = p.metadata
        tensorNames = p.tensorNames
        tensors = p.tensors
        alignment = p.alignment
        dataStart = p.dataStart
        fileSize = mapping.size
    }

    /// Pointer to a tensor's first byte (aligned to `alignment` within the file).
    public func pointer(for info: GGUFTensorInfo) -> UnsafeRawPointer { mapping.base + dataStart + info.offset }

    /// Drops the resident pages wholly inside a tensor's data (it stays mapped and readable: a
    /// later read faults the pages back in from the file).
    public func releasePages(of info: GGUFTensorInfo) {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let start = dataStart + info.offset, end = start + info.byteCount
        let first = (start + page - 1) / page * page, last = end / page * page
        guard last > first else { return }
        mapping.advise(Int32(MADV_DONTNEED), offset: first, length: last - first)
    }

    public func adviseWillNeed() { mapping.advise(Int32(MADV_WILLNEED)) }

    public var tensorBytes: Int { tensors.values.reduce(0) { $0 + $1.byteCount } }

    // MARK: typed access to metadata, with errors that name the key

    public func value(_ key: String) -> GGUFValue? { metadata[key] }

    public func string(_ key: String) throws(GGUFError) -> String? {
        guard let v = metadata[key] else { return nil }
        guard let s = v.string else { throw .metadata(file: path, key: key, rule: "expected a string, found \(v.typeName)") }
        return s
    }

    public func int(_ key: String) throws(GGUFError) -> Int? {
        guard let v = metadata[key] else { return nil }
        guard let i = v.int else { throw .metadata(file: path, key: key, rule: "expected an integer, found \(v.typeName)") }
        return i
    }

    public func double(_ key: String) throws(GGUFError) -> Double? {
        guard let v = metadata[key] else { return nil }
        guard let d = v.double else { throw .metadata(file: path, key: key, rule: "expected a number, found \(v.typeName)") }
        return d
    }

    public func bool(_ key: String) throws(GGUFError) -> Bool? {
        guard let v = metadata[key] else { return nil }
        guard let b = v.bool else { throw .metadata(file: path, key: key, rule: "expected a bool, found \(v.typeName)") }
        return b
    }

    public func requireInt(_ key: String) throws(GGUFError) -> Int {
        guard let i = try int(key) else { throw .metadata(file: path, key: key, rule: "required key is missing") }
        return i
    }

    public func stringArray(_ key: String) throws(GGUFError) -> [String]? {
        guard let v = metadata[key] else { return nil }
        guard case let .array(_, items) = v else { throw .metadata(file: path, key: key, rule: "expected an array of strings, found \(v.typeName)") }
        var out: [String] = []
        out.reserveCapacity(items.count)
        for (i, item) in items.enumerated() {
            guard let s = item.string else { throw .metadata(file: path, key: key, rule: "element \(i) is \(item.typeName), not a string") }
            out.append(s)
        }
        return out
    }

    public func intArray(_ key: String) throws(GGUFError) -> [Int]? {
        guard let v = metadata[key] else { return nil }
        guard case let .array(_, items) = v else {
            // A scalar is a one-element list (eos ids are written either way).
            if let i = v.int { return [i] }
            throw .metadata(file: path, key: key, rule: "expected an array of integers, found \(v.typeName)")
        }
        var out: [Int] = []
        out.reserveCapacity(items.count)
        for (i, item) in items.enumerated() {
            guard let n = item.int else { throw .metadata(file: path, key: key, rule: "element \(i) is \(item.typeName), not an integer") }
            out.append(n)
        }
        return out
    }
}

/// Reads the header, metadata and tensor table with every length checked against the bytes
/// that remain before it is used.
private final class Parser {
    let base: UnsafeRawPointer
    let size: Int
    let file: String
    var pos = 0
    var version = 0
    var keys: [String] = []
    var metadata: [String: GGUFValue] = [:]
    var tensorNames: [String] = []
    var tensors: [String: GGUFTensorInfo] = [:]
    var alignment = GGUFFile.defaultAlignment
    var dataStart = 0
    var arrayElements = 0

    init(base: UnsafeRawPointer, size: Int, file: String) {
        self.base = base
        self.size = size
        self.file = file
    }

    var remaining: Int { size - pos }

    func bytes(_ n: Int, _ what: @autoclosure () -> GGUFError) throws(GGUFError) -> UnsafeRawBufferPointer {
        guard n >= 0, n <= remaining else { throw what() }
        defer { pos += n }
        return UnsafeRawBufferPointer(start: base + pos, count: n)
    }

    func load<T: FixedWidthInteger>(_: T.Type, _ what: @autoclosure () -> GGUFError) throws(GGUFError) -> T {
        let b = try bytes(MemoryLayout<T>.size, what())
        return T(littleEndian: b.loadUnaligned(as: T.self))
    }

    func string(maxLength: Int, _ what: (String) -> GGUFError) throws(GGUFError) -> String {
        let n = try load(UInt64.self, what("the string length runs past the end of the file"))
        guard n <= UInt64(remaining) else { throw what("string length \(n) runs past the end of the file (\(remaining) bytes left)") }
        guard n <= UInt64(maxLength) else { throw what("string length \(n) exceeds the limit of \(maxLength)") }
        let b = try bytes(Int(n), what("truncated string"))
        guard let s = String(validating: b, as: UTF8.self) else { throw what("string is not valid UTF-8") }
        return s
    }

    func parse() throws(GGUFError) {
        let magic = try bytes(4, .header(file: file, rule: "truncated magic"))
        guard Array(magic) == Array("GGUF".utf8) else {
            let shown = magic.map { (32...126).contains($0) ? String(UnicodeScalar($0)) : "\\x" + String($0, radix: 16) }.joined()
            throw .header(file: file, rule: "magic is '\(shown)', not 'GGUF' (not a GGUF file)")
        }
        let v = try load(UInt32.self, .header(file: file, rule: "truncated version"))
        if v == 1 {
            throw .header(file: file, rule: "version 1 (32-bit counts) is not supported; convert the model again with a current llama.cpp")
        }
        if v.byteSwapped == 2 || v.byteSwapped == 3 {
            throw .header(file: file, rule: "big-endian GGUF (version \(v.byteSwapped)) is not supported on this little-endian CPU")
        }
        guard v == 2 || v == 3 else { throw .header(file: file, rule: "version \(v) is not supported (2 and 3 are)") }
        version = Int(v)
        let tensorCount = try load(UInt64.self, .header(file: file, rule: "truncated tensor count"))
        let kvCount = try load(UInt64.self, .header(file: file, rule: "truncated metadata count"))
        // Smallest possible entries: a key/value is an 8-byte length, a 1-byte key, a 4-byte
        // type and a 1-byte value; a tensor info is a name length, a name byte, n_dims, one
        // dim, a type and an offset.
        guard kvCount <= UInt64(remaining / 14) else {
            throw .header(file: file, rule: "metadata count \(kvCount) cannot fit in the \(size)-byte file")
        }
        guard tensorCount <= UInt64(remaining / 33) else {
            throw .header(file: file, rule: "tensor count \(tensorCount) cannot fit in the \(size)-byte file")
        }
        keys.reserveCapacity(Int(kvCount))
        for i in 0..<Int(kvCount) {
            let key = try string(maxLength: GGUFFile.maxKeyLength) { .metadata(file: file, key: "#\(i)", rule: "key: \($0)") }
            guard !key.isEmpty else { throw .metadata(file: file, key: "#\(i)", rule: "empty key") }
            guard metadata[key] == nil else { throw .metadata(file: file, key: key, rule: "duplicate key") }
            let type = try load(UInt32.self, .metadata(file: file, key: key, rule: "truncated value type"))
            let value = try readValue(type: type, key: key, depth: 0)
            keys.append(key)
            metadata[key] = value
        }
        if let a = metadata["general.alignment"] {
            guard case let .uint32(n) = a else {
                throw .metadata(file: file, key: "general.alignment", rule: "must be a uint32, found \(a.typeName)")
            }
            guard n > 0, n & (n - 1) == 0, n <= 1 << 16 else {
                throw .metadata(file: file, key: "general.alignment", rule: "\(n) is not a power of two in 1...65536")
            }
            alignment = Int(n)
        }
        tensorNames.reserveCapacity(Int(tensorCount))
        for i in 0..<Int(tensorCount) {
            let name = try string(maxLength: GGUFFile.maxTensorNameLength) { .tensor(file: file, tensor: "#\(i)", rule: "name: \($0)") }
            guard !name.isEmpty else { throw .tensor(file: file, tensor: "#\(i)", rule: "empty name") }
            guard tensors[name] == nil else { throw .tensor(file: file, tensor: name, rule: "duplicate tensor name") }
            let t = try readTensorInfo(name: name)
            tensors[name] = t
            tensorNames.append(name)
        }
        let (padded, o) = pos.addingReportingOverflow((alignment - pos % alignment) % alignment)
        guard !o, padded <= size else { throw .header(file: file, rule: "the data section starts past the end of the file") }
        dataStart = padded
        let dataLength = size - dataStart
        // In bounds and non-overlapping, checked in offset order.
        var end = 0
        var lastName = ""
        for t in tensors.values.sorted(by: { ($0.offset, $0.name) < ($1.offset, $1.name) }) {
            guard t.offset <= dataLength, t.byteCount <= dataLength - t.offset else {
                throw .tensor(file: file, tensor: t.name, rule: "data at offset \(t.offset) of \(t.byteCount) bytes runs past the end of the data section (\(dataLength) bytes): truncated file?")
            }
            guard t.offset >= end else {
                throw .tensor(file: file, tensor: t.name, rule: "data at offset \(t.offset) overlaps tensor '\(lastName)', which ends at \(end)")
            }
            end = t.offset + t.byteCount
            lastName = t.name
        }
    }

    func readValue(type: UInt32, key: String, depth: Int) throws(GGUFError) -> GGUFValue {
        func err(_ r: String) -> GGUFError { .metadata(file: file, key: key, rule: r) }
        let trunc = "the value runs past the end of the file"
        switch type {
        case 0: return .uint8(try load(UInt8.self, err(trunc)))
        case 1: return .int8(try load(Int8.self, err(trunc)))
        case 2: return .uint16(try load(UInt16.self, err(trunc)))
        case 3: return .int16(try load(Int16.self, err(trunc)))
        case 4: return .uint32(try load(UInt32.self, err(trunc)))
        case 5: return .int32(try load(Int32.self, err(trunc)))
        case 6: return .float32(Float(bitPattern: try load(UInt32.self, err(trunc))))
        case 7:
            let b = try load(UInt8.self, err(trunc))
            guard b <= 1 else { throw err("bool value \(b) is neither 0 nor 1") }
            return .bool(b == 1)
        case 8: return .string(try string(maxLength: Int.max) { err($0) })
        case 9:
            guard depth < GGUFFile.maxNesting else { throw err("arrays nested deeper than \(GGUFFile.maxNesting)") }
            let et = try load(UInt32.self, err("truncated array element type"))
            guard et <= 12 else { throw err("unknown array element type \(et)") }
            let n = try load(UInt64.self, err("truncated array length"))
            // Every element takes at least one byte (a string or an array at least 8).
            let minBytes: UInt64 = [1, 1, 2, 2, 4, 4, 4, 1, 8, 12, 8, 8, 8][Int(et)]
            guard n <= UInt64(remaining) / minBytes else {
                throw err("array of \(n) elements cannot fit in the \(remaining) bytes left")
            }
            guard n <= UInt64(GGUFFile.maxArrayElements - arrayElements) else {
                throw err("arrays hold more than \(GGUFFile.maxArrayElements) elements in all")
            }
            arrayElements += Int(n)
            var items: [GGUFValue] = []
            items.reserveCapacity(Int(n))
            for _ in 0..<Int(n) { items.append(try readValue(type: et, key: key, depth: depth + 1)) }
            return .array(elementType: et, items)
        case 10: return .uint64(try load(UInt64.self, err(trunc)))
        case 11: return .int64(try load(Int64.self, err(trunc)))
        case 12: return .float64(Double(bitPattern: try load(UInt64.self, err(trunc))))
        default: throw err("unknown value type \(type)")
        }
    }

    func readTensorInfo(name: String) throws(GGUFError) -> GGUFTensorInfo {
        func err(_ r: String) -> GGUFError { .tensor(file: file, tensor: name, rule: r) }
        let nDims = try load(UInt32.self, err("truncated dimension count"))
        guard (1...UInt32(GGUFFile.maxDims)).contains(nDims) else { throw err("\(nDims) dimensions; 1 to \(GGUFFile.maxDims) are allowed") }
        var dims: [Int] = []
        var count = 1
        for j in 0..<Int(nDims) {
            let d = try load(UInt64.self, err("truncated dimensions"))
            guard d >= 1, d <= UInt64(Int64.max) else { throw err("dimension \(j) is \(d); it must be at least 1") }
            let (p, o) = count.multipliedReportingOverflow(by: Int(d))
            guard !o else { throw err("dimensions \(dims + [Int(clamping: d)]) overflow the element count") }
            count = p
            dims.append(Int(d))
        }
        let typeId = try load(UInt32.self, err("truncated type"))
        guard let type = GGMLType(rawValue: typeId) else { throw err("unknown ggml type id \(typeId)") }
        guard let rowBytes = type.rowBytes(dims[0]) else {
            throw err("\(dims[0]) columns are not a whole number of \(type.name) blocks of \(type.blockSize)")
        }
        let (bytes, o) = rowBytes.multipliedReportingOverflow(by: count / dims[0])
        guard !o else { throw err("byte size overflows") }
        let off = try load(UInt64.self, err("truncated offset"))
        guard off <= UInt64(Int.max) else { throw err("offset \(off) is out of range") }
        guard Int(off) % alignment == 0 else { throw err("offset \(off) is not a multiple of the alignment \(alignment)") }
        return GGUFTensorInfo(name: name, type: type, dims: dims, offset: Int(off), byteCount: bytes)
    }
}
