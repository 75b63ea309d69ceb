import Foundation
import SmolGrammar
import SmolJSON
import SmolTokenizers

/// Compiled grammars with their automata, shared by requests: an agent sends the same tools
/// and schemas every turn, and an automaton keeps the states and masks it has computed.
/// Keyed by the grammar's source; least recently used entries go first.
public final class GrammarCache: @unchecked Sendable {
    public let vocabulary: TokenVocabulary
    public let capacity: Int
    private let lock = NSLock()
    private var entries: [String: GrammarAutomaton] = [:]
    private var order: [String] = []

    public init(vocabulary: TokenVocabulary, capacity: Int = 32) {
        self.vocabulary = vocabulary
        self.capacity = capacity
    }

    /// The bytes of every token except the special ones (control tokens never appear in
    /// constrained text; end-of-sequence is decided apart).
    public static func vocabulary(for tokenizer: TextTokenizer) -> TokenVocabulary {
        let special = tokenizer.specialIds
        return TokenVocabulary(bytes: (0..<tokenizer.vocabSize).map { special.contains($0) ? nil : tokenizer.tokenBytes($0) })
    }

    public func automaton(key: String, compile: () throws -> Grammar) throws -> GrammarAutomaton {
        lock.lock()
        if let a = entries[key] {
            order.removeAll { $0 == key }; order.append(key)
            lock.unlock()
            return a
        }
        lock.unlock()
        let a = GrammarAutomaton(grammar: try compile(), vocabulary: vocabulary)
        lock.lock(); defer { lock.unlock() }
        entries[key] = a
        order.append(key)
        while order.count > capacity { entries[order.removeFirst()] = nil }
        return a
    }

    public func jsonSchema(_ schema: JSONValue) throws -> GrammarAutomaton {
        try automaton(key: "schema:" + schema.serialized) { try JSONSchemaGrammar.compile(schema) }
    }

    public func gbnf(_ text: String) throws -> GrammarAutomaton {
        try automaton(key: "gbnf:" + text) { try GBNFParser.parse(text) }
    }
}

extension SmolModel {
    /// The model's grammar cache (built on first use: the vocabulary trie takes a moment).
    public var grammars: GrammarCache { GrammarCacheHolder.shared.cache(for: self) }
}

private final class GrammarCacheHolder: @unchecked Sendable {
    static let shared = GrammarCacheHolder()
    private let lock = NSLock()
    private var caches: [ObjectIdentifier: (weak: WeakModel, cache: GrammarCache)] = [:]
    struct WeakModel { weak var model: SmolModel? }

    func cache(for model: SmolModel) -> GrammarCache {
        lock.lock(); defer { lock.unlock() }
        caches = caches.filter { $0.value.weak.model != nil }
        if let c = caches[ObjectIdentifier(model)] { return c.cache }
        let c = GrammarCache(vocabulary: GrammarCache.vocabulary(for: model.tokenizer))
        caches[ObjectIdentifier(model)] = (WeakModel(model: model), c)
        return c
    }
}
