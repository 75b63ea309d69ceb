import CBLAS
import CSmolKernels

/// Threads for the C kernels, plus OpenBLAS configuration. One per loaded model.
public final class ComputeContext: @unchecked Sendable {
    public let pool: OpaquePointer
    public let threads: Int

    /// `threads` defaults to every core: decode is memory-bound and one core cannot
    /// saturate memory bandwidth.
    public init(threads: Int? = nil) {
        let n = max(1, threads ?? Self.defaultThreads)
        self.threads = n
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

    /// Instruction set the kernels use ("avx2+fma+f16c" or "scalar").
    public static var isaName: String { String(cString: smol_isa_name(smol_isa_active())) }

    /// Force a lower instruction set (tests compare every path against the scalar one).
    public static func setISA(_ level: Int32) { smol_isa_set(level) }
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
