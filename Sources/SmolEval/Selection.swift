/// Deterministic subsets: stratified over subjects so a small limit still covers them all.
public enum Selection {
    /// Round-robin over subjects (in order of first appearance): the first item of every
    /// subject, then the second, ... With a seed, items are shuffled within each subject first.
    public static func stratified(_ items: [MMLUItem], limit: Int?, seed: UInt64?) -> [MMLUItem] {
        var order: [String] = []
        var bySubject: [String: [MMLUItem]] = [:]
        for it in items {
            if bySubject[it.topic] == nil { order.append(it.topic) }
            bySubject[it.topic, default: []].append(it)
        }
        if let seed {
            var rng = SplitMix(seed)
            for k in order { bySubject[k] = shuffled(bySubject[k]!, &rng) }
        }
        let n = min(limit ?? items.count, items.count)
        var out: [MMLUItem] = []
        var round = 0
        while out.count < n {
            var added = false
            for k in order where out.count < n {
                if let list = bySubject[k], round < list.count { out.append(list[round]); added = true }
            }
            if !added { break }
            round += 1
        }
        return out
    }

    struct SplitMix {
        var x: UInt64
        init(_ s: UInt64) { x = s }
        mutating func next() -> UInt64 {
            x &+= 0x9E3779B97F4A7C15
            var z = x
            z = (z ^ (z >> 30)) &* 0xBF58476D1CE4E5B9
            z = (z ^ (z >> 27)) &* 0x94D049BB133111EB
            return z ^ (z >> 31)
        }
    }

    static func shuffled<T>(_ a: [T], _ rng: inout SplitMix) -> [T] {
        var a = a
        guard a.count > 1 else { return a }
        for i in stride(from: a.count - 1, to: 0, by: -1) { a.swapAt(i, Int(rng.next() % UInt64(i + 1))) }
        return a
    }
}
