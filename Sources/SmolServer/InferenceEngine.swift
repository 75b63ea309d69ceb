import Foundation
import SmolRuntime

/// What a running request reports.
enum EngineEvent: Sendable {
    /// The request left the queue and its prompt is being read.
    case started
    case text(String)
    /// The log-probabilities of the token whose text comes next (requests asking for them).
    case logprob(TokenLogprob)
    case done(GenerationSummary)
}

/// Runs up to `parallel` generations together on its own thread (continuous batching: each step
/// prefills one chunk of the oldest new prompt and advances every running stream by a token;
/// see BatchGenerator). Every conversation's KV stays in a prefix cache under a memory budget,
/// so interleaved conversations (an agent and its sub-agents) each prefill only what they had
/// not sent before. Beyond `parallel`, at most `maxQueue` requests wait; more are refused (429).
final class InferenceEngine: @unchecked Sendable {
    let model: SmolModel
    let contextLength: Int
    let parallel: Int
    let maxQueue: Int
    let cache: PrefixCache
    private let condition = NSCondition()
    private var waiting: [Job] = []
    private var activeCount = 0
    /// Rough seconds per request, for Retry-After.
    private var lastDuration = 1.0

    final class Job: @unchecked Sendable {
        let request: GenerationRequest
        let continuation: AsyncThrowingStream<EngineEvent, Error>.Continuation
        let cancelled = CancelFlag()
        var sequence: GenerationSequence? = nil
        var started = Date()
        /// Waits until this job has prefilled its prompt, then copies that KV (the other
        /// choices of an `n` > 1 request share the first one's prefill).
        var follows: Job? = nil
        /// Set on the engine thread when the job's run ended.
        var ended = false
        /// Whether jobs that follow this one can start: its prompt is in its cache (or it ended).
        var prefilled: Bool { ended || (sequence.map { $0.phase != .prefill } ?? false) }
        init(request: GenerationRequest, continuation: AsyncThrowingStream<EngineEvent, Error>.Continuation) {
            self.request = request
            self.continuation = continuation
        }
    }

    /// KV blocks of long prefixes on disk (`--prompt-cache DIR`), read when memory has less.
    let disk: DiskPromptCache?

    init(model: SmolModel, contextLength: Int, parallel: Int, maxQueue: Int, cacheBytes: Int, disk: DiskPromptCache? = nil) {
        self.model = model
        self.disk = disk
        self.contextLength = contextLength
        self.parallel = max(1, parallel)
        self.maxQueue = maxQueue
        let lm = model.model
        cache = PrefixCache(budgetBytes: cacheBytes) { lm.makeCache(capacity: contextLength) }
        let thread = Thread { [unowned self] in self.loop() }
        thread.name = "smol-engine"
        thread.stackSize = 8 << 20
        thread.start()
    }

    /// Queues a request. `cancel` (or dropping the stream) stops its generation.
    func submit(_ request: GenerationRequest) throws(APIError) -> (events: AsyncThrowingStream<EngineEvent, Error>, cancel: @Sendable () -> Void) {
        try submit([request])[0]
    }

    /// Queues requests that share a prompt (the choices of an `n` > 1 request): the first
    /// prefills it, the others start when it has and copy its KV, then all decode together.
    func submit(_ requests: [GenerationRequest]) throws(APIError) -> [(events: AsyncThrowingStream<EngineEvent, Error>, cancel: @Sendable () -> Void)] {
        var out: [(events: AsyncThrowingStream<EngineEvent, Error>, cancel: @Sendable () -> Void)] = []
        var jobs: [Job] = []
        for request in requests {
            var job: Job!
            let stream = AsyncThrowingStream<EngineEvent, Error> { c in job = Job(request: request, continuation: c) }
            let j = job!
            j.continuation.onTermination = { _ in j.cancelled.set() }
            j.follows = jobs.first
            jobs.append(j)
            out.append((stream, { j.cancelled.set() }))
        }
        condition.lock()
        defer { condition.unlock() }
        if waiting.count + jobs.count > maxQueue && activeCount + waiting.count + jobs.count > parallel {
            var e = APIError(status: 429, type: "rate_limit_error",
                             message: "the server is busy: \(activeCount) requests are running and \(waiting.count) waiting (limit \(maxQueue)); retry later",
                             code: "queue_full")
            e.retryAfter = max(1, Int((lastDuration * Double(waiting.count + 1) / Double(parallel)).rounded(.up)))
            throw e
        }
        waiting += jobs
        condition.signal()
        return out
    }

