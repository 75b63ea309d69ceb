import Foundation
import Hummingbird
import NIOCore
import SmolJSON
import SmolRuntime

/// `POST /v1/completions`, OpenAI's legacy text completions: the prompt runs as it is (no
/// chat template), as a string, a list of strings, token ids or lists of token ids.
enum CompletionsRequest {
    /// One job per prompt, and whether to echo the prompt.
    static func parse(_ body: JSONValue) throws(APIError) -> (model: String, jobs: [ChatJob], echo: Bool) {
        let (root, model) = try Field.requestRoot(body)
        guard let p = root["prompt"] else { throw .missing("prompt") }
        var job = ChatJob()
        job.maxTokens = 16  // OpenAI's default for this endpoint
        try OpenAIRequest.generationFields(root, into: &job)
        if let v = root["json_schema"] {
            guard case .object = v.value else { throw .invalid("json_schema", "expected a JSON Schema object, got \(v.kind)") }
            guard job.grammar == nil else { throw .invalid("json_schema", "cannot be combined with grammar") }
            job.responseFormat = .jsonSchema(v.value, strict: true)
        }
        if let v = root["logprobs"], v.value != .null {
            let k = try v.int()
            guard (0...20).contains(k) else { throw .invalid("logprobs", "must be between 0 and 20, got \(k)") }
            job.logprobs = k
        }
        if let s = root["suffix"], s.value != .null, !(try s.string()).isEmpty {
            throw .invalid("suffix", "fill-in-the-middle (suffix) is not supported by these models")
        }
        if let b = root["best_of"], b.value != .null, try b.int() != job.n {
            throw .invalid("best_of", "only best_of equal to n is supported (each choice is returned)")
        }
        var echo = false
        if let e = root["echo"] { echo = try e.bool() }
        if echo && job.logprobs != nil {
            throw .invalid("echo", "echo with logprobs (prompt log-probabilities) is not supported; send echo or logprobs")
        }
        var prompts: [ChatJob] = []
        func add(text: String? = nil, ids: [Int]? = nil) {
            var j = job
            j.rawPrompt = text
            j.rawPromptIds = ids
            prompts.append(j)
        }
        switch p.value {
        case let .string(s): add(text: s)
        case let .array(items) where items.isEmpty: throw .invalid("prompt", "must not be empty")
        case let .array(items):
            let list = try p.array()
            if case .int = items[0] {
                add(ids: try list.map { f throws(APIError) in try f.int() })
            } else {
                for f in list {
                    switch f.value {
                    case let .string(s): add(text: s)
                    case .array: add(ids: try f.array().map { g throws(APIError) in try g.int() })
                    default: throw .invalid(f.path, "expected a string or an array of token ids, got \(f.kind)")
                    }
                }
            }
        default: throw .invalid("prompt", "expected a string, an array of strings or token ids, got \(p.kind)")
        }
        guard prompts.count * job.n <= ChatJob.maxChoices else {
            throw .invalid("prompt", "\(prompts.count) prompts x n \(job.n) is over the limit of \(ChatJob.maxChoices) choices")
        }
        if let empty = prompts.firstIndex(where: { ($0.rawPrompt?.isEmpty ?? false) || ($0.rawPromptIds?.isEmpty ?? false) }) {
            throw .invalid(prompts.count == 1 ? "prompt" : "prompt[\(empty)]", "must not be empty")
        }
        return (model, prompts, echo)
    }
}

