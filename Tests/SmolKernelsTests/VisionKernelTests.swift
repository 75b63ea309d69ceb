import CSmolKernels
import Foundation
import Testing
@testable import SmolKernels

/// The SigLIP kernels against plain double-precision references.
@Suite struct VisionKernelTests {
    static let ctx = ComputeContext(threads: 2)

    @Test func layerNormMatchesReference() {
        let n = 37, dim = 72  // n above the threaded cutoff
        let x = KernelTests.randoms(n * dim, seed: 11).map { $0 * 3 + 0.5 }
        let w = KernelTests.randoms(dim, seed: 12), b = KernelTests.randoms(dim, seed: 13)
        var y = [Float](repeating: 0, count: n * dim)
        smol_layernorm(Self.ctx.pool, x, w, b, &y, n, dim, 1e-6)
        for r in 0..<n {
            let row = x[(r * dim)..<((r + 1) * dim)].map(Double.init)
            let mean = row.reduce(0, +) / Double(dim)
            let variance = row.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(dim)
            for i in 0..<dim {
                let ref = (row[i] - mean) / (variance + 1e-6).squareRoot() * Double(w[i]) + Double(b[i])
                #expect(abs(Double(y[r * dim + i]) - ref) < 1e-5, "row \(r) col \(i)")
            }
        }
    }

    /// Every instruction set (the AVX2 path computes tanh through a vector exp).
    @Test func geluTanhMatchesReference() {
        let x0 = KernelTests.randoms(20003, seed: 14).map { $0 * 12 } + [0, 1e-30, -1e-8, 30, -30, 1e4, -1e4]
        for level in KernelTests.isaLevels { ComputeContext.withISA(level) {
            var x = x0
            smol_gelu_tanh(Self.ctx.pool, &x, x0.count)
            for (got, v) in zip(x, x0) {
                let d = Double(v)
                let ref = 0.5 * d * (1 + tanh((2 / Double.pi).squareRoot() * (d + 0.044715 * d * d * d)))
                #expect(abs(Double(got) - ref) <= 1e-6 * max(1, abs(ref)), "isa \(level): gelu(\(v)) = \(got), want \(ref)")
            }
        } }
    }

    @Test func biasAddsToEveryRow() {
        var x = [Float](repeating: 1, count: 12)
        smol_add_bias(&x, [1, 2, 3, 4], 3, 4)
        #expect(x == [2, 3, 4, 5, 2, 3, 4, 5, 2, 3, 4, 5])
    }

    @Test(arguments: [(1, 5, 1, 4), (3, 49, 2, 16), (2, 81, 3, 8)])
    func fullAttentionMatchesReference(_ shape: (Int, Int, Int, Int)) {
        let (batch, seq, heads, d) = shape
        let width = heads * d, count = batch * seq * width
        let q = KernelTests.randoms(count, seed: 21), k = KernelTests.randoms(count, seed: 22), v = KernelTests.randoms(count, seed: 23)
        for level in KernelTests.isaLevels {
            ComputeContext.withISA(level) { checkFullAttention(batch, seq, heads, d, q, k, v) }
        }
    }

    func checkFullAttention(_ batch: Int, _ seq: Int, _ heads: Int, _ d: Int, _ q: [Float], _ k: [Float], _ v: [Float]) {
        let width = heads * d, count = batch * seq * width
        var out = [Float](repeating: 0, count: count)
        var scratch = [Float](repeating: 0, count: 2 * seq * seq)
        let scale = 1 / Float(d).squareRoot()
        smol_attention_full(Self.ctx.pool, q, k, v, &out, batch, seq, heads, d, scale, nil, &scratch)
        for b in 0..<batch {
            for h in 0..<heads {
                for i in 0..<seq {
                    // Every position sees every other (no causal mask), only within its sequence.
                    var s = [Double](repeating: 0, count: seq)
                    for j in 0..<seq {
                        var dot = 0.0
                        for t in 0..<d { dot += Double(q[(b * seq + i) * width + h * d + t]) * Double(k[(b * seq + j) * width + h * d + t]) }
                        s[j] = dot * Double(scale)
                    }
                    let m = s.max()!
                    let e = s.map { exp($0 - m) }, z = e.reduce(0, +)
                    for t in 0..<d {
                        var ref = 0.0
                        for j in 0..<seq { ref += e[j] / z * Double(v[(b * seq + j) * width + h * d + t]) }
                        #expect(abs(Double(out[(b * seq + i) * width + h * d + t]) - ref) < 1e-5)
                    }
                }
            }
        }
    }
}