    /// Requests generating now.
    var running: Int {
        condition.lock()
        defer { condition.unlock() }
        return activeCount
    }

    /// Requests waiting for a free slot (for keep-alives and tests).
    var queued: Int {
        condition.lock()
        defer { condition.unlock() }
        return waiting.count
    }

    private func loop() {
        let batch = BatchGenerator(model: model.model)
        var jobs: [ObjectIdentifier: Job] = [:]
        while true {
            condition.lock()
            while waiting.isEmpty && batch.isEmpty { condition.wait() }
            var admitted: [Job] = []
            var i = 0
            while batch.sequences.count + admitted.count < parallel, i < waiting.count {
                if let lead = waiting[i].follows, !lead.prefilled { i += 1; continue }
                admitted.append(waiting.remove(at: i))
            }
            activeCount = batch.sequences.count + admitted.count
            condition.unlock()

            for job in admitted {
                guard let seq = start(job) else { job.ended = true; continue }
                jobs[ObjectIdentifier(seq)] = job
                batch.add(seq)
            }
            for job in jobs.values where job.cancelled.isSet { job.sequence?.cancel() }
            guard !batch.isEmpty else { continue }
            for (seq, error) in batch.step() {
                guard let job = jobs.removeValue(forKey: ObjectIdentifier(seq)) else { continue }
                job.ended = true
                if error == nil, let disk {
                    disk.save(seq.cache, limit: savablePositions(seq.cache, imageTokenId: model.vision?.config.imageTokenId))
                }
                cache.release(seq.cache, keep: error == nil, promptTokens: seq.request.promptIds.count)
                if let error {
                    job.continuation.finish(throwing: error)
                } else {
                    job.continuation.yield(.done(seq.summary))
                    job.continuation.finish()
                }
                let d = Date().timeIntervalSince(job.started)
                condition.lock()
                lastDuration = 0.7 * lastDuration + 0.3 * d
                condition.unlock()
            }
            condition.lock()
            activeCount = batch.sequences.count
            condition.unlock()
        }
    }

    /// Takes the longest cached prefix of the prompt and makes the job's sequence (image tiles
    /// are encoded here, on the engine thread, which owns the compute pool).
    private func start(_ job: Job) -> GenerationSequence? {
        if job.cancelled.isSet {
            job.ended = true
            job.continuation.finish(throwing: CancellationError())
            return nil
        }
        job.started = Date()
        var req = job.request
        let encodeSeconds: Double
        do { encodeSeconds = try GenerationSequence.encodeImages(&req, model: model.model) } catch {
            job.continuation.finish(throwing: error)
            return nil
        }
        let keys = GenerationSequence.cacheKeys(req)
        let limit = GenerationSequence.reusableLimit(req)
        let lease = cache.acquire(prompt: keys, limit: limit)
        if let disk, lease.reused + disk.blockTokens <= limit {
            disk.load(prompt: keys, limit: limit, into: lease.cache)
        }
        do {
            let seq = try GenerationSequence(req, cache: lease.cache, model: model.model, tokenizer: model.tokenizer,
                                             imageEncodeSeconds: encodeSeconds) { [weak job] id, text in
                // Weak: the job holds the sequence, which holds this closure.
                guard let job else { return false }
                if id >= 0, job.request.logprobs != nil, let lp = job.sequence?.summary.logprobs.last, lp.id == id {
                    job.continuation.yield(.logprob(lp))
                }
                if !text.isEmpty { job.continuation.yield(.text(text)) }
                return !job.cancelled.isSet
            }
            job.sequence = seq
            job.continuation.yield(.started)
            return seq
        } catch {
            cache.release(lease.cache, keep: false)
            job.continuation.finish(throwing: error)
            return nil
        }
    }
}

final class CancelFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    func set() { lock.lock(); value = true; lock.unlock() }
    var isSet: Bool { lock.lock(); defer { lock.unlock() }; return value }
}
