import Foundation
import Hummingbird
import NIOCore
import SmolJSON
import SmolRuntime

/// `smol serve`: an OpenAI- and Anthropic-compatible HTTP server for one loaded model.
public final class ChatServer: Sendable {
    let model: SmolModel
    let options: ServerOptions
    let engine: InferenceEngine
    public let modelId: String
    let aliases: Set<String>
    let counter = RequestCounter()
    private let started = Date()

    public init(model: SmolModel, options: ServerOptions) throws {
        try options.validate()
        self.model = model
        self.options = options
        let ctx = options.contextLength ?? min(model.config.maxPositionEmbeddings, 8192)
        var disk: DiskPromptCache? = nil
        if let dir = options.promptCacheDirectory {
            do { disk = try model.diskPromptCache(directory: dir, budgetBytes: options.promptCacheBytes) } catch {
                throw ServerError("\(error)")
            }
        }
        engine = InferenceEngine(model: model, contextLength: ctx, parallel: options.parallel, maxQueue: options.maxQueue,
                                 cacheBytes: options.cacheMemory ?? ServerOptions.defaultCacheMemory, disk: disk)
        modelId = options.modelId ?? defaultModelId(folder: model.directory)
        let folder = model.directory.split(separator: "/").last.map(String.init) ?? modelId
        aliases = [modelId, folder, folder.lowercased()]
    }

    public var contextLength: Int { engine.contextLength }
    public var parallel: Int { engine.parallel }
    public var cacheMemory: Int { engine.cache.budgetBytes }

    /// Serves until SIGINT/SIGTERM. `onListening` gets the bound host and port.
    public func run(onListening: @escaping @Sendable (String, Int) -> Void) async throws {
        let router = Router()
        router.add(middleware: GuardMiddleware(apiKey: options.apiKey, checkHost: options.apiKey == nil && ServerOptions.isLoopback(options.host)))
        router.get("/health") { [self] _, _ in Self.json(health) }
        router.get("/v1/models") { [self] _, _ in Self.json(["object": "list", "data": [modelCard]]) }
        router.get("/v1/models/:id") { [self] _, ctx in
            guard let id = ctx.parameters.get("id"), knows(id) else {
                throw APIError(status: 404, message: "model '\(ctx.parameters.get("id") ?? "")' does not exist; this server has '\(modelId)'", param: "model", code: "model_not_found")
            }
            return Self.json(modelCard)
        }
        router.post("/v1/chat/completions") { [self] req, _ in try await chatCompletions(req) }
        router.post("/v1/completions") { [self] req, _ in try await completions(req) }
        router.post("/v1/responses") { [self] req, _ in try await responses(req) }
        router.post("/v1/messages") { [self] req, _ in try await messages(req) }
        router.post("/v1/messages/count_tokens") { [self] req, _ in try await countTokens(req) }
        addOllamaRoutes(router)
        let host = options.host
        let app = Application(
            router: router,
            configuration: .init(address: .hostname(host, port: options.port), serverName: "smol"),
            onServerRunning: { channel in onListening(host, channel.localAddress?.port ?? 0) })
        try await app.runService()
    }

    /// Liveness plus what the engine holds: requests running and queued, and the KV cache pool.
    var health: JSONValue {
        let kv = engine.cache.stats
        func n(_ v: Int) -> JSONValue { .int(Int64(v)) }
        var fields: [(String, JSONValue)] = [
            ("status", "ok"), ("running", n(engine.running)), ("queued", n(engine.queued)), ("parallel", n(engine.parallel)),
            ("kv_cache", .object([("entries", n(kv.entries)), ("in_use", n(kv.inUse)), ("bytes", n(kv.bytes)),
                                  ("budget", n(kv.budget)), ("hits", n(kv.hits)), ("copies", n(kv.copies)),
                                  ("evictions", n(kv.evictions))])),
        ]
        if let d = engine.disk {
            fields.append(("prompt_cache", .object([("directory", .string(d.directory)), ("bytes", n(d.diskBytes)),
                                                    ("budget", n(d.budgetBytes))])))
        }
        return .object(fields)
    }

