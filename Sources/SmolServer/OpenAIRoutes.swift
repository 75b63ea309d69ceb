import Foundation
import Hummingbird
import NIOCore
import SmolJSON
import SmolRuntime

/// `POST /v1/chat/completions`: one choice or `n` (sharing the prompt's prefill, decoded as
/// one batch), streamed or not, with `logprobs` / `top_logprobs` when asked.
extension ChatServer {
    func chatCompletions(_ req: Request) async throws -> Response {
        let (name, job) = try OpenAIRequest.parse(try await body(req), limits: options.limits)
        let (n, replies) = try startChoices(job, model: name)
        let responder = OpenAIResponder(id: "chatcmpl-\(n)", model: modelId)
        let choices = job.n
        if !job.stream {
            var states = [ChoiceState](repeating: ChoiceState(), count: choices)
            do {
                for try await (i, item) in replies {
                    states[i].take(item)
                }
            } catch {
                throw apiError(from: error)
            }
            guard states.allSatisfy({ $0.outcome != nil }) else {
                throw APIError(status: 500, type: "server_error", message: "generation ended without a result")
            }
            let body = states.enumerated().map { i, s in
                OpenAIResponder.choice(index: i, content: s.content, reasoning: s.reasoning, calls: s.calls, outcome: s.outcome!,
                                       logprobs: job.logprobs == nil ? .null : logprobsJSON(s.logprobs))
            }
            return Self.json(responder.completion(choices: body, outcomes: states.map { $0.outcome! }))
        }
        let includeUsage = job.includeUsage
        let keepAliveSeconds = options.keepAliveSeconds
        let wantsLogprobs = job.logprobs != nil
        return Self.sse { [self] writer in
            for i in 0..<choices {
                try await writer.write(ByteBuffer(string: OpenAIResponder.sse(responder.chunk(delta: ["role": "assistant", "content": ""], index: i))))
            }
            var toolIndex = [Int](repeating: 0, count: choices)
            // Logprobs of tokens whose text has not gone out yet, per choice.
            var pending = [[TokenLogprob]](repeating: [], count: choices)
            var outcomes = [ReplyOutcome?](repeating: nil, count: choices)
            func lp(_ i: Int) -> JSONValue {
                guard wantsLogprobs, !pending[i].isEmpty else { return .null }
                defer { pending[i] = [] }
                return logprobsJSON(pending[i])
            }
            do {
                for try await tick in keepAlive(replies, every: keepAliveSeconds) {
                    guard let (i, item) = tick else {
                        try await writer.write(ByteBuffer(string: ": keep-alive\n\n"))
                        continue
                    }
                    let frame: String
                    switch item {
                    case let .logprob(l): pending[i].append(l); continue
                    case let .event(.content(t)):
                        frame = OpenAIResponder.sse(responder.chunk(delta: ["content": .string(t)], index: i, logprobs: lp(i)))
                    case let .event(.reasoning(t)):
                        frame = OpenAIResponder.sse(responder.chunk(delta: ["reasoning_content": .string(t)], index: i, logprobs: lp(i)))
                    case let .event(.toolCall(c)):
                        frame = OpenAIResponder.sse(responder.chunk(delta: ["tool_calls": [OpenAIResponder.toolCall(c, index: toolIndex[i])]],
                                                                    index: i, logprobs: lp(i)))
                        toolIndex[i] += 1
                    case let .done(o):
                        outcomes[i] = o
                        var f = OpenAIResponder.sse(responder.chunk(delta: [:], finishReason: OpenAIResponder.finishReason(o), index: i, logprobs: lp(i)))
                        if includeUsage, outcomes.allSatisfy({ $0 != nil }) { f += OpenAIResponder.sse(responder.usageChunk(outcomes.map { $0! })) }
                        frame = f
                    }
                    try await writer.write(ByteBuffer(string: frame))
                }
            } catch {
                // Headers are out: the error travels in the stream, as OpenAI's does.
                try await writer.write(ByteBuffer(string: OpenAIResponder.sse(apiError(from: error).openAIBody)))
            }
            try await writer.write(ByteBuffer(string: "data: [DONE]\n\n"))
            try await writer.finish(nil)
        }
    }

    /// Renders and queues a job's `n` choices (seeded `seed`, `seed + 1`, ...). Returns the
    /// request number and their reply items, merged and tagged with the choice index.
    func startChoices(_ job: ChatJob, model name: String) throws(APIError) -> (Int, AsyncThrowingStream<(Int, ReplyItem), Error>) {
        try checkModel(name)
        let prepared = try job.prepare(for: model, contextLength: contextLength, constrainByDefault: options.constrainToolCalls)
        let requests = (0..<job.n).map { i -> GenerationRequest in
            var r = prepared.request
            if i > 0, let s = r.sampling.seed { r.sampling.seed = s &+ UInt64(i) }
            return r
        }
        let subs = try engine.submit(requests)
        let n = counter.next()
        let streams = subs.enumerated().map { i, s in
            replyStream(prepared, events: s.events, cancel: s.cancel, idPrefix: i == 0 ? "call_\(n)_" : "call_\(n)_\(i)_")
        }
        return (n, merge(streams))
    }

    /// The log-probabilities object of a choice or chunk: `{"content": [...], "refusal": null}`.
    func logprobsJSON(_ lps: [TokenLogprob]) -> JSONValue {
        func entry(_ id: Int, _ logprob: Float, top: [JSONValue]?) -> JSONValue {
            let bytes = model.tokenizer.tokenBytes(id) ?? Array(model.tokenizer.decode([id], skipSpecialTokens: false).utf8)
            // OpenAI writes -9999.0 for a probability that underflows.
            let v = logprob.isFinite ? Double(logprob) : -9999.0
            var o: [(String, JSONValue)] = [("token", .string(String(decoding: bytes, as: UTF8.self))), ("logprob", .double(v)),
                                            ("bytes", .array(bytes.map { .int(Int64($0)) }))]
            if let top { o.append(("top_logprobs", .array(top))) }
            return .object(o)
        }
        return ["content": .array(lps.map { lp in entry(lp.id, lp.logprob, top: lp.top.map { entry($0.id, $0.logprob, top: nil) }) }),
                "refusal": .null]
    }
}

/// What one choice has produced so far (non-streamed responses).
struct ChoiceState {
    var content = "", reasoning = ""
    var calls: [ToolCall] = []
    var logprobs: [TokenLogprob] = []
    var outcome: ReplyOutcome? = nil

    mutating func take(_ item: ReplyItem) {
        switch item {
        case let .event(.content(t)): content += t
        case let .event(.reasoning(t)): reasoning += t
        case let .event(.toolCall(c)): calls.append(c)
        case let .logprob(l): logprobs.append(l)
        case let .done(o): outcome = o
        }
    }
}

/// The items of several streams as one, each tagged with its stream's index; ends when all
/// have ended, fails when one fails. Ending the merged stream ends the sources (which cancels
/// their generations).
func merge<T: Sendable>(_ sources: [AsyncThrowingStream<T, Error>]) -> AsyncThrowingStream<(Int, T), Error> {
    AsyncThrowingStream { c in
        let task = Task {
            do {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for (i, s) in sources.enumerated() {
                        group.addTask { for try await x in s { c.yield((i, x)) } }
                    }
                    try await group.waitForAll()
                }
                c.finish()
            } catch {
                c.finish(throwing: error)
            }
        }
        c.onTermination = { _ in task.cancel() }
    }
}
