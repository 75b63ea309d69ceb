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
            if case .unsafeShardName = e as? WeightsError { return true }
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
