import Foundation

/// Advances several sequences over one model, continuous-batching style: each `step` prefills
/// one chunk of the oldest sequence still reading its prompt, then runs one decode row for every
/// sequence that is generating, in passes of `TransformerModel.decodeRows` rows that read the
/// weights once. A long prompt therefore delays running streams by one chunk per step, never by
/// its whole prefill, and a sequence's tokens are the same as when it runs alone.
///
/// Not thread-safe: one thread owns the generator and calls `add` and `step`.
public final class BatchGenerator {
    public let model: LanguageModel
    /// Prompt tokens prefilled per step.
    public let prefillChunk: Int
    public private(set) var sequences: [GenerationSequence] = []

    public init(model: LanguageModel, prefillChunk: Int? = nil) {
        self.model = model
        self.prefillChunk = max(1, prefillChunk ?? (model as? TransformerModel)?.maxChunk ?? 512)
    }

    public func add(_ sequence: GenerationSequence) {
        if !sequence.isFinished { sequences.append(sequence) }
    }

    public var isEmpty: Bool { sequences.isEmpty }

    /// One step. Returns the sequences that ended in it (removed from `sequences`), each with the
    /// error that ended it, if any; a failed sequence's cache may be half-written.
    @discardableResult
    public func step() -> [(sequence: GenerationSequence, error: Error?)] {
        var ended: [(GenerationSequence, Error?)] = []
        var failed = Set<ObjectIdentifier>()
        func fail(_ s: GenerationSequence, _ e: Error) {
            guard failed.insert(ObjectIdentifier(s)).inserted else { return }
            s.cancel()
            ended.append((s, e))
        }
        if let s = sequences.first(where: { $0.phase == .prefill }) {
            do { try s.prefill(model: model, limit: prefillChunk) } catch { fail(s, error) }
        }
        let decoding = sequences.filter { $0.phase == .decode && $0.pendingToken != nil && !failed.contains(ObjectIdentifier($0)) }
        if !decoding.isEmpty {
            do {
                try model.forwardDecode(decoding.map { $0.pendingToken! }, caches: decoding.map(\.cache)) { i, logits in
                    do { try decoding[i].accept(logits) } catch { fail(decoding[i], error) }
                }
            } catch {
                for s in decoding where !s.isFinished { fail(s, error) }
            }
        }
        for s in sequences where s.isFinished && !failed.contains(ObjectIdentifier(s)) { ended.append((s, nil)) }
        sequences.removeAll { $0.isFinished }
        return ended
    }

    /// Runs until every sequence has ended.
    public func runToEnd() -> [(sequence: GenerationSequence, error: Error?)] {
        var all: [(GenerationSequence, Error?)] = []
        while !isEmpty { all += step() }
        return all
    }
}

extension TextGenerator {
    /// Generates for several requests together (see `BatchGenerator`), each in its own cache
    /// (`caches[i]`, or a new one). `onToken(i, id, text)` returns false to stop request i.
    /// Greedy requests give the same tokens as one `run` each.
    public func runBatch(_ requests: [GenerationRequest], caches: [KVCache]? = nil,
                         onToken: @escaping (Int, Int, String) -> Bool = { _, _, _ in true }) throws -> [GenerationSummary] {
        let batch = BatchGenerator(model: model)
        var seqs: [GenerationSequence] = []
        for (i, r) in requests.enumerated() {
            let cache = caches?[i] ?? model.makeCache(capacity: nil)
            let s = try GenerationSequence(r, cache: cache, model: model, tokenizer: tokenizer) { id, t in onToken(i, id, t) }
            seqs.append(s)
            batch.add(s)
        }
        for (_, e) in batch.runToEnd() { if let e { throw e } }
        return seqs.map(\.summary)
    }
}
