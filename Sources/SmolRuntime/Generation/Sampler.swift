import Foundation

/// Chooses the next token from logits with transformers' processor order: repetition
/// penalty, temperature, top-k, top-p, min-p, then a draw. Buffers are allocated once.
public final class Sampler {
    public let params: SamplingParameters
    private var rng: Xoshiro256
    private var work: [Float]
    private var order: [Int32]
    private var heap: [Float] = []
    /// How often each generated token appeared, for the frequency/presence penalties.
    private var outputCounts: [Int: Int] = [:]

    public init(params: SamplingParameters, vocabSize: Int) {
        self.params = params
        rng = Xoshiro256(seed: params.seed ?? UInt64.random(in: 0...UInt64.max))
        work = [Float](repeating: 0, count: vocabSize)
        order = [Int32](repeating: 0, count: vocabSize)
    }

    /// Records a generated token (the additive penalties count generated tokens only).
    public func accept(_ id: Int) {
        if params.frequencyPenalty != 0 || params.presencePenalty != 0 { outputCounts[id, default: 0] += 1 }
    }

    /// `history` holds the prompt and generated ids (the penalty applies to both, as in transformers).
    public func sample(_ logits: UnsafeBufferPointer<Float>, history: [Int], seen: inout Set<Int>) -> Int {
        let n = logits.count
        work.withUnsafeMutableBufferPointer { w in
            for i in 0..<n { w[i] = logits[i] }
            if params.repetitionPenalty != 1 {
                for id in seen where id < n {
                    w[id] = w[id] < 0 ? w[id] * params.repetitionPenalty : w[id] / params.repetitionPenalty
                }
            }
            for (id, times) in outputCounts where id < n {
                w[id] -= Float(times) * params.frequencyPenalty + params.presencePenalty
            }
        }
        if params.isGreedy { return argmax(n) }
        let t = params.temperature
        if t != 1 { for i in 0..<n { work[i] /= t } }
        // Candidates sorted by logit, descending; only as many as top-k keeps need sorting.
        var count = n
        for i in 0..<n { order[i] = Int32(i) }
        let w = work
        if params.topK > 0 && params.topK < n {
            // Keep every token tied with the k-th value, as transformers' threshold does.
            let k = params.topK
            let kth = Self.kthLargest(w, n: n, k: k, heap: &heap)
            var m = 0
            for i in 0..<n where w[i] >= kth { order[m] = Int32(i); m += 1 }
            count = m
        }
        order[0..<count].sort { w[Int($0)] > w[Int($1)] || (w[Int($0)] == w[Int($1)] && $0 < $1) }
        // Softmax over the candidates.
        let mx = w[Int(order[0])]
        var probs = [Double](repeating: 0, count: count)
        var sum = 0.0
        for j in 0..<count { let e = exp(Double(w[Int(order[j])] - mx)); probs[j] = e; sum += e }
        for j in 0..<count { probs[j] /= sum }
        if params.topP < 1 {
            // Remove the tail whose cumulative (ascending) mass is <= 1 - top_p; keep >= 1.
            var tail = 0.0
            var keep = count
            for j in stride(from: count - 1, through: 1, by: -1) {
                tail += probs[j]
                if tail <= Double(1 - params.topP) { keep = j } else { break }
            }
            count = keep
        }
        if let minP = params.minP {
            let threshold = Double(minP) * probs[0]
            var keep = 1
            while keep < count && probs[keep] >= threshold { keep += 1 }
            count = keep
        }
        var total = 0.0
        for j in 0..<count { total += probs[j] }
        var r = rng.nextDouble() * total
        for j in 0..<count {
            r -= probs[j]
            if r < 0 { return Int(order[j]) }
        }
        return Int(order[count - 1])
    }

    /// The k-th largest of `w[0..<n]` (counting repeats, as a descending sort's element k-1):
    /// a min-heap of the k largest seen, O(n log k) instead of sorting the vocabulary.
    static func kthLargest(_ w: [Float], n: Int, k: Int, heap: inout [Float]) -> Float {
        if heap.count < k { heap = [Float](repeating: 0, count: k) }
        return heap.withUnsafeMutableBufferPointer { h in
            func siftDown(_ start: Int, _ size: Int) {
                var i = start
                while true {
                    let l = 2 * i + 1, r = l + 1
                    var m = i
                    if l < size && h[l] < h[m] { m = l }
                    if r < size && h[r] < h[m] { m = r }
                    if m == i { return }
                    h.swapAt(i, m); i = m
                }
            }
            for i in 0..<k { h[i] = w[i] }
            for i in stride(from: k / 2 - 1, through: 0, by: -1) { siftDown(i, k) }
            for i in k..<n where w[i] > h[0] {
                h[0] = w[i]
                siftDown(0, k)
            }
            return h[0]
        }
    }

    private func argmax(_ n: Int) -> Int {
        var best = 0
        for i in 1..<n where work[i] > work[best] { best = i }
        return best
    }
}

/// xoshiro256** seeded by SplitMix64: the same seed gives the same tokens on every platform.
struct Xoshiro256 {
    var s: (UInt64, UInt64, UInt64, UInt64)
    init(seed: UInt64) {
        var x = seed
        func splitmix() -> UInt64 {
            x &+= 0x9E3779B97F4A7C15
            var z = x
            z = (z ^ (z >> 30)) &* 0xBF58476D1CE4E5B9
            z = (z ^ (z >> 27)) &* 0x94D049BB133111EB
            return z ^ (z >> 31)
        }
        s = (splitmix(), splitmix(), splitmix(), splitmix())
    }
    mutating func next() -> UInt64 {
        let result = ((s.1 &* 5) << 7 | (s.1 &* 5) >> 57) &* 9
        let t = s.1 << 17
        s.2 ^= s.0; s.3 ^= s.1; s.1 ^= s.2; s.0 ^= s.3
        s.2 ^= t
        s.3 = s.3 << 45 | s.3 >> 19
        return result
    }
    mutating func nextDouble() -> Double { Double(next() >> 11) * 0x1.0p-53 }
}
