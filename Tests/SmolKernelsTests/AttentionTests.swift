import CSmolKernels
import Foundation
import Testing
@testable import SmolKernels

/// Causal GQA attention over an f32 or bf16 KV cache, decode and prefill entry points, on every
/// level: against a double-precision reference over the cache's stored values. Context lengths
/// 1, 17, 512 and 4100 (several 64-key blocks, a partial last block), GQA groups of 3 and 4,
/// head_dim 64 and 128, queries that start mid-context (a later prefill chunk).
@Suite(.serialized) struct AttentionTests {
    static let ctx = ComputeContext(threads: 2)

    struct Shape: CustomStringConvertible {
        let heads: Int, kv: Int, d: Int, pos0: Int, nq: Int
        var description: String { "h\(heads)/kv\(kv) d\(d) pos0 \(pos0) nq \(nq)" }
    }

    static let shapes: [Shape] = [
        Shape(heads: 9, kv: 3, d: 64, pos0: 0, nq: 1), Shape(heads: 16, kv: 4, d: 128, pos0: 0, nq: 17),
        Shape(heads: 9, kv: 3, d: 64, pos0: 0, nq: 512), Shape(heads: 16, kv: 4, d: 128, pos0: 400, nq: 112),
        Shape(heads: 9, kv: 3, d: 64, pos0: 4083, nq: 17), Shape(heads: 8, kv: 2, d: 128, pos0: 4099, nq: 1),
    ]

    /// Max error of smol_attention and smol_attention_prefill against the reference, and of the
    /// bf16 flash kernel (nil where it declines), with the largest |reference| value.
    static func check(_ s: Shape, _ dt: smol_dtype) -> (decode: Double, prefill: Double, bf16: Double?, mean16: Double?, scale: Double) {
        let stride = s.pos0 + s.nq + 3, n = s.kv * stride * s.d
        let q = KernelTests.randoms(s.nq * s.heads * s.d, seed: 31).map { $0 * 2 }
        let kf = KernelTests.randoms(n, seed: 32), vf = KernelTests.randoms(n, seed: 33)
        // The cache as stored, and the values the reference must use.
        var kStore = [UInt8](repeating: 0, count: n * (dt == SMOL_BF16 ? 2 : 4)), vStore = kStore
        kf.withUnsafeBufferPointer { smol_store_row($0.baseAddress, &kStore, dt, n) }
        vf.withUnsafeBufferPointer { smol_store_row($0.baseAddress, &vStore, dt, n) }
        var kv = [Float](repeating: 0, count: n), vv = kv
        kStore.withUnsafeBytes { smol_convert_to_f32($0.baseAddress, dt, &kv, n) }
        vStore.withUnsafeBytes { smol_convert_to_f32($0.baseAddress, dt, &vv, n) }
        let scale = 1 / Float(s.d).squareRoot()
        var ref = [Double](repeating: 0, count: s.nq * s.heads * s.d)
        let group = s.heads / s.kv
        for t in 0..<s.nq {
            for h in 0..<s.heads {
                let g = h / group, len = s.pos0 + t + 1, qo = (t * s.heads + h) * s.d
                var sc = [Double](repeating: 0, count: len)
                for j in 0..<len {
                    let ko = (g * stride + j) * s.d
                    var acc = 0.0
                    for i in 0..<s.d { acc += Double(q[qo + i]) * Double(kv[ko + i]) }
                    sc[j] = acc * Double(scale)
                }
                let mx = sc.max()!
                var sum = 0.0
                for j in 0..<len { sc[j] = exp(sc[j] - mx); sum += sc[j] }
                for j in 0..<len {
                    let w = sc[j] / sum, vo = (g * stride + j) * s.d
                    for i in 0..<s.d { ref[qo + i] += w * Double(vv[vo + i]) }
                }
            }
        }
        func err(_ out: [Float]) -> Double { zip(out, ref).map { abs(Double($0) - $1) }.max()! }
        var out = [Float](repeating: .nan, count: ref.count), outP = out
        var scratch = [Float](repeating: 0, count: 2 * (s.pos0 + s.nq))
        let per = smol_attention_prefill_scratch(s.nq, s.pos0)
        var scratchP = [Float](repeating: 0, count: 2 * per)
        kStore.withUnsafeBytes { kb in
            vStore.withUnsafeBytes { vb in
                smol_attention(ctx.pool, q, kb.baseAddress, vb.baseAddress, dt, &out, s.nq, s.pos0, s.heads, s.kv, s.d, stride,
                               scale, &scratch)
                smol_attention_prefill(ctx.pool, q, kb.baseAddress, vb.baseAddress, dt, &outP, s.nq, s.pos0, s.heads, s.kv, s.d,
                                       stride, scale, &scratchP, per)
            }
        }
        var outB = [Float](repeating: .nan, count: ref.count)
        let did = kStore.withUnsafeBytes { kb in
            vStore.withUnsafeBytes { vb in
                smol_attention_flash_bf16(ctx.pool, q, kb.baseAddress, vb.baseAddress, dt, &outB, s.nq, s.pos0, s.heads, s.kv, s.d,
                                          stride, scale)
            }
        }
        let mean = did == 1 ? zip(outB, ref).map { abs(Double($0) - $1) }.reduce(0, +) / Double(ref.count) : nil
        return (err(out), err(outP), did == 1 ? err(outB) : nil, mean, ref.map(abs).max()!)
    }

