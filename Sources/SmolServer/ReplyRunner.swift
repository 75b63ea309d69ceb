import SmolRuntime

/// What a client sees of a reply as it is generated.
enum ReplyEvent: Sendable {
    case reasoning(String)
    case content(String)
    case toolCall(ToolCall)
}

/// The end of a reply.
struct ReplyOutcome: Sendable {
    var summary: GenerationSummary
    var toolCalls: Int
    /// Prompt tokens (the forced tool-call prefix included).
    var promptTokens: Int { summary.promptTokens }
    var completionTokens: Int { summary.tokens.count }
}

enum ReplyItem: Sendable {
    case event(ReplyEvent)
    case done(ReplyOutcome)
    /// A token's log-probabilities, before the text it produced (only when asked for).
    case logprob(TokenLogprob)
}

/// Parses a running generation into reply events. Dropping the stream (a client that went
/// away) cancels the generation.
func replyStream(_ prepared: PreparedChat, events: AsyncThrowingStream<EngineEvent, Error>,
                 cancel: @escaping @Sendable () -> Void, idPrefix: String) -> AsyncThrowingStream<ReplyItem, Error> {
    AsyncThrowingStream { continuation in
        let task = Task {
            var parser = AnyReplyParser(prepared, idPrefix: idPrefix)
            func forward(_ evs: [ReplyStreamParser.Event]) {
                for e in evs {
                    switch e {
                    case let .reasoning(t): continuation.yield(.event(.reasoning(t)))
                    case let .content(t): continuation.yield(.event(.content(t)))
                    case let .toolCall(c): continuation.yield(.event(.toolCall(c)))
                    }
                }
            }
            do {
                forward(parser.feed(prepared.forcedPrefix))
                for try await ev in events {
                    switch ev {
                    case .started: continue
                    case let .logprob(lp): continuation.yield(.logprob(lp))
                    case let .text(t): forward(parser.feed(t))
                    case let .done(summary):
                        forward(parser.finish())
                        continuation.yield(.done(ReplyOutcome(summary: summary, toolCalls: parser.toolCallCount)))
                        continuation.finish()
                        return
                    }
                }
                continuation.finish(throwing: CancellationError())
            } catch {
                continuation.finish(throwing: error)
            }
        }
        continuation.onTermination = { reason in
            if case .finished = reason { return }
            cancel()
            task.cancel()
        }
    }
}

/// The native parser (think blocks, `<tool_call>` blocks) or the generic mode's envelope parser.
struct AnyReplyParser {
    private var native: ReplyStreamParser?
    private var envelope: EnvelopeReplyParser?
    init(_ prepared: PreparedChat, idPrefix: String) {
        if prepared.verbatim { return }
        if prepared.envelope { envelope = EnvelopeReplyParser(idPrefix: idPrefix) }
        else { native = ReplyStreamParser(reasoning: prepared.parseReasoning, tools: prepared.parseTools, idPrefix: idPrefix) }
    }
    mutating func feed(_ t: String) -> [ReplyStreamParser.Event] {
        if native != nil { return native!.feed(t) }
        if envelope != nil { return envelope!.feed(t) }
        return t.isEmpty ? [] : [.content(t)]
    }
    mutating func finish() -> [ReplyStreamParser.Event] {
        if native != nil { return native!.finish() }
        if envelope != nil { return envelope!.finish() }
        return []
    }
    var toolCallCount: Int { native?.toolCallCount ?? envelope?.toolCallCount ?? 0 }
}

/// Generation failures as API errors.
func apiError(from error: Error) -> APIError {
    switch error {
    case let e as APIError: return e
    case let e as GenerationError:
        switch e {
        case let .promptTooLong(n, c):
            return APIError.contextLengthExceeded(promptTokens: n, context: c)
        case let .invalidParameter(f, r): return .invalid(f, r)
        default: return APIError(status: 400, message: "\(e)")
        }
    case is CancellationError:
        return APIError(status: 499, type: "cancelled", message: "the request was cancelled")
    default:
        return APIError(status: 500, type: "server_error", message: "generation failed: \(error)")
    }
}
