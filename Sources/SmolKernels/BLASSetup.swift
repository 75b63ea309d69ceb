import CBLAS
import CSmolKernels
import Foundation

/// OpenBLAS picks its kernels when the library loads, from a CPU table that lags new CPUs:
/// Debian's 0.3.21 takes some AVX-512 CPUs for Haswell (AVX2) and some AVX2 CPUs (recent AMD
/// EPYC in VMs among them) for Prescott, an SSE3 core whose sgemm is several times slower.
/// OPENBLAS_CORETYPE must be in the environment before the process starts, so a command-line
/// tool re-executes itself once with it set.
public enum BLASSetup {
    /// Kernel families without AVX2.
    static let preAVX2Cores: Set<String> = ["prescott", "core2", "penryn", "dunnington", "nehalem", "atom", "katmai",
                                           "coppermine", "northwood", "banias", "opteron", "opteron_sse3", "barcelona",
                                           "bobcat", "sandybridge", "bulldozer", "piledriver", "unknown"]

    /// The OPENBLAS_CORETYPE this CPU should use, or nil when OpenBLAS's own pick is right.
    public static var preferredCoreType: String? {
        let core = ComputeContext.blasCoreName.lowercased()
        if smol_cpu_has_avx512() == 1 { return core.contains("skylakex") || core.contains("cooperlake") || core.contains("sapphire") ? nil : "SkylakeX" }
        if Int(smol_isa_best()) >= SMOL_ISA_AVX2, preAVX2Cores.contains(core) { return "Haswell" }
        return nil
    }

    /// Returns normally when nothing needs to change; otherwise replaces the process.
    public static func reexecWithBestKernelsIfNeeded() {
        #if os(Linux)
        let env = ProcessInfo.processInfo.environment
        guard env["OPENBLAS_CORETYPE"] == nil, env["SMOL_NO_REEXEC"] == nil, let core = preferredCoreType else { return }
        setenv("OPENBLAS_CORETYPE", core, 1)
        setenv("SMOL_NO_REEXEC", "1", 1)
        let args = CommandLine.arguments
        var cargs: [UnsafeMutablePointer<CChar>?] = args.map { strdup($0) }
        cargs.append(nil)
        execv("/proc/self/exe", &cargs)
        // execv returned: keep running with the default kernels.
        #endif
    }
}
