import Foundation
import Testing
@testable import SmolRuntime

@Suite struct DiskPromptCacheTests {
    static func tempDir() -> String {
        let d = NSTemporaryDirectory() + "smol-kv-\(UUID().uuidString)"
        try? FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        return d
    }

    static func cache() -> KVCache { KVCache(config: PrefixCacheTests.config, capacity: 256, type: .f32) }

    final class Warnings: @unchecked Sendable {
        var list: [String] = []
    }

    func disk(_ dir: String, fingerprint: UInt64 = 42, budget: Int = 1 << 30, _ w: Warnings = Warnings()) throws -> DiskPromptCache {
        try DiskPromptCache(directory: dir, fingerprint: fingerprint, budgetBytes: budget, blockTokens: 16) { w.list.append($0) }
    }

    static func same(_ a: KVCache, _ b: KVCache, positions: Int) -> Bool {
        for l in 0..<a.layers {
            for h in 0..<a.kvHeads {
                let off = h * a.capacity * a.headDim * 4
                if memcmp(a.keys(layer: l) + off, b.keys(layer: l) + off, positions * a.headDim * 4) != 0 { return false }
                if memcmp(a.values(layer: l) + off, b.values(layer: l) + off, positions * a.headDim * 4) != 0 { return false }
            }
        }
        return true
    }

    @Test func blocksRoundTripAndOnlyWholeBlocksAreSaved() throws {
        let dir = Self.tempDir()
        let tokens = (0..<50).map { $0 * 3 + 1 }
        let a = Self.cache()
        PrefixCacheTests.fill(a, tokens)
        try disk(dir).save(a, limit: a.count)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".kv") }.count == 3)
        let b = Self.cache()
        let n = try disk(dir).load(prompt: tokens + [9, 9], limit: 51, into: b)
        #expect(n == 48 && b.tokens == Array(tokens[..<48]))
        #expect(Self.same(a, b, positions: 48))
        // A prompt that differs inside block 1 gets block 0 only.
        var other = tokens
        other[20] = 999
        let c = Self.cache()
        #expect(try disk(dir).load(prompt: other, limit: 49, into: c) == 16)
    }

    @Test func anotherModelsBlocksAreNotUsed() throws {
        let dir = Self.tempDir()
        let a = Self.cache()
        PrefixCacheTests.fill(a, Array(0..<32))
        try disk(dir, fingerprint: 1).save(a, limit: 32)
        #expect(try disk(dir, fingerprint: 2).load(prompt: Array(0..<40), limit: 39, into: Self.cache()) == 0)
    }

    /// Truncated, foreign and tampered files are ignored with a warning that names the file and the rule.
    @Test(arguments: ["truncated", "magic", "tokens", "shape", "padded"])
    func badFilesAreIgnoredWithAWarning(_ damage: String) throws {
        let dir = Self.tempDir()
        let a = Self.cache()
        PrefixCacheTests.fill(a, Array(0..<32))
        try disk(dir).save(a, limit: 32)
        let names = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".kv") }
        #expect(names.count == 2)
        // Damage the second block.
        let keys = try disk(dir).blockKeys(Array(0..<32), blocks: 2)
        let path = dir + "/" + String(format: "%016llx", keys[1]) + ".kv"
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        switch damage {
        case "truncated": bytes.removeLast(100)
        case "magic": bytes[0] = UInt8(ascii: "X")
        case "tokens": bytes[DiskPromptCache.headerBytes] ^= 1
        case "shape": bytes[44] = 9
        default: bytes += [0, 0, 0, 0]
        }
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let w = Warnings()
        let b = Self.cache()
        #expect(try disk(dir, w).load(prompt: Array(0..<40), limit: 39, into: b) == 16)
        #expect(w.list.count == 1 && w.list[0].contains(path), "\(w.list)")
        #expect(Self.same(a, b, positions: 16))
    }

    @Test func leastRecentlyUsedBlocksGoBeyondTheBudget() throws {
        let dir = Self.tempDir()
        let probe = Self.cache()
        let block = DiskPromptCache.headerBytes + 16 * 4 + 2 * probe.layers * probe.kvHeads * 16 * probe.headDim * 4
        let d = try disk(dir, budget: 2 * block)
        let a = Self.cache()
        PrefixCacheTests.fill(a, Array(0..<48))
        d.save(a, limit: 48)
        #expect(d.diskBytes <= 2 * block)
    }

    @Test func aFileInPlaceOfTheDirectoryIsAnError() throws {
        let path = NSTemporaryDirectory() + "smol-kv-file-\(UUID().uuidString)"
        FileManager.default.createFile(atPath: path, contents: Data([1]))
        #expect(throws: DiskCacheError.self) { try disk(path) }
    }

    /// The real model: a prompt read back from disk gives the same greedy tokens as prefilling it,
    /// and its cached positions count as cached.
    @Test func realModelGeneratesTheSameFromDiskBlocks() throws {
        let m = try #require(try? SmolModel(directory: FixturePaths.defaultModel), "default model missing: run scripts/setup.sh")
        let dir = Self.tempDir()
        let ids = try m.tokenizer.encode(String(repeating: "The quick brown fox jumps over the lazy dog. ", count: 70))
        #expect(ids.count > 512)
        var req = GenerationRequest(promptIds: ids, maxTokens: 12, sampling: SamplingParameters(), eosTokenIds: [])
        req.ignoreEOS = true
        let coldCache = m.model.makeCache(capacity: 1024)
        let cold = try m.generator.run(req, cache: coldCache)
        let disk = try m.diskPromptCache(directory: dir, budgetBytes: 1 << 30)
        disk.save(coldCache, limit: savablePositions(coldCache, imageTokenId: nil))
        let warm = m.model.makeCache(capacity: 1024)
        let loaded = try m.diskPromptCache(directory: dir, budgetBytes: 1 << 30)
            .load(prompt: ids, limit: GenerationSequence.reusableLimit(req), into: warm)
        #expect(loaded == (ids.count - 1) / 256 * 256)
        let again = try m.generator.run(req, cache: warm)
        #expect(again.cachedPromptTokens == loaded)
        #expect(again.tokens == cold.tokens)
        // Another precision is another key: nothing is read.
        let f32 = try SmolModel(directory: FixturePaths.defaultModel, options: .exactF32)
        let none = try f32.diskPromptCache(directory: dir, budgetBytes: 1 << 30)
            .load(prompt: ids, limit: ids.count - 1, into: f32.model.makeCache(capacity: 1024))
        #expect(none == 0)
    }
}
