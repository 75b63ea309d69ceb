/// Every failure names the file and, where there is one, the tensor.
public enum WeightsError: Error, CustomStringConvertible, Equatable {
    case cannotOpen(file: String, reason: String)
    case notARegularFile(file: String)
    case fileTooSmall(file: String, size: Int)
    case headerTooLarge(file: String, length: UInt64, limit: Int)
    case headerBeyondFile(file: String, length: UInt64, fileSize: Int)
    case headerNotUTF8JSON(file: String, reason: String)
    case headerNotObject(file: String)
    case badMetadata(file: String, reason: String)
    case badTensorEntry(file: String, tensor: String, reason: String)
    case unsupportedDType(file: String, tensor: String, dtype: String)
    case shapeOverflow(file: String, tensor: String, shape: [Int64])
    case sizeMismatch(file: String, tensor: String, expected: Int, actual: Int)
    case duplicateTensor(file: String, tensor: String)
    case offsetsNotContiguous(file: String, tensor: String, expectedBegin: Int, actualBegin: Int)
    case dataLengthMismatch(file: String, lastEnd: Int, dataLength: Int)
    case missingModelFiles(directory: String)
    case badIndex(file: String, reason: String)
    case unsafeShardName(file: String, shard: String)
    case shardLinkOutside(file: String, shard: String, target: String)
    case tensorNotInShard(file: String, tensor: String)
    case tensorInTwoShards(tensor: String, first: String, second: String)
    case missingTensor(tensor: String, directory: String)
    case mmapFailed(file: String, reason: String)

    public var description: String {
        switch self {
        case let .cannotOpen(f, r): return "\(f): cannot open: \(r)"
        case let .notARegularFile(f): return "\(f): not a regular file"
        case let .fileTooSmall(f, s): return "\(f): file is \(s) bytes, too small for a safetensors header (needs at least 8)"
        case let .headerTooLarge(f, n, l): return "\(f): header length \(n) exceeds the limit of \(l) bytes"
        case let .headerBeyondFile(f, n, s): return "\(f): header length \(n) runs past the end of the \(s)-byte file"
        case let .headerNotUTF8JSON(f, r): return "\(f): header is not valid UTF-8 JSON: \(r)"
        case let .headerNotObject(f): return "\(f): header is not a JSON object"
        case let .badMetadata(f, r): return "\(f): bad __metadata__: \(r)"
        case let .badTensorEntry(f, t, r): return "\(f): tensor '\(t)': \(r)"
        case let .unsupportedDType(f, t, d): return "\(f): tensor '\(t)': unsupported dtype '\(d)'"
        case let .shapeOverflow(f, t, s): return "\(f): tensor '\(t)': shape \(s) overflows"
        case let .sizeMismatch(f, t, e, a): return "\(f): tensor '\(t)': shape and dtype need \(e) bytes but data_offsets span \(a)"
        case let .duplicateTensor(f, t): return "\(f): tensor '\(t)' appears twice"
        case let .offsetsNotContiguous(f, t, e, a): return "\(f): tensor '\(t)': data starts at \(a), expected \(e) (gap or overlap)"
        case let .dataLengthMismatch(f, l, d): return "\(f): tensors end at byte \(l) of the data section but it holds \(d) bytes (truncated or trailing data)"
        case let .missingModelFiles(d): return "\(d): no model.safetensors or model.safetensors.index.json"
        case let .badIndex(f, r): return "\(f): \(r)"
        case let .unsafeShardName(f, s): return "\(f): shard name '\(s)' must be a plain file name inside the model folder"
        case let .shardLinkOutside(f, s, t):
            return "\(f): shard '\(s)' is a symlink to \(t), outside the model folder (links may point inside the folder, or, in a Hugging Face cache snapshot, into the repository's blobs/)"
        case let .tensorNotInShard(f, t): return "\(f): tensor '\(t)' listed in the index is not in this shard"
        case let .tensorInTwoShards(t, a, b): return "tensor '\(t)' is in two shards: \(a) and \(b)"
        case let .missingTensor(t, d): return "\(d): missing tensor '\(t)'"
        case let .mmapFailed(f, r): return "\(f): cannot map file: \(r)"
        }
    }
}
