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

    /// Max error of smol_attention and smol_attention_prefill against the reference.
    static func check(_ s: Shape, _ dt: smol_dtype) -> (decode: Double, prefill: Double) {
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
        return (err(out), err(outP))
    }

    @Test(arguments: [SMOL_F32.rawValue, SMOL_BF16.rawValue])
    func matchesReferenceOnEveryLevel(_ raw: UInt32) {
        let dt = smol_dtype(rawValue: raw)
        for s in Self.shapes {
            KernelTests.forEachLevel { isa in
                // The scalar decode path is quadratic in a debug build: long contexts once, at the best level.
                if s.nq >= 112 && isa < ComputeContext.bestISA { return }
                let (e1, e2) = Self.check(s, dt)
                #expect(e1 < 2e-5, "decode entry, isa \(isa), \(s), kv \(raw): \(e1)")
                #expect(e2 < 2e-5, "prefill entry, isa \(isa), \(s), kv \(raw): \(e2)")
            }
        }
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
