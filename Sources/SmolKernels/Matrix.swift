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

    public var elementSize: Int { dtype == SMOL_F32 ? 4 : 2 }
    public var byteCount: Int { rows * cols * elementSize }

    /// Pointer to the first element of `row`.
    public func row(_ r: Int) -> UnsafeRawPointer { data + r * cols * elementSize }
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
}

/// Matrix products of activations with weight matrices.
public enum MatMul {
    /// y_j = W_j x for a group of matrices sharing x (one parallel job).
    public static func matvec(_ ctx: ComputeContext, _ ws: [WeightMatrix], x: UnsafePointer<Float>,
                              outputs: [UnsafeMutablePointer<Float>]) {
        var jobs = [smol_matvec_job]()
        jobs.reserveCapacity(ws.count)
        for (w, y) in zip(ws, outputs) { jobs.append(smol_matvec_job(W: w.data, dtype: w.dtype, y: y, rows: w.rows)) }
        jobs.withUnsafeBufferPointer { smol_matvec_multi(ctx.pool, $0.baseAddress, Int32($0.count), x, ws[0].cols) }
    }

    /// Batches at or below this many rows use the weight-streaming kernel; above, BLAS.
    public static let blasThreshold = 4

    /// Y [n, W.rows] = X [n, W.cols] * W^T. Large batches go through OpenBLAS sgemm, one
    /// single-threaded call per pool thread on its slice of rows; bf16/f16 weights are widened
    /// to f32 a block at a time in `scratch` (ctx.threads * scratchPerThread floats), so there
    /// is never a full f32 copy of the model.
    public static func matmul(_ ctx: ComputeContext, _ w: WeightMatrix, x: UnsafePointer<Float>, n: Int,
                              y: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>, scratchPerThread: Int) {
        if n <= blasThreshold {
            var job = smol_matvec_job(W: w.data, dtype: w.dtype, y: y, rows: w.rows)
            smol_matmul_multi(ctx.pool, &job, 1, x, n, w.cols)
            return
        }
        smol_gemm(ctx.pool, w.data, w.dtype, x, n, w.rows, w.cols, y, scratch, max(scratchPerThread, w.cols))
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

    /// Outputs get [n, rows] each; for n rows of input x [n, cols] (n small: weights stream once).
    public func run(_ ctx: ComputeContext, x: UnsafePointer<Float>, n: Int = 1) {
        smol_matmul_multi(ctx.pool, jobs.baseAddress, Int32(jobs.count), x, n, cols)
    }
}
