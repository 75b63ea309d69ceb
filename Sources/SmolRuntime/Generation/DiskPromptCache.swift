import Foundation

/// KV blocks of long prompts on disk, so that a restarted server (or a later `smol generate`)
/// maps a known prefix back instead of prefilling it.
///
/// The prompt is cut into blocks of `blockTokens` positions. Block b is keyed by a hash chained
/// over the model fingerprint and every token of blocks 0...b, so a file stands for one exact
/// prefix; conversations that share a system prompt share its blocks, and a new turn writes only
/// its new blocks. Files are read as untrusted: the magic, version, shape, fingerprint, chain
/// hash, the block's own tokens and the exact file size are checked, and a file that fails any
/// check is ignored with a warning. Least recently used files are deleted beyond the disk budget.
///
/// File layout (little endian): "SMOLKVB1", u32 version, u32 element size, u64 fingerprint,
/// u64 parent hash, u64 block hash, u32 layers, kv heads, head dim, block tokens;
/// i32 tokens[blockTokens]; then per layer, per KV head: K [blockTokens, headDim], V likewise.
public final class DiskPromptCache: @unchecked Sendable {
    public let directory: String
    public let blockTokens: Int
    public let budgetBytes: Int
    /// Identifies the weights and every setting that changes the KV values.
    public let fingerprint: UInt64
    private let warn: (String) -> Void
    private let lock = NSLock()
    private var warned = Set<String>()

    static let magic: [UInt8] = Array("SMOLKVB1".utf8)
    static let version: UInt32 = 1
    static let headerBytes = 8 + 4 + 4 + 8 * 3 + 4 * 4

