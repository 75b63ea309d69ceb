import SmolJSON
import Foundation

/// All weights of a model: `model.safetensors`, or shards listed by
/// `model.safetensors.index.json`, mapped and never copied; or tensors prepared by another
/// reader (a GGUF file's, under Hugging Face names) that own or view their memory.
public final class ModelWeights: @unchecked Sendable {
    /// The model folder, or the file the tensors came from.
    public let directory: String
    public let files: [SafeTensorsFile]
    private let location: [String: Int]  // tensor name -> index into files
    private let prepared: [String: Tensor]

    public static let indexName = "model.safetensors.index.json"
    public static let singleName = "model.safetensors"

    /// Tensors from another reader, by name. Each keeps its memory alive through its owner.
    public init(source: String, tensors: [Tensor]) throws(WeightsError) {
        directory = source
        files = []
        location = [:]
        var map: [String: Tensor] = [:]
        for t in tensors {
            guard map[t.name] == nil else { throw .duplicateTensor(file: source, tensor: t.name) }
            map[t.name] = t
        }
        prepared = map
    }

    public init(directory: String) throws(WeightsError) {
        self.directory = directory
        prepared = [:]
        let fm = FileManager.default
        let indexPath = directory + "/" + Self.indexName
        let singlePath = directory + "/" + Self.singleName
        if fm.fileExists(atPath: indexPath) {
            let (files, location) = try Self.loadSharded(directory: directory, indexPath: indexPath)
            self.files = files
            self.location = location
        } else if fm.fileExists(atPath: singlePath) {
            let file = try SafeTensorsFile(path: singlePath)
            files = [file]
            var loc: [String: Int] = [:]
            for name in file.names { loc[name] = 0 }
            location = loc
        } else {
            throw .missingModelFiles(directory: directory)
        }
    }

    public var names: [String] { (Array(location.keys) + Array(prepared.keys)).sorted() }

    public func tensor(_ name: String) -> Tensor? {
        if let t = prepared[name] { return t }
        guard let i = location[name] else { return nil }
        return files[i].tensor(name)
    }

    public func require(_ name: String) throws(WeightsError) -> Tensor {
        guard let t = tensor(name) else { throw .missingTensor(tensor: name, directory: directory) }
        return t
    }

    public var totalBytes: Int {
        files.reduce(0) { $0 + $1.tensors.values.reduce(0) { $0 + $1.byteCount } } + prepared.values.reduce(0) { $0 + $1.info.byteCount }
    }

    public func adviseWillNeed() { files.forEach { $0.adviseWillNeed() } }

    /// Shard names come from an untrusted file: only plain names are opened.
    static func isPlainShardName(_ name: String) -> Bool {
        !name.isEmpty && !name.contains("/") && !name.contains("\\") && name != "." && name != ".." && !name.contains("\0")
    }

    /// Where a shard (or a symlink to it) may lead: inside the model folder, or, when the folder
    /// is a Hugging Face cache snapshot (`<cache>/models--org--name/snapshots/<rev>/`), inside
    /// that repository's `blobs/`, where the hub tools keep the files the snapshot links to.
    /// Returns nil when allowed, else the resolved target.
    static func shardLinkViolation(_ name: String, directory: String) -> String? {
        let resolved = URL(fileURLWithPath: directory + "/" + name).resolvingSymlinksInPath().path
        let dirURL = URL(fileURLWithPath: directory).resolvingSymlinksInPath()
        var allowed = [dirURL.path]
        let snapshots = dirURL.deletingLastPathComponent()
        let repo = snapshots.deletingLastPathComponent()
        if snapshots.lastPathComponent == "snapshots", repo.lastPathComponent.hasPrefix("models--") {
            allowed.append(repo.appendingPathComponent("blobs").path)
        }
        for a in allowed where resolved.hasPrefix(a.hasSuffix("/") ? a : a + "/") { return nil }
        return resolved
    }

    static func loadSharded(directory: String, indexPath: String) throws(WeightsError) -> ([SafeTensorsFile], [String: Int]) {
        guard let data = FileManager.default.contents(atPath: indexPath) else {
            throw .cannotOpen(file: indexPath, reason: "unreadable")
        }
        guard data.count <= 100_000_000 else { throw .badIndex(file: indexPath, reason: "index file larger than 100 MB") }
        let json: JSONValue
        do {
            json = try StrictJSONParser().parse([UInt8](data))
        } catch {
            throw .badIndex(file: indexPath, reason: "not valid JSON: \(error)")
        }
        guard case let .object(map)? = json["weight_map"] else {
            throw .badIndex(file: indexPath, reason: "missing 'weight_map' object")
        }
        var shardOrder: [String] = []
        var shardIndex: [String: Int] = [:]
        var wanted: [(String, Int)] = []
        for (tensor, v) in map {
            guard case let .string(shard) = v else {
                throw .badIndex(file: indexPath, reason: "weight_map['\(tensor)'] is not a string")
            }
            guard isPlainShardName(shard) else { throw .unsafeShardName(file: indexPath, shard: shard) }
            if let target = shardLinkViolation(shard, directory: directory) {
                throw .shardLinkOutside(file: indexPath, shard: shard, target: target)
            }
            if shardIndex[shard] == nil {
                shardIndex[shard] = shardOrder.count
                shardOrder.append(shard)
            }
            wanted.append((tensor, shardIndex[shard]!))
        }
        var files: [SafeTensorsFile] = []
        for shard in shardOrder { files.append(try SafeTensorsFile(path: directory + "/" + shard)) }
        var location: [String: Int] = [:]
        for (tensor, i) in wanted {
            guard files[i].tensors[tensor] != nil else { throw .tensorNotInShard(file: files[i].path, tensor: tensor) }
            location[tensor] = i
        }
        // A tensor stored in two shards makes the index ambiguous.
        var owner: [String: Int] = [:]
        for (i, f) in files.enumerated() {
            for name in f.names {
                if let j = owner[name] { throw .tensorInTwoShards(tensor: name, first: files[j].path, second: f.path) }
                owner[name] = i
            }
        }
        return (files, location)
    }
}
