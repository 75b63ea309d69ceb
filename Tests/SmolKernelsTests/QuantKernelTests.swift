import CSmolKernels
import Foundation
import Testing
@testable import SmolKernels

/// Kernels that compute from GGUF blocks (Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, K-quants), on every level this CPU has:
/// - decode (x quantized to 8-bit blocks, integer dot products) against a double-precision
///   reference of the same arithmetic, and against the dequantize-then-f32 product within the
///   bound that quantizing x allows;
/// - prefill GEMMs (bf16 panels, sgemm) against the dequantized weights.
@Suite(.serialized) struct QuantKernelTests {
    static let ctx = ComputeContext(threads: 2, precision: .f32)
    static let types: [(smol_dtype, UInt32)] = [(SMOL_Q8_0, 8), (SMOL_Q4_0, 2), (SMOL_Q4_1, 3), (SMOL_Q5_0, 6), (SMOL_Q5_1, 7)]
    static let kTypes: [smol_dtype] = [SMOL_Q4_K, SMOL_Q5_K, SMOL_Q6_K]

    /// K-quant super-blocks of random bits (every bit pattern of scales and values is a valid
    /// block) with finite f16 scales, and their values from the reference dequantizer.
    static func kBlocks(_ dt: smol_dtype, rows: Int, cols: Int, seed: UInt64) -> (bytes: [UInt8], values: [Float]) {
        var rng = KernelTests.RNG(s: seed)
        let bb = Int(smol_dtype_row_bytes(dt, 256)), n = rows * cols / 256
        var bytes = (0..<(n * bb)).map { _ in UInt8(truncatingIfNeeded: Int((rng.next() + 1) * 1000)) }
        for b in 0..<n {
            let d = smol_f32_to_f16(0.001 + abs(rng.next()) * 0.01), dmin = smol_f32_to_f16(abs(rng.next()) * 0.01)
            let at = dt == SMOL_Q6_K ? [(208, d)] : [(0, d), (2, dmin)]
            for (o, h) in at { bytes[b * bb + o] = UInt8(h & 0xFF); bytes[b * bb + o + 1] = UInt8(h >> 8) }
        }
        var values = [Float](repeating: 0, count: rows * cols)
        #expect(smol_dequantize(smol_dtype_ggml(dt), bytes, &values, values.count) == 0)
        return (bytes, values)
    }

    /// Random weights [rows, cols] quantized by ggml's reference quantizer, and their
    /// dequantized values.
    static func blocks(_ dt: smol_dtype, rows: Int, cols: Int, seed: UInt64) -> (bytes: [UInt8], values: [Float]) {
        var f = KernelTests.randoms(rows * cols, seed: seed)
        // A constant block and a zero block: d = 0 (and for Q4_1 only the minimum) must work.
        if f.count >= 64 { for i in 0..<32 { f[i] = 0 }; for i in 32..<64 { f[i] = 0.25 } }
        var bytes = [UInt8](repeating: 0, count: rows * Int(smol_dtype_row_bytes(dt, cols)))
        #expect(smol_quantize(smol_dtype_ggml(dt), f, &bytes, f.count) == 0)
        var values = [Float](repeating: 0, count: f.count)
        #expect(smol_dequantize(smol_dtype_ggml(dt), bytes, &values, f.count) == 0)
        return (bytes, values)
    }

    /// x with a zero block, a block of one repeated value and large/small magnitudes.
    static func activations(_ n: Int, cols: Int, seed: UInt64) -> [Float] {
        var x = KernelTests.randoms(n * cols, seed: seed).enumerated().map { $1 * ($0 % 7 == 0 ? 40 : 1) }
        for i in 0..<min(32, x.count) { x[i] = 0 }
        if x.count >= 64 { for i in 32..<64 { x[i] = -3 } }
        return x
    }

