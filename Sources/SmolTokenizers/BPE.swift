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
    /// The model's own vocabulary (no added tokens), keyed by exact scalars: `String`
    /// keys compare by canonical equivalence ("\u{E9}" == "e\u{301}").
    private let modelVocab: [[Unicode.Scalar]: Int]
    /// Fast lookup of single-scalar tokens below U+0800 (all byte-level symbols).
    private let smallScalarId: [Int32]
    private var cache: [[Unicode.Scalar]: [Int]] = [:]
    private let cacheLock = NSLock()
    static let cacheCapacity = 10_000
    private let byteTokens: [Int?]  // <0x00>..<0xFF> (nil when absent)

    init(json: [String: Any], addedTokens: [(String, Int)]) throws {
        let v: [(String, Any)]
        if let pairs = json["vocab_pairs"] as? [(String, Any)] { v = pairs }
        else if let d = json["vocab"] as? [String: Any] { v = d.map { ($0.key, $0.value) } }
        else { throw TokenizerError.missingField(component: "BPE model", field: "vocab") }
        for opt in ["continuing_subword_prefix", "end_of_word_suffix"] {
            if let s = json[opt] as? String, !s.isEmpty { throw TokenizerError.unsupportedOption(component: "BPE model", option: opt) }
        }
        if let d = json["dropout"] as? Double, d > 0 { throw TokenizerError.unsupportedOption(component: "BPE model", option: "dropout") }
        var vocab: [String: Int] = [:]
        var modelVocab: [[Unicode.Scalar]: Int] = [:]
        vocab.reserveCapacity(v.count)
        for (tok, idv) in v {
            guard let id = (idv as? NSNumber)?.intValue, id >= 0 else {
                throw TokenizerError.missingField(component: "BPE vocab entry '\(tok)'", field: "integer id")
            }
            vocab[tok] = id
            modelVocab[Array(tok.unicodeScalars)] = id
        }
        self.modelVocab = modelVocab
        for (tok, id) in addedTokens where vocab[tok] == nil { vocab[tok] = id }
        let size = max(modelVocab.values.max() ?? -1, addedTokens.map(\.1).max() ?? -1) + 1
        var idToToken = [String?](repeating: nil, count: size)
        for (tok, idv) in v {
            let id = (idv as! NSNumber).intValue
            if let other = idToToken[id], !other.unicodeScalars.elementsEqual(tok.unicodeScalars) {
                throw TokenizerError.duplicateTokenId(id: id, tokens: [other, tok].sorted())
            }
            idToToken[id] = tok
        }
        for (tok, id) in addedTokens where idToToken[id] == nil { idToToken[id] = tok }
        self.idToToken = idToToken.map { $0 ?? "" }
        self.vocab = vocab
        var small = [Int32](repeating: -1, count: 0x800)
        for (sc, id) in modelVocab {
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
            let sa = Array(a.unicodeScalars), sb = Array(b.unicodeScalars)
            guard let ia = modelVocab[sa] else { throw TokenizerError.mergeUnknownToken(index: rank, token: a) }
            guard let ib = modelVocab[sb] else { throw TokenizerError.mergeUnknownToken(index: rank, token: b) }
            guard let im = modelVocab[sa + sb] else { throw TokenizerError.mergeUnknownToken(index: rank, token: a + b) }
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
        let fallback = byteFallback
        byteTokens = (0..<256).map { b in fallback ? modelVocab[Array(String(format: "<0x%02X>", b).unicodeScalars)] : nil }
    }

    var vocabSize: Int { idToToken.count }

    func tokenize(_ piece: Piece, into out: inout [Int]) {
        guard !piece.isEmpty else { return }
        let key = piece
        cacheLock.lock()
        let hit = cache[key]
        cacheLock.unlock()
        if let hit { out.append(contentsOf: hit); return }
        if ignoreMerges, let id = modelVocab[key] { out.append(id); return }
        let ids = merge(piece)
        if piece.count < 256 {
            cacheLock.lock()
            if cache.count >= Self.cacheCapacity { cache.removeAll(keepingCapacity: true) }
            cache[key] = ids
            cacheLock.unlock()
        }
        out.append(contentsOf: ids)
    }

    /// As tokenizers' `merge_word`: an unknown character stays pending until the next
    /// vocabulary character or the end (byte-fallback bytes are emitted before it).
    private func initialSymbols(_ piece: Piece) -> [Int32] {
        var ids: [Int32] = []
        ids.reserveCapacity(piece.count)
        var pendingUnk = false
        for s in piece {
            var id: Int32 = -1
            if s.value < 0x800 { id = smallScalarId[Int(s.value)] }
            else if let v = modelVocab[[s]] { id = Int32(v) }
            if id >= 0 {
                if pendingUnk, let unk = unkId { ids.append(Int32(unk)) }
                pendingUnk = false
                ids.append(id)
                continue
            }
            if byteFallback {
                let bytes = Array(String(s).utf8)
                if bytes.allSatisfy({ byteTokens[Int($0)] != nil }) {
                    for b in bytes { ids.append(Int32(byteTokens[Int(b)]!)) }
                    continue
                }
            }
            if let unk = unkId {
                if pendingUnk && !fuseUnk { ids.append(Int32(unk)) }
                pendingUnk = true
            }
            // No unk token: the character is dropped, as in Hugging Face tokenizers.
        }
        if pendingUnk, let unk = unkId { ids.append(Int32(unk)) }
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