    var modelCard: JSONValue {
        ["id": .string(modelId), "object": "model", "created": .int(Int64(started.timeIntervalSince1970)),
         "owned_by": "smolruntime", "context_length": .int(Int64(contextLength))]
    }

    // MARK: request handling

    func body(_ req: Request) async throws(APIError) -> JSONValue {
        var req = req
        let buffer: ByteBuffer
        let tooLarge = APIError(status: 413, message: "the request body is over the limit of \(options.limits.maxBodyBytes) bytes",
                                code: "request_too_large")
        if let declared = req.headers[.contentLength].flatMap(Int.init), declared > options.limits.maxBodyBytes { throw tooLarge }
        do {
            buffer = try await req.collectBody(upTo: options.limits.maxBodyBytes)
        } catch is NIOTooManyBytesError {
            throw tooLarge
        } catch let e as HTTPError where e.status == .contentTooLarge {
            throw tooLarge
        } catch {
            throw APIError(status: 400, message: "could not read the request body: \(error)")
        }
        var parser = StrictJSONParser()
        parser.maxDepth = options.limits.maxJSONDepth
        do {
            return try buffer.readableBytesView.withContiguousStorageIfAvailable { try parser.parse(UnsafeRawBufferPointer($0)) }
                ?? parser.parse(Array(buffer.readableBytesView))
        } catch let e as JSONParseError {
            throw APIError(status: 400, message: "the request body is not valid JSON: \(e)", code: "invalid_json")
        } catch {
            throw APIError(status: 400, message: "the request body is not valid JSON")
        }
    }

    /// Whether `name` selects the served model. One model answers to any name (as llama-server
    /// and LM Studio do: harnesses send prefixed or provider-specific names) unless
    /// `--strict-model-names`; responses carry the real id either way.
    func knows(_ name: String) -> Bool { !options.strictModelNames || aliases.contains(name) }

    func checkModel(_ name: String) throws(APIError) {
        guard knows(name) else {
            throw APIError(status: 404, message: "model '\(name)' does not exist; this server has '\(modelId)'", param: "model", code: "model_not_found")
        }
    }

    /// Checks the model name, renders and queues the job. Returns the request number (for
    /// response and tool-call ids) and the parsed reply stream.
    func start(_ job: ChatJob, model name: String, toolIdPrefix: (Int) -> String) throws(APIError)
        -> (Int, AsyncThrowingStream<ReplyItem, Error>, PreparedChat) {
        try checkModel(name)
        let prepared = try job.prepare(for: model, contextLength: contextLength, constrainByDefault: options.constrainToolCalls)
        let (events, cancel) = try engine.submit(prepared.request)
        let n = counter.next()
        return (n, replyStream(prepared, events: events, cancel: cancel, idPrefix: toolIdPrefix(n)), prepared)
    }