    /// What smol_quantize_x must produce: q = round(x / d) half away from zero, d = amax / 127.
    static func quantized(_ x: ArraySlice<Float>) -> (q: [Int32], d: [Float], s: [Int32]) {
        var q: [Int32] = [], d: [Float] = [], s: [Int32] = []
        let xs = Array(x)
        for b in stride(from: 0, to: xs.count, by: 32) {
            let amax = xs[b..<b + 32].reduce(Float(0)) { max($0, abs($1)) }
            let di = amax / 127, id: Float = di != 0 ? 1 / di : 0
            let qb = xs[b..<b + 32].map { Int32(($0 * id).rounded(.toNearestOrAwayFromZero)) }
            q += qb
            d.append(di)
            s.append(qb.reduce(0, +))
        }
        return (q, d, s)
    }

    /// On every level (the AVX2 quantizer must give the scalar rule's bits): random blocks, a zero
    /// block, a constant block, and a block of exact ties (amax 127, so d = 1 and q = round(x)):
    /// halves round away from zero, values just under a half round toward it.
    @Test func activationQuantizationIsLlamaCppsQ8() {
        let ties: [Float] = [127, -127, 0.5, -0.5, 1.5, -1.5, 2.5, -2.5, 0.49999997, -0.49999997, 126.5, -126.5,
                             3.4999998, -3.4999998, 0, -0.0, 64.5, -64.5, 1e-30, -1e-30, 99.50001, -99.50001,
                             7, -7, 0.25, -0.75, 10.5, -11.5, 120.49999, -120.49999, 12.5, -13.5]
        KernelTests.forEachLevel { isa in
            for cols in [96, 2048] {
                let x = Self.activations(1, cols: cols - 32, seed: 3 + UInt64(cols)) + ties
                var buf = [UInt8](repeating: 0xAB, count: smol_qx_bytes(cols))
                smol_quantize_x(x, cols, &buf)
                let ref = Self.quantized(x[...])
                buf.withUnsafeBytes { raw in
                    let q = (0..<cols).map { Int32(raw.load(fromByteOffset: $0, as: Int8.self)) }
                    #expect(q == ref.q, "isa \(isa) cols \(cols)")
                    let off = (cols + 63) / 64 * 64, nb = cols / 32
                    let d = (0..<nb).map { raw.load(fromByteOffset: off + 4 * $0, as: Float.self) }
                    let ds = (0..<nb).map { raw.load(fromByteOffset: off + 4 * nb + 4 * $0, as: Float.self) }
                    let s = (0..<nb).map { raw.load(fromByteOffset: off + 8 * nb + 4 * $0, as: Int32.self) }
                    #expect(d == ref.d, "isa \(isa) cols \(cols)")
                    #expect(s == ref.s, "isa \(isa) cols \(cols)")
                    #expect(ds == zip(ref.d, ref.s).map { $0 * Float($1) })
                    let s16 = (0..<(2 * nb)).map { raw.load(fromByteOffset: off + 12 * nb + 4 * $0, as: Int32.self) }
                    #expect(s16 == (0..<(2 * nb)).map { h in ref.q[h * 16..<(h + 1) * 16].reduce(0, +) })
                }
                #expect(Array(ref.q[(cols - 32)..<(cols - 20)]) == [127, -127, 1, -1, 2, -2, 3, -3, 0, 0, 127, -127])
                #expect(ref.q.allSatisfy { abs($0) <= 127 })
                #expect(ref.s[0] == 0 && ref.d[0] == 0, "a zero block has scale 0")
            }
        }
    }

