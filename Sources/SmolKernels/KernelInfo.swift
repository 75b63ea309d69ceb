import CSmolKernels
import Foundation

/// Arithmetic of the prefill matrix products.
public enum ComputePrecision: String, Sendable, CaseIterable {
    /// Activations stay f32 (weights widened to f32, OpenBLAS sgemm): the exact path the
    /// fixture tests compare with transformers in float32.
    case f32
    /// Activations rounded to bf16 (nearest even) with f32 accumulation, `vdpbf16ps`: the
    /// arithmetic of transformers running a bf16 checkpoint in bfloat16. Used for bf16 weights
    /// on CPUs with AVX512_BF16; other weights and CPUs take the f32 path.
    case bf16

    /// The faster choice on this CPU (with SMOL_ISA applied): bf16 where the CPU has bf16 dot products.
    public static var fastest: ComputePrecision { Int(smol_isa_active()) >= SMOL_ISA_AVX512_BF16 ? .bf16 : .f32 }
}

/// CPU features and the path each kernel family takes, for `smol info`, `smol bench` and `--verbose`.
public enum KernelInfo {
    public enum ISAError: Error, CustomStringConvertible {
        case unknownLevel(String)
        public var description: String {
            switch self {
            case let .unknownLevel(v):
                return "SMOL_ISA='\(v)' is not a kernel level; use one of: " + KernelInfo.levelKeys.joined(separator: ", ")
            }
        }
    }

    public static let levelKeys = (SMOL_ISA_SCALAR...SMOL_ISA_AMX).map { String(cString: smol_isa_key(Int32($0))) }

    /// Refuses an SMOL_ISA value that names no level (the C kernels would ignore it).
    public static func validateEnvironment(_ env: [String: String] = ProcessInfo.processInfo.environment) throws {
        if let v = env["SMOL_ISA"], !v.isEmpty, smol_isa_parse(v) < 0 { throw ISAError.unknownLevel(v) }
    }

    /// Feature names this CPU (and OS) supports.
    public static var cpuFeatures: [String] {
        let f = Int(smol_cpu_features())
        let names: [(Int, String)] = [
            (SMOL_FEAT_AVX2, "avx2+fma+f16c"), (SMOL_FEAT_AVX512, "avx512f/bw/dq/vl"), (SMOL_FEAT_AVX512_BF16, "avx512_bf16"),
            (SMOL_FEAT_AVX512_VNNI, "avx512_vnni"), (SMOL_FEAT_AVX_VNNI, "avx_vnni"), (SMOL_FEAT_AMX_BF16, "amx_bf16"),
            (SMOL_FEAT_AMX_INT8, "amx_int8"),
        ]
        return names.filter { f & $0.0 != 0 }.map { $0.1 }
    }

    public static var activeLevel: String { String(cString: smol_isa_key(smol_isa_active())) }
    public static var bestLevel: String { String(cString: smol_isa_key(smol_isa_best())) }

    /// (family, path) for each kernel family, as the kernels will choose them now.
    public static func paths(precision: ComputePrecision) -> [(family: String, path: String)] {
        let level = Int(smol_isa_active())
        let blas = "OpenBLAS sgemm (\(ComputeContext.blasCoreName)), weights widened to f32 in L2-sized blocks"
        var out: [(String, String)] = []
        switch level {
        case SMOL_ISA_AVX512_BF16... where precision == .bf16:
            out.append(("matvec", "avx512bf16: bf16 weights by vdpbf16ps with x rounded to bf16, one row stream per thread; f16/f32 widened (avx512)"))
        case SMOL_ISA_AVX512...:
            out.append(("matvec", "avx512: bf16/f16/f32 weights widened in registers, 4 rows per pass, prefetch"))
        case SMOL_ISA_AVX2:
            out.append(("matvec", "avx2: bf16/f16/f32 weights widened in registers, 4 rows per pass, prefetch"))
        default:
            out.append(("matvec", "scalar"))
        }
        out.append(("matvec q8_0/q4_0/q4_1/q5_0/q5_1/q4_K/q5_K/q6_K", String(cString: smol_quant_path())
            + ": integer dot products of the blocks with x quantized to 8-bit blocks of 32, once per token"))
        let qpath = String(cString: smol_quant_path())
        let int8GEMM = qpath == "scalar" ? nil
            : qpath + (qpath == "avx512vnni" ? ": int8 GEMM, 16-row pair tiles (zmm vpdpbusd)"
                                             : ": int8 GEMM, 8-row tiles (vpmaddubsw)")
                + " on rows interleaved by 8, x quantized as for decode (each row gets its decode bits)"
        if let int8GEMM { out.append(("gemm q4_0/q4_1/q4_K/q6_K", int8GEMM)) }
        let others = int8GEMM == nil ? "gemm block types" : "gemm q8_0/q5_0/q5_1/q5_K"
        if precision == .bf16 && level >= SMOL_ISA_AVX512_BF16 {
            out.append(("gemm bf16", "avx512bf16: vdpbf16ps 6x64 micro-kernel, packed panels, activations rounded to bf16"))
            out.append((others, "avx512bf16: the bf16 micro-kernel, blocks dequantized to bf16 panel by panel"))
        } else {
            out.append(("gemm bf16", blas))
            out.append((others, "OpenBLAS sgemm, blocks dequantized to f32 in L2-sized blocks"))
        }
        out.append(("gemm f16/f32", blas))
        switch level {
        case SMOL_ISA_AVX512...:
            out.append(("attention", "decode: avx2 GQA (sliced positions); prefill: avx512 flash-style (64-key blocks, online softmax)"))
            out.append(("elementwise", "avx512 SiLU, avx2 exp (softmax, GELU)"))
        case SMOL_ISA_AVX2:
            out.append(("attention", "decode: avx2 GQA (sliced positions); prefill: OpenBLAS sgemm per head and query block"))
            out.append(("elementwise", "avx2 exp (softmax, GELU)"))
        default:
            out.append(("attention", "decode: scalar; prefill: OpenBLAS sgemm per head and query block"))
            out.append(("elementwise", "scalar"))
        }
        return out
    }

    /// One human-readable block: CPU features, level, precision, each family's path.
    public static func describe(precision: ComputePrecision) -> String {
        var lines = ["cpu features: " + (cpuFeatures.isEmpty ? "none beyond the baseline" : cpuFeatures.joined(separator: " ")),
                     "kernel level: \(activeLevel) (best on this cpu: \(bestLevel); cap with SMOL_ISA=\(levelKeys.joined(separator: "|")))",
                     "precision: \(precision.rawValue)"]
        for (f, p) in paths(precision: precision) { lines.append("\(f): \(p)") }
        return lines.joined(separator: "\n")
    }
}
