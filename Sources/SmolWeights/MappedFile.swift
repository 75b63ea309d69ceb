import Foundation

/// A read-only private mapping of a whole regular file, unmapped when released. The one place
/// model files are opened: safetensors and GGUF readers validate on top of it.
final class MappedFile: @unchecked Sendable {
    enum Failure: Error {
        case cannotOpen(String)
        case notARegularFile
        case tooSmall(Int)
        case mmapFailed(String)
    }

    let base: UnsafeRawPointer
    let size: Int

    /// Maps `path` if it is a regular file of at least `minSize` bytes (a FIFO or device would
    /// block or never end, so only regular files are mapped).
    init(path: String, minSize: Int) throws(Failure) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .cannotOpen(String(cString: strerror(errno))) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw .cannotOpen(String(cString: strerror(errno))) }
        guard (st.st_mode & S_IFMT) == S_IFREG else { throw .notARegularFile }
        let n = Int(st.st_size)
        guard n >= minSize else { throw .tooSmall(n) }
        guard let m = mmap(nil, n, PROT_READ, MAP_PRIVATE, fd, 0), m != MAP_FAILED else {
            throw .mmapFailed(String(cString: strerror(errno)))
        }
        base = UnsafeRawPointer(m)
        size = n
    }

    deinit { munmap(UnsafeMutableRawPointer(mutating: base), size) }

    func advise(_ advice: Int32, offset: Int = 0, length: Int? = nil) {
        madvise(UnsafeMutableRawPointer(mutating: base + offset), length ?? size - offset, advice)
    }
}
