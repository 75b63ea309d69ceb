import CBLAS
import CSmolKernels
import SmolWeights

/// A 2-D weight matrix [rows, cols] in its stored precision, pointing into a mapped file.
public struct WeightMatrix: @unchecked Sendable {
    public let data: UnsafeRawPointer
    public let dtype: smol_dtype
    public let rows: Int
    public let cols: Int

    public init(data: UnsafeRawPointer, dtype: smol_dtype, rows: Int, cols: Int) {
        self.data = data
        self.dtype = dtype
        self.rows = rows
        self.cols = cols
    }

    /// Bytes of one row (for a block type, its blocks of 32 or 256 values; interleaved types: an
    /// eighth of a group of 8 rows, whose bytes are not one row's).
    public var rowBytes: Int { smol_dtype_row_bytes(dtype, cols) }
    public var byteCount: Int { rows * rowBytes }
    public var isQuantized: Bool { smol_dtype_is_quant(dtype) != 0 }

    /// Row r in f32, any layout (the embedding lookup): dst gets `cols` values.
    public func row(_ r: Int, into dst: UnsafeMutablePointer<Float>) { smol_matrix_row_f32(data, dtype, cols, r, dst) }
}

extension smol_dtype {
    public init?(_ d: DType) {
        switch d {
        case .f32: self = SMOL_F32
        case .f16: self = SMOL_F16
        case .bf16: self = SMOL_BF16
        default: return nil
        }
    }

    /// The GGUF block types the kernels compute from directly (others are dequantized at load).
    public init?(_ t: GGMLType) {
        switch t {
        case .f32: self = SMOL_F32
        case .f16: self = SMOL_F16
        case .bf16: self = SMOL_BF16
        case .q8_0: self = SMOL_Q8_0
        case .q4_0: self = SMOL_Q4_0
        case .q4_1: self = SMOL_Q4_1
        case .q5_0: self = SMOL_Q5_0
        case .q5_1: self = SMOL_Q5_1
        case .q4_K: self = SMOL_Q4_K
        case .q5_K: self = SMOL_Q5_K
        case .q6_K: self = SMOL_Q6_K
        default: return nil
        }
    }

    public var name: String {
        switch self {
        case SMOL_F32: return "f32"
        case SMOL_F16: return "f16"
        case SMOL_BF16: return "bf16"
        case SMOL_Q8_0: return "q8_0"
        case SMOL_Q4_0: return "q4_0"
        case SMOL_Q4_1: return "q4_1"
        case SMOL_Q5_0: return "q5_0"
        case SMOL_Q5_1: return "q5_1"
        case SMOL_Q4_K: return "q4_K"
        case SMOL_Q5_K: return "q5_K"
        case SMOL_Q6_K: return "q6_K"
        case SMOL_Q4_0_R8: return "q4_0 (rows interleaved by 8)"
        case SMOL_Q4_1_R8: return "q4_1 (rows interleaved by 8)"
        case SMOL_Q4_K_R8: return "q4_K (rows interleaved by 8)"
        default: return "q6_K (rows interleaved by 8)"
        }
    }
}

/// Matrix products of activations with weight matrices.
public enum MatMul {
    /// y_j = W_j x for a group of matrices sharing x (one parallel job); bf16 dot products
    /// where ctx.precision is bf16 and the CPU has them.
    public static func matvec(_ ctx: ComputeContext, _ ws: [WeightMatrix], x: UnsafePointer<Float>,
                              outputs: [UnsafeMutablePointer<Float>]) {
        var jobs = [smol_matvec_job]()
        jobs.reserveCapacity(ws.count)
        for (w, y) in zip(ws, outputs) { jobs.append(smol_matvec_job(W: w.data, dtype: w.dtype, y: y, rows: w.rows)) }
        jobs.withUnsafeBufferPointer {
            run(ctx, jobs: $0.baseAddress!, count: $0.count, x: x, n: 1, cols: ws[0].cols, scratch: nil, scratchPerThread: 0)
        }
    }

