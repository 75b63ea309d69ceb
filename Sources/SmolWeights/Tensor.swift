/// A read-only view of one tensor inside a mapped file, in its stored precision.
public struct Tensor: @unchecked Sendable {
    public let info: TensorInfo
    public let data: UnsafeRawPointer
    /// Keeps the mapping alive.
    let owner: AnyObject

    public var name: String { info.name }
    public var dtype: DType { info.dtype }
    public var shape: [Int] { info.shape }
    public var count: Int { info.elementCount }

    public init(info: TensorInfo, data: UnsafeRawPointer, owner: AnyObject) {
        self.info = info
        self.data = data
        self.owner = owner
    }

    /// Copies to Float. Meant for small tensors (norm weights, test fixtures).
    public func toFloats() -> [Float]? {
        let n = count
        switch dtype {
        case .f32: return (0..<n).map { data.loadUnaligned(fromByteOffset: $0 * 4, as: Float.self) }
        case .bf16:
            return (0..<n).map {
                Float(bitPattern: UInt32(data.loadUnaligned(fromByteOffset: $0 * 2, as: UInt16.self)) << 16)
            }
        case .f16:
            return (0..<n).map { Float(Float16(bitPattern: data.loadUnaligned(fromByteOffset: $0 * 2, as: UInt16.self))) }
        case .f64: return (0..<n).map { Float(data.loadUnaligned(fromByteOffset: $0 * 8, as: Double.self)) }
        default: return nil
        }
    }

    /// Copies integer tensors (token ids in fixtures).
    public func toInts() -> [Int]? {
        let n = count
        switch dtype {
        case .i64: return (0..<n).map { Int(data.loadUnaligned(fromByteOffset: $0 * 8, as: Int64.self)) }
        case .i32: return (0..<n).map { Int(data.loadUnaligned(fromByteOffset: $0 * 4, as: Int32.self)) }
        default: return nil
        }
    }
}
