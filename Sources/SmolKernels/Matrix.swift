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

    /// Y [n, W.rows] = X [n, W.cols] * W^T. Large batches go through OpenBLAS sgemm; bf16/f16
    /// weights are widened to f32 one block of rows at a time into `scratch`, so there is
    /// never a full f32 copy of the model.
    public static func matmul(_ ctx: ComputeContext, _ w: WeightMatrix, x: UnsafePointer<Float>, n: Int,
                              y: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>, scratchCount: Int) {
        if n <= blasThreshold {
            var job = smol_matvec_job(W: w.data, dtype: w.dtype, y: y, rows: w.rows)
            smol_matmul_multi(ctx.pool, &job, 1, x, n, w.cols)
            return
        }
        if w.dtype == SMOL_F32 {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(n), Int32(w.rows), Int32(w.cols), 1,
                        x, Int32(w.cols), w.data.assumingMemoryBound(to: Float.self), Int32(w.cols), 0, y, Int32(w.rows))
            return
        }
        let block = max(1, min(w.rows, scratchCount / w.cols))
        var r0 = 0
        while r0 < w.rows {
            let rb = min(block, w.rows - r0)
            smol_convert_rows_parallel(ctx.pool, w.row(r0), w.dtype, scratch, rb, w.cols)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(n), Int32(rb), Int32(w.cols), 1,
                        x, Int32(w.cols), scratch, Int32(w.cols), 0, y + r0, Int32(w.rows))
            r0 += rb
        }
    }
}
