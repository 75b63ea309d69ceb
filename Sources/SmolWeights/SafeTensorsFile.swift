import SmolJSON
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where one tensor's bytes are, as validated from the header.
public struct TensorInfo: Sendable, Equatable {
    public let name: String
    public let dtype: DType
    public let shape: [Int]
    /// Offset of the first byte inside the data section.
    public let begin: Int
    public let byteCount: Int
    /// For a tensor kept in GGUF blocks (a GGUF file's Q8_0, Q4_0, Q4_1, K-quants): its block type, with
    /// `dtype` .u8 (the raw bytes). nil for plain element types.
    public let quantization: GGMLType?
    /// 8 when a Q4_0/Q4_1 tensor's rows are interleaved by 8 for the decode kernels
    /// (smol_repack_r8); 1 for the plain row-major layout.
    public let rowInterleave: Int
    public var elementCount: Int { shape.reduce(1, *) }

    public init(name: String, dtype: DType, shape: [Int], begin: Int, byteCount: Int, quantization: GGMLType? = nil,
                rowInterleave: Int = 1) {
        self.name = name
        self.dtype = dtype
        self.shape = shape
        self.begin = begin
        self.byteCount = byteCount
        self.quantization = quantization
        self.rowInterleave = rowInterleave
    }
}

/// A memory-mapped safetensors file. Tensors are zero-copy views into the mapping, which
/// lives as long as this object; weights keep their stored precision.
public final class SafeTensorsFile: @unchecked Sendable {
    /// The reference implementation's cap on the JSON header.
    public static let maxHeaderLength = 100_000_000

    public let path: String
    public let tensors: [String: TensorInfo]
    /// Tensor names in data order.
    public let names: [String]
    public let metadata: [String: String]
    private let mapping: MappedFile
    private let dataStart: Int

    public init(path: String) throws(WeightsError) {
        self.path = path
        do {
            mapping = try MappedFile(path: path, minSize: 8)
        } catch {
            switch error {
            case let .cannotOpen(r): throw .cannotOpen(file: path, reason: r)
            case .notARegularFile: throw .notARegularFile(file: path)
            case let .tooSmall(n): throw .fileTooSmall(file: path, size: n)
            case let .mmapFailed(r): throw .mmapFailed(file: path, reason: r)
            }
        }
        let parsed = try Self.parseHeader(mapping.base, size: mapping.size, file: path)
        tensors = parsed.tensors
        names = parsed.names
        metadata = parsed.metadata
        dataStart = parsed.dataStart
    }

    /// Pointer to a tensor's first byte. Alignment is not guaranteed by the format: readers
    /// use unaligned loads (the C kernels do) or copy.
    public func pointer(for info: TensorInfo) -> UnsafeRawPointer {
        mapping.base + dataStart + info.begin
    }

    public func tensor(_ name: String) -> Tensor? {
        guard let info = tensors[name] else { return nil }
        return Tensor(info: info, data: pointer(for: info), owner: self)
    }

    /// Ask the kernel to read the file ahead; loading then overlaps with setup.
    public func adviseWillNeed() {
        mapping.advise(Int32(MADV_WILLNEED))
    }

    struct Parsed {
        var tensors: [String: TensorInfo]
        var names: [String]
        var metadata: [String: String]
        var dataStart: Int
    }

