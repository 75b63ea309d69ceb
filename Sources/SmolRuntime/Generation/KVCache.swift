import CSmolKernels

/// Storage type of the KV cache.
public enum KVCacheType: String, Sendable, CaseIterable {
    /// Keys and values rounded to bf16 (nearest even): half the memory and attention bandwidth.
    case bf16
    /// f32: keys and values exactly as computed (the path the float32 fixture tests use).
    case f32

    var dtype: smol_dtype { self == .bf16 ? SMOL_BF16 : SMOL_F32 }
    var elementSize: Int { self == .bf16 ? 2 : 4 }
}

/// Keys and values of every layer for positions 0 ..< count, in f32 or bf16 (`type`).
/// Layout per layer: [kvHeads, capacity, headDim], so one head's keys are contiguous.
/// Allocated once for the whole context; the OS backs pages only as positions fill.
public final class KVCache: @unchecked Sendable {
    public let layers: Int
    public let kvHeads: Int
    public let headDim: Int
    public let capacity: Int
    /// Number of positions filled.
    public internal(set) var count = 0 {
        didSet { if count > highWater { highWater = count } }
    }
    /// The most positions ever filled: what the cache holds in memory (pages stay backed when it
    /// is truncated), for a cache pool's budget.
    public private(set) var highWater = 0
    /// Token ids that produced the cached positions, for prefix reuse.
    public internal(set) var tokens: [Int] = []
    public let type: KVCacheType
    let keys: UnsafeMutableRawPointer
    let values: UnsafeMutableRawPointer

    public init(config: TransformerConfig, capacity: Int, type: KVCacheType = .bf16) {
        layers = config.numLayers
        kvHeads = config.numKVHeads
        headDim = config.headDim
        self.capacity = capacity
        self.type = type
        let bytes = layers * kvHeads * capacity * headDim * type.elementSize
        keys = .allocate(byteCount: max(bytes, 1), alignment: 64)
        values = .allocate(byteCount: max(bytes, 1), alignment: 64)
    }

    deinit {
        keys.deallocate()
        values.deallocate()
    }

    public var layerStride: Int { kvHeads * capacity * headDim }
    public var bytes: Int { 2 * layers * layerStride * type.elementSize }

    func keys(layer: Int) -> UnsafeMutableRawPointer { keys + layer * layerStride * type.elementSize }
    func values(layer: Int) -> UnsafeMutableRawPointer { values + layer * layerStride * type.elementSize }

    /// Forget positions from `length` on (keeps a shared prefix).
    public func truncate(to length: Int) {
        count = min(count, max(0, length))
        tokens.removeLast(tokens.count - count)
    }

    public func reset() { truncate(to: 0) }

    /// Bytes of K and V per cached position.
    public var bytesPerPosition: Int { 2 * layers * kvHeads * headDim * type.elementSize }

    /// Memory the filled positions have touched.
    public var residentBytes: Int { highWater * bytesPerPosition }

    /// Makes this cache hold the first `length` positions of `other` (same shape and type: the
    /// prefix cache only pairs caches of one model).
    func copyPrefix(of other: KVCache, length: Int) {
        precondition(other.layers == layers && other.kvHeads == kvHeads && other.headDim == headDim && other.type == type)
        let n = min(length, other.count, capacity)
        let rowBytes = headDim * type.elementSize
        for l in 0..<layers {
            for h in 0..<kvHeads {
                let src = h * other.capacity * rowBytes, dst = h * capacity * rowBytes
                (keys(layer: l) + dst).copyMemory(from: other.keys(layer: l) + src, byteCount: n * rowBytes)
                (values(layer: l) + dst).copyMemory(from: other.values(layer: l) + src, byteCount: n * rowBytes)
            }
        }
        count = n
        tokens = Array(other.tokens[..<n])
    }

    /// Length of the longest common prefix between the cached tokens and `ids`.
    public func commonPrefix(with ids: [Int]) -> Int {
        var n = 0
        while n < tokens.count && n < ids.count && tokens[n] == ids[n] { n += 1 }
        return n
    }

    /// Stores k/v rows [n, kvHeads, headDim] for positions start ..< start+n of `layer`.
    func store(layer: Int, start: Int, n: Int, k: UnsafePointer<Float>, v: UnsafePointer<Float>) {
        let kd = keys(layer: layer), vd = values(layer: layer), es = type.elementSize
        for t in 0..<n {
            for h in 0..<kvHeads {
                let src = (t * kvHeads + h) * headDim
                let dst = (h * capacity + start + t) * headDim * es
                smol_store_row(k + src, kd + dst, type.dtype, headDim)
                smol_store_row(v + src, vd + dst, type.dtype, headDim)
            }
        }
    }
}
