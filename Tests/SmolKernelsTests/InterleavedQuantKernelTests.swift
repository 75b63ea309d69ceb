import CSmolKernels
import Foundation
import Testing
@testable import SmolKernels

/// The interleaved layouts (rows by 8) the GGUF loader makes for Q4_0, Q4_1, Q4_K and Q6_K,
/// against the plain layouts and the references of QuantKernelTests, on every level.
extension QuantKernelTests {
    /// Q4_0/Q4_1 with rows interleaved by 8 (the decode layout the GGUF loader makes for layer
    /// matrices): decode against the same double reference of the quantized arithmetic, every
    /// row range (partial groups too), batches equal to single rows; both GEMMs bit-identical to
    /// the plain layout's (they unpack the same blocks).
    @Test func interleavedQ4MatchesPlainOnEveryLevel() {
        let bf16ctx = ComputeContext(threads: 2, precision: .bf16)
        KernelTests.forEachLevel { isa in
            for (plain, r8) in [(SMOL_Q4_0, SMOL_Q4_0_R8), (SMOL_Q4_1, SMOL_Q4_1_R8)] {
                for (si, s) in [Shape(rows: [8], cols: 32, n: 1), Shape(rows: [16, 24], cols: 576, n: 3), Shape(rows: [40], cols: 2080, n: 4)].enumerated() {
                    let x = Self.activations(s.n, cols: s.cols, seed: UInt64(90 + si))
                    let ws = s.rows.enumerated().map { Self.blocks(plain, rows: $1, cols: s.cols, seed: UInt64(300 + 10 * si + $0)).bytes }
                    let packed = zip(ws, s.rows).map { w, rows -> [UInt8] in
                        var out = [UInt8](repeating: 0, count: w.count)
                        #expect(smol_repack_r8(nil, plain, w, rows, s.cols, nil, &out) == 0)
                        return out
                    }
                    #expect(packed[0] != ws[0], "interleaving moved nothing")
                    let ys = Self.decode(r8, s, x: x, ws: packed)
                    let worst = Self.worstAgainstReference(plain, s, x: x, plain: ws, ys: ys)
                    #expect(worst < 1e-6, "isa \(isa) \(r8.name) rows=\(s.rows) cols=\(s.cols): \(worst)")
                    Self.expectBatchRowsEqualAlone(r8, s, x: x, ws: packed, ys: ys, "isa \(isa) \(r8.name)")
                    // A row range that starts and ends inside groups.
                    if s.rows[0] >= 16 {
                        let qx = UnsafeMutableRawPointer.allocate(byteCount: smol_qx_bytes(s.cols), alignment: 64)
                        defer { qx.deallocate() }
                        var y = [Float](repeating: .nan, count: s.rows[0])
                        packed[0].withUnsafeBytes { smol_matvec_range($0.baseAddress!, r8, x, &y, 3, 13, s.cols) }
                        #expect(y[3..<13].allSatisfy { !$0.isNaN } && y[0..<3].allSatisfy(\.isNaN) && y[13...].allSatisfy(\.isNaN))
                        let full = Self.decode(r8, Shape(rows: [s.rows[0]], cols: s.cols, n: 1), x: Array(x[0..<s.cols]), ws: [packed[0]])[0]
                        #expect(Array(y[3..<13]) == Array(full[3..<13]))
                    }
                    // Prefill: both GEMMs give the plain layout's bits.
                    let n = 7
                    let xg = KernelTests.randoms(n * s.cols, seed: 5)
                    for j in 0..<s.rows.count {
                        let w = ws[j], pw = packed[j], rows = s.rows[j]
                        var a = [Float](repeating: 0, count: n * rows), b = a, c = a, d = a
                        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: 2 * 16 * s.cols)
                        defer { scratch.deallocate() }
                        w.withUnsafeBytes { wp in pw.withUnsafeBytes { pp in
                            var j1 = smol_matvec_job(W: wp.baseAddress!, dtype: plain, y: &a, rows: rows)
                            var j2 = smol_matvec_job(W: pp.baseAddress!, dtype: r8, y: &b, rows: rows)
                            let d1 = smol_gemm_bf16_multi(bf16ctx.pool, &j1, 1, xg, n, s.cols)
                            let d2 = smol_gemm_bf16_multi(bf16ctx.pool, &j2, 1, xg, n, s.cols)
                            #expect(d1 == d2)
                            smol_gemm(Self.ctx.pool, wp.baseAddress!, plain, xg, n, rows, s.cols, &c, scratch, 16 * s.cols)
                            smol_gemm(Self.ctx.pool, pp.baseAddress!, r8, xg, n, rows, s.cols, &d, scratch, 16 * s.cols)
                        } }
                        #expect(a == b, "bf16 GEMM, isa \(isa) \(r8.name)")
                        // The embedding lookup of an interleaved matrix (any row, partial groups).
                        var rowPlain = [Float](repeating: 0, count: s.cols), rowR8 = rowPlain
                        w.withUnsafeBytes { smol_matrix_row_f32($0.baseAddress!, plain, s.cols, rows - 5, &rowPlain) }
                        pw.withUnsafeBytes { smol_matrix_row_f32($0.baseAddress!, r8, s.cols, rows - 5, &rowR8) }
                        #expect(rowPlain == rowR8 && !rowPlain.contains(where: \.isNaN), "row lookup, \(r8.name)")
                        #expect(c == d && !c.contains(where: \.isNaN), "sgemm, isa \(isa) \(r8.name)")
                    }
                }
            }
        }
    }

    /// Q4_K (scales unpacked to bytes) and Q6_K interleaved by 8 rows: decode against the plain
    /// type's reference (dequantized weights times the quantized x) and the plain kernel,
    /// batches equal to single rows; both GEMMs and the row lookup bit-identical to the plain
    /// layout's (the same dequantized values).
    @Test(arguments: [0, 1])
    func interleavedKQuantsMatchPlainOnEveryLevel(_ which: Int) {
        let (PLAIN, R8) = [(SMOL_Q4_K, SMOL_Q4_K_R8), (SMOL_Q6_K, SMOL_Q6_K_R8)][which]
        let bf16ctx = ComputeContext(threads: 2, precision: .bf16)
        KernelTests.forEachLevel { isa in
            for (si, s) in [Shape(rows: [8], cols: 256, n: 1), Shape(rows: [16, 24], cols: 768, n: 3)].enumerated() {
                let x = Self.activations(s.n, cols: s.cols, seed: UInt64(70 + si))
                let ws = s.rows.enumerated().map { Self.kBlocks(PLAIN, rows: $1, cols: s.cols, seed: UInt64(700 + 10 * si + $0)) }
                let packed = zip(ws, s.rows).map { w, rows -> [UInt8] in
                    var out = [UInt8](repeating: 0, count: rows * Int(smol_dtype_row_bytes(R8, s.cols)))
                    #expect(smol_repack_r8(nil, PLAIN, w.bytes, rows, s.cols, nil, &out) == 0)
                    return out
                }
                let ys = Self.decode(R8, s, x: x, ws: packed)
                let plain = Self.decode(PLAIN, s, x: x, ws: ws.map(\.bytes))
                let worst = Self.worstAgainstDequantized(s, x: x, values: ws.map(\.values), ys: ys, alongside: plain)
                #expect(worst < 1e-5, "isa \(isa) rows=\(s.rows) cols=\(s.cols): \(worst)")
                Self.expectBatchRowsEqualAlone(R8, s, x: x, ws: packed, ys: ys, "isa \(isa) \(R8.name)")
                let n = 7, xg = KernelTests.randoms(n * s.cols, seed: 6)
                for j in 0..<s.rows.count {
                    let rows = s.rows[j]
                    var a = [Float](repeating: 0, count: n * rows), b = a, c = a, d = a
                    let scratch = UnsafeMutablePointer<Float>.allocate(capacity: 2 * 16 * s.cols)
                    defer { scratch.deallocate() }
                    ws[j].bytes.withUnsafeBytes { wp in packed[j].withUnsafeBytes { pp in
                        var j1 = smol_matvec_job(W: wp.baseAddress!, dtype: PLAIN, y: &a, rows: rows)
                        var j2 = smol_matvec_job(W: pp.baseAddress!, dtype: R8, y: &b, rows: rows)
                        #expect(smol_gemm_bf16_multi(bf16ctx.pool, &j1, 1, xg, n, s.cols) == smol_gemm_bf16_multi(bf16ctx.pool, &j2, 1, xg, n, s.cols))
                        smol_gemm(Self.ctx.pool, wp.baseAddress!, PLAIN, xg, n, rows, s.cols, &c, scratch, 16 * s.cols)
                        smol_gemm(Self.ctx.pool, pp.baseAddress!, R8, xg, n, rows, s.cols, &d, scratch, 16 * s.cols)
                    } }
                    #expect(a == b, "bf16 GEMM, isa \(isa)")
                    var rowPlain = [Float](repeating: 0, count: s.cols), rowR8 = rowPlain
                    ws[j].bytes.withUnsafeBytes { smol_matrix_row_f32($0.baseAddress!, PLAIN, s.cols, rows - 3, &rowPlain) }
                    packed[j].withUnsafeBytes { smol_matrix_row_f32($0.baseAddress!, R8, s.cols, rows - 3, &rowR8) }
                    #expect(rowPlain == rowR8 && rowPlain == Array(ws[j].values[(rows - 3) * s.cols..<(rows - 2) * s.cols]))
                    #expect(c == d && !c.contains(where: \.isNaN), "sgemm, isa \(isa)")
                }
            }
        }
    }

    /// The integer prefill GEMM over interleaved blocks: one call for a group of matrices of
    /// every interleaved type sharing X (as q/k/v of a Q4_K_M file), batches that leave every
    /// tile remainder, on every level; each output row bit-identical to decoding that row alone
    /// (whose arithmetic the tests above check against the references). Declines, touching
    /// nothing, on the scalar level and for a weight that is not interleaved.
    @Test func integerGEMMGivesEveryRowItsDecodeBits() {
        let cols = 512
        // Groups of 8 rows: 8, 2, 3, 3, 1. With 2 threads the GEMM claims 2 groups at a time, so the
        // AVX512_VNNI pair tiles (16 rows) run for Q4_K, Q4_0 and Q4_1; Q4_1's last group, Q6_K
        // and the one-group Q4_K (tiles of 6 rows cut into the single tile's 4 + 2) take the
        // single-group tiles.
        let types: [(smol_dtype, smol_dtype, Int)] = [(SMOL_Q4_K, SMOL_Q4_K_R8, 64), (SMOL_Q4_0, SMOL_Q4_0_R8, 16),
                                                      (SMOL_Q4_1, SMOL_Q4_1_R8, 24), (SMOL_Q6_K, SMOL_Q6_K_R8, 24),
                                                      (SMOL_Q4_K, SMOL_Q4_K_R8, 8)]
        let packed = types.enumerated().map { i, t -> [UInt8] in
            let (plain, r8, rows) = t
            let w = plain == SMOL_Q4_K || plain == SMOL_Q6_K
                ? Self.kBlocks(plain, rows: rows, cols: cols, seed: UInt64(800 + i)).bytes
                : Self.blocks(plain, rows: rows, cols: cols, seed: UInt64(800 + i)).bytes
            var out = [UInt8](repeating: 0, count: rows * Int(smol_dtype_row_bytes(r8, cols)))
            #expect(smol_repack_r8(nil, plain, w, rows, cols, nil, &out) == 0)
            return out
        }
        let wps = packed.map { w -> UnsafeMutableRawPointer in
            let p = UnsafeMutableRawPointer.allocate(byteCount: w.count, alignment: 64)
            p.copyMemory(from: w, byteCount: w.count)
            return p
        }
        defer { wps.forEach { $0.deallocate() } }
        KernelTests.forEachLevel { isa in
            for n in [1, 5, 13, 30] {
                let x = Self.activations(n, cols: cols, seed: UInt64(40 + n))
                let yps = types.map { UnsafeMutablePointer<Float>.allocate(capacity: n * $0.2) }
                defer { yps.forEach { $0.deallocate() } }
                for (j, t) in types.enumerated() { yps[j].initialize(repeating: .nan, count: n * t.2) }
                let jobs = types.indices.map { smol_matvec_job(W: wps[$0], dtype: types[$0].1, y: yps[$0], rows: types[$0].2) }
                let done = smol_gemm_q8_multi(Self.ctx.pool, jobs, Int32(jobs.count), x, n, cols)
                if isa == 0 {  // SMOL_ISA_SCALAR
                    #expect(done == 0 && yps[0][0].isNaN, "the scalar level declines")
                    continue
                }
                #expect(done == 1, "isa \(isa) n=\(n)")
                for (j, t) in types.enumerated() {
                    let y = Array(UnsafeBufferPointer(start: yps[j], count: n * t.2))
                    for r in 0..<n {
                        let alone = Self.decode(t.1, Shape(rows: [t.2], cols: cols, n: 1), x: Array(x[r * cols..<(r + 1) * cols]),
                                                ws: [packed[j]])[0]
                        #expect(Array(y[r * t.2..<(r + 1) * t.2]) == alone, "isa \(isa) \(t.1.name) n=\(n) row \(r)")
                    }
                }
                // A plain (not interleaved) weight in the group: declined, outputs untouched.
                var plainJobs = jobs
                plainJobs[2].dtype = SMOL_Q4_0
                yps[0][0] = .nan
                #expect(smol_gemm_q8_multi(Self.ctx.pool, plainJobs, Int32(jobs.count), x, n, cols) == 0 && yps[0][0].isNaN)
            }
        }
    }
}