    /// Batches at or below this many rows use the weight-streaming kernel; above, BLAS.
    public static let blasThreshold = 4

    /// Y [n, W.rows] = X [n, W.cols] * W^T. Large batches go through OpenBLAS sgemm, one
    /// single-threaded call per pool thread on its slice of rows; bf16/f16 weights are widened
    /// to f32 a block at a time in `scratch` (ctx.threads * scratchPerThread floats), so there
    /// is never a full f32 copy of the model.
    ///
    /// With `ctx.precision == .bf16`, bf16 weights on an AVX512_BF16 CPU go through the
    /// vdpbf16ps GEMM instead (activations rounded to bf16, f32 accumulation).
    public static func matmul(_ ctx: ComputeContext, _ w: WeightMatrix, x: UnsafePointer<Float>, n: Int,
                              y: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>, scratchPerThread: Int) {
        var job = smol_matvec_job(W: w.data, dtype: w.dtype, y: y, rows: w.rows)
        run(ctx, jobs: &job, count: 1, x: x, n: n, cols: w.cols, scratch: scratch, scratchPerThread: scratchPerThread)
    }

    /// Every job reads x [n, cols] and writes its y [n, rows]: small batches stream the weights
    /// once for all rows, large ones take the bf16 GEMM (one parallel job for the group) or sgemm.
    static func run(_ ctx: ComputeContext, jobs: UnsafePointer<smol_matvec_job>, count: Int, x: UnsafePointer<Float>, n: Int,
                    cols: Int, scratch: UnsafeMutablePointer<Float>?, scratchPerThread: Int) {
        // bf16 precision: small batches round x to bf16 as the GEMM does, so a token's logits do
        // not depend on whether it was prefilled in a long chunk, a short one, or decoded.
        if n <= blasThreshold, ctx.precision == .bf16,
           smol_matvec_multi_dpbf16(ctx.pool, jobs, Int32(count), x, n, cols) == 1 { return }
        if n <= blasThreshold || scratch == nil {
            smol_matmul_multi(ctx.pool, jobs, Int32(count), x, n, cols)
            return
        }
        // Interleaved block weights: the integer GEMM, which gives each row its decode bits.
        if smol_gemm_q8_multi(ctx.pool, jobs, Int32(count), x, n, cols) == 1 { return }
        if ctx.precision == .bf16, smol_gemm_bf16_multi(ctx.pool, jobs, Int32(count), x, n, cols) == 1 { return }
        for j in 0..<count {
            let job = jobs[j]
            smol_gemm(ctx.pool, job.W, job.dtype, x, n, job.rows, cols, job.y, scratch, max(scratchPerThread, cols))
        }
    }
}

/// A fixed group of matrices that read the same input and write fixed outputs (q/k/v,
/// gate/up). The job list is built once, so decode makes no allocation per call.
public final class MatvecGroup: @unchecked Sendable {
    private let jobs: UnsafeMutableBufferPointer<smol_matvec_job>
    public let cols: Int

    public init(_ pairs: [(WeightMatrix, UnsafeMutablePointer<Float>)]) {
        jobs = .allocate(capacity: pairs.count)
        for (i, (w, y)) in pairs.enumerated() {
            jobs[i] = smol_matvec_job(W: w.data, dtype: w.dtype, y: y, rows: w.rows)
        }
        cols = pairs.first?.0.cols ?? 0
    }

    deinit { jobs.deallocate() }

    /// Outputs get [n, rows] each, for n rows of input x [n, cols]. Small n streams the weights
    /// once; larger n (prefill) needs `scratch` (ctx.threads * scratchPerThread floats) for the
    /// f32 path and runs the group as one bf16 GEMM where ctx.precision allows.
    public func run(_ ctx: ComputeContext, x: UnsafePointer<Float>, n: Int = 1,
                    scratch: UnsafeMutablePointer<Float>? = nil, scratchPerThread: Int = 0) {
        MatMul.run(ctx, jobs: jobs.baseAddress!, count: jobs.count, x: x, n: n, cols: cols, scratch: scratch,
                   scratchPerThread: scratchPerThread)
    }
}
