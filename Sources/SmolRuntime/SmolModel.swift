import Foundation
@_exported import enum SmolKernels.ComputePrecision
import SmolKernels
import SmolTokenizers
import SmolTemplates
import SmolWeights

/// A loaded model folder: config, memory-mapped weights, tokenizer and generation defaults.
public final class SmolModel: @unchecked Sendable {
    public let directory: String
    public let config: TransformerConfig
    public let model: TransformerModel
    /// SmolVLM folders: the image processor, vision encoder and connector.
    public let vision: VisionLanguageModel?
    public let tokenizer: Tokenizer
    public let defaults: GenerationDefaults
    /// The folder's chat template, if it has one.
    public let prompt: PromptBuilder?
    public let loadSeconds: Double

    public struct LoadOptions: Sendable {
        public var threads: Int? = nil
        /// Arithmetic of the prefill products; nil = the faster on this CPU (see ComputePrecision).
        public var precision: ComputePrecision? = nil
        /// Storage of the KV cache: bf16 (default, half the memory) or f32.
        public var kvType: KVCacheType = .bf16
        /// GGUF files: compute from Q8_0/Q4_0/Q4_1/Q4_K/Q5_K/Q6_K blocks as stored (int8 decode kernels, memory
        /// of the file). false: dequantize them at load to bf16 (or f32 with precision .f32).
        /// `precision == .f32` always dequantizes to f32, the exact reference.
        public var keepQuantized: Bool = true
        /// A GGUF text model's vision projector (`mmproj` GGUF, clip arch with the idefics3
        /// projector, as llama.cpp ships SmolVLM2): adds the SigLIP tower, connector and image
        /// settings. Folders carry their vision weights and refuse it.
        public var mmproj: String? = nil
        public init() {}
        /// f32 activations and KV cache: the path compared with transformers in float32.
        public static var exactF32: LoadOptions { var o = LoadOptions(); o.precision = .f32; o.kvType = .f32; return o }
    }

    /// Steps reported while loading, for progress display.
    public enum LoadStep: Sendable { case config, weights(bytes: Int), tokenizer, done(seconds: Double) }

    /// `directory` is a Hugging Face model folder, or a GGUF file (see GGUFModelSource).
    /// A Hugging Face repo id (`HuggingFaceTB/SmolLM3-3B`, `org/repo-GGUF:Q4_K_M`) is looked up in
    /// the local hub cache (ModelLocator); nothing is downloaded.
    public init(directory spec: String, options: LoadOptions = .init(), progress: (LoadStep) -> Void = { _ in }) throws {
        let t0 = Date()
        try KernelInfo.validateEnvironment()
        let directory = try ModelLocator.resolve(spec)
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDir) else {
            throw ConfigError.missingFile(directory + " (model folder or .gguf file)")
        }
        self.directory = directory
        progress(.config)
        if !isDir.boolValue {
            let source = try GGUFModelSource(path: directory)
            config = try source.transformerConfig()
            source.file.adviseWillNeed()
            // --precision f32 is the exact reference: every block dequantized to f32. Otherwise
            // Q8_0/Q4_0/Q4_1 and K-quants stay as stored (the int8 kernels), other types become bf16.
            let exact = options.precision == .f32
            let weights = try source.weights(config: config, threads: options.threads ?? ProcessInfo.processInfo.activeProcessorCount,
                                             dequantizeTo: exact ? .f32 : .bf16, keepQuantized: options.keepQuantized && !exact)
            progress(.weights(bytes: weights.totalBytes))
            model = try TransformerModel(config: config, weights: weights, threads: options.threads, precision: options.precision,
                                         kvType: options.kvType)
            progress(.tokenizer)
            tokenizer = try Tokenizer(json: source.tokenizerJSON())
            if let mm = options.mmproj {
                let projector = try GGUFVisionSource(path: mm)
                vision = try VisionLanguageModel(mmproj: projector, text: config,
                                                 threads: options.threads ?? ProcessInfo.processInfo.activeProcessorCount,
                                                 dequantizeTo: exact ? .f32 : .bf16, ctx: model.ctx, tokenizer: tokenizer)
            } else {
                vision = nil
            }
            defaults = try source.generationDefaults(config: config)
            if let t = try source.chatTemplate {
                var builder = PromptBuilder(template: try ChatTemplate(source: t), bosToken: try source.tokenString("tokenizer.ggml.bos_token_id"),
                                            eosToken: try source.tokenString("tokenizer.ggml.eos_token_id"))
                if vision != nil { builder.textAsParts = true }
                prompt = builder
            } else {
                prompt = nil
            }
            loadSeconds = Date().timeIntervalSince(t0)
            progress(.done(seconds: loadSeconds))
            return
        }
        if let mm = options.mmproj {
            throw ConfigError.invalid(file: mm, field: "--mmproj", reason: "a projector file goes with a GGUF text model; the folder \(directory) carries its own weights")
        }
        config = try ModelLoader.loadConfig(directory: directory)
        let weights = try ModelWeights(directory: directory)
        weights.adviseWillNeed()
        progress(.weights(bytes: weights.totalBytes))
        model = try TransformerModel(config: config, weights: weights, threads: options.threads, precision: options.precision,
                                     kvType: options.kvType)
        progress(.tokenizer)
        tokenizer = try Tokenizer(file: directory + "/tokenizer.json")
        if SmolVLM.modelTypes.contains(config.modelType) {
            let vcfg = try VisionLanguageConfig(JSONObject.load(directory + "/config.json"))
            vision = try VisionLanguageModel(directory: directory, config: vcfg, weights: weights, ctx: model.ctx, tokenizer: tokenizer)
        } else {
            vision = nil
        }
        defaults = try GenerationDefaults.load(directory: directory, config: config)
        var builder = try PromptBuilder.load(directory: directory)
        if vision != nil { builder?.textAsParts = true }
        prompt = builder
        loadSeconds = Date().timeIntervalSince(t0)
        progress(.done(seconds: loadSeconds))
    }

    public var generator: TextGenerator { TextGenerator(model: model, tokenizer: tokenizer) }

    /// eos ids from generation_config.json, else config.json.
    public var eosTokenIds: Set<Int> { Set(defaults.eosTokenIds.isEmpty ? config.eosTokenIds : defaults.eosTokenIds) }
}

extension SmolModel {
    /// The tokenizer of a model folder (tokenizer.json) or GGUF file (tokenizer.ggml.*), without
    /// loading the weights.
    public static func loadTokenizer(path spec: String) throws -> Tokenizer {
        let path = try ModelLocator.resolve(spec)
        if Self.isFile(path) { return try Tokenizer(json: GGUFModelSource(path: path).tokenizerJSON()) }
        return try Tokenizer(file: path + "/tokenizer.json")
    }

    /// The chat template of a model folder or GGUF file (nil when it has none), without the weights.
    public static func loadPromptBuilder(path spec: String) throws -> PromptBuilder? {
        let path = try ModelLocator.resolve(spec)
        guard Self.isFile(path) else { return try PromptBuilder.load(directory: path) }
        let source = try GGUFModelSource(path: path)
        guard let t = try source.chatTemplate else { return nil }
        return PromptBuilder(template: try ChatTemplate(source: t), bosToken: try source.tokenString("tokenizer.ggml.bos_token_id"),
                             eosToken: try source.tokenString("tokenizer.ggml.eos_token_id"))
    }

    static func isFile(_ path: String) -> Bool {
        var isDir: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDir) && !isDir.boolValue
    }
}
