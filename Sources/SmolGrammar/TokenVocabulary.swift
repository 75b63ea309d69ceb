/// A vocabulary as bytes, arranged as a preorder byte trie for `GrammarAutomaton.mask`.
/// Built once per tokenizer and shared. Tokens with no bytes (and the special tokens the
/// caller leaves out) are never allowed by a grammar; end-of-sequence is decided apart.
public final class TokenVocabulary: Sendable {
    public let size: Int
    public let tokenBytes: [[UInt8]]
    // Trie, preorder (see smol_grammar.h).
    let byte: [UInt8]
    let depth: [Int32]
    let skip: [Int32]
    let tokStart: [Int32]
    let tokens: [Int32]
    let maxDepth: Int

    /// `bytes[id]` is the token's bytes, or nil for a token the grammar must never produce.
    public init(bytes: [[UInt8]?]) {
        size = bytes.count
        tokenBytes = bytes.map { $0 ?? [] }
        let order = (0..<bytes.count).filter { !(bytes[$0]?.isEmpty ?? true) }
            .sorted { a, b in bytes[a]!.lexicographicallyPrecedes(bytes[b]!) || (bytes[a]! == bytes[b]! && a < b) }
        var byte: [UInt8] = [], depth: [Int32] = [], tokStart: [Int32] = [0], tokens: [Int32] = []
        var path: [UInt8] = []      // bytes of the current node
        var pathNodes: [Int] = []   // node index at each depth
        for id in order {
            let b = bytes[id]!
            var common = 0
            while common < path.count && common < b.count && path[common] == b[common] { common += 1 }
            path.removeLast(path.count - common)
            pathNodes.removeLast(pathNodes.count - common)
            for k in common..<b.count {
                byte.append(b[k]); depth.append(Int32(k + 1)); tokStart.append(Int32(tokens.count))
                path.append(b[k]); pathNodes.append(byte.count - 1)
            }
            // The token ends at the newest node: its tokens are the last run in `tokens`.
            tokens.append(Int32(id))
            tokStart[byte.count] = Int32(tokens.count)
        }
        // skip[i]: first later node at depth <= depth[i].
        var skip = [Int32](repeating: Int32(byte.count), count: byte.count)
        var open: [Int] = []
        for i in 0..<byte.count {
            while let last = open.last, depth[last] >= depth[i] { skip[last] = Int32(i); open.removeLast() }
            open.append(i)
        }
        self.byte = byte; self.depth = depth; self.skip = skip; self.tokStart = tokStart; self.tokens = tokens
        maxDepth = Int(depth.max() ?? 0)
    }

    public var trieNodes: Int { byte.count }
}