    private func messages(_ req: Request) async throws -> Response {
        let (name, job) = try AnthropicRequest.parse(try await body(req), limits: options.limits)
        let (n, replies, prepared) = try start(job, model: name) { String(format: "toolu_%016d_", $0) }
        let responder = AnthropicResponder(id: String(format: "msg_%024d", n), model: modelId)
        if !job.stream {
            var blocks: [JSONValue] = []
            var reasoning = "", text = ""
            func flush() {
                if !reasoning.isEmpty { blocks.append(["type": "thinking", "thinking": .string(reasoning), "signature": ""]); reasoning = "" }
                if !text.isEmpty { blocks.append(["type": "text", "text": .string(text)]); text = "" }
            }
            do {
                for try await item in replies {
                    switch item {
                    case .logprob: continue
                    case let .event(.reasoning(t)):
                        if !text.isEmpty { flush() }
                        reasoning += t
                    case let .event(.content(t)):
                        if !reasoning.isEmpty { flush() }
                        text += t
                    case let .event(.toolCall(c)):
                        flush()
                        blocks.append(["type": "tool_use", "id": .string(c.id), "name": .string(c.name), "input": AnthropicResponder.input(c)])
                    case let .done(o):
                        flush()
                        return Self.json(responder.message(blocks: blocks, outcome: o))
                    }
                }
            } catch {
                throw apiError(from: error)
            }
            throw APIError(status: 500, type: "server_error", message: "generation ended without a result")
        }
        let promptTokens = prepared.request.promptIds.count
        let keepAliveSeconds = options.keepAliveSeconds
        return Self.sse { writer in
            try await writer.write(ByteBuffer(string: AnthropicResponder.event("message_start", responder.messageStart(promptTokens: promptTokens))))
            var blocks = AnthropicBlockWriter()
            do {
                for try await tick in keepAlive(replies, every: keepAliveSeconds) {
                    guard let item = tick else {
                        try await writer.write(ByteBuffer(string: AnthropicResponder.event("ping", ["type": "ping"])))
                        continue
                    }
                    switch item {
                    case .logprob: continue
                    case let .event(e):
                        for frame in blocks.events(for: e) { try await writer.write(ByteBuffer(string: frame)) }
                    case let .done(o):
                        var frames = blocks.close()
                        frames.append(AnthropicResponder.event("message_delta", [
                            "type": "message_delta",
                            "delta": ["stop_reason": .string(AnthropicResponder.stopReason(o)),
                                      "stop_sequence": o.summary.stopString.map(JSONValue.string) ?? .null],
                            "usage": AnthropicResponder.usage(o),
                        ]))
                        frames.append(AnthropicResponder.event("message_stop", ["type": "message_stop"]))
                        for f in frames { try await writer.write(ByteBuffer(string: f)) }
                    }
                }
            } catch {
                try await writer.write(ByteBuffer(string: AnthropicResponder.event("error", apiError(from: error).anthropicBody)))
            }
            try await writer.finish(nil)
        }
    }

    private func countTokens(_ req: Request) async throws -> Response {
        let (name, job) = try AnthropicRequest.parse(try await body(req), limits: options.limits)
        try checkModel(name)
        let prepared = try job.prepare(for: model, contextLength: Int.max)
        return Self.json(["input_tokens": .int(Int64(prepared.request.promptIds.count))])
    }

    // MARK: responses

    static func json(_ v: JSONValue, status: HTTPResponse.Status = .ok) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: v.serialized)))
    }

    static func sse(_ write: @escaping @Sendable (inout any ResponseBodyWriter) async throws -> Void) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "text/event-stream"
        headers[.cacheControl] = "no-cache"
        return Response(status: .ok, headers: headers, body: ResponseBody(write))
    }
}

/// The items of `source`, with a nil whenever it has been silent for `interval` seconds (a cue
/// to send a keep-alive: Claw Code drops a stream that sends nothing for 10 s after a tool
/// result). Ending the returned stream ends the iteration of `source`.
func keepAlive<T: Sendable>(_ source: AsyncThrowingStream<T, Error>, every interval: Double) -> AsyncThrowingStream<T?, Error> {
    guard interval > 0 else { return AsyncThrowingStream { c in
        let pump = Task {
            do { for try await x in source { c.yield(x) }; c.finish() } catch { c.finish(throwing: error) }
        }
        c.onTermination = { _ in pump.cancel() }
    } }
    return AsyncThrowingStream { c in
        let last = ActivityClock()
        let pump = Task {
            do {
                for try await x in source { last.touch(); c.yield(x) }
                c.finish()
            } catch {
                c.finish(throwing: error)
            }
        }
        let ticker = Task {
            let step = min(1.0, interval / 2)
            while !Task.isCancelled {
                try? await Task.sleep(nanoseconds: UInt64(step * 1e9))
                if last.idle >= interval { last.touch(); c.yield(nil) }
            }
        }
        c.onTermination = { _ in pump.cancel(); ticker.cancel() }
    }
}

final class ActivityClock: @unchecked Sendable {
    private let lock = NSLock()
    private var last = Date()
    func touch() { lock.lock(); last = Date(); lock.unlock() }
    var idle: Double { lock.lock(); defer { lock.unlock() }; return Date().timeIntervalSince(last) }
}

final class RequestCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0
    func next() -> Int { lock.lock(); defer { lock.unlock() }; value += 1; return value }
}
