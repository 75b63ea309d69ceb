import CBLAS
import CSmolKernels
import Foundation

/// Threads for the C kernels, plus OpenBLAS configuration. One per loaded model.
public final class ComputeContext: @unchecked Sendable {
    public let pool: OpaquePointer
    public let threads: Int
    /// Arithmetic of the prefill matrix products (see ComputePrecision).
    public let precision: ComputePrecision

    /// `threads` defaults to every core: decode is memory-bound and one core cannot
    /// saturate memory bandwidth. `precision` defaults to the faster one on this CPU.
    public init(threads: Int? = nil, precision: ComputePrecision? = nil) {
        let n = max(1, threads ?? Self.defaultThreads)
        self.threads = n
        self.precision = precision ?? .fastest
        pool = smol_pool_create(Int32(n))!
        // Parallelism comes from the pool: each thread makes its own single-threaded BLAS call.
        openblas_set_num_threads(1)
    }

    deinit { smol_pool_destroy(pool) }

    public static var defaultThreads: Int {
        #if canImport(Glibc)
        return max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        #else
        return 1
        #endif
    }

    /// Instruction set the kernels use ("avx512f/bw/dq/vl", "avx2+fma+f16c", "scalar", ...).
    public static var isaName: String { String(cString: smol_isa_name(smol_isa_active())) }

    /// Force a lower instruction set (tests compare every path against the scalar one).
    /// Prefer withISA, which serialises callers.
    public static func setISA(_ level: Int32) { smol_isa_set(level) }

    private static let isaLock = NSLock()

    /// Runs `body` with the kernel level set to `level` (clamped to the CPU), then restores the
    /// previous level. The level is process-wide: callers are serialised, so concurrent tests
    /// that walk the levels (or need the best one) do not see each other's setting.
    public static func withISA<R>(_ level: Int32, _ body: () throws -> R) rethrows -> R {
        isaLock.lock()
        defer { isaLock.unlock() }
        let previous = smol_isa_active()
        smol_isa_set(level)
        defer { smol_isa_set(previous) }
        return try body()
    }
    public static var bestISA: Int32 { smol_isa_best() }

    /// OpenBLAS's kernel family, e.g. "Haswell" or "SkylakeX".
    public static var blasCoreName: String {
        guard let p = openblas_get_corename() else { return "unknown" }
        return String(cString: p)
    }
}

#if canImport(Glibc)
import Glibc
#endif
