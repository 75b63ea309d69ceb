import Foundation
import SmolWeights
import Testing
@testable import SmolRuntime

@Suite struct ConfigTests {
    nonisolated(unsafe) static let base: [String: Any] = [
        "model_type": "smollm3", "vocab_size": 256, "hidden_size": 64, "intermediate_size": 128,
        "num_hidden_layers": 4, "num_attention_heads": 4, "num_key_value_heads": 2, "rms_norm_eps": 1e-6,
        "rope_theta": 10000.0, "max_position_embeddings": 128, "hidden_act": "silu",
    ]

    func decode(_ changes: [String: Any?]) throws -> TransformerConfig {
        var d = Self.base
        for (k, v) in changes { d[k] = v ?? nil }
        for (k, v) in changes where v == nil { d.removeValue(forKey: k) }
        return try ModelRegistry.config(from: JSONObject(file: "config.json", values: d))
    }

    @Test func realSmolLM3Config() throws {
        let c = try ModelRegistry.config(atPath: FixturePaths.smolLM3Metadata + "/config.json")
        #expect(c.numLayers == 36 && c.headDim == 128 && c.numKVHeads == 4)
        #expect(c.tieWordEmbeddings)  // absent in the real config: tied
        #expect(c.useRope.enumerated().filter { !$0.element }.map(\.offset) == Array(stride(from: 3, through: 35, by: 4)))
        #expect(c.rope == RopeConfig(theta: 5_000_000, scaling: .none))
        #expect(c.eosTokenIds == [128012])
    }

    @Test func noRopeIntervalDerivesLayers() throws {
        let c = try decode(["no_rope_layer_interval": 2])
        #expect(c.useRope == [true, false, true, false])
        #expect(try decode(["no_rope_layers": [0, 1, 1, 0]]).useRope == [false, true, true, false])
    }

    @Test func headDimExplicitOrDerived() throws {
        #expect(try decode([:]).headDim == 16)
        #expect(try decode(["head_dim": 32]).headDim == 32)
    }

    @Test func ropeForms() throws {
        let classic = try decode(["rope_scaling": ["type": "yarn", "factor": 2.0, "original_max_position_embeddings": 64]])
        let newer = try decode(["rope_theta": nil, "rope_parameters": ["rope_type": "yarn", "rope_theta": 10000.0, "factor": 2.0, "original_max_position_embeddings": 64]])
        #expect(classic.rope == newer.rope)
        if case let .yarn(f, orig, bf, bs, _, _, _, trunc) = classic.rope.scaling {
            #expect(f == 2 && orig == 64 && bf == 32 && bs == 1 && trunc)
        } else { Issue.record("not yarn") }
        let perLayer = try decode(["rope_theta": nil, "rope_parameters": ["full_attention": ["rope_type": "default", "rope_theta": 500.0]]])
        #expect(perLayer.rope.theta == 500)
    }

    nonisolated(unsafe) static let bad: [(String, [String: Any?], String)] = [
        ("zero heads", ["num_attention_heads": 0], "num_attention_heads"),
        ("hidden not divisible", ["hidden_size": 66], "hidden_size"),
        ("kv not dividing", ["num_key_value_heads": 3], "num_key_value_heads"),
        ("kv above heads", ["num_key_value_heads": 8], "num_key_value_heads"),
        ("negative vocab", ["vocab_size": -5], "vocab_size"),
        ("absurd hidden", ["hidden_size": 1 << 40], "hidden_size"),
        ("absurd layers", ["num_hidden_layers": 100_000], "num_hidden_layers"),
        ("rope theta zero", ["rope_theta": 0.0], "rope_theta"),
        ("missing vocab", ["vocab_size": nil], "vocab_size"),
        ("string where int", ["hidden_size": "64"], "hidden_size"),
        ("float where int", ["hidden_size": 64.5], "hidden_size"),
        ("bool where int", ["num_hidden_layers": true], "num_hidden_layers"),
        ("wrong no_rope length", ["no_rope_layers": [1, 1]], "no_rope_layers"),
        ("no_rope values", ["no_rope_layers": [1, 2, 1, 1]], "no_rope_layers"),
        ("odd head dim", ["head_dim": 15], "head_dim"),
        ("unsupported activation", ["hidden_act": "gelu"], "hidden_act"),
        ("attention bias", ["attention_bias": true], "attention_bias"),
        ("sliding window", ["use_sliding_window": true], "use_sliding_window"),
        ("unknown rope type", ["rope_scaling": ["rope_type": "longrope", "factor": 2.0]], "rope_type"),
        ("eos outside vocab", ["eos_token_id": 999], "eos_token_id"),
        ("negative eps", ["rms_norm_eps": -1.0], "rms_norm_eps"),
    ]

