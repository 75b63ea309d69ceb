import Foundation
import SmolRuntime

/// What a running request reports.
enum EngineEvent: Sendable {
    /// The prompt was accepted and prefill starts; `cached` prompt tokens come from the cache.
    case started
    case text(String)
    case done(GenerationSummary)
}

/// Runs one generation at a time on its own thread, in arrival order, over one KV cache kept
/// between requests: a follow-up turn that repeats the conversation prefills only what is new.
/// At most `maxQueue` requests wait behind the running one; more are refused (429).
final class InferenceEngine: @unchecked Sendable {
    let model: SmolModel
    let cache: KVCache
    let maxQueue: Int
    private let condition = NSCondition()
    private var waiting: [Job] = []
    private var running = false
    /// Rough seconds per queued request, for Retry-After.
    private var lastDuration = 1.0

    final class Job: @unchecked Sendable {
        let request: GenerationRequest
        let continuation: AsyncThrowingStream<EngineEvent, Error>.Continuation
        let cancelled = CancelFlag()
        init(request: GenerationRequest, continuation: AsyncThrowingStream<EngineEvent, Error>.Continuation) {
            self.request = request
            self.continuation = continuation
        }
    }

    init(model: SmolModel, contextLength: Int, maxQueue: Int) {
        self.model = model
        self.maxQueue = maxQueue
        cache = model.model.makeCache(capacity: contextLength)
        let thread = Thread { [unowned self] in self.loop() }
        thread.name = "smol-engine"
        thread.stackSize = 8 << 20
        thread.start()
    }

    var contextLength: Int { cache.capacity }

    /// Queues a request. `cancel` (or dropping the stream) stops its generation.
    func submit(_ request: GenerationRequest) throws(APIError) -> (events: AsyncThrowingStream<EngineEvent, Error>, cancel: @Sendable () -> Void) {
        var job: Job!
        let stream = AsyncThrowingStream<EngineEvent, Error> { c in job = Job(request: request, continuation: c) }
        let j = job!
        j.continuation.onTermination = { _ in j.cancelled.set() }
        condition.lock()
        defer { condition.unlock() }
        if waiting.count >= maxQueue && (running || !waiting.isEmpty) {
            var e = APIError(status: 429, type: "rate_limit_error",
                             message: "the server is busy: \(waiting.count) requests are waiting (limit \(maxQueue)); retry later",
                             code: "queue_full")
            e.retryAfter = max(1, Int((lastDuration * Double(waiting.count + 1)).rounded(.up)))
            throw e
        }
        waiting.append(j)
        condition.signal()
        return (stream, { j.cancelled.set() })
    }

    private func loop() {
        while true {
            condition.lock()
            while waiting.isEmpty { condition.wait() }
            let job = waiting.removeFirst()
            running = true
            condition.unlock()
            let t0 = Date()
            run(job)
            condition.lock()
            running = false
            lastDuration = 0.7 * lastDuration + 0.3 * Date().timeIntervalSince(t0)
            condition.unlock()
        }
    }

    private func run(_ job: Job) {
        if job.cancelled.isSet {
            job.continuation.finish(throwing: CancellationError())
            return
        }
        job.continuation.yield(.started)
        do {
            let summary = try model.generator.run(job.request, cache: cache) { _, text in
                if !text.isEmpty { job.continuation.yield(.text(text)) }
                return !job.cancelled.isSet
            }
            job.continuation.yield(.done(summary))
            job.continuation.finish()
        } catch {
            // A failed run may leave the cache half-written: start the next request clean.
            cache.reset()
            job.continuation.finish(throwing: error)
        }
    }
}

final class CancelFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    func set() { lock.lock(); value = true; lock.unlock() }
    var isSet: Bool { lock.lock(); defer { lock.unlock() }; return value }
}
