import Foundation
import Hummingbird
import NIOCore
import SmolJSON
import SmolRuntime

/// Ollama's native API on the same port as the OpenAI and Anthropic ones: what the official
/// `ollama` clients, the Python edition of Claw Code and many desktop tools speak.
/// Streams are NDJSON (one object a line); errors are `{"error": "..."}`.
extension ChatServer {
    /// The version reported to clients; some gate features (thinking, tools) on it.
    static let ollamaVersion = "0.12.6"

    func addOllamaRoutes(_ router: Router<BasicRequestContext>) {
        // Clients and tools probe the root to find a server.
        router.get("/") { _, _ in Response(status: .ok, headers: [.contentType: "text/plain; charset=utf-8"],
                                           body: ResponseBody(byteBuffer: ByteBuffer(string: "Ollama is running"))) }
        router.head("/") { _, _ in Response(status: .ok) }
        router.get("/api/version") { _, _ in Self.json(["version": .string(Self.ollamaVersion)]) }
        router.get("/api/tags") { [self] _, _ in Self.json(["models": [ollamaModelEntry(running: false)]]) }
        router.get("/api/ps") { [self] _, _ in Self.json(["models": [ollamaModelEntry(running: true)]]) }
        router.post("/api/show") { [self] req, _ in try await ollamaShow(req) }
        router.post("/api/chat") { [self] req, _ in try await ollamaChat(req) }
        router.post("/api/generate") { [self] req, _ in try await ollamaGenerate(req) }
        for path in ["/api/pull", "/api/push", "/api/create", "/api/copy", "/api/delete", "/api/blobs/:digest", "/api/embed", "/api/embeddings"] {
            router.post(RouterPath(path)) { [self] _, _ -> Response in
                throw APIError(status: 501, type: "not_implemented",
                               message: "\(path) is not supported: smol serve runs the one model it was started with ('\(modelId)')")
            }
        }
    }

    // MARK: model listings

    /// What Ollama calls the model's details.
    var ollamaDetails: JSONValue {
        let family = model.config.modelType
        return ["parent_model": "", "format": .string(model.directory.hasSuffix(".gguf") ? "gguf" : "safetensors"),
                "family": .string(family), "families": [.string(family)],
                "parameter_size": .string(Self.parameterSize(parameterCount)),
                "quantization_level": .string(quantizationLevel)]
    }

    func ollamaModelEntry(running: Bool) -> JSONValue {
        var o: [(String, JSONValue)] = [
            ("name", .string(modelId)), ("model", .string(modelId)),
            ("size", .int(Int64(modelBytes))), ("digest", .string(modelDigest)), ("details", ollamaDetails),
        ]
        if running {
            // Loaded for as long as the server runs.
            o.append(("expires_at", .string(OllamaResponder.timestamp(Date(timeIntervalSinceNow: 365 * 86400)))))
            o.append(("size_vram", .int(0)))
            o.append(("context_length", .int(Int64(contextLength))))
        } else {
            o.append(("modified_at", .string(OllamaResponder.timestamp(modelModified))))
        }
        return .object(o)
    }

    private func ollamaShow(_ req: Request) async throws -> Response {
        let (_, name) = try Field.requestRoot(try await body(req), modelKeys: ["model", "name"])
        try checkModel(name)
        let c = model.config
        let arch = c.modelType
        var info: [(String, JSONValue)] = [
            ("general.architecture", .string(arch)),
            ("general.parameter_count", .int(Int64(parameterCount))),
            ("\(arch).context_length", .int(Int64(c.maxPositionEmbeddings))),
            ("\(arch).embedding_length", .int(Int64(c.hiddenSize))),
            ("\(arch).block_count", .int(Int64(c.numLayers))),
            ("\(arch).feed_forward_length", .int(Int64(c.intermediateSize))),
            ("\(arch).attention.head_count", .int(Int64(c.numHeads))),
            ("\(arch).attention.head_count_kv", .int(Int64(c.numKVHeads))),
            ("\(arch).vocab_size", .int(Int64(c.vocabSize))),
        ]
        if model.vision != nil { info.append(("\(arch).vision.present", .bool(true))) }
        let s = model.defaults.sampling
        var params = ["temperature \(s.temperature)", "top_p \(s.topP)", "top_k \(s.topK)"]
        if let m = s.minP { params.append("min_p \(m)") }
        params.append("num_ctx \(contextLength)")
        return Self.json([
            "license": "",
            "modelfile": .string("# smol serve\nFROM \(model.directory)\n" + params.map { "PARAMETER \($0)\n" }.joined()),
            "parameters": .string(params.joined(separator: "\n")),
            "template": .string(model.prompt?.template.source ?? ""),
            "details": ollamaDetails,
            "model_info": .object(info),
            "capabilities": .array(capabilities.map(JSONValue.string)),
            "modified_at": .string(OllamaResponder.timestamp(modelModified)),
        ])
    }

