import Foundation
import Hummingbird
import NIOCore
import SmolJSON
import SmolRuntime

/// Builds a Responses reply from reply items: output items (reasoning, message,
/// function_call) and, for streams, the SSE events OpenAI defines for them, numbered in order.
struct ResponsesBuilder {
    let id: String
    let parsed: ResponsesRequest.Parsed
    let model: String
    let created = Int64(Date().timeIntervalSince1970)
    private(set) var output: [JSONValue] = []
    private var sequence = 0
    private enum Open { case none, reasoning(String), message(String) }
    private var open = Open.none
    private var text = ""
    private var itemCount = 0
    private var logprobs: [JSONValue] = []

    init(id: String, parsed: ResponsesRequest.Parsed, model: String) {
        self.id = id
        self.parsed = parsed
        self.model = model
    }

    private mutating func event(_ type: String, _ fields: [(String, JSONValue)]) -> String {
        defer { sequence += 1 }
        let v = JSONValue.object([("type", .string(type)), ("sequence_number", .int(Int64(sequence)))] + fields)
        return "event: \(type)\ndata: \(v.serialized)\n\n"
    }

    private mutating func newId(_ prefix: String) -> String {
        itemCount += 1
        return "\(prefix)_\(id.dropFirst(5))_\(itemCount)"
    }

    /// The response object; `status` in_progress, completed or incomplete.
    func response(status: String, outcome: ReplyOutcome?) -> JSONValue {
        var o: [(String, JSONValue)] = [
            ("id", .string(id)), ("object", "response"), ("created_at", .int(created)), ("status", .string(status)),
            ("error", .null),
            ("incomplete_details", status == "incomplete" ? ["reason": "max_output_tokens"] : .null),
            ("instructions", parsed.instructions.map(JSONValue.string) ?? .null),
            ("max_output_tokens", parsed.maxOutputTokens.map { .int(Int64($0)) } ?? .null),
            ("model", .string(model)), ("output", .array(output)),
            ("parallel_tool_calls", .bool(parsed.job.parallelToolCalls ?? true)),
            ("previous_response_id", .null), ("reasoning", parsed.reasoning), ("store", false),
            ("temperature", parsed.job.temperature.map(JSONValue.double) ?? .null),
            ("text", ["format": parsed.textFormat]), ("tool_choice", parsed.toolChoice), ("tools", .array(parsed.tools)),
            ("top_p", parsed.job.topP.map(JSONValue.double) ?? .null), ("truncation", "disabled"),
            ("metadata", parsed.metadata),
        ]
        if let outcome {
            let reasoningTokens = 0
            o.append(("usage", [
                "input_tokens": .int(Int64(outcome.promptTokens)),
                "input_tokens_details": ["cached_tokens": .int(Int64(outcome.summary.cachedPromptTokens)), "cache_write_tokens": 0],
                "output_tokens": .int(Int64(outcome.completionTokens)),
                "output_tokens_details": ["reasoning_tokens": .int(Int64(reasoningTokens))],
                "total_tokens": .int(Int64(outcome.promptTokens + outcome.completionTokens)),
            ]))
        }
        return .object(o)
    }

    mutating func start() -> String {
        let r = response(status: "in_progress", outcome: nil)
        return event("response.created", [("response", r)]) + event("response.in_progress", [("response", r)])
    }

    /// Frames for one reply item (empty for a non-streamed reply, which only keeps `output`).
    mutating func take(_ item: ReplyItem, logprob render: (TokenLogprob) -> JSONValue) -> String {
        switch item {
        case let .logprob(l):
            logprobs.append(render(l))
            return ""
        case let .event(.reasoning(t)):
            var f = ""
            if case .reasoning = open {} else {
                f += close()
                let rid = newId("rs")
                open = .reasoning(rid)
                f += event("response.output_item.added", [("output_index", .int(Int64(output.count))),
                                                          ("item", ["type": "reasoning", "id": .string(rid), "summary": [], "status": "in_progress"])])
                f += event("response.reasoning_summary_part.added", [("item_id", .string(rid)), ("output_index", .int(Int64(output.count))),
                                                                     ("summary_index", 0), ("part", ["type": "summary_text", "text": ""])])
            }
            text += t
            guard case let .reasoning(rid) = open else { return f }
            return f + event("response.reasoning_summary_text.delta", [("item_id", .string(rid)), ("output_index", .int(Int64(output.count))),
                                                                       ("summary_index", 0), ("delta", .string(t))])
        case let .event(.content(t)):
            var f = ""
            if case .message = open {} else {
                f += close()
                let mid = newId("msg")
                open = .message(mid)
                f += event("response.output_item.added", [("output_index", .int(Int64(output.count))),
                                                          ("item", ["type": "message", "id": .string(mid), "status": "in_progress",
                                                                    "role": "assistant", "content": []])])
                f += event("response.content_part.added", [("item_id", .string(mid)), ("output_index", .int(Int64(output.count))),
                                                           ("content_index", 0), ("part", ["type": "output_text", "text": "", "annotations": []])])
            }
            text += t
            guard case let .message(mid) = open else { return f }
            let lps = logprobs
            logprobs = []
            return f + event("response.output_text.delta", [("item_id", .string(mid)), ("output_index", .int(Int64(output.count))),
                                                            ("content_index", 0), ("delta", .string(t)), ("logprobs", .array(lps))])
        case let .event(.toolCall(c)):
            var f = close()
            let fid = newId("fc")
            let index = JSONValue.int(Int64(output.count))
            let item: JSONValue = ["type": "function_call", "id": .string(fid), "call_id": .string(c.id), "name": .string(c.name),
                                   "arguments": .string(c.arguments), "status": "completed"]
            f += event("response.output_item.added", [("output_index", index),
                                                      ("item", ["type": "function_call", "id": .string(fid), "call_id": .string(c.id),
                                                                "name": .string(c.name), "arguments": "", "status": "in_progress"])])
            f += event("response.function_call_arguments.delta", [("item_id", .string(fid)), ("output_index", index), ("delta", .string(c.arguments))])
            f += event("response.function_call_arguments.done", [("item_id", .string(fid)), ("output_index", index),
                                                                 ("name", .string(c.name)), ("arguments", .string(c.arguments))])
            f += event("response.output_item.done", [("output_index", index), ("item", item)])
            output.append(item)
            logprobs = []
            return f
        case let .done(o):
            let status = o.summary.finishReason == .length ? "incomplete" : "completed"
            let f = close()
            return f + event(status == "completed" ? "response.completed" : "response.incomplete", [("response", response(status: status, outcome: o))])
        }
    }

