import Foundation

/// KV caches of earlier conversations, kept under a memory budget so that a request reuses the
/// longest prefix any of them shares with its prompt. An agent's sub-agents (each its own
/// conversation, interleaved with the main one) then each find their own history instead of
/// evicting one another's.
///
/// A request takes a cache out (`acquire`) and gives it back when it ends (`release`):
/// - when the prompt continues most of an idle cache (a conversation's next turn), that cache
///   itself is taken and cut back to the shared prefix;
/// - when it shares only a part (two conversations with the same system prompt), the shared
///   positions are copied into a new cache and the other conversation keeps its own;
/// - idle caches are evicted least recently used first when the total would pass the budget.
///
/// Caches are contiguous per conversation (what the attention kernels read), so a prefix shared
/// by two live conversations is held twice; the copy costs a memcpy, not a prefill. A prefix may
/// also be copied from a cache in use, so `acquire` must not run while a forward pass writes to
/// one (the server calls both from its engine thread).
public final class PrefixCache: @unchecked Sendable {
    public struct Stats: Sendable, Equatable {
        public var entries = 0
        public var inUse = 0
        /// Resident bytes of every cache, idle or in use.
        public var bytes = 0
        public var budget = 0
        public var hits = 0
        public var copies = 0
        public var evictions = 0
    }

    /// What `acquire` found for a prompt.
    public struct Lease {
        public let cache: KVCache
        /// Prompt positions the cache already holds.
        public let reused: Int
    }

    private let makeCache: () -> KVCache
    public let budgetBytes: Int
    private let lock = NSLock()
    /// Idle caches, with the prompt length of the request that filled them (the rest is its reply).
    private var idle: [(cache: KVCache, lastUse: UInt64, prompt: Int)] = []
    private var busy: [ObjectIdentifier: KVCache] = [:]
    private var clock: UInt64 = 0
    private var counters = Stats()

    /// `makeCache` makes an empty cache of the serving context length.
    public init(budgetBytes: Int, makeCache: @escaping () -> KVCache) {
        self.budgetBytes = max(0, budgetBytes)
        self.makeCache = makeCache
    }

    /// A cache for `prompt`, holding as much of it as any idle cache had, up to `limit` positions
    /// (a request must compute at least its last token, and never reuses past an image).
    public func acquire(prompt: [Int], limit: Int) -> Lease {
        lock.lock()
        defer { lock.unlock() }
        clock += 1
        var best = -1, bestLen = 0
        for (i, e) in idle.enumerated() {
            let n = min(e.cache.commonPrefix(with: prompt), limit)
            if n > bestLen || (n == bestLen && n > 0 && best >= 0 && e.lastUse > idle[best].lastUse) { best = i; bestLen = n }
        }
        if best >= 0 {
            let entry = idle[best].cache
            // The next turn of the same conversation (it repeats that request's whole prompt, up
            // to a few tokens a template may render differently): take it. A shorter share, such
            // as another conversation with the same system prompt: copy it, the owner keeps its own.
            if bestLen >= idle[best].prompt - Self.takeSlack {
                idle.remove(at: best)
                entry.truncate(to: bestLen)
                busy[ObjectIdentifier(entry)] = entry
                counters.hits += 1
                return Lease(cache: entry, reused: bestLen)
            }
        }
        var source = best >= 0 ? idle[best].cache : nil
        // A cache in use may share more (a sub-agent's sibling still running): its positions
        // below its count are final, so they can be copied.
        for c in busy.values {
            let n = min(c.commonPrefix(with: prompt), limit)
            if n > bestLen { source = c; bestLen = n }
        }
        if let i = idle.firstIndex(where: { $0.cache === source }) { idle[i].lastUse = clock }
        let fresh = newCache(expected: prompt.count)
        if let source {
            fresh.copyPrefix(of: source, length: bestLen)
            counters.hits += 1
            counters.copies += 1
        }
        busy[ObjectIdentifier(fresh)] = fresh
        return Lease(cache: fresh, reused: fresh.count)
    }

    /// Gives a cache back for later requests. `keep: false` (a failed run, whose positions may be
    /// half-written) drops it instead.
    /// `promptTokens`: the prompt length of the request that used it (nil: all of it).
    public func release(_ cache: KVCache, keep: Bool = true, promptTokens: Int? = nil) {
        lock.lock()
        defer { lock.unlock() }
        guard busy.removeValue(forKey: ObjectIdentifier(cache)) != nil else { return }
        clock += 1
        if keep && cache.count > 0 { idle.append((cache, clock, min(promptTokens ?? cache.count, cache.count))) }
        evict(toFit: 0)
    }

    /// Tokens at the end of a request's prompt that its next turn may render differently and
    /// still count as the same conversation.
    static let takeSlack = 16

    /// Drops every idle cache.
    public func clear() {
        lock.lock()
        idle.removeAll()
        lock.unlock()
    }

    public var stats: Stats {
        lock.lock()
        defer { lock.unlock() }
        var s = counters
        s.entries = idle.count + busy.count
        s.inUse = busy.count
        s.bytes = residentBytes
        s.budget = budgetBytes
        return s
    }

    private var residentBytes: Int {
        idle.reduce(0) { $0 + $1.cache.residentBytes } + busy.values.reduce(0) { $0 + $1.residentBytes }
    }

    /// A new cache, after evicting idle ones to make room for about `expected` positions.
    private func newCache(expected: Int) -> KVCache {
        let cache = makeCache()
        evict(toFit: expected * cache.bytesPerPosition)
        return cache
    }

    /// Evicts least recently used idle caches until `extra` more bytes fit the budget.
    private func evict(toFit extra: Int) {
        var total = residentBytes
        while total + extra > budgetBytes, let i = idle.indices.min(by: { idle[$0].lastUse < idle[$1].lastUse }) {
            total -= idle[i].cache.residentBytes
            idle.remove(at: i)
            counters.evictions += 1
        }
    }
}
