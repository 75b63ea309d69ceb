import Foundation
import SmolWeights

/// The safetensors and GGUF readers on any file: an error naming the rule, never a crash or
/// an allocation the file's size does not justify. The first byte picks the reader (the rest
/// is the file; GGUF seeds start with its magic anyway).
let path = "/dev/shm/smol-fuzz-weights-\(getpid())"

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzWeights(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let body = Data(bytes: data + 1, count: size - 1)
    guard FileManager.default.createFile(atPath: path, contents: body) else { return 0 }
    defer { unlink(path) }
    if data[0] & 1 == 0 {
        if let f = try? SafeTensorsFile(path: path) {
            for (_, t) in f.tensors { _ = t.byteCount }
        }
    } else {
        if let g = try? GGUFFile(path: path) {
            for (name, _) in g.tensors { _ = name }
            _ = g.metadata.count
        }
    }
    return 0
}