    @Test func rowBytesAndConversion() {
        #expect(smol_dtype_row_bytes(SMOL_Q8_0, 64) == 68)
        #expect(smol_dtype_row_bytes(SMOL_Q4_0, 64) == 36)
        #expect(smol_dtype_row_bytes(SMOL_Q4_1, 96) == 60)
        #expect(smol_dtype_row_bytes(SMOL_Q4_0, 40) == 0, "not whole blocks")
        #expect(smol_dtype_row_bytes(SMOL_BF16, 40) == 80)
        #expect(smol_dtype_row_bytes(SMOL_Q4_K, 512) == 288 && smol_dtype_row_bytes(SMOL_Q6_K, 256) == 210)
        #expect(smol_dtype_row_bytes(SMOL_Q5_K, 576) == 0, "576 is not whole 256-value super-blocks")
        for (dt, _) in Self.types {
            let (bytes, values) = Self.blocks(dt, rows: 3, cols: 64, seed: 9)
            var out = [Float](repeating: .nan, count: 64)
            // Row 1, as the embedding lookup reads it.
            bytes.withUnsafeBytes { smol_convert_to_f32($0.baseAddress! + Int(smol_dtype_row_bytes(dt, 64)), dt, &out, 64) }
            #expect(out == Array(values[64..<128]), "\(dt.name)")
        }
    }

    /// Reference of the kernels' arithmetic in double: per block d_w d_x sum(q_w q_x) (Q4_0:
    /// q_w - 8; Q5_0: q_w - 16; Q4_1/Q5_1: plus m_w d_x s_x), and the magnitude sum of the terms.
    static func reference(_ dt: smol_dtype, row: ArraySlice<UInt8>, x: ArraySlice<Float>) -> (value: Double, mag: Double) {
        let qx = quantized(x)
        let w = Array(row), bb = Int(smol_dtype_row_bytes(dt, 32))
        func f16(_ o: Int) -> Double { Double(smol_f16_to_f32(UInt16(w[o]) | UInt16(w[o + 1]) << 8)) }
        var v = 0.0, mag = 0.0
        for b in 0..<qx.d.count {
            let o = b * bb
            var isum = 0
            for j in 0..<32 {
                let qw: Int
                switch dt {
                case SMOL_Q8_0: qw = Int(Int8(bitPattern: w[o + 2 + j]))
                case SMOL_Q4_0: qw = Int(j < 16 ? w[o + 2 + j] & 15 : w[o + 2 + j - 16] >> 4) - 8
                case SMOL_Q5_0, SMOL_Q5_1:
                    let qs = o + (dt == SMOL_Q5_0 ? 6 : 8), hb = qs - 4
                    let qh = UInt32(w[hb]) | UInt32(w[hb + 1]) << 8 | UInt32(w[hb + 2]) << 16 | UInt32(w[hb + 3]) << 24
                    qw = Int(j < 16 ? w[qs + j] & 15 : w[qs + j - 16] >> 4) + Int((qh >> UInt32(j)) & 1) * 16 - (dt == SMOL_Q5_0 ? 16 : 0)
                default: qw = Int(j < 16 ? w[o + 4 + j] & 15 : w[o + 4 + j - 16] >> 4)
                }
                isum += qw * Int(qx.q[b * 32 + j])
            }
            let t = f16(o) * Double(qx.d[b]) * Double(isum)
            v += t
            mag += abs(t)
            if dt == SMOL_Q4_1 || dt == SMOL_Q5_1 {
                let m = f16(o + 2) * Double(qx.d[b]) * Double(qx.s[b])
                v += m
                mag += abs(m)
            }
        }
        return (v, mag)
    }

    struct Shape: Sendable { let rows: [Int]; let cols: Int; let n: Int }
    static let shapes = [Shape(rows: [1], cols: 32, n: 1), Shape(rows: [7, 5], cols: 96, n: 3),
                         Shape(rows: [37], cols: 2080, n: 4), Shape(rows: [64, 16, 16], cols: 576, n: 2)]

    /// Runs smol_matmul_multi for one type and shape: outputs per job, [n, rows].
    static func decode(_ dt: smol_dtype, _ s: Shape, x: [Float], ws: [[UInt8]]) -> [[Float]] {
        let yps = s.rows.map { r -> UnsafeMutablePointer<Float> in
            let p = UnsafeMutablePointer<Float>.allocate(capacity: s.n * r)
            p.initialize(repeating: .nan, count: s.n * r)
            return p
        }
        let wps = ws.map { w -> UnsafeMutableRawPointer in
            let p = UnsafeMutableRawPointer.allocate(byteCount: w.count, alignment: 64)
            p.copyMemory(from: w, byteCount: w.count)
            return p
        }
        defer { yps.forEach { $0.deallocate() }; wps.forEach { $0.deallocate() } }
        let jobs = (0..<ws.count).map { smol_matvec_job(W: wps[$0], dtype: dt, y: yps[$0], rows: s.rows[$0]) }
        smol_matmul_multi(ctx.pool, jobs, Int32(jobs.count), x, s.n, s.cols)
        return (0..<ws.count).map { Array(UnsafeBufferPointer(start: yps[$0], count: s.n * s.rows[$0])) }
    }

