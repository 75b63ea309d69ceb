import Foundation

/// Byte-pair encoding as Hugging Face tokenizers' BPE model: merges applied lowest rank
/// first through a priority queue (no quadratic rescans), with `ignore_merges`,
/// `byte_fallback`, `unk_token` and `fuse_unk`.
final class BPEModel: @unchecked Sendable {
    let vocab: [String: Int]
    let idToToken: [String]
    /// (left id, right id) packed -> (rank, merged id)
    let merges: [UInt64: (rank: Int32, id: Int32)]
    let ignoreMerges: Bool
    let byteFallback: Bool
    let unkId: Int?
    let fuseUnk: Bool
    /// Fast lookup of single-scalar tokens below U+0800 (all byte-level symbols).
    private let smallScalarId: [Int32]
    private var cache: [String: [Int]] = [:]
    private let cacheLock = NSLock()
    static let cacheCapacity = 10_000
    private let byteTokens: [Int]?  // <0x00>..<0xFF> when byte_fallback

    init(json: [String: Any], addedTokens: [(String, Int)]) throws {
        guard let v = json["vocab"] as? [String: Any] else { throw TokenizerError.missingField(component: "BPE model", field: "vocab") }
        for opt in ["continuing_subword_prefix", "end_of_word_suffix"] {
            if let s = json[opt] as? String, !s.isEmpty { throw TokenizerError.unsupportedOption(component: "BPE model", option: opt) }
        }
        if let d = json["dropout"] as? Double, d > 0 { throw TokenizerError.unsupportedOption(component: "BPE model", option: "dropout") }
        var vocab: [String: Int] = [:]
        vocab.reserveCapacity(v.count)
        for (tok, idv) in v {
            guard let id = (idv as? NSNumber)?.intValue, id >= 0 else {
                throw TokenizerError.missingField(component: "BPE vocab entry '\(tok)'", field: "integer id")
            }
            vocab[tok] = id
        }
        for (tok, id) in addedTokens where vocab[tok] == nil { vocab[tok] = id }
        let size = (vocab.values.max() ?? -1) + 1
        var idToToken = [String?](repeating: nil, count: size)
        for (tok, id) in vocab {
            if let other = idToToken[id], other != tok, v[other] != nil, v[tok] != nil {
                throw TokenizerError.duplicateTokenId(id: id, tokens: [other, tok].sorted())
            }
            idToToken[id] = tok
        }
        self.idToToken = idToToken.map { $0 ?? "" }
        self.vocab = vocab
        var small = [Int32](repeating: -1, count: 0x800)
        for (tok, id) in vocab {
            let sc = tok.unicodeScalars
            if sc.count == 1, let f = sc.first, f.value < 0x800 { small[Int(f.value)] = Int32(id) }
        }
        smallScalarId = small
        // Merges: "a b" strings or [a, b] pairs.
        let list = json["merges"] as? [Any] ?? []
        var merges: [UInt64: (rank: Int32, id: Int32)] = [:]
        merges.reserveCapacity(list.count)
        for (rank, m) in list.enumerated() {
            let a: String, b: String
            if let s = m as? String {
                let parts = s.split(separator: " ", omittingEmptySubsequences: false)
                guard parts.count == 2 else { throw TokenizerError.badMerge(index: rank, text: s) }
                a = String(parts[0]); b = String(parts[1])
            } else if let p = m as? [String], p.count == 2 {
                a = p[0]; b = p[1]
            } else { throw TokenizerError.badMerge(index: rank, text: "\(m)") }
            guard let ia = vocab[a] else { throw TokenizerError.mergeUnknownToken(index: rank, token: a) }
            guard let ib = vocab[b] else { throw TokenizerError.mergeUnknownToken(index: rank, token: b) }
            guard let im = vocab[a + b] else { throw TokenizerError.mergeUnknownToken(index: rank, token: a + b) }
            let key = UInt64(ia) << 32 | UInt64(ib)
            if merges[key] == nil { merges[key] = (Int32(rank), Int32(im)) }
        }
        self.merges = merges
        ignoreMerges = json["ignore_merges"] as? Bool ?? false
        byteFallback = json["byte_fallback"] as? Bool ?? false
        fuseUnk = json["fuse_unk"] as? Bool ?? false
        if let unk = json["unk_token"] as? String {
            guard let id = vocab[unk] else { throw TokenizerError.missingField(component: "BPE model", field: "unk_token '\(unk)' in vocab") }
            unkId = id
        } else { unkId = nil }
        if byteFallback {
            var bytes: [Int] = []
            for b in 0..<256 {
                let name = String(format: "<0x%02X>", b)
                guard let id = vocab[name] else { bytes = []; break }
                bytes.append(id)
            }
            byteTokens = bytes.isEmpty ? nil : bytes
        } else { byteTokens = nil }
    }

