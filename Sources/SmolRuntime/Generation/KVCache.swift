/// Keys and values of every layer for positions 0 ..< count, in f32.
/// Layout per layer: [kvHeads, capacity, headDim], so one head's keys are contiguous.
/// Allocated once for the whole context; the OS backs pages only as positions fill.
public final class KVCache: @unchecked Sendable {
    public let layers: Int
    public let kvHeads: Int
    public let headDim: Int
    public let capacity: Int
    /// Number of positions filled.
    public internal(set) var count = 0
    /// Token ids that produced the cached positions, for prefix reuse.
    public internal(set) var tokens: [Int] = []
    let keys: UnsafeMutablePointer<Float>
    let values: UnsafeMutablePointer<Float>

    public init(config: TransformerConfig, capacity: Int) {
        layers = config.numLayers
        kvHeads = config.numKVHeads
        headDim = config.headDim
        self.capacity = capacity
        let n = layers * kvHeads * capacity * headDim
        keys = .allocate(capacity: n)
        values = .allocate(capacity: n)
    }

    deinit {
        keys.deallocate()
        values.deallocate()
    }

    public var layerStride: Int { kvHeads * capacity * headDim }
    public var bytes: Int { 2 * layers * layerStride * MemoryLayout<Float>.size }

    func keys(layer: Int) -> UnsafeMutablePointer<Float> { keys + layer * layerStride }
    func values(layer: Int) -> UnsafeMutablePointer<Float> { values + layer * layerStride }

    /// Forget positions from `length` on (keeps a shared prefix).
    public func truncate(to length: Int) {
        count = min(count, max(0, length))
        tokens.removeLast(tokens.count - count)
    }

    public func reset() { truncate(to: 0) }

    /// Length of the longest common prefix between the cached tokens and `ids`.
    public func commonPrefix(with ids: [Int]) -> Int {
        var n = 0
        while n < tokens.count && n < ids.count && tokens[n] == ids[n] { n += 1 }
        return n
    }

    /// Stores k/v rows [n, kvHeads, headDim] for positions start ..< start+n of `layer`.
    func store(layer: Int, start: Int, n: Int, k: UnsafePointer<Float>, v: UnsafePointer<Float>) {
        let kd = keys(layer: layer), vd = values(layer: layer)
        for t in 0..<n {
            for h in 0..<kvHeads {
                let src = (t * kvHeads + h) * headDim
                let dst = (h * capacity + start + t) * headDim
                (kd + dst).update(from: k + src, count: headDim)
                (vd + dst).update(from: v + src, count: headDim)
            }
        }
    }
}