    @Test(arguments: [SMOL_F32.rawValue, SMOL_BF16.rawValue])
    func matchesReferenceOnEveryLevel(_ raw: UInt32) {
        let dt = smol_dtype(rawValue: raw)
        for s in Self.shapes {
            KernelTests.forEachLevel { isa in
                // The scalar decode path is quadratic in a debug build: long contexts once, at the best level.
                if s.nq >= 112 && isa < ComputeContext.bestISA { return }
                let (e1, e2, _, _, _) = Self.check(s, dt)
                #expect(e1 < 2e-5, "decode entry, isa \(isa), \(s), kv \(raw): \(e1)")
                #expect(e2 < 2e-5, "prefill entry, isa \(isa), \(s), kv \(raw): \(e2)")
            }
        }
    }

    /// The bf16 flash kernel (--precision bf16 over a bf16 cache, AVX512_BF16 CPUs): q and the
    /// softmax numerators rounded to bf16 (relative error 2^-9 each), so scores move by about
    /// |q||k| 2^-9 and weights by as much. Measured (Zen 4), relative to the largest output: max
    /// error 0.14-0.21%, mean 0.008-0.041% (the long context's mean is the tightest, 2.4x below its
    /// bound); a wrong block, mask or pair moves them by far more.
    /// It must decline an f32 cache, odd head_dim and CPUs without AVX512_BF16.
    @Test func bf16FlashIsWithinBF16Rounding() throws {
        guard ComputeContext.bestISA >= Int32(SMOL_ISA_AVX512_BF16) else {
            // A CPU without AVX512_BF16: the kernel must decline, so callers take the f32 path.
            var out = [Float](repeating: .nan, count: 4 * 64)
            let f = [Float](repeating: 1, count: 4 * 64), h = [UInt16](repeating: 0x3f80, count: 4 * 64)
            #expect(smol_attention_flash_bf16(Self.ctx.pool, f, h, h, SMOL_BF16, &out, 1, 0, 4, 1, 64, 1, 0.1) == 0,
                    "no AVX512_BF16 on this CPU: the bf16 kernel must decline")
            return
        }
        for s in Self.shapes.filter({ $0.nq >= 17 }) + [Shape(heads: 4, kv: 4, d: 72, pos0: 70, nq: 61), Shape(heads: 4, kv: 1, d: 64, pos0: 0, nq: 63)] {
            let (_, _, e, mean, top) = Self.check(s, SMOL_BF16)
            let err = try #require(e, "\(s): declined"), m = mean!
            #expect(err < 0.01 * top, "\(s): max error \(err) of outputs up to \(top)")
            #expect(m < 1e-3 * top, "\(s): mean error \(m) of outputs up to \(top)")
        }
        // Chunks give the same bits as one call (each query's blocks and order are its own).
        let s = Shape(heads: 16, kv: 4, d: 128, pos0: 0, nq: 150), stride = 160, n = s.kv * stride * s.d
        let q = KernelTests.randoms(s.nq * s.heads * s.d, seed: 41)
        var kb = [UInt16](repeating: 0, count: n), vb = kb
        KernelTests.randoms(n, seed: 42).withUnsafeBufferPointer { smol_store_row($0.baseAddress, &kb, SMOL_BF16, n) }
        KernelTests.randoms(n, seed: 43).withUnsafeBufferPointer { smol_store_row($0.baseAddress, &vb, SMOL_BF16, n) }
        var whole = [Float](repeating: .nan, count: q.count), parts = whole
        #expect(smol_attention_flash_bf16(Self.ctx.pool, q, kb, vb, SMOL_BF16, &whole, 150, 0, 16, 4, 128, stride, 0.1) == 1)
        let split = 97 * s.heads * s.d
        parts.withUnsafeMutableBufferPointer { o in
            q.withUnsafeBufferPointer { qp in
                _ = smol_attention_flash_bf16(Self.ctx.pool, qp.baseAddress, kb, vb, SMOL_BF16, o.baseAddress, 97, 0, 16, 4, 128, stride, 0.1)
                _ = smol_attention_flash_bf16(Self.ctx.pool, qp.baseAddress! + split, kb, vb, SMOL_BF16, o.baseAddress! + split, 53, 97,
                                              16, 4, 128, stride, 0.1)
            }
        }
        #expect(whole == parts)
        var out = [Float](repeating: .nan, count: 4 * 64)
        let f = [Float](repeating: 1, count: 4 * 64), h = [UInt16](repeating: 0x3f80, count: 4 * 64)
        #expect(smol_attention_flash_bf16(Self.ctx.pool, f, f, f, SMOL_F32, &out, 1, 0, 4, 1, 64, 1, 0.1) == 0, "f32 cache")
        #expect(smol_attention_flash_bf16(Self.ctx.pool, f, h, h, SMOL_BF16, &out, 1, 0, 4, 1, 63, 1, 0.1) == 0, "odd head_dim")
        let below = ComputeContext.withISA(Int32(SMOL_ISA_AVX512)) {
            smol_attention_flash_bf16(Self.ctx.pool, f, h, h, SMOL_BF16, &out, 1, 0, 4, 1, 64, 1, 0.1)
        }
        #expect(below == 0, "below avx512bf16")
        #expect(out.allSatisfy { $0.isNaN })
    }

    /// The flash kernel declines below AVX-512 (the caller then takes the sgemm path) and for
    /// shapes it does not support, writing nothing.
    @Test func flashDeclinesWhatItCannotDo() {
        let q = [Float](repeating: 1, count: 4 * 300), k = [Float](repeating: 1, count: 300), v = k
        var out = [Float](repeating: .nan, count: 4 * 300)
        let below = ComputeContext.withISA(Int32(SMOL_ISA_AVX2)) {
            smol_attention_flash(Self.ctx.pool, q, k, v, SMOL_F32, &out, 1, 0, 4, 1, 64, 1, 0.1)
        }
        #expect(below == 0, "below avx512")
        let declined: [Int32] = ComputeContext.withISA(ComputeContext.bestISA) {
            [smol_attention_flash(Self.ctx.pool, q, k, v, SMOL_F32, &out, 1, 0, 4, 1, 300, 1, 0.1),  // head_dim 300
             smol_attention_flash(Self.ctx.pool, q, k, v, SMOL_F32, &out, 1, 0, 4, 3, 64, 1, 0.1),   // 4 heads over 3 kv
             smol_attention_flash(Self.ctx.pool, q, k, v, SMOL_F16, &out, 1, 0, 4, 1, 64, 1, 0.1)]   // f16 cache
        }
        #expect(declined == [0, 0, 0])
        #expect(out.allSatisfy { $0.isNaN })
    }
}