    public init(directory: String, fingerprint: UInt64, budgetBytes: Int, blockTokens: Int = 256,
                warn: @escaping (String) -> Void = { FileHandle.standardError.write(Data(("warning: " + $0 + "\n").utf8)) }) throws {
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: directory, isDirectory: &isDir) {
            guard isDir.boolValue else { throw DiskCacheError("--prompt-cache \(directory) exists and is not a directory") }
        } else {
            do { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) } catch {
                throw DiskCacheError("cannot create the prompt cache directory \(directory): \(error.localizedDescription)")
            }
        }
        guard FileManager.default.isWritableFile(atPath: directory) else {
            throw DiskCacheError("the prompt cache directory \(directory) is not writable")
        }
        self.directory = directory
        self.fingerprint = fingerprint
        self.budgetBytes = budgetBytes
        self.blockTokens = max(16, blockTokens)
        self.warn = warn
    }

    /// A fingerprint of a model folder and the settings that change its KV: config.json, every
    /// weight file's size and header, and 16 samples of 64 KB across each file's data (enough
    /// to tell two random checkpoints apart without reading 6 GB), plus precision and KV type.
    public static func fingerprint(directory: String, settings: String) -> UInt64 {
        var h = Hash64(seed: 0x5350_4b56)
        h.add(Array(settings.utf8))
        let fm = FileManager.default
        if let config = fm.contents(atPath: directory + "/config.json") { h.add(Array(config)) }
        var isDir: ObjCBool = false
        fm.fileExists(atPath: directory, isDirectory: &isDir)
        // A folder's safetensors files, or the model file itself (GGUF).
        let paths = isDir.boolValue
            ? ((try? fm.contentsOfDirectory(atPath: directory)) ?? []).filter { $0.hasSuffix(".safetensors") }.sorted().map { directory + "/" + $0 }
            : [directory]
        for path in paths {
            h.add(Array(path.split(separator: "/").last.map(String.init)?.utf8 ?? "".utf8))
            guard let f = FileHandle(forReadingAtPath: path) else { continue }
            defer { try? f.close() }
            let size = (try? f.seekToEnd()) ?? 0
            h.add(size)
            let sample = 64 << 10
            for i in 0..<17 {
                let off = size <= UInt64(sample) ? 0 : UInt64(i) * (size - UInt64(sample)) / 16
                try? f.seek(toOffset: off)
                if let d = try? f.read(upToCount: sample) { h.add(Array(d)) }
                if size <= UInt64(sample) { break }
            }
        }
        return h.value
    }

    /// Chained keys of the whole blocks of `tokens`.
    func blockKeys(_ tokens: [Int], blocks: Int) -> [UInt64] {
        var keys: [UInt64] = []
        var h = Hash64(seed: fingerprint)
        for b in 0..<blocks {
            for t in tokens[(b * blockTokens)..<((b + 1) * blockTokens)] { h.add(UInt64(bitPattern: Int64(t))) }
            keys.append(h.value)
        }
        return keys
    }

    private func path(_ key: UInt64) -> String { directory + "/" + String(format: "%016llx", key) + ".kv" }

    private func blockBytes(_ c: KVCache) -> Int {
        Self.headerBytes + 4 * blockTokens + 2 * c.layers * c.kvHeads * blockTokens * c.headDim * c.type.elementSize
    }

    /// Extends `cache` (which holds a prefix of `prompt`) with blocks from disk, up to `limit`
    /// positions. Returns the positions it now holds.
    @discardableResult
    public func load(prompt: [Int], limit: Int, into cache: KVCache) -> Int {
        let blocks = min(limit, cache.capacity) / blockTokens
        var b = cache.count / blockTokens
        guard b < blocks else { return cache.count }
        let keys = blockKeys(prompt, blocks: blocks)
        // Only when the next block is there: the cache may hold part of it from memory.
        guard FileManager.default.fileExists(atPath: path(keys[b])) else { return cache.count }
        cache.truncate(to: b * blockTokens)
        while b < blocks, readBlock(b, keys: keys, prompt: prompt, into: cache) { b += 1 }
        return cache.count
    }

    /// Writes the whole blocks of `cache` (up to `limit` positions) that are not on disk yet.
    public func save(_ cache: KVCache, limit: Int) {
        let blocks = min(limit, cache.count) / blockTokens
        guard blocks > 0 else { return }
        let keys = blockKeys(cache.tokens, blocks: blocks)
        var wrote = false
        for b in 0..<blocks {
            let p = path(keys[b])
            if FileManager.default.fileExists(atPath: p) {
                // Recently used: keep it past older ones.
                try? FileManager.default.setAttributes([.modificationDate: Date()], ofItemAtPath: p)
                continue
            }
            wrote = writeBlock(b, keys: keys, cache: cache) || wrote
        }
        if wrote { enforceBudget() }
    }

    private func writeBlock(_ b: Int, keys: [UInt64], cache c: KVCache) -> Bool {
        var data = Data(capacity: blockBytes(c))
        data.append(contentsOf: Self.magic)
        func u32(_ v: Int) { withUnsafeBytes(of: UInt32(v).littleEndian) { data.append(contentsOf: $0) } }
        func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { data.append(contentsOf: $0) } }
        u32(Int(Self.version)); u32(c.type.elementSize)
        u64(fingerprint); u64(b == 0 ? fingerprint : keys[b - 1]); u64(keys[b])
        u32(c.layers); u32(c.kvHeads); u32(c.headDim); u32(blockTokens)
        for t in c.tokens[(b * blockTokens)..<((b + 1) * blockTokens)] {
            withUnsafeBytes(of: Int32(truncatingIfNeeded: t).littleEndian) { data.append(contentsOf: $0) }
        }
        let row = c.headDim * c.type.elementSize, start = b * blockTokens
        for l in 0..<c.layers {
            for h in 0..<c.kvHeads {
                let off = (h * c.capacity + start) * row
                data.append(UnsafeRawBufferPointer(start: c.keys(layer: l) + off, count: blockTokens * row).bindMemory(to: UInt8.self))
                data.append(UnsafeRawBufferPointer(start: c.values(layer: l) + off, count: blockTokens * row).bindMemory(to: UInt8.self))
            }
        }
        let final = path(keys[b]), tmp = final + ".\(getpid()).part"
        do {
            try data.write(to: URL(fileURLWithPath: tmp))
            guard rename(tmp, final) == 0 else { throw DiskCacheError("rename failed") }
            return true
        } catch {
            unlink(tmp)
            warnOnce("could not write the prompt cache block \(final): \(error.localizedDescription)")
            return false
        }
    }

    private func readBlock(_ b: Int, keys: [UInt64], prompt: [Int], into c: KVCache) -> Bool {
        let p = path(keys[b])
        guard FileManager.default.fileExists(atPath: p) else { return false }
        func reject(_ why: String) -> Bool {
            warnOnce("ignoring the prompt cache file \(p): \(why)")
            return false
        }
        guard let f = FileHandle(forReadingAtPath: p) else { return reject("it cannot be opened") }
        defer { try? f.close() }
        let expected = blockBytes(c)
        let size = (try? f.seekToEnd()) ?? 0
        guard size == UInt64(expected) else { return reject("it is \(size) bytes, a block of this model is \(expected)") }
        try? f.seek(toOffset: 0)
        guard let data = try? f.read(upToCount: expected), data.count == expected else { return reject("it could not be read in full") }
        return data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) -> Bool in
            func u32(_ o: Int) -> Int { Int(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: o, as: UInt32.self))) }
            func u64(_ o: Int) -> UInt64 { UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: o, as: UInt64.self)) }
            guard Array(raw[0..<8]) == Self.magic else { return reject("not a smol prompt cache block (bad magic)") }
            guard u32(8) == Int(Self.version) else { return reject("version \(u32(8)), expected \(Self.version)") }
            guard u32(12) == c.type.elementSize else { return reject("KV element size \(u32(12)), this cache uses \(c.type.elementSize)") }
            guard u64(16) == fingerprint else { return reject("made by another model or other settings") }
            guard u64(24) == (b == 0 ? fingerprint : keys[b - 1]), u64(32) == keys[b] else { return reject("its chain hash does not match its name") }
            guard u32(40) == c.layers, u32(44) == c.kvHeads, u32(48) == c.headDim, u32(52) == blockTokens else {
                return reject("shape \(u32(40))x\(u32(44))x\(u32(48)) block \(u32(52)) does not match this model")
            }
            var o = Self.headerBytes
            for t in prompt[(b * blockTokens)..<((b + 1) * blockTokens)] {
                guard Int(Int32(littleEndian: raw.loadUnaligned(fromByteOffset: o, as: Int32.self))) == t else {
                    return reject("its tokens differ from the prompt's (hash collision or a foreign file)")
                }
                o += 4
            }
            let row = c.headDim * c.type.elementSize, start = b * blockTokens, n = blockTokens * row
            for l in 0..<c.layers {
                for h in 0..<c.kvHeads {
                    let off = (h * c.capacity + start) * row
                    (c.keys(layer: l) + off).copyMemory(from: raw.baseAddress! + o, byteCount: n)
                    (c.values(layer: l) + off).copyMemory(from: raw.baseAddress! + o + n, byteCount: n)
                    o += 2 * n
                }
            }
            c.count = start + blockTokens
            c.tokens.append(contentsOf: prompt[start..<(start + blockTokens)])
            try? FileManager.default.setAttributes([.modificationDate: Date()], ofItemAtPath: p)
            return true
        }
    }

    /// Deletes least recently used blocks beyond the budget.
    public func enforceBudget() {
        let fm = FileManager.default
        guard let names = try? fm.contentsOfDirectory(atPath: directory) else { return }
        var files: [(path: String, size: Int, date: Date)] = []
        for n in names where n.hasSuffix(".kv") {
            let p = directory + "/" + n
            guard let a = try? fm.attributesOfItem(atPath: p) else { continue }
            files.append((p, (a[.size] as? Int) ?? 0, (a[.modificationDate] as? Date) ?? .distantPast))
        }
        var total = files.reduce(0) { $0 + $1.size }
        for f in files.sorted(by: { $0.date < $1.date }) where total > budgetBytes {
            if unlink(f.path) == 0 { total -= f.size }
        }
    }

    public var diskBytes: Int {
        let fm = FileManager.default
        return ((try? fm.contentsOfDirectory(atPath: directory)) ?? []).filter { $0.hasSuffix(".kv") }.reduce(0) {
            $0 + (((try? fm.attributesOfItem(atPath: directory + "/" + $1))?[.size] as? Int) ?? 0)
        }
    }

    private func warnOnce(_ m: String) {
        lock.lock()
        let first = warned.insert(m).inserted
        lock.unlock()
        if first { warn(m) }
    }
}