    /// Largest error of decode outputs ys against `reference` of the plain blocks, relative to
    /// the magnitude sum of each output's terms.
    static func worstAgainstReference(_ dt: smol_dtype, _ s: Shape, x: [Float], plain ws: [[UInt8]], ys: [[Float]]) -> Double {
        let rb = Int(smol_dtype_row_bytes(dt, s.cols))
        var worst = 0.0
        for (j, rows) in s.rows.enumerated() {
            for t in 0..<s.n {
                for r in 0..<rows {
                    let ref = reference(dt, row: ws[j][r * rb..<(r + 1) * rb], x: x[t * s.cols..<(t + 1) * s.cols])
                    worst = max(worst, abs(Double(ys[j][t * rows + r]) - ref.value) / (ref.mag + 1e-30))
                }
            }
        }
        return worst
    }

    /// Largest error of decode outputs ys (and of `alongside`, another kernel's outputs) against
    /// the dequantized weights `values` times x as the kernels quantize it (d_x q_x), in double,
    /// relative to the magnitude sum of each output's terms.
    static func worstAgainstDequantized(_ s: Shape, x: [Float], values: [[Float]], ys: [[Float]], alongside: [[Float]]? = nil) -> Double {
        var worst = 0.0
        for t in 0..<s.n {
            let qx = quantized(x[t * s.cols..<(t + 1) * s.cols])
            let xh = (0..<s.cols).map { Double(qx.d[$0 / 32]) * Double(qx.q[$0]) }
            for (j, rows) in s.rows.enumerated() {
                for r in 0..<rows {
                    var ref = 0.0, mag = 0.0
                    for k in 0..<s.cols { let p = Double(values[j][r * s.cols + k]) * xh[k]; ref += p; mag += abs(p) }
                    worst = max(worst, abs(Double(ys[j][t * rows + r]) - ref) / (mag + 1e-30))
                    if let other = alongside {
                        worst = max(worst, abs(Double(ys[j][t * rows + r]) - Double(other[j][t * rows + r])) / (mag + 1e-30))
                    }
                }
            }
        }
        return worst
    }

    /// Every input row of a batch gets the bits it gets alone.
    static func expectBatchRowsEqualAlone(_ dt: smol_dtype, _ s: Shape, x: [Float], ws: [[UInt8]], ys: [[Float]], _ what: String) {
        for t in 0..<s.n {
            let alone = decode(dt, Shape(rows: s.rows, cols: s.cols, n: 1), x: Array(x[t * s.cols..<(t + 1) * s.cols]), ws: ws)
            for (j, rows) in s.rows.enumerated() {
                #expect(Array(ys[j][t * rows..<(t + 1) * rows]) == alone[j], "\(what): row \(t) of \(s.n)")
            }
        }
    }

    @Test func decodeMatchesQuantizedArithmeticOnEveryLevel() {
        KernelTests.forEachLevel { isa in
            for (dt, _) in Self.types {
                for (si, s) in Self.shapes.enumerated() {
                    let x = Self.activations(s.n, cols: s.cols, seed: UInt64(si))
                    let ws = s.rows.enumerated().map { Self.blocks(dt, rows: $1, cols: s.cols, seed: UInt64(10 * si + $0)).bytes }
                    let ys = Self.decode(dt, s, x: x, ws: ws)
                    let worst = Self.worstAgainstReference(dt, s, x: x, plain: ws, ys: ys)
                    // Exact integer sums; f32 rounding of one product and one add per block.
                    #expect(worst < 1e-6, "isa \(isa) \(dt.name) rows=\(s.rows) cols=\(s.cols) n=\(s.n): \(worst)")
                    Self.expectBatchRowsEqualAlone(dt, s, x: x, ws: ws, ys: ys, "isa \(isa) \(dt.name)")
                }
            }
        }
    }

