import Foundation

/// Rotary embedding tables computed as transformers does (float32 inverse frequencies,
/// float32 angle products), including YaRN's frequency blend and attention scaling.
public struct RotaryEmbedding: Sendable {
    public let headDim: Int
    /// [headDim / 2]
    public let invFreq: [Float]
    /// Multiplies cos and sin (YaRN's mscale); 1 otherwise.
    public let attentionScaling: Float

    public init(config: TransformerConfig) {
        let dim = config.headDim
        headDim = dim
        let half = dim / 2
        let base = config.rope.theta
        // base ** (arange(0, dim, 2) / dim), in float32 like torch.
        let posFreqs: [Float] = (0..<half).map { i in
            let e = Float(2 * i) / Float(dim)
            return Float(pow(base, Double(e)))
        }
        switch config.rope.scaling {
        case .none:
            invFreq = posFreqs.map { 1 / $0 }
            attentionScaling = 1
        case let .linear(factor):
            invFreq = posFreqs.map { 1 / $0 / Float(factor) }
            attentionScaling = 1
        case let .yarn(factor, original, betaFast, betaSlow, attentionFactor, mscale, mscaleAllDim, truncate):
            func getMscale(_ scale: Double, _ m: Double = 1) -> Double { scale <= 1 ? 1 : 0.1 * m * log(scale) + 1 }
            var af = attentionFactor
            if af == nil {
                if let m = mscale, let mad = mscaleAllDim, m != 0, mad != 0 {
                    af = getMscale(factor, m) / getMscale(factor, mad)
                } else {
                    af = getMscale(factor)
                }
            }
            func correctionDim(_ rotations: Double) -> Double {
                Double(dim) * log(Double(original) / (rotations * 2 * Double.pi)) / (2 * log(base))
            }
            var low = correctionDim(betaFast), high = correctionDim(betaSlow)
            if truncate { low = floor(low); high = ceil(high) }
            low = max(low, 0)
            high = min(high, Double(dim - 1))
            if low == high { high += 0.001 }
            invFreq = (0..<half).map { i in
                let ramp = min(max((Float(i) - Float(low)) / Float(high - low), 0), 1)
                let extrapolationFactor = 1 - ramp
                let extrapolation = 1 / posFreqs[i]
                let interpolation = 1 / (Float(factor) * posFreqs[i])
                return interpolation * (1 - extrapolationFactor) + extrapolation * extrapolationFactor
            }
            attentionScaling = Float(af!)
        }
    }

    /// Fills cos/sin [count, headDim/2] for positions start ..< start+count.
    public func fill(start: Int, count: Int, cos cosOut: UnsafeMutablePointer<Float>, sin sinOut: UnsafeMutablePointer<Float>) {
        let half = headDim / 2
        for t in 0..<count {
            let p = Float(start + t)
            for i in 0..<half {
                let angle = p * invFreq[i]
                cosOut[t * half + i] = Float(Foundation.cos(Double(angle))) * attentionScaling
                sinOut[t * half + i] = Float(Foundation.sin(Double(angle))) * attentionScaling
            }
        }
    }
}