    /// Ollama's capability names. Every chat model takes tools: templates without tool support
    /// get the generic JSON-envelope mode.
    var capabilities: [String] {
        var caps = ["completion"]
        if model.prompt != nil { caps.append("tools") }
        let source = model.prompt?.template.source ?? ""
        if source.contains("enable_thinking") || source.contains("<think>") { caps.append("thinking") }
        if model.vision != nil { caps.append("vision") }
        return caps
    }

    // MARK: generation

    private func ollamaChat(_ req: Request) async throws -> Response {
        let (name, job) = try OllamaRequest.chat(try await body(req), limits: options.limits)
        let responder = OllamaResponder(model: modelId)
        if job.messages.isEmpty {
            // Ollama's way to load a model: an empty conversation answers at once.
            try checkModel(name)
            return Self.json(OllamaResponder.appending(responder.chatChunk(content: "", done: true), [("done_reason", "load")]))
        }
        let (_, replies, _) = try start(job, model: name) { "call_\($0)_" }
        if !job.stream {
            var content = "", thinking = ""
            var calls: [JSONValue] = []
            do {
                for try await item in replies {
                    switch item {
                    case .logprob: continue
                    case let .event(.content(t)): content += t
                    case let .event(.reasoning(t)): thinking += t
                    case let .event(.toolCall(c)): calls.append(OllamaResponder.toolCall(c, index: calls.count))
                    case let .done(o):
                        let final = responder.chatChunk(content: content, thinking: thinking, calls: calls, done: true)
                        return Self.json(OllamaResponder.appending(final, responder.stats(o)))
                    }
                }
            } catch {
                throw apiError(from: error)
            }
            throw APIError(status: 500, type: "server_error", message: "generation ended without a result")
        }
        return Self.ndjson { writer in
            var index = 0
            do {
                for try await item in replies {
                    let line: JSONValue
                    switch item {
                    case .logprob: continue
                    case let .event(.content(t)): line = responder.chatChunk(content: t)
                    case let .event(.reasoning(t)): line = responder.chatChunk(content: "", thinking: t)
                    case let .event(.toolCall(c)):
                        line = responder.chatChunk(content: "", calls: [OllamaResponder.toolCall(c, index: index)])
                        index += 1
                    case let .done(o): line = OllamaResponder.appending(responder.chatChunk(content: "", done: true), responder.stats(o))
                    }
                    try await writer.write(ByteBuffer(string: line.serialized + "\n"))
                }
            } catch {
                // Headers are out: the error is the stream's last line, as Ollama sends it.
                try await writer.write(ByteBuffer(string: JSONValue.object([("error", .string(apiError(from: error).message))]).serialized + "\n"))
            }
            try await writer.finish(nil)
        }
    }

    private func ollamaGenerate(_ req: Request) async throws -> Response {
        let (name, job, loadOnly) = try OllamaRequest.generate(try await body(req), limits: options.limits)
        let responder = OllamaResponder(model: modelId)
        if loadOnly {
            try checkModel(name)
            return Self.json(OllamaResponder.appending(responder.generateChunk(response: "", done: true), [("done_reason", "load")]))
        }
        let (_, replies, prepared) = try start(job, model: name) { "call_\($0)_" }
        let promptIds = prepared.request.promptIds
        if !job.stream {
            var text = "", thinking = ""
            do {
                for try await item in replies {
                    switch item {
                    case .logprob: continue
                    case let .event(.content(t)): text += t
                    case let .event(.reasoning(t)): thinking += t
                    case let .event(.toolCall(c)): text += Self.callText(c)
                    case let .done(o):
                        let final = responder.generateChunk(response: text, thinking: thinking, done: true)
                        return Self.json(OllamaResponder.appending(final, responder.stats(o) + [("context", Self.context(promptIds, o))]))
                    }
                }
            } catch {
                throw apiError(from: error)
            }
            throw APIError(status: 500, type: "server_error", message: "generation ended without a result")
        }
        return Self.ndjson { writer in
            do {
                for try await item in replies {
                    let line: JSONValue
                    switch item {
                    case .logprob: continue
                    case let .event(.content(t)): line = responder.generateChunk(response: t)
                    case let .event(.reasoning(t)): line = responder.generateChunk(response: "", thinking: t)
                    case let .event(.toolCall(c)):
                        line = responder.generateChunk(response: Self.callText(c))
                    case let .done(o):
                        line = OllamaResponder.appending(responder.generateChunk(response: "", done: true),
                                                         responder.stats(o) + [("context", Self.context(promptIds, o))])
                    }
                    try await writer.write(ByteBuffer(string: line.serialized + "\n"))
                }
            } catch {
                try await writer.write(ByteBuffer(string: JSONValue.object([("error", .string(apiError(from: error).message))]).serialized + "\n"))
            }
            try await writer.finish(nil)
        }
    }

