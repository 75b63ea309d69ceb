import CSmolKernels
import Foundation
import Testing
@testable import SmolKernels

/// The vdpbf16ps GEMM against a double-precision reference of the same arithmetic (X rounded
/// to bf16, exact products of bf16 values): every remainder of the 6-row micro-kernel, widths
/// that are not multiples of the 64-column panels, odd K and K over several 512-deep slices,
/// and several matrices in one group.
@Suite(.serialized) struct GemmBF16Tests {
    static let ctx = ComputeContext(threads: 2, precision: .bf16)

    struct Case { let n: Int; let cols: Int; let rows: [Int] }

    static let cases: [Case] = [
        Case(n: 1, cols: 2, rows: [64]), Case(n: 5, cols: 33, rows: [70]), Case(n: 6, cols: 96, rows: [130]),
        Case(n: 7, cols: 576, rows: [576, 192, 192]), Case(n: 13, cols: 1025, rows: [200]),
        Case(n: 33, cols: 1100, rows: [300, 17]), Case(n: 64, cols: 128, rows: [1000]),
    ]

    static func bf16Values(_ n: Int, seed: UInt64) -> [UInt16] {
        KernelTests.randoms(n, seed: seed).map { smol_f32_to_bf16($0) }
    }

    /// Runs one case; returns the max error relative to sum |w x| per output, or nil if the
    /// kernel declined (level below avx512bf16).
    static func run(_ c: Case) -> (declined: Bool, err: Double, untouched: Bool) {
        let x = KernelTests.randoms(c.n * c.cols, seed: UInt64(c.n * 7 + c.cols))
        let ws = c.rows.enumerated().map { bf16Values($1 * c.cols, seed: UInt64(100 + $0)) }
        // Raw buffers: the kernel holds pointers to every matrix at once.
        let wps = ws.map { w -> UnsafeMutablePointer<UInt16> in
            let p = UnsafeMutablePointer<UInt16>.allocate(capacity: w.count)
            p.initialize(from: w, count: w.count)
            return p
        }
        let yps = c.rows.map { r -> UnsafeMutablePointer<Float> in
            let p = UnsafeMutablePointer<Float>.allocate(capacity: c.n * r)
            p.initialize(repeating: .nan, count: c.n * r)
            return p
        }
        defer { wps.forEach { $0.deallocate() }; yps.forEach { $0.deallocate() } }
        let jobs = (0..<c.rows.count).map { smol_matvec_job(W: wps[$0], dtype: SMOL_BF16, y: yps[$0], rows: c.rows[$0]) }
        let done = smol_gemm_bf16_multi(ctx.pool, jobs, Int32(jobs.count), x, c.n, c.cols)
        let ys = (0..<c.rows.count).map { Array(UnsafeBufferPointer(start: yps[$0], count: c.n * c.rows[$0])) }
        if done == 0 { return (true, 0, ys.allSatisfy { $0.allSatisfy(\.isNaN) }) }
        let xr = x.map { Double(smol_bf16_to_f32(smol_f32_to_bf16($0))) }
        var worst = 0.0
        for (j, rows) in c.rows.enumerated() {
            let w = ws[j].map { Double(smol_bf16_to_f32($0)) }
            for t in 0..<c.n {
                for r in 0..<rows {
                    var ref = 0.0, mag = 0.0
                    for k in 0..<c.cols {
                        let p = w[r * c.cols + k] * xr[t * c.cols + k]
                        ref += p
                        mag += abs(p)
                    }
                    worst = max(worst, abs(Double(ys[j][t * rows + r]) - ref) / (mag + 1e-30))
                }
            }
        }
        return (false, worst, true)
    }

    @Test func matchesReferenceOnEveryLevel() {
        KernelTests.forEachLevel { isa in
            for c in Self.cases {
                let r = Self.run(c)
                if Int(isa) < SMOL_ISA_AVX512_BF16 {
                    #expect(r.declined && r.untouched, "isa \(isa): below avx512bf16 the kernel must decline and write nothing")
                } else {
                    // f32 accumulation of K products: a few ulps of f32 relative to sum |w x|.
                    #expect(!r.declined)
                    #expect(r.err < 2e-6, "isa \(isa) n=\(c.n) cols=\(c.cols) rows=\(c.rows): \(r.err)")
                }
            }
        }
    }