extension SmolModel {
    /// A disk prompt cache for this model as loaded (its precision and KV type are part of the key).
    public func diskPromptCache(directory: String, budgetBytes: Int) throws -> DiskPromptCache {
        var settings = "model_type=\(config.modelType)"
        if let t = model as? TransformerModel { settings += ";precision=\(t.precision.rawValue);kv=\(t.kvType.rawValue)" }
        return try DiskPromptCache(directory: directory, fingerprint: DiskPromptCache.fingerprint(directory: self.directory, settings: settings),
                                   budgetBytes: budgetBytes)
    }
}

/// How much of a cache may be written to disk: positions before the first image (blocks name
/// tokens; image positions carry content keys, see GenerationSequence.keys, which the files do
/// not hold).
public func savablePositions(_ cache: KVCache, imageTokenId: Int?) -> Int {
    let first = cache.tokens.firstIndex { $0 < 0 || $0 == imageTokenId } ?? cache.count
    return min(first, cache.count)
}

public struct DiskCacheError: Error, CustomStringConvertible {
    public let description: String
    init(_ d: String) { description = d }
}

/// A 64-bit hash (FNV-1a over bytes/words, finished with a murmur mix): not cryptographic, it
/// names cache files; their content is checked on load.
struct Hash64 {
    private(set) var state: UInt64
    init(seed: UInt64) { state = 0xcbf2_9ce4_8422_2325 ^ seed }
    mutating func add(_ bytes: [UInt8]) {
        for b in bytes { state = (state ^ UInt64(b)) &* 0x100_0000_01b3 }
        add(UInt64(bytes.count))
    }
    mutating func add(_ bytes: UnsafeRawBufferPointer) {
        var i = 0
        while i + 8 <= bytes.count {
            add(bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self))
            i += 8
        }
        while i < bytes.count { state = (state ^ UInt64(bytes[i])) &* 0x100_0000_01b3; i += 1 }
        add(UInt64(bytes.count))
    }
    mutating func add(_ v: UInt64) {
        state = (state ^ v) &* 0x100_0000_01b3
        state ^= state >> 29
        state = state &* 0xbf58_476d_1ce4_e5b9
    }
    var value: UInt64 {
        var z = state
        z = (z ^ (z >> 33)) &* 0xff51_afd7_ed55_8ccd
        z = (z ^ (z >> 33)) &* 0xc4ce_b9fe_1a85_ec53
        return z ^ (z >> 33)
    }
}
