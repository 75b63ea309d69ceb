import Foundation
import Testing
@testable import SmolWeights

/// The GGUF reader on a file written by gguf-py (scripts/make_gguf_fixtures.py), and on corrupt
/// files generated here from one valid file, one rule at a time.
@Suite struct GGUFValidationTests {
    static let fixtures: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path + "/Tests/Fixtures/gguf"
    }()

    static let dir: String = {
        let d = NSTemporaryDirectory() + "smol-gguf-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try? FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        return d
    }()

    static func write(_ bytes: [UInt8]) -> String {
        let p = dir + "/" + UUID().uuidString + ".gguf"
        FileManager.default.createFile(atPath: p, contents: Data(bytes))
        return p
    }

    /// A valid file: two keys and two tensors (a 2x64 Q8_0 matrix and 3 f32s).
    static func validWriter() -> GGUFWriter {
        var w = GGUFWriter()
        w.set("general.architecture", .string("llama"))
        w.set("x.count", .uint32(7))
        w.tensors = [
            .init(name: "a", type: .q8_0, dims: [64, 2], bytes: [UInt8](repeating: 1, count: 2 * 2 * 34)),
            .init(name: "b", type: .f32, dims: [3], bytes: [UInt8](repeating: 0, count: 12)),
        ]
        return w
    }

    func expectError(_ bytes: [UInt8], _ fragment: String, key: String? = nil, tensor: String? = nil,
                     sourceLocation: SourceLocation = #_sourceLocation) {
        let path = Self.write(bytes)
        do {
            _ = try GGUFFile(path: path)
            Issue.record("expected an error containing '\(fragment)'", sourceLocation: sourceLocation)
        } catch {
            let d = error.description
            #expect(d.contains(path), "error must name the file: \(d)", sourceLocation: sourceLocation)
            #expect(d.contains(fragment), "wrong error: \(d)", sourceLocation: sourceLocation)
            if let key {
                if case let .metadata(_, k, _) = error { #expect(k == key, sourceLocation: sourceLocation) } else {
                    Issue.record("expected a metadata error for \(key): \(d)", sourceLocation: sourceLocation)
                }
            }
            if let tensor {
                if case let .tensor(_, t, _) = error { #expect(t == tensor, sourceLocation: sourceLocation) } else {
                    Issue.record("expected a tensor error for \(tensor): \(d)", sourceLocation: sourceLocation)
                }
            }
        }
    }

    // MARK: valid files

    @Test func ggufPyFileParses() throws {
        let f = try GGUFFile(path: Self.fixtures + "/quants.gguf")
        #expect(f.version == 3)
        #expect(try f.int("test.u8") == 200)
        #expect(try f.int("test.i8") == -100)
        #expect(try f.int("test.u16") == 65000)
        #expect(try f.int("test.i16") == -32000)
        #expect(try f.int("test.u32") == 4_000_000_000)
        #expect(try f.int("test.i32") == -2_000_000_000)
        #expect(try f.double("test.f32") == 0.15625)
        #expect(try f.bool("test.bool") == true)
        #expect(try f.string("test.string") == "héllo ✓")
        #expect(f.value("test.u64") == .uint64(1 << 63 + 5))
        #expect(f.value("test.u64")?.int == nil)
        #expect(try f.int("test.i64") == -(1 << 62))
        #expect(try f.double("test.f64") == 1e-300)
        #expect(try f.stringArray("test.array_str") == ["a", "", "ü"])
        #expect(try f.intArray("test.array_i32") == [1, -2, 3])
        #expect(f.value("test.array_nested")?.array?.count == 2)
        #expect(f.tensorNames == ["f32", "f16", "bf16", "q8_0", "q4_0", "q4_1", "q5_0", "q5_1", "q4_k", "q5_k", "q6_k", "iq4_nl"])
        for name in f.tensorNames {
            let t = try #require(f.tensors[name])
            #expect(t.shape == [8, 256])
            #expect(t.byteCount == 8 * t.type.rowBytes(256)!)
            #expect(t.type.isDequantizable)
        }
        #expect(f.tensors["q6_k"]?.type == .q6_K)
        #expect(f.tensors["q6_k"]?.byteCount == 8 * 210)
    }

    @Test func typedGettersNameTheKey() throws {
        let f = try GGUFFile(path: Self.fixtures + "/quants.gguf")
        #expect(throws: GGUFError.metadata(file: f.path, key: "test.string", rule: "expected an integer, found string")) {
            try f.int("test.string")
        }
        #expect(throws: GGUFError.metadata(file: f.path, key: "test.array_i32", rule: "element 0 is int32, not a string")) {
            try f.stringArray("test.array_i32")
        }
        #expect(throws: GGUFError.metadata(file: f.path, key: "missing.key", rule: "required key is missing")) {
            try f.requireInt("missing.key")
        }
    }

    @Test func writerOutputParses() throws {
        let f = try GGUFFile(path: Self.write(Self.validWriter().serialize()))
        #expect(f.keys == ["general.architecture", "x.count"])
        #expect(f.tensors["a"]?.dims == [64, 2])
        #expect(f.tensors["a"]?.shape == [2, 64])
        #expect(f.tensors["a"]?.byteCount == 136)
        #expect(f.tensors["b"]?.offset == 160)
        #expect(f.dataStart % 32 == 0)
        let p = f.pointer(for: f.tensors["a"]!).assumingMemoryBound(to: UInt8.self)
        #expect(p[0] == 1 && p[135] == 1)
    }

    @Test func customAlignment() throws {
        var w = Self.validWriter()
        w.alignment = 64
        w.set("general.alignment", .uint32(64))
        let f = try GGUFFile(path: Self.write(w.serialize()))
        #expect(f.alignment == 64)
        #expect(f.tensors["b"]?.offset == 192)
    }

    // MARK: header

    @Test func headerRules() {
        let valid = Self.validWriter().serialize()
        expectError([0x47, 0x47], "needs 24")
        expectError(Array("GGML".utf8) + Array(valid[4...]), "not 'GGUF'")
        var v1 = valid; v1[4] = 1
        expectError(v1, "version 1")
        var v9 = valid; v9[4] = 9
        expectError(v9, "version 9 is not supported")
        var be = valid; be[4] = 0; be[7] = 3
        expectError(be, "big-endian")
        var tc = valid; tc[8..<16] = [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F]
        expectError(tc, "tensor count")
        var kc = valid; kc[16..<24] = [0, 0, 0, 0, 0, 1, 0, 0]
        expectError(kc, "metadata count")
    }

    @Test func notARegularFile() {
        #expect(throws: GGUFError.notARegularFile(file: Self.dir)) { try GGUFFile(path: Self.dir) }
        #expect { try GGUFFile(path: Self.dir + "/missing.gguf") } throws: { error in
            if case .cannotOpen = error as? GGUFError { return true }
            return false
        }
    }

    // MARK: metadata

    func withKey(_ key: String, _ value: GGUFValue) -> [UInt8] {
        var w = Self.validWriter()
        w.set(key, value)
        return w.serialize()
    }

    /// Replaces the first occurrence of `find` in `bytes`.
    func patch(_ bytes: [UInt8], _ find: [UInt8], _ replace: [UInt8]) -> [UInt8] {
        for i in 0...(bytes.count - find.count) where Array(bytes[i..<(i + find.count)]) == find {
            var out = bytes
            out.replaceSubrange(i..<(i + find.count), with: replace)
            return out
        }
        Issue.record("pattern not found")
        return bytes
    }

    static func le64(_ v: UInt64) -> [UInt8] { withUnsafeBytes(of: v.littleEndian) { Array($0) } }
    static func le32(_ v: UInt32) -> [UInt8] { withUnsafeBytes(of: v.littleEndian) { Array($0) } }

    @Test func stringLengthsBounded() {
        let valid = Self.validWriter().serialize()
        // The key "x.count" with a huge length prefix.
        let key = Self.le64(7) + Array("x.count".utf8)
        expectError(patch(valid, key, Self.le64(1 << 40) + Array("x.count".utf8)), "runs past the end of the file", key: "#1")
        expectError(patch(valid, key, Self.le64(70_000) + Array("x.count".utf8)), "runs past the end", key: "#1")
        // A string value longer than the file.
        let s = Self.le64(5) + Array("llama".utf8)
        expectError(patch(valid, s, Self.le64(UInt64.max) + Array("llama".utf8)), "runs past the end", key: "general.architecture")
        // Invalid UTF-8.
        expectError(patch(valid, s, Self.le64(5) + [0x6C, 0xFF, 0xFE, 0x6D, 0x61]), "not valid UTF-8", key: "general.architecture")
        // Empty key.
        expectError(patch(valid, key, Self.le64(0) + Array("x.count".utf8)), "empty key", key: "#1")
    }

    @Test func valueTypesChecked() {
        let valid = Self.validWriter().serialize()
        let key = Self.le64(7) + Array("x.count".utf8)
        expectError(patch(valid, key + Self.le32(4), key + Self.le32(13)), "unknown value type 13", key: "x.count")
        expectError(withKey("flag", .uint8(1)).replacingBool(), "neither 0 nor 1", key: "flag")
        expectError(withKey("general.alignment", .uint64(32)), "must be a uint32", key: "general.alignment")
        expectError(withKey("general.alignment", .uint32(48)), "not a power of two", key: "general.alignment")
        expectError(withKey("general.alignment", .uint32(0)), "not a power of two", key: "general.alignment")
    }

    @Test func duplicateKeys() {
        var w = Self.validWriter()
        w.metadata.append(("x.count", .uint32(8)))
        expectError(w.serialize(), "duplicate key", key: "x.count")
    }

    @Test func arraysBounded() {
        // Count beyond the remaining bytes.
        var w = Self.validWriter()
        w.set("arr", .array(elementType: 5, [.int32(1), .int32(2)]))
        let bytes = w.serialize()
        let head = Self.le32(9) + Self.le32(5) + Self.le64(2)
        expectError(patch(bytes, head, Self.le32(9) + Self.le32(5) + Self.le64(1 << 60)), "cannot fit", key: "arr")
        expectError(patch(bytes, head, Self.le32(9) + Self.le32(77) + Self.le64(2)), "unknown array element type 77", key: "arr")
        // Nesting deeper than the cap.
        var deep = GGUFValue.array(elementType: 5, [.int32(1)])
        for _ in 0..<GGUFFile.maxNesting { deep = .array(elementType: 9, [deep]) }
        expectError(withKey("deep", deep), "nested deeper", key: "deep")
        // The total element budget across arrays (a file of 8M+ one-byte elements is small).
        let n = GGUFFile.maxArrayElements + 1
        let one = withKey("many", .array(elementType: 0, [.uint8(0)]))
        let big = patch(one, Self.le32(9) + Self.le32(0) + Self.le64(1) + [0],
                        Self.le32(9) + Self.le32(0) + Self.le64(UInt64(n)) + [UInt8](repeating: 0, count: n))
        expectError(big, "elements in all", key: "many")
    }

    // MARK: tensors

    func withTensors(_ tensors: [GGUFWriter.Tensor]) -> [UInt8] {
        var w = Self.validWriter()
        w.tensors = tensors
        return w.serialize()
    }

    @Test func tensorRules() {
        let ok = GGUFWriter.Tensor(name: "ok", type: .f32, dims: [4], bytes: [UInt8](repeating: 0, count: 16))
        expectError(withTensors([ok, .init(name: "ok", type: .f32, dims: [4], bytes: [UInt8](repeating: 0, count: 16))]),
                    "duplicate tensor name", tensor: "ok")
        expectError(withTensors([.init(name: "", type: .f32, dims: [4], bytes: [UInt8](repeating: 0, count: 16))]), "empty name")
        expectError(withTensors([.init(name: String(repeating: "n", count: 64), type: .f32, dims: [1], bytes: [0, 0, 0, 0])]),
                    "exceeds the limit of 63")
        expectError(withTensors([.init(name: "z", type: .f32, dims: [0], bytes: [])]), "must be at least 1", tensor: "z")
        expectError(withTensors([.init(name: "five", type: .f32, dims: [1, 1, 1, 1, 1], bytes: [0, 0, 0, 0])]),
                    "5 dimensions", tensor: "five")
        expectError(withTensors([.init(name: "big", type: .f32, dims: [1 << 32, 1 << 32, 1 << 32], bytes: [])]),
                    "overflow", tensor: "big")
        expectError(withTensors([.init(name: "q", type: .q8_0, dims: [48, 1], bytes: [UInt8](repeating: 0, count: 64))]),
                    "not a whole number of Q8_0 blocks", tensor: "q")
        // Unknown type id 99 (patched into a valid file).
        let bytes = withTensors([ok])
        let info = Self.le64(4) + Self.le32(0) + Self.le64(0)  // dim 4, type f32, offset 0
        expectError(patch(bytes, info, Self.le64(4) + Self.le32(99) + Self.le64(0)), "unknown ggml type id 99", tensor: "ok")
        // Misaligned offset.
        expectError(patch(bytes, info, Self.le64(4) + Self.le32(0) + Self.le64(4)), "not a multiple of the alignment 32", tensor: "ok")
        // Out of bounds.
        expectError(patch(bytes, info, Self.le64(4) + Self.le32(0) + Self.le64(1 << 20)), "runs past the end", tensor: "ok")
        // Truncated file: the data of the last tensor is cut off.
        let full = Self.validWriter().serialize()
        expectError(Array(full[0..<(full.count - 40)]), "truncated file?", tensor: "b")
    }

    @Test func overlappingTensors() {
        let bytes = withTensors([
            .init(name: "first", type: .f32, dims: [16], bytes: [UInt8](repeating: 0, count: 64)),
            .init(name: "second", type: .f32, dims: [4], bytes: [UInt8](repeating: 0, count: 16)),
        ])
        // Point the second at offset 32, inside the first's 64 bytes.
        let info = Self.le64(4) + Self.le32(0) + Self.le64(64)
        expectError(patch(bytes, info, Self.le64(4) + Self.le32(0) + Self.le64(32)), "overlaps tensor 'first'", tensor: "second")
    }

    @Test func typeTable() {
        #expect(GGMLType.q4_K.rowBytes(512) == 288)
        #expect(GGMLType.q8_0.rowBytes(33) == nil)
        #expect(GGMLType.iq4_nl.isDequantizable)
        #expect(!GGMLType.iq2_xxs.isDequantizable)
        #expect(GGMLType.q5_K.name == "Q5_K")
    }
}

private extension [UInt8] {
    /// The writer's "flag" key as a bool (type 7) with the value 2.
    func replacingBool() -> [UInt8] {
        let key = [UInt8](Swift.withUnsafeBytes(of: UInt64(4).littleEndian) { Array($0) }) + Array("flag".utf8)
        for i in 0...(count - key.count - 5) where Array(self[i..<(i + key.count)]) == key {
            var out = self
            out.replaceSubrange((i + key.count)..<(i + key.count + 5), with: [7, 0, 0, 0, 2])
            return out
        }
        return self
    }
}