    /// Closes the open reasoning or message item.
    private mutating func close() -> String {
        defer { open = .none; text = "" }
        let index = JSONValue.int(Int64(output.count))
        switch open {
        case .none: return ""
        case let .reasoning(rid):
            let item: JSONValue = ["type": "reasoning", "id": .string(rid), "summary": [["type": "summary_text", "text": .string(text)]],
                                   "status": "completed"]
            output.append(item)
            return event("response.reasoning_summary_text.done", [("item_id", .string(rid)), ("output_index", index), ("summary_index", 0),
                                                                  ("text", .string(text))])
                + event("response.reasoning_summary_part.done", [("item_id", .string(rid)), ("output_index", index), ("summary_index", 0),
                                                                 ("part", ["type": "summary_text", "text": .string(text)])])
                + event("response.output_item.done", [("output_index", index), ("item", item)])
        case let .message(mid):
            let part: JSONValue = ["type": "output_text", "text": .string(text), "annotations": [], "logprobs": .array(logprobs)]
            let item: JSONValue = ["type": "message", "id": .string(mid), "status": "completed", "role": "assistant", "content": [part]]
            output.append(item)
            let lps = logprobs
            logprobs = []
            return event("response.output_text.done", [("item_id", .string(mid)), ("output_index", index), ("content_index", 0),
                                                       ("text", .string(text)), ("logprobs", .array(lps))])
                + event("response.content_part.done", [("item_id", .string(mid)), ("output_index", index), ("content_index", 0), ("part", part)])
                + event("response.output_item.done", [("output_index", index), ("item", item)])
        }
    }

    mutating func error(_ e: APIError) -> String {
        event("error", [("code", e.code.map(JSONValue.string) ?? .null), ("message", .string(e.message)),
                        ("param", e.param.map(JSONValue.string) ?? .null)])
    }
}

extension ChatServer {
    /// `POST /v1/responses`, stateless: the whole conversation comes as `input`.
    func responses(_ req: Request) async throws -> Response {
        let parsed = try ResponsesRequest.parse(try await body(req), limits: options.limits)
        let (n, replies) = try startChoices(parsed.job, model: parsed.model)
        var builder = ResponsesBuilder(id: String(format: "resp_%024d", n), parsed: parsed, model: modelId)
        let render: @Sendable (TokenLogprob) -> JSONValue = { [self] l in
            guard case let .array(entries)? = logprobsJSON([l])["content"], let e = entries.first else { return .null }
            return e
        }
        if !parsed.job.stream {
            do {
                for try await (_, item) in replies {
                    _ = builder.take(item, logprob: render)
                    if case let .done(o) = item {
                        return Self.json(builder.response(status: o.summary.finishReason == .length ? "incomplete" : "completed", outcome: o))
                    }
                }
            } catch {
                throw apiError(from: error)
            }
            throw APIError(status: 500, type: "server_error", message: "generation ended without a result")
        }
        let keepAliveSeconds = options.keepAliveSeconds
        let initial = builder
        return Self.sse { writer in
            var b = initial
            try await writer.write(ByteBuffer(string: b.start()))
            do {
                for try await tick in keepAlive(replies, every: keepAliveSeconds) {
                    guard let (_, item) = tick else {
                        try await writer.write(ByteBuffer(string: ": keep-alive\n\n"))
                        continue
                    }
                    let frames = b.take(item, logprob: render)
                    if !frames.isEmpty { try await writer.write(ByteBuffer(string: frames)) }
                }
            } catch {
                try await writer.write(ByteBuffer(string: b.error(apiError(from: error))))
            }
            try await writer.finish(nil)
        }
    }
}