    @Test(arguments: 0..<bad.count)
    func badConfigsNameTheField(_ i: Int) {
        let (name, changes, field) = Self.bad[i]
        do {
            _ = try decode(changes)
            Issue.record("\(name): accepted")
        } catch let e as ConfigError {
            #expect(e.description.contains(field), "\(name): \(e)")
            #expect(e.description.contains("config.json"), "\(name): \(e)")
        } catch {
            Issue.record("\(name): unexpected \(error)")
        }
    }

    @Test func unknownArchitectureRefused() {
        #expect { try decode(["model_type": "gpt_neox"]) } throws: { e in
            (e as? ConfigError)?.description.contains("gpt_neox") == true
        }
    }
}

/// Tensors missing or shaped wrongly for the config: each named in its error.
@Suite struct WeightBindingTests {
    func folder(config: [String: Any], tensors: [SafeTensorsWriter.Entry]) throws -> String {
        let d = NSTemporaryDirectory() + "smol-bind-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: d + "/config.json"))
        var w = SafeTensorsWriter()
        w.entries = tensors
        try w.write(to: d + "/model.safetensors")
        return d
    }

    nonisolated(unsafe) static let config: [String: Any] = [
        "model_type": "llama", "vocab_size": 8, "hidden_size": 4, "intermediate_size": 6,
        "num_hidden_layers": 1, "num_attention_heads": 2, "num_key_value_heads": 1,
    ]

    static func tensors(skipping: String? = nil, reshape: (String, [Int])? = nil) -> [SafeTensorsWriter.Entry] {
        let shapes: [(String, [Int])] = [
            ("model.embed_tokens.weight", [8, 4]), ("model.norm.weight", [4]),
            ("model.layers.0.self_attn.q_proj.weight", [4, 4]), ("model.layers.0.self_attn.k_proj.weight", [2, 4]),
            ("model.layers.0.self_attn.v_proj.weight", [2, 4]), ("model.layers.0.self_attn.o_proj.weight", [4, 4]),
            ("model.layers.0.mlp.gate_proj.weight", [6, 4]), ("model.layers.0.mlp.up_proj.weight", [6, 4]),
            ("model.layers.0.mlp.down_proj.weight", [4, 6]), ("model.layers.0.input_layernorm.weight", [4]),
            ("model.layers.0.post_attention_layernorm.weight", [4]),
        ]
        return shapes.filter { $0.0 != skipping }.map { name, shape in
            let s = reshape?.0 == name ? reshape!.1 : shape
            return .f32(name, shape: s, [Float](repeating: 0.1, count: s.reduce(1, *)))
        }
    }

    @Test func completeFolderLoadsAndRuns() throws {
        let m = try ModelLoader.loadModel(directory: try folder(config: Self.config, tensors: Self.tensors()), threads: 1)
        let logits = try m.forward([1, 2, 3], cache: m.makeCache(capacity: 8), eachPosition: nil)
        #expect(logits.count == 8)
    }

    @Test func missingTensorNamed() throws {
        let d = try folder(config: Self.config, tensors: Self.tensors(skipping: "model.layers.0.mlp.up_proj.weight"))
        #expect { try ModelLoader.loadModel(directory: d) } throws: { e in
            "\(e)".contains("model.layers.0.mlp.up_proj.weight")
        }
    }

    @Test func wrongShapeNamesTensorAndShapes() throws {
        let d = try folder(config: Self.config, tensors: Self.tensors(reshape: ("model.layers.0.self_attn.k_proj.weight", [4, 4])))
        #expect { try ModelLoader.loadModel(directory: d) } throws: { e in
            e as? ModelError == .shapeMismatch(tensor: "model.layers.0.self_attn.k_proj.weight", expected: [2, 4], actual: [4, 4])
        }
    }

    @Test func integerWeightsRefused() throws {
        var t = Self.tensors(skipping: "model.norm.weight")
        t.append(.i64("model.norm.weight", shape: [4], [1, 1, 1, 1]))
        let d = try folder(config: Self.config, tensors: t)
        #expect { try ModelLoader.loadModel(directory: d) } throws: { e in
            e as? ModelError == .unsupportedDType(tensor: "model.norm.weight", dtype: "I64")
        }
    }

    @Test func runtimeInputErrors() throws {
        let m = try ModelLoader.loadModel(directory: try folder(config: Self.config, tensors: Self.tensors()), threads: 1)
        let cache = m.makeCache(capacity: 4)
        #expect(throws: ModelError.tokenOutOfRange(id: 8, vocabSize: 8)) { try m.forward([8], cache: cache, eachPosition: nil) }
        #expect(throws: ModelError.promptTooLong(tokens: 5, context: 4)) { try m.forward([1, 2, 3, 4, 5], cache: cache, eachPosition: nil) }
        #expect(throws: ModelError.emptyInput) { try m.forward([], cache: cache, eachPosition: nil) }
    }
}