    /// `/api/generate`'s `context`: the prompt's and the reply's token ids, which a client may
    /// send back to continue.
    static func context(_ prompt: [Int], _ o: ReplyOutcome) -> JSONValue {
        .array((prompt + o.summary.tokens).map { .int(Int64($0)) })
    }

    /// A tool call in a plain-text reply, as the model wrote it.
    static func callText(_ c: ToolCall) -> String {
        let args = (try? JSONValue(parsing: c.arguments)) ?? .object([])
        return ToolCallParser.open + "\n" + JSONValue.object([("name", .string(c.name)), ("arguments", args)]).serialized + "\n" + ToolCallParser.close
    }

    static func ndjson(_ write: @escaping @Sendable (inout any ResponseBodyWriter) async throws -> Void) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/x-ndjson"
        return Response(status: .ok, headers: headers, body: ResponseBody(write))
    }

    // MARK: facts about the model

    /// Parameters of the text model, from its config (tied embeddings counted once).
    var parameterCount: Int {
        let c = model.config
        let q = c.numHeads * c.headDim, kv = c.numKVHeads * c.headDim
        let layer = c.hiddenSize * (q + 2 * kv) + q * c.hiddenSize + 3 * c.hiddenSize * c.intermediateSize + 2 * c.hiddenSize
        return c.vocabSize * c.hiddenSize * (c.tieWordEmbeddings ? 1 : 2) + c.numLayers * layer + c.hiddenSize
    }

    static func parameterSize(_ n: Int) -> String {
        if n >= 1_000_000_000 { return String(format: "%.1fB", Double(n) / 1e9) }
        return "\(Int((Double(n) / 1e6).rounded()))M"
    }

    /// The weights' type as Ollama names it: from a GGUF file's name (Q4_K_M, Q8_0, ...), or
    /// the checkpoint's dtype.
    var quantizationLevel: String {
        let name = (model.directory as NSString).lastPathComponent.uppercased()
        if name.hasSuffix(".GGUF") {
            for t in ["IQ4_NL", "Q4_K_M", "Q4_K_S", "Q5_K_M", "Q5_K_S", "Q6_K", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "BF16", "F16", "F32"]
            where name.contains(t) { return t }
            return "unknown"
        }
        if let data = FileManager.default.contents(atPath: model.directory + "/config.json"),
           let v = try? JSONValue(parsing: String(decoding: data, as: UTF8.self)), case let .string(d)? = v["torch_dtype"] ?? v["dtype"] {
            switch d { case "bfloat16": return "BF16"; case "float16": return "F16"; case "float32": return "F32"; default: return d.uppercased() }
        }
        return "BF16"
    }

    /// Bytes of the weight files.
    var modelBytes: Int {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: model.directory, isDirectory: &isDir) else { return 0 }
        func size(_ p: String) -> Int { ((try? fm.attributesOfItem(atPath: p))?[.size] as? NSNumber)?.intValue ?? 0 }
        guard isDir.boolValue else { return size(model.directory) }
        let files = (try? fm.contentsOfDirectory(atPath: model.directory)) ?? []
        return files.filter { $0.hasSuffix(".safetensors") || $0.hasSuffix(".gguf") }.reduce(0) { $0 + size(model.directory + "/" + $1) }
    }

    var modelModified: Date {
        ((try? FileManager.default.attributesOfItem(atPath: model.directory))?[.modificationDate] as? Date) ?? Date(timeIntervalSince1970: 0)
    }

    /// An identifier shaped like Ollama's sha256 digests (a hash of the id and the path, not of
    /// the weights: hashing gigabytes at every listing would be slow).
    var modelDigest: String {
        var out = ""
        for salt in 0..<4 {
            var h: UInt64 = 0xcbf2_9ce4_8422_2325 &+ UInt64(salt)
            for b in (modelId + "\u{0}" + model.directory).utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
            out += String(format: "%016llx", h)
        }
        return out
    }
}
