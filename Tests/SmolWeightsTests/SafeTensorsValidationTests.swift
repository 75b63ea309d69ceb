import Foundation
import Testing
@testable import SmolWeights

/// Corrupt files are generated here from one valid tiny file, one rule at a time.
@Suite struct SafeTensorsValidationTests {
    static let dir: String = {
        let d = NSTemporaryDirectory() + "smol-st-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try? FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        return d
    }()

    static func write(_ bytes: [UInt8], _ name: String = UUID().uuidString + ".safetensors") -> String {
        let p = dir + "/" + name
        FileManager.default.createFile(atPath: p, contents: Data(bytes))
        return p
    }

    /// A file with the given raw header JSON and data length.
    static func file(header: String, data: Int, headerLengthOverride: UInt64? = nil) -> [UInt8] {
        let h = Array(header.utf8)
        var out: [UInt8] = []
        var n = headerLengthOverride ?? UInt64(h.count)
        for _ in 0..<8 { out.append(UInt8(n & 0xFF)); n >>= 8 }
        return out + h + [UInt8](repeating: 7, count: data)
    }

    static let valid = #"{"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},"b":{"dtype":"BF16","shape":[3],"data_offsets":[16,22]}}"#

    func open(_ bytes: [UInt8]) throws -> SafeTensorsFile { try SafeTensorsFile(path: Self.write(bytes)) }

    @Test func validFileParses() throws {
        let f = try open(Self.file(header: Self.valid, data: 22))
        #expect(f.tensors["a"]?.shape == [2, 2])
        #expect(f.tensors["b"]?.dtype == .bf16)
        #expect(f.names == ["a", "b"])
    }

    @Test func writerOutputParses() throws {
        var w = SafeTensorsWriter()
        w.entries = [.f32("x", shape: [2, 3], [1, 2, 3, 4, 5, 6]), .i64("ids", shape: [2], [7, 8])]
        w.metadata = ["format": "pt"]
        let f = try open(w.serialize())
        #expect(f.tensor("x")?.toFloats() == [1, 2, 3, 4, 5, 6])
        #expect(f.tensor("ids")?.toInts() == [7, 8])
        #expect(f.metadata["format"] == "pt")
    }

    func expectError(_ bytes: [UInt8], _ check: (WeightsError) -> Bool) {
        do {
            _ = try open(bytes)
            Issue.record("expected an error")
        } catch let error as WeightsError {
            #expect(check(error), "wrong error: \(error)")
            #expect(error.description.contains(Self.dir), "error must name the file: \(error)")
        } catch {
            Issue.record("not a WeightsError: \(error)")
        }
    }

    @Test func tooSmall() { expectError([1, 2, 3]) { if case .fileTooSmall = $0 { true } else { false } } }

    @Test func headerLengthHuge() {
        expectError(Self.file(header: Self.valid, data: 22, headerLengthOverride: UInt64.max)) {
            if case .headerTooLarge = $0 { true } else { false }
        }
        expectError(Self.file(header: Self.valid, data: 22, headerLengthOverride: 1 << 63)) {
            if case .headerTooLarge = $0 { true } else { false }
        }
    }

    @Test func headerBeyondFile() {
        expectError(Self.file(header: Self.valid, data: 0, headerLengthOverride: 5000)) {
            if case .headerBeyondFile = $0 { true } else { false }
        }
    }