    /// K-quants on every level: against the dequantized weights times x as the kernels quantize
    /// it (d_x q_x), in double. The kernels' integer sums are exact, so what differs is f32
    /// rounding of the dequantized values and of one product per 16 or 32 values.
    @Test func kQuantDecodeMatchesDequantizedWeightsOnEveryLevel() {
        KernelTests.forEachLevel { isa in
            for dt in Self.kTypes {
                for (si, s) in [Shape(rows: [5], cols: 256, n: 1), Shape(rows: [9, 4], cols: 768, n: 3), Shape(rows: [33], cols: 2304, n: 2)].enumerated() {
                    let x = Self.activations(s.n, cols: s.cols, seed: UInt64(40 + si))
                    let ws = s.rows.enumerated().map { Self.kBlocks(dt, rows: $1, cols: s.cols, seed: UInt64(60 + 10 * si + $0)) }
                    let ys = Self.decode(dt, s, x: x, ws: ws.map(\.bytes))
                    let worst = Self.worstAgainstDequantized(s, x: x, values: ws.map(\.values), ys: ys)
                    #expect(worst < 1e-5, "isa \(isa) \(dt.name) rows=\(s.rows) cols=\(s.cols) n=\(s.n): \(worst)")
                    Self.expectBatchRowsEqualAlone(dt, s, x: x, ws: ws.map(\.bytes), ys: ys, "isa \(isa) \(dt.name)")
                }
            }
        }
    }

    /// Against the dequantized weights in f32 arithmetic: the only difference is x's
    /// quantization, at most d_x / 2 = amax / 254 per element, so the error of a row is bounded
    /// by sum over blocks of amax_b / 254 * sum |w| over the block (plus f32 rounding).
    @Test func decodeIsWithinTheActivationQuantizationBoundOfDequantizedF32() {
        KernelTests.forEachLevel { isa in
            for (dt, _) in Self.types {
                let s = Shape(rows: [48], cols: 1024, n: 1)
                let x = Self.activations(1, cols: s.cols, seed: 77)
                let w = Self.blocks(dt, rows: 48, cols: s.cols, seed: 78)
                let y = Self.decode(dt, s, x: x, ws: [w.bytes])[0]
                var over = 0, sumErr = 0.0, sumBound = 0.0
                for r in 0..<48 {
                    var ref = 0.0, bound = 0.0, mag = 0.0
                    for b in 0..<(s.cols / 32) {
                        let xs = x[b * 32..<(b + 1) * 32]
                        let amax = Double(xs.reduce(Float(0)) { max($0, abs($1)) })
                        var wabs = 0.0
                        for k in b * 32..<(b + 1) * 32 {
                            let p = Double(w.values[r * s.cols + k]) * Double(x[k])
                            ref += p
                            mag += abs(p)
                            wabs += abs(Double(w.values[r * s.cols + k]))
                        }
                        bound += amax / 254 * wabs
                    }
                    let err = abs(Double(y[r]) - ref)
                    if err > bound * 1.001 + 1e-5 * mag { over += 1 }
                    sumErr += err
                    sumBound += bound
                }
                #expect(over == 0, "isa \(isa) \(dt.name): \(over) rows beyond the bound")
                // The bound is a worst case; typical errors (random rounding) are far below it.
                #expect(sumErr < 0.5 * sumBound, "isa \(isa) \(dt.name): mean error \(sumErr / 48) vs bound \(sumBound / 48)")
            }
        }
    }