    static func parseHeader(_ raw: UnsafeRawPointer, size: Int, file: String) throws(WeightsError) -> Parsed {
        var n: UInt64 = 0
        for i in 0..<8 { n |= UInt64(raw.load(fromByteOffset: i, as: UInt8.self)) << (8 * UInt64(i)) }
        guard n <= UInt64(maxHeaderLength) else {
            throw .headerTooLarge(file: file, length: n, limit: maxHeaderLength)
        }
        let headerLength = Int(n)  // fits: bounded above
        guard 8 + headerLength <= size else { throw .headerBeyondFile(file: file, length: n, fileSize: size) }
        let header = UnsafeRawBufferPointer(start: raw + 8, count: headerLength)
        let json: JSONValue
        do {
            json = try StrictJSONParser().parse(header)
        } catch {
            // Duplicate keys at the top level are duplicate tensors.
            if error.message.hasPrefix("duplicate key") {
                let name = String(error.message.dropFirst("duplicate key \"".count).dropLast())
                throw .duplicateTensor(file: file, tensor: name)
            }
            throw .headerNotUTF8JSON(file: file, reason: error.description)
        }
        guard case let .object(entries) = json else { throw .headerNotObject(file: file) }
        let dataLength = size - 8 - headerLength
        var infos: [TensorInfo] = []
        var metadata: [String: String] = [:]
        for (name, value) in entries {
            if name == "__metadata__" {
                guard case let .object(pairs) = value else { throw .badMetadata(file: file, reason: "not an object") }
                for (k, v) in pairs {
                    guard case let .string(s) = v else {
                        throw .badMetadata(file: file, reason: "value of '\(k)' is not a string")
                    }
                    metadata[k] = s
                }
                continue
            }
            infos.append(try parseEntry(name: name, value: value, file: file))
        }
        // Sorted by offset, tensors must tile the data section exactly.
        infos.sort { ($0.begin, $0.byteCount) < ($1.begin, $1.byteCount) }
        var expected = 0
        for info in infos {
            guard info.begin == expected else {
                throw .offsetsNotContiguous(file: file, tensor: info.name, expectedBegin: expected, actualBegin: info.begin)
            }
            expected = info.begin + info.byteCount
        }
        guard expected == dataLength else { throw .dataLengthMismatch(file: file, lastEnd: expected, dataLength: dataLength) }
        var byName: [String: TensorInfo] = [:]
        for info in infos { byName[info.name] = info }
        return Parsed(tensors: byName, names: infos.map(\.name), metadata: metadata, dataStart: 8 + headerLength)
    }

    static func parseEntry(name: String, value: JSONValue, file: String) throws(WeightsError) -> TensorInfo {
        guard case .object = value else {
            throw .badTensorEntry(file: file, tensor: name, reason: "entry is not an object")
        }
        guard case let .string(dt)? = value["dtype"] else {
            throw .badTensorEntry(file: file, tensor: name, reason: "missing or non-string 'dtype'")
        }
        guard let dtype = DType(rawValue: dt) else { throw .unsupportedDType(file: file, tensor: name, dtype: dt) }
        guard case let .array(dims)? = value["shape"] else {
            throw .badTensorEntry(file: file, tensor: name, reason: "missing or non-array 'shape'")
        }
        var shape: [Int64] = []
        for d in dims {
            guard case let .int(v) = d, v >= 0 else {
                throw .badTensorEntry(file: file, tensor: name, reason: "shape entries must be non-negative integers")
            }
            shape.append(v)
        }
        guard case let .array(offs)? = value["data_offsets"], offs.count == 2,
              case let .int(b) = offs[0], case let .int(e) = offs[1], b >= 0, e >= 0 else {
            throw .badTensorEntry(file: file, tensor: name, reason: "data_offsets must be two non-negative integers")
        }
        guard e >= b else {
            throw .badTensorEntry(file: file, tensor: name, reason: "data_offsets end \(e) is before begin \(b)")
        }
        // Checked product: a header can claim dims whose product overflows.
        var count = 1
        for d in shape {
            let (p, o) = count.multipliedReportingOverflow(by: Int(d))
            guard !o else { throw .shapeOverflow(file: file, tensor: name, shape: shape) }
            count = p
        }
        let (bytes, o) = count.multipliedReportingOverflow(by: dtype.byteSize)
        guard !o else { throw .shapeOverflow(file: file, tensor: name, shape: shape) }
        let span = Int(e - b)
        guard bytes == span else { throw .sizeMismatch(file: file, tensor: name, expected: bytes, actual: span) }
        return TensorInfo(name: name, dtype: dtype, shape: shape.map { Int($0) }, begin: Int(b), byteCount: span)
    }
}