    /// Decode with bf16 dot products: x rounded to bf16, every width remainder (128-wide steps,
    /// 32-wide steps, a masked tail), several matrices; declines below avx512bf16.
    @Test func dpbf16MatvecMatchesReference() {
        for (rows, cols) in [(5, 1), (37, 33), (64, 200), (9, 576), (130, 2048), (3, 11008)] {
            let w = Self.bf16Values(rows * cols, seed: UInt64(cols)), w2 = Self.bf16Values(7 * cols, seed: 77)
            let x = KernelTests.randoms(cols, seed: 5)
            let xr = x.map { Double(smol_bf16_to_f32(smol_f32_to_bf16($0))) }
            KernelTests.forEachLevel { isa in
                var y = [Float](repeating: .nan, count: rows), y2 = [Float](repeating: .nan, count: 7)
                let done: Int32 = w.withUnsafeBytes { wb in w2.withUnsafeBytes { wb2 in
                    y.withUnsafeMutableBufferPointer { yp in y2.withUnsafeMutableBufferPointer { yp2 in
                        let jobs = [smol_matvec_job(W: wb.baseAddress, dtype: SMOL_BF16, y: yp.baseAddress, rows: rows),
                                    smol_matvec_job(W: wb2.baseAddress, dtype: SMOL_BF16, y: yp2.baseAddress, rows: 7)]
                        return smol_matvec_multi_dpbf16(Self.ctx.pool, jobs, 2, x, 1, cols)
                    } }
                } }
                if Int(isa) < SMOL_ISA_AVX512_BF16 {
                    #expect(done == 0 && y.allSatisfy { $0.isNaN }, "isa \(isa) must decline")
                    return
                }
                #expect(done == 1)
                for (ws, ys) in [(w, y), (w2, y2)] {
                    for r in 0..<ys.count {
                        var ref = 0.0, mag = 0.0
                        for k in 0..<cols {
                            let p = Double(smol_bf16_to_f32(ws[r * cols + k])) * xr[k]
                            ref += p
                            mag += abs(p)
                        }
                        #expect(abs(Double(ys[r]) - ref) <= 2e-6 * mag + 1e-30, "isa \(isa) \(rows)x\(cols) row \(r)")
                    }
                }
            }
        }
    }

    /// Batches of 2-4 rows give each row exactly what it gets alone (same chains, same order).
    @Test func dpbf16BatchEqualsSingleRows() {
        let rows = 70, cols = 600
        let w = Self.bf16Values(rows * cols, seed: 3)
        for n in 1...4 {
            let x = KernelTests.randoms(n * cols, seed: UInt64(40 + n))
            let (batch, single): ([Float], [[Float]]) = ComputeContext.withISA(ComputeContext.bestISA) {
                var yb = [Float](repeating: .nan, count: n * rows)
                var ys = [[Float]]()
                w.withUnsafeBytes { wb in
                    yb.withUnsafeMutableBufferPointer { yp in
                        var job = smol_matvec_job(W: wb.baseAddress, dtype: SMOL_BF16, y: yp.baseAddress, rows: rows)
                        _ = smol_matvec_multi_dpbf16(Self.ctx.pool, &job, 1, x, n, cols)
                    }
                    for t in 0..<n {
                        var y1 = [Float](repeating: .nan, count: rows)
                        y1.withUnsafeMutableBufferPointer { yp in
                            var job = smol_matvec_job(W: wb.baseAddress, dtype: SMOL_BF16, y: yp.baseAddress, rows: rows)
                            Array(x[(t * cols)..<((t + 1) * cols)]).withUnsafeBufferPointer {
                                _ = smol_matvec_multi_dpbf16(Self.ctx.pool, &job, 1, $0.baseAddress, 1, cols)
                            }
                        }
                        ys.append(y1)
                    }
                }
                return (yb, ys)
            }
            if Int(ComputeContext.bestISA) < SMOL_ISA_AVX512_BF16 { continue }
            for t in 0..<n { #expect(Array(batch[(t * rows)..<((t + 1) * rows)]) == single[t], "n=\(n) row \(t)") }
        }
    }

    /// Through MatMul: the bf16 context rounds activations; the f32 context stays exact.
    @Test func precisionChoosesThePath() {
        let rows = 96, cols = 200, n = 24
        let w = Self.bf16Values(rows * cols, seed: 9)
        // Values with low bits set, so rounding to bf16 shows.
        let x = KernelTests.randoms(n * cols, seed: 10).map { $0 * 1.0001 + 1e-4 }
        let exact: [Double] = (0..<(n * rows)).map { i in
            let t = i / rows, r = i % rows
            return (0..<cols).reduce(0.0) { $0 + Double(smol_bf16_to_f32(w[r * cols + $1])) * Double(x[t * cols + $1]) }
        }
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: 2 * 4096)
        defer { scratch.deallocate() }
        ComputeContext.withISA(ComputeContext.bestISA) { for precision in ComputePrecision.allCases {
            let ctx = ComputeContext(threads: 2, precision: precision)
            var y = [Float](repeating: .nan, count: n * rows)
            w.withUnsafeBytes { wb in
                let m = WeightMatrix(data: wb.baseAddress!, dtype: SMOL_BF16, rows: rows, cols: cols)
                y.withUnsafeMutableBufferPointer { MatMul.matmul(ctx, m, x: x, n: n, y: $0.baseAddress!, scratch: scratch, scratchPerThread: 4096) }
            }
            let err = zip(y, exact).map { abs(Double($0) - $1) }.max()!
            if precision == .f32 || Int(smol_isa_active()) < SMOL_ISA_AVX512_BF16 {
                #expect(err < 1e-4, "\(precision): the f32 path is exact to f32 rounding (\(err))")
            } else {
                #expect(err > 1e-4 && err < 0.05, "bf16: activations rounded to bf16 (\(err))")
            }
        } }
    }
}

