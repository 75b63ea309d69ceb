import CSmolKernels
import Foundation
import Testing
@testable import SmolKernels

/// Every kernel against a plain Swift reference, on every instruction set this CPU has.
@Suite(.serialized) struct KernelTests {
    static let ctx = ComputeContext(threads: 2, precision: .f32)
    static var isaLevels: [Int32] { Array(0...ComputeContext.bestISA) }

    /// Runs body at every level this CPU has, holding the process-wide level (other suites
    /// running at the same time must not switch it under us).
    static func forEachLevel(_ body: (Int32) -> Void) {
        for level in isaLevels { ComputeContext.withISA(level) { body(level) } }
    }

    struct RNG {
        var s: UInt64
        mutating func next() -> Float {
            s = s &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int64(bitPattern: s >> 11) % 2_000_001 - 1_000_000) / 1_000_000
        }
    }

    static func randoms(_ n: Int, seed: UInt64) -> [Float] {
        var r = RNG(s: seed)
        return (0..<n).map { _ in r.next() }
    }

    /// Weights of a given dtype plus their exact f32 values.
    static func weights(_ n: Int, _ dt: smol_dtype, seed: UInt64) -> (bytes: [UInt8], values: [Float]) {
        let f = randoms(n, seed: seed)
        switch dt {
        case SMOL_BF16:
            let h = f.map { smol_f32_to_bf16($0) }
            return (h.withUnsafeBytes { Array($0) }, h.map { smol_bf16_to_f32($0) })
        case SMOL_F16:
            let h = f.map { smol_f32_to_f16($0) }
            return (h.withUnsafeBytes { Array($0) }, h.map { smol_f16_to_f32($0) })
        default:
            return (f.withUnsafeBytes { Array($0) }, f)
        }
    }

    @Test func conversionsRoundTrip() {
        for v: Float in [0, 1, -1, 0.5, 65504, -65504, 1e-5, 6.1e-5, 3.0e-8, .infinity, -.infinity] {
            #expect(smol_f16_to_f32(smol_f32_to_f16(v)) == Float(Float16(v)))
            #expect(smol_bf16_to_f32(smol_f32_to_bf16(v)) == Float(bitPattern: (v.bitPattern &+ 0x7FFF &+ ((v.bitPattern >> 16) & 1)) & 0xFFFF_0000))
        }
        #expect(smol_bf16_to_f32(smol_f32_to_bf16(.nan)).isNaN)
        #expect(smol_f16_to_f32(smol_f32_to_f16(.nan)).isNaN)
        // Every f16 bit pattern decodes like Swift's Float16.
        for bits in 0...UInt16.max {
            let a = smol_f16_to_f32(bits), b = Float(Float16(bitPattern: bits))
            #expect(a == b || (a.isNaN && b.isNaN))
        }
    }

    /// The single-threaded entry point, over a row range (its bf16 path splits x itself,
    /// on the stack or, for long rows, on the heap).
    @Test func matvecRangeMatchesReference() {
        for (rows, cols) in [(45, 576), (19, 4096), (7, 16)] {
            let (wb, wv) = Self.weights(rows * cols, SMOL_BF16, seed: UInt64(cols))
            let x = Self.randoms(cols, seed: 3)
            let ref: [Float] = (0..<rows).map { r in (0..<cols).reduce(Float(0)) { $0 + wv[r * cols + $1] * x[$1] } }
            var y = [Float](repeating: .nan, count: rows)
            wb.withUnsafeBytes { w in smol_matvec_range(w.baseAddress, SMOL_BF16, x, &y, 2, rows, cols) }
            #expect(y[0].isNaN && y[1].isNaN, "rows outside the range are untouched")
            let err = zip(y[2...], ref[2...]).map { abs($0 - $1) }.max()!
            #expect(err < 1e-4 * Float(cols).squareRoot(), "\(rows)x\(cols): \(err)")
        }
    }

    @Test(arguments: [SMOL_F32.rawValue, SMOL_F16.rawValue, SMOL_BF16.rawValue])
    func matvecMatchesReference(_ raw: UInt32) {
        let dt = smol_dtype(rawValue: raw)
        for (rows, cols) in [(1, 1), (3, 7), (37, 64), (130, 200), (64, 1000), (45, 576), (19, 4096)] {
            let (wb, wv) = Self.weights(rows * cols, dt, seed: UInt64(rows * 31 + cols))
            let x = Self.randoms(cols, seed: 99)
            let ref: [Float] = (0..<rows).map { r in (0..<cols).reduce(Float(0)) { $0 + wv[r * cols + $1] * x[$1] } }
            KernelTests.forEachLevel { isa in
                var y = [Float](repeating: .nan, count: rows)
                wb.withUnsafeBytes { w in
                    let m = WeightMatrix(data: w.baseAddress!, dtype: dt, rows: rows, cols: cols)
                    y.withUnsafeMutableBufferPointer { yp in
                        MatMul.matvec(Self.ctx, [m], x: x, outputs: [yp.baseAddress!])
                    }
                }
                let err = zip(y, ref).map { abs($0 - $1) }.max()!
                #expect(err < 1e-4 * Float(cols).squareRoot(), "isa \(isa) \(rows)x\(cols): \(err)")
            }
        }
    }

    @Test(arguments: [SMOL_F32.rawValue, SMOL_BF16.rawValue])
    func matmulBatchesMatchReference(_ raw: UInt32) {
        let dt = smol_dtype(rawValue: raw)
        let rows = 70, cols = 96
        let (wb, wv) = Self.weights(rows * cols, dt, seed: 5)
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: 2 * 500)
        defer { scratch.deallocate() }
        for n in [2, 4, 9, 33] {
            let x = Self.randoms(n * cols, seed: UInt64(n))
            var y = [Float](repeating: .nan, count: n * rows)
            wb.withUnsafeBytes { w in
                let m = WeightMatrix(data: w.baseAddress!, dtype: dt, rows: rows, cols: cols)
                y.withUnsafeMutableBufferPointer { yp in
                    MatMul.matmul(Self.ctx, m, x: x, n: n, y: yp.baseAddress!, scratch: scratch, scratchPerThread: 500)  // several blocks per thread
                }
            }
            var err: Float = 0
            for t in 0..<n {
                for r in 0..<rows {
                    let ref = (0..<cols).reduce(Float(0)) { $0 + wv[r * cols + $1] * x[t * cols + $1] }
                    err = max(err, abs(ref - y[t * rows + r]))
                }
            }
            #expect(err < 1e-4, "n=\(n): \(err)")
        }
    }

    @Test func rmsnormMatchesReference() {
        let n = 3, dim = 77
        let x = Self.randoms(n * dim, seed: 1), w = Self.randoms(dim, seed: 2)
        var y = [Float](repeating: 0, count: n * dim)
        smol_rmsnorm(Self.ctx.pool, x, w, &y, n, dim, 1e-6)
        for r in 0..<n {
            let row = Array(x[(r * dim)..<((r + 1) * dim)])
            let ms = row.reduce(Double(0)) { $0 + Double($1) * Double($1) } / Double(dim)
            let inv = 1 / (ms + 1e-6).squareRoot()
            for i in 0..<dim { #expect(abs(Double(y[r * dim + i]) - Double(w[i]) * Double(row[i]) * inv) < 1e-5) }
        }
    }

    @Test func siluMulMatchesReference() {
        let g0 = Self.randoms(1000, seed: 3).map { $0 * 8 } + [0, 1e-30, -1e-8, 30, -30, 88, -88, 100, -100, 1e4, -1e4]
        let u = Self.randoms(g0.count, seed: 4)
        Self.forEachLevel { isa in
            var g = g0
            smol_silu_mul(Self.ctx.pool, &g, u, g0.count)
            for i in 0..<g0.count {
                let ref = Double(g0[i]) / (1 + exp(-Double(g0[i]))) * Double(u[i])
                #expect(abs(Double(g[i]) - ref) < 1e-5 * max(1, abs(ref)), "isa \(isa): silu(\(g0[i])) * \(u[i])")
            }
        }
    }

    @Test func ropeRotatesHalves() {
        let n = 2, heads = 3, d = 8
        let x0 = Self.randoms(n * heads * d, seed: 7)
        let cosT = Self.randoms(n * d / 2, seed: 8), sinT = Self.randoms(n * d / 2, seed: 9)
        var x = x0
        smol_rope(&x, n, heads, d, cosT, sinT)
        for t in 0..<n {
            for h in 0..<heads {
                for i in 0..<(d / 2) {
                    let a = x0[(t * heads + h) * d + i], b = x0[(t * heads + h) * d + i + d / 2]
                    let c = cosT[t * d / 2 + i], s = sinT[t * d / 2 + i]
                    #expect(abs(x[(t * heads + h) * d + i] - (a * c - b * s)) < 1e-6)
                    #expect(abs(x[(t * heads + h) * d + i + d / 2] - (b * c + a * s)) < 1e-6)
                }
            }
        }
    }

    /// (heads, kv heads, head_dim, cache stride, pos0, queries): small shapes for the generic
    /// path; head_dim 32/64 with long contexts for the sliced GQA decode path (several slices,
    /// 3 kv heads over 2 threads, queries of different causal lengths).
    @Test(arguments: [(4, 2, 16, 12, 3, 5), (9, 3, 64, 700, 600, 1), (6, 2, 32, 80, 70, 3), (4, 4, 32, 40, 0, 1)])
    func attentionMatchesReference(_ shape: (Int, Int, Int, Int, Int, Int)) {
        let (heads, kv, d, stride, pos0, nq) = shape
        let q = Self.randoms(nq * heads * d, seed: 11)
        let kc = Self.randoms(kv * stride * d, seed: 12), vc = Self.randoms(kv * stride * d, seed: 13)
        let scale: Float = 0.25
        KernelTests.forEachLevel { isa in
            var out = [Float](repeating: .nan, count: nq * heads * d)
            var scratch = [Float](repeating: 0, count: 2 * (pos0 + nq))
            smol_attention(Self.ctx.pool, q, kc, vc, SMOL_F32, &out, nq, pos0, heads, kv, d, stride, scale, &scratch)
            // The BLAS prefill path must agree with the same reference.
            var outBLAS = [Float](repeating: .nan, count: nq * heads * d)
            let per = smol_attention_prefill_scratch(nq, pos0)
            var scratchBLAS = [Float](repeating: 0, count: 2 * per)
            smol_attention_prefill(Self.ctx.pool, q, kc, vc, SMOL_F32, &outBLAS, nq, pos0, heads, kv, d, stride, scale, &scratchBLAS, per)
            #expect(zip(out, outBLAS).map { abs($0 - $1) }.max()! < 1e-5)
            for t in 0..<nq {
                for h in 0..<heads {
                    let g = h / (heads / kv), len = pos0 + t + 1
                    var s = (0..<len).map { j in
                        Double(scale) * (0..<d).reduce(0.0) { $0 + Double(q[(t * heads + h) * d + $1]) * Double(kc[(g * stride + j) * d + $1]) }
                    }
                    let mx = s.max()!
                    s = s.map { exp($0 - mx) }
                    let sum = s.reduce(0, +)
                    for i in 0..<d {
                        let ref = (0..<len).reduce(0.0) { $0 + s[$1] / sum * Double(vc[(g * stride + $1) * d + i]) }
                        #expect(abs(Double(out[(t * heads + h) * d + i]) - ref) < 1e-5, "isa \(isa)")
                    }
                }
            }
        }
    }

    /// Tasks claim chunks dynamically; the caller closes a job when the work is gone, so
    /// a late worker skips it. Every item must still be done exactly once, job after job.
    @Test func poolCompletesEveryItemOnce() {
        let pool = smol_pool_create(4)!
        defer { smol_pool_destroy(pool) }
        let rows = 300, cols = 8
        let w = [Float](repeating: 1, count: rows * cols), x = [Float](repeating: 1, count: cols)
        for run in 0..<200 {
            var y = [Float](repeating: 0, count: rows)
            w.withUnsafeBytes { wb in
                y.withUnsafeMutableBufferPointer { yp in
                    var job = smol_matvec_job(W: wb.baseAddress, dtype: SMOL_F32, y: yp.baseAddress, rows: rows)
                    smol_matvec_multi(pool, &job, 1, x, cols)
                }
            }
            if y.contains(where: { $0 != Float(cols) }) { Issue.record("run \(run): incomplete"); break }
        }
    }
}

