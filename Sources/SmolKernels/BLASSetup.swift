import CSmolKernels
import Foundation

/// OpenBLAS picks its kernels when the library loads. Debian's build detects some AVX-512
/// CPUs as Haswell (AVX2); OPENBLAS_CORETYPE=SkylakeX must be in the environment before
/// the process starts, so a command-line tool re-executes itself once with it set.
public enum BLASSetup {
    /// Returns normally when nothing needs to change; otherwise replaces the process.
    public static func reexecWithAVX512KernelsIfNeeded() {
        #if os(Linux)
        let env = ProcessInfo.processInfo.environment
        guard smol_cpu_has_avx512() == 1, env["OPENBLAS_CORETYPE"] == nil, env["SMOL_NO_REEXEC"] == nil else { return }
        setenv("OPENBLAS_CORETYPE", "SkylakeX", 1)
        setenv("SMOL_NO_REEXEC", "1", 1)
        let args = CommandLine.arguments
        var cargs: [UnsafeMutablePointer<CChar>?] = args.map { strdup($0) }
        cargs.append(nil)
        execv("/proc/self/exe", &cargs)
        // execv returned: keep running with the default kernels.
        #endif
    }
}
