import Foundation
import Testing
@testable import SmolWeights

@Suite struct ShardIndexTests {
    func folder(index: String, shards: [String: [SafeTensorsWriter.Entry]]) -> String {
        let d = NSTemporaryDirectory() + "smol-shards-\(UUID().uuidString)"
        try? FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: d + "/model.safetensors.index.json", contents: Data(index.utf8))
        for (name, entries) in shards {
            var w = SafeTensorsWriter()
            w.entries = entries
            try? w.write(to: d + "/" + name)
        }
        return d
    }

    let x = SafeTensorsWriter.Entry.f32("x", shape: [1], [1])
    let y = SafeTensorsWriter.Entry.f32("y", shape: [1], [2])

    @Test func loadsShards() throws {
        let d = folder(index: #"{"weight_map":{"x":"a.safetensors","y":"b.safetensors"}}"#,
                       shards: ["a.safetensors": [x], "b.safetensors": [y]])
        let w = try ModelWeights(directory: d)
        #expect(w.tensor("y")?.toFloats() == [2])
        #expect(w.files.count == 2)
    }

    @Test(arguments: ["../a.safetensors", "/etc/passwd", "sub/a.safetensors", "..", ""])
    func unsafeShardNamesRejected(_ name: String) {
        let d = folder(index: #"{"weight_map":{"x":"\#(name)"}}"#, shards: ["a.safetensors": [x]])
        #expect { try ModelWeights(directory: d) } throws: { e in
            if case .unsafeShardName = e as? WeightsError { return true }
            return false
        }
    }

    @Test func symlinkLeavingFolderRejected() throws {
        let d = folder(index: #"{"weight_map":{"x":"link.safetensors"}}"#, shards: [:])
        let outside = folder(index: "{}", shards: ["a.safetensors": [x]])
        try FileManager.default.createSymbolicLink(atPath: d + "/link.safetensors", withDestinationPath: outside + "/a.safetensors")
        #expect { try ModelWeights(directory: d) } throws: { e in
            if case .shardLinkOutside(_, "link.safetensors", let target) = e as? WeightsError { return target.hasSuffix("/a.safetensors") }
            return false
        }
    }

    /// A symlink to another file inside the folder is fine.
    @Test func symlinkInsideFolderLoads() throws {
        let d = folder(index: #"{"weight_map":{"x":"link.safetensors"}}"#, shards: [:])
        try FileManager.default.createDirectory(atPath: d + "/real", withIntermediateDirectories: true)
        var w = SafeTensorsWriter()
        w.entries = [x]
        try w.write(to: d + "/real/a.safetensors")
        try FileManager.default.createSymbolicLink(atPath: d + "/link.safetensors", withDestinationPath: "real/a.safetensors")
        #expect(try ModelWeights(directory: d).tensor("x")?.toFloats() == [1])
    }

    /// The Hugging Face hub cache: snapshots/<rev>/ holds relative symlinks into ../../blobs/.
    /// Such a sharded folder loads as it is; a link out of the repository's blobs/ does not.
    @Test func hubCacheSnapshotLoads() throws {
        let repo = NSTemporaryDirectory() + "smol-hub-\(UUID().uuidString)/hub/models--HuggingFaceTB--SmolLM3-3B"
        let snap = repo + "/snapshots/0123abcd"
        let fm = FileManager.default
        try fm.createDirectory(atPath: snap, withIntermediateDirectories: true)
        try fm.createDirectory(atPath: repo + "/blobs", withIntermediateDirectories: true)
        for (blob, entry) in [("9f86d081", x), ("60303ae2", y)] {
            var w = SafeTensorsWriter()
            w.entries = [entry]
            try w.write(to: repo + "/blobs/" + blob)
        }
        let index = #"{"metadata":{},"weight_map":{"x":"model-00001-of-00002.safetensors","y":"model-00002-of-00002.safetensors"}}"#
        fm.createFile(atPath: repo + "/blobs/aa11", contents: Data(index.utf8))
        try fm.createSymbolicLink(atPath: snap + "/model.safetensors.index.json", withDestinationPath: "../../blobs/aa11")
        try fm.createSymbolicLink(atPath: snap + "/model-00001-of-00002.safetensors", withDestinationPath: "../../blobs/9f86d081")
        try fm.createSymbolicLink(atPath: snap + "/model-00002-of-00002.safetensors", withDestinationPath: "../../blobs/60303ae2")
        let w = try ModelWeights(directory: snap)
        #expect(w.tensor("x")?.toFloats() == [1] && w.tensor("y")?.toFloats() == [2])

        // A snapshot link that leaves blobs/ (here: into the repository's refs/) is refused.
        try fm.createDirectory(atPath: repo + "/refs", withIntermediateDirectories: true)
        try fm.moveItem(atPath: repo + "/blobs/60303ae2", toPath: repo + "/refs/60303ae2")
        try fm.removeItem(atPath: snap + "/model-00002-of-00002.safetensors")
        try fm.createSymbolicLink(atPath: snap + "/model-00002-of-00002.safetensors", withDestinationPath: "../../refs/60303ae2")
        #expect { try ModelWeights(directory: snap) } throws: { e in
            if case .shardLinkOutside = e as? WeightsError { return true }
            return false
        }
    }

    @Test func missingShardTensorAndDuplicates() {
        let missingShard = folder(index: #"{"weight_map":{"x":"a.safetensors"}}"#, shards: [:])
        #expect { try ModelWeights(directory: missingShard) } throws: { e in
            if case .cannotOpen = e as? WeightsError { return true }
            return false
        }
        let notInShard = folder(index: #"{"weight_map":{"x":"a.safetensors","y":"a.safetensors"}}"#, shards: ["a.safetensors": [x]])
        #expect { try ModelWeights(directory: notInShard) } throws: { e in
            if case let .tensorNotInShard(_, t) = e as? WeightsError { return t == "y" }
            return false
        }
        let twice = folder(index: #"{"weight_map":{"x":"a.safetensors"}}"#, shards: ["a.safetensors": [x], "b.safetensors": [x]])
        // b.safetensors is not in the index, so it is never opened; listing it creates the conflict.
        let twiceIndexed = folder(index: #"{"weight_map":{"x":"a.safetensors","z":"b.safetensors"}}"#,
                                  shards: ["a.safetensors": [x], "b.safetensors": [x, .f32("z", shape: [1], [3])]])
        _ = twice
        #expect { try ModelWeights(directory: twiceIndexed) } throws: { e in
            if case let .tensorInTwoShards(t, _, _) = e as? WeightsError { return t == "x" }
            return false
        }
        let badJSON = folder(index: #"{"weight_map":[1]}"#, shards: [:])
        #expect { try ModelWeights(directory: badJSON) } throws: { e in
            if case .badIndex = e as? WeightsError { return true }
            return false
        }
    }

    @Test func emptyFolderNamed() {
        let d = NSTemporaryDirectory() + "smol-empty-\(UUID().uuidString)"
        try? FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        #expect(throws: WeightsError.missingModelFiles(directory: d)) { try ModelWeights(directory: d) }
    }
}