    var vocabSize: Int { idToToken.count }

    func tokenize(_ piece: Piece, into out: inout [Int]) {
        guard !piece.isEmpty else { return }
        var v = String.UnicodeScalarView()
        v.append(contentsOf: piece)
        let key = String(v)
        cacheLock.lock()
        let hit = cache[key]
        cacheLock.unlock()
        if let hit { out.append(contentsOf: hit); return }
        if ignoreMerges, let id = vocab[key] { out.append(id); return }
        let ids = merge(piece)
        if piece.count < 256 {
            cacheLock.lock()
            if cache.count >= Self.cacheCapacity { cache.removeAll(keepingCapacity: true) }
            cache[key] = ids
            cacheLock.unlock()
        }
        out.append(contentsOf: ids)
    }

    private func initialSymbols(_ piece: Piece) -> [Int32] {
        var ids: [Int32] = []
        ids.reserveCapacity(piece.count)
        var lastWasUnk = false
        for s in piece {
            var id: Int32 = -1
            if s.value < 0x800 { id = smallScalarId[Int(s.value)] }
            else if let v = vocab[String(s)] { id = Int32(v) }
            if id >= 0 { ids.append(id); lastWasUnk = false; continue }
            if let bt = byteTokens {
                for b in String(s).utf8 { ids.append(Int32(bt[Int(b)])) }
                lastWasUnk = false
            } else if let unk = unkId {
                if !(fuseUnk && lastWasUnk) { ids.append(Int32(unk)) }
                lastWasUnk = true
            }
            // No unk token: the character is dropped, as in Hugging Face tokenizers.
        }
        return ids
    }

    /// Merge loop over a doubly linked list of symbols with a min-heap of candidate pairs.
    private func merge(_ piece: Piece) -> [Int] {
        var sym = initialSymbols(piece)
        let n = sym.count
        if n < 2 { return sym.map(Int.init) }
        var prev = (0..<n).map { Int32($0) - 1 }
        var next = (0..<n).map { $0 + 1 < n ? Int32($0 + 1) : -1 }
        var alive = [Bool](repeating: true, count: n)
        var heap = MergeHeap()
        for i in 0..<(n - 1) {
            if let m = merges[UInt64(UInt32(sym[i])) << 32 | UInt64(UInt32(sym[i + 1]))] {
                heap.push(.init(rank: m.rank, pos: Int32(i), newId: m.id))
            }
        }
        while let top = heap.pop() {
            let p = Int(top.pos)
            guard alive[p], next[p] >= 0 else { continue }
            let q = Int(next[p])
            guard let m = merges[UInt64(UInt32(sym[p])) << 32 | UInt64(UInt32(sym[q]))], m.id == top.newId else { continue }
            sym[p] = top.newId
            alive[q] = false
            next[p] = next[q]
            if next[q] >= 0 { prev[Int(next[q])] = Int32(p) }
            if prev[p] >= 0 {
                let a = Int(prev[p])
                if let m2 = merges[UInt64(UInt32(sym[a])) << 32 | UInt64(UInt32(sym[p]))] {
                    heap.push(.init(rank: m2.rank, pos: Int32(a), newId: m2.id))
                }
            }
            if next[p] >= 0 {
                let b = Int(next[p])
                if let m2 = merges[UInt64(UInt32(sym[p])) << 32 | UInt64(UInt32(sym[b]))] {
                    heap.push(.init(rank: m2.rank, pos: Int32(p), newId: m2.id))
                }
            }
        }
        var out: [Int] = []
        var i = 0
        while i >= 0 && i < n {
            out.append(Int(sym[i]))
            i = Int(next[i])
        }
        return out
    }
}

/// Binary min-heap ordered by (rank, position), like tokenizers' Merge ordering.
struct MergeHeap {
    struct Item { var rank: Int32; var pos: Int32; var newId: Int32 }
    private var items: [Item] = []

    static func less(_ a: Item, _ b: Item) -> Bool { a.rank != b.rank ? a.rank < b.rank : a.pos < b.pos }

    mutating func push(_ x: Item) {
        items.append(x)
        var i = items.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard Self.less(items[i], items[parent]) else { break }
            items.swapAt(i, parent)
            i = parent
        }
    }

    mutating func pop() -> Item? {
        guard let first = items.first else { return nil }
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            var i = 0
            while true {
                let l = 2 * i + 1, r = l + 1
                var m = i
                if l < items.count && Self.less(items[l], items[m]) { m = l }
                if r < items.count && Self.less(items[r], items[m]) { m = r }
                if m == i { break }
                items.swapAt(i, m)
                i = m
            }
        }
        return first
    }
}