    @Test func notJSONOrNotObject() {
        expectError(Self.file(header: "{\"a\":", data: 0)) { if case .headerNotUTF8JSON = $0 { true } else { false } }
        expectError(Self.file(header: "[1,2]", data: 0)) { if case .headerNotObject = $0 { true } else { false } }
        var bad = Self.file(header: #"{"\#u{00e9}":1}"#, data: 0)
        bad[11] = 0xFF  // break the UTF-8 of the key
        expectError(bad) { if case .headerNotUTF8JSON = $0 { true } else { false } }
    }

    @Test func leadingAndTrailingSpacesAllowed() throws {
        _ = try open(Self.file(header: "  " + Self.valid + "   ", data: 22))
    }

    @Test func gapOverlapAndTruncation() {
        let gap = #"{"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},"b":{"dtype":"BF16","shape":[3],"data_offsets":[18,24]}}"#
        expectError(Self.file(header: gap, data: 24)) { if case .offsetsNotContiguous = $0 { true } else { false } }
        let overlap = #"{"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},"b":{"dtype":"BF16","shape":[3],"data_offsets":[10,16]}}"#
        expectError(Self.file(header: overlap, data: 16)) { if case .offsetsNotContiguous = $0 { true } else { false } }
        expectError(Self.file(header: Self.valid, data: 21)) { if case .dataLengthMismatch = $0 { true } else { false } }
        expectError(Self.file(header: Self.valid, data: 30)) { if case .dataLengthMismatch = $0 { true } else { false } }
    }

    @Test func sizeAndShapeChecks() {
        let wrongSize = #"{"a":{"dtype":"F32","shape":[2,3],"data_offsets":[0,16]}}"#
        expectError(Self.file(header: wrongSize, data: 16)) { if case let .sizeMismatch(_, t, e, a) = $0 { t == "a" && e == 24 && a == 16 } else { false } }
        let overflow = #"{"a":{"dtype":"F32","shape":[4294967296,4294967296,16],"data_offsets":[0,16]}}"#
        expectError(Self.file(header: overflow, data: 16)) { if case .shapeOverflow = $0 { true } else { false } }
        let negative = #"{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,16]}}"#
        expectError(Self.file(header: negative, data: 16)) { if case .badTensorEntry = $0 { true } else { false } }
        let backwards = #"{"a":{"dtype":"F32","shape":[0],"data_offsets":[16,0]}}"#
        expectError(Self.file(header: backwards, data: 16)) { if case .badTensorEntry = $0 { true } else { false } }
        let bigOffset = #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,99999999999999999999]}}"#
        expectError(Self.file(header: bigOffset, data: 4)) { if case .badTensorEntry = $0 { true } else { false } }
    }

    @Test func dtypeChecks() {
        let unknown = #"{"a":{"dtype":"Q4_K","shape":[4],"data_offsets":[0,4]}}"#
        expectError(Self.file(header: unknown, data: 4)) { if case let .unsupportedDType(_, t, d) = $0 { t == "a" && d == "Q4_K" } else { false } }
        let missing = #"{"a":{"shape":[4],"data_offsets":[0,4]}}"#
        expectError(Self.file(header: missing, data: 4)) { if case .badTensorEntry = $0 { true } else { false } }
    }

    @Test func duplicateNamesRejected() {
        let dup = #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#
        expectError(Self.file(header: dup, data: 8)) { if case let .duplicateTensor(_, t) = $0 { t == "a" } else { false } }
    }

    @Test func metadataMustBeStrings() {
        let bad = #"{"__metadata__":{"k":1},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#
        expectError(Self.file(header: bad, data: 4)) { if case .badMetadata = $0 { true } else { false } }
    }

    @Test func deepNestingIsAnErrorNotACrash() {
        let deep = "{\"a\":" + String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000) + "}"
        expectError(Self.file(header: deep, data: 0)) { if case .headerNotUTF8JSON = $0 { true } else { false } }
    }

    @Test func specialPathsAreErrors() {
        #expect(throws: WeightsError.self) { try SafeTensorsFile(path: Self.dir) }          // a directory
        #expect(throws: WeightsError.self) { try SafeTensorsFile(path: "/dev/zero") }       // a device
        #expect(throws: WeightsError.self) { try SafeTensorsFile(path: Self.dir + "/missing") }
        let link = Self.dir + "/dangling"
        try? FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: Self.dir + "/nowhere")
        #expect(throws: WeightsError.self) { try SafeTensorsFile(path: link) }
        let empty = Self.write([])
        #expect(throws: WeightsError.self) { try SafeTensorsFile(path: empty) }
    }
}
