import Foundation
import SmolKernels
import SmolWeights

/// Loads a Hugging Face model folder: config.json, then the weights it describes.
public enum ModelLoader {
    public static func loadConfig(directory: String) throws -> TransformerConfig {
        try ModelRegistry.config(atPath: directory + "/config.json")
    }

    /// The config is validated before any weight file is opened or any buffer allocated.
    public static func loadModel(directory: String, threads: Int? = nil, precision: ComputePrecision? = nil,
                                 kvType: KVCacheType = .bf16) throws -> TransformerModel {
        let config = try loadConfig(directory: directory)
        let weights = try ModelWeights(directory: directory)
        return try TransformerModel(config: config, weights: weights, threads: threads, precision: precision, kvType: kvType)
    }
}