extension ChatServer {
    func completions(_ req: Request) async throws -> Response {
        let (name, jobs, echo) = try CompletionsRequest.parse(try await body(req))
        // Choice index = prompt index x n + choice; each prompt's choices share its prefill.
        var streams: [AsyncThrowingStream<(Int, ReplyItem), Error>] = []
        var echoes: [String] = []
        var n = 0
        for job in jobs {
            let (id, s) = try startChoices(job, model: name)
            n = id
            streams.append(s)
            echoes.append(echo ? (job.rawPrompt ?? model.tokenizer.decode(job.rawPromptIds ?? [], skipSpecialTokens: false)) : "")
        }
        let per = jobs[0].n
        let echoed = echoes
        let total = jobs.count * per
        // Items tagged (prompt, (choice, item)).
        let replies = merge(streams)
        let id = "cmpl-\(n)", created = Int64(Date().timeIntervalSince1970)
        let modelId = self.modelId
        let wantsLogprobs = jobs[0].logprobs != nil
        @Sendable func object(_ choices: [JSONValue], usage: JSONValue? = nil) -> JSONValue {
            var o: [(String, JSONValue)] = [("id", .string(id)), ("object", "text_completion"), ("created", .int(created)),
                                            ("model", .string(modelId)), ("choices", .array(choices))]
            if let usage { o.append(("usage", usage)) }
            return .object(o)
        }
        @Sendable func choice(_ index: Int, text: String, logprobs: [TokenLogprob], offset: Int, finish: String?) -> JSONValue {
            ["text": .string(text), "index": .int(Int64(index)),
             "logprobs": wantsLogprobs ? legacyLogprobs(logprobs, textOffset: offset) : .null,
             "finish_reason": finish.map(JSONValue.string) ?? .null]
        }
        // Usage: each prompt once, every choice's completion.
        @Sendable func usage(_ outcomes: [ReplyOutcome]) -> JSONValue {
            var prompt = 0
            for (k, o) in outcomes.enumerated() where k % per == 0 { prompt += o.promptTokens }
            let completion = outcomes.reduce(0) { $0 + $1.completionTokens }
            return ["prompt_tokens": .int(Int64(prompt)), "completion_tokens": .int(Int64(completion)),
                    "total_tokens": .int(Int64(prompt + completion))]
        }
        @Sendable func text(_ item: ReplyItem) -> String? {
            switch item {
            case let .event(.content(t)), let .event(.reasoning(t)): return t
            case let .event(.toolCall(c)): return Self.callText(c)
            default: return nil
            }
        }
        if !jobs[0].stream {
            var states = [ChoiceState](repeating: ChoiceState(), count: total)
            var texts = echoed.flatMap { e in [String](repeating: e, count: per) }
            do {
                for try await (p, (c, item)) in replies {
                    let i = p * per + c
                    states[i].take(item)
                    if let t = text(item) { texts[i] += t }
                }
            } catch {
                throw apiError(from: error)
            }
            guard states.allSatisfy({ $0.outcome != nil }) else {
                throw APIError(status: 500, type: "server_error", message: "generation ended without a result")
            }
            let choices = (0..<total).map { k in
                choice(k, text: texts[k], logprobs: states[k].logprobs, offset: echoed[k / per].count,
                       finish: OpenAIResponder.finishReason(states[k].outcome!))
            }
            return Self.json(object(choices, usage: usage(states.map { $0.outcome! })))
        }
        let includeUsage = jobs[0].includeUsage
        let keepAliveSeconds = options.keepAliveSeconds
        return Self.sse { writer in
            var pending = [[TokenLogprob]](repeating: [], count: total)
            var offsets = (0..<total).map { _ in 0 }
            var outcomes = [ReplyOutcome?](repeating: nil, count: total)
            for k in 0..<total where !echoed[k / per].isEmpty {
                try await writer.write(ByteBuffer(string: OpenAIResponder.sse(object([choice(k, text: echoed[k / per], logprobs: [], offset: 0, finish: nil)]))))
                offsets[k] = echoed[k / per].count
            }
            do {
                for try await tick in keepAlive(replies, every: keepAliveSeconds) {
                    guard let (p, (c, item)) = tick else {
                        try await writer.write(ByteBuffer(string: ": keep-alive\n\n"))
                        continue
                    }
                    let i = p * per + c
                    var frame = ""
                    switch item {
                    case let .logprob(l): pending[i].append(l)
                    case let .done(o):
                        outcomes[i] = o
                        frame = OpenAIResponder.sse(object([choice(i, text: "", logprobs: pending[i], offset: offsets[i],
                                                                   finish: OpenAIResponder.finishReason(o))]))
                        pending[i] = []
                        if includeUsage, outcomes.allSatisfy({ $0 != nil }) {
                            frame += OpenAIResponder.sse(object([], usage: usage(outcomes.map { $0! })))
                        }
                    case .event:
                        guard let t = text(item) else { break }
                        frame = OpenAIResponder.sse(object([choice(i, text: t, logprobs: pending[i], offset: offsets[i], finish: nil)]))
                        offsets[i] += t.count
                        pending[i] = []
                    }
                    if !frame.isEmpty { try await writer.write(ByteBuffer(string: frame)) }
                }
            } catch {
                try await writer.write(ByteBuffer(string: OpenAIResponder.sse(apiError(from: error).openAIBody)))
            }
            try await writer.write(ByteBuffer(string: "data: [DONE]\n\n"))
            try await writer.finish(nil)
        }
    }

    /// The legacy logprobs object: tokens, token_logprobs, top_logprobs (token -> logprob),
    /// text_offset (characters, from the start of the returned text).
    func legacyLogprobs(_ lps: [TokenLogprob], textOffset: Int) -> JSONValue {
        var tokens: [JSONValue] = [], values: [JSONValue] = [], tops: [JSONValue] = [], offsets: [JSONValue] = []
        var offset = textOffset
        func text(_ id: Int) -> String {
            String(decoding: model.tokenizer.tokenBytes(id) ?? Array(model.tokenizer.decode([id], skipSpecialTokens: false).utf8), as: UTF8.self)
        }
        for lp in lps {
            let t = text(lp.id)
            tokens.append(.string(t))
            values.append(.double(lp.logprob.isFinite ? Double(lp.logprob) : -9999.0))
            tops.append(.object(lp.top.map { (text($0.id), .double($0.logprob.isFinite ? Double($0.logprob) : -9999.0)) }))
            offsets.append(.int(Int64(offset)))
            offset += t.count
        }
        return ["tokens": .array(tokens), "token_logprobs": .array(values), "top_logprobs": .array(tops), "text_offset": .array(offsets)]
    }
}