    /// Prefill: the bf16 GEMM dequantizes each panel to bf16 (nearest even) as it packs it, so it
    /// must equal the bf16 GEMM's reference on the dequantized-then-rounded weights; sgemm (the
    /// f32 path) must equal the dequantized f32 weights' product.
    @Test func gemmsMatchDequantizedWeightsOnEveryLevel() {
        let bf16ctx = ComputeContext(threads: 2, precision: .bf16)
        KernelTests.forEachLevel { isa in
            for dt in Self.types.map(\.0) + Self.kTypes {
                let shapes = smol_dtype_block_size(dt) == 256 ? [(5, 256, [70]), (13, 1280, [130, 64])]
                    : [(5, 64, [70]), (13, 1056, [130, 64]), (9, 576, [200])]
                for (n, cols, rows) in shapes {
                    let x = KernelTests.randoms(n * cols, seed: UInt64(n + cols))
                    let ws = rows.enumerated().map {
                        smol_dtype_block_size(dt) == 256 ? Self.kBlocks(dt, rows: $1, cols: cols, seed: UInt64(500 + $0))
                            : Self.blocks(dt, rows: $1, cols: cols, seed: UInt64(500 + $0))
                    }
                    let wps = ws.map { w -> UnsafeMutableRawPointer in
                        let p = UnsafeMutableRawPointer.allocate(byteCount: w.bytes.count, alignment: 64)
                        p.copyMemory(from: w.bytes, byteCount: w.bytes.count)
                        return p
                    }
                    let yps = rows.map { r -> UnsafeMutablePointer<Float> in
                        let p = UnsafeMutablePointer<Float>.allocate(capacity: n * r)
                        p.initialize(repeating: .nan, count: n * r)
                        return p
                    }
                    defer { wps.forEach { $0.deallocate() }; yps.forEach { $0.deallocate() } }
                    let jobs = (0..<rows.count).map { smol_matvec_job(W: wps[$0], dtype: dt, y: yps[$0], rows: rows[$0]) }
                    let done = smol_gemm_bf16_multi(bf16ctx.pool, jobs, Int32(jobs.count), x, n, cols)
                    if Int(isa) < SMOL_ISA_AVX512_BF16 {
                        #expect(done == 0)
                    } else {
                        #expect(done == 1)
                        let xr = x.map { Double(smol_bf16_to_f32(smol_f32_to_bf16($0))) }
                        var worst = 0.0
                        for (j, r) in rows.enumerated() {
                            let w = ws[j].values.map { Double(smol_bf16_to_f32(smol_f32_to_bf16($0))) }
                            for t in 0..<n {
                                for o in 0..<r {
                                    var ref = 0.0, mag = 0.0
                                    for k in 0..<cols { let p = w[o * cols + k] * xr[t * cols + k]; ref += p; mag += abs(p) }
                                    worst = max(worst, abs(Double(yps[j][t * r + o]) - ref) / (mag + 1e-30))
                                }
                            }
                        }
                        #expect(worst < 2e-6, "isa \(isa) \(dt.name) n=\(n) cols=\(cols): \(worst)")
                    }
                    // sgemm with the blocks dequantized to f32 per thread.
                    let scratchPer = 16 * cols
                    let scratch = UnsafeMutablePointer<Float>.allocate(capacity: 2 * scratchPer)
                    defer { scratch.deallocate() }
                    var worst = 0.0
                    for (j, r) in rows.enumerated() {
                        smol_gemm(Self.ctx.pool, wps[j], dt, x, n, r, cols, yps[j], scratch, scratchPer)
                        for t in 0..<n {
                            for o in 0..<r {
                                var ref = 0.0, mag = 0.0
                                for k in 0..<cols {
                                    let p = Double(ws[j].values[o * cols + k]) * Double(x[t * cols + k])
                                    ref += p
                                    mag += abs(p)
                                }
                                worst = max(worst, abs(Double(yps[j][t * r + o]) - ref) / (mag + 1e-30))
                            }
                        }
                    }
                    #expect(worst < 1e-5, "sgemm isa \(isa) \(dt.name) n=\(n) cols=\(cols): \(worst)")
                }
            }
        }
    }
}
