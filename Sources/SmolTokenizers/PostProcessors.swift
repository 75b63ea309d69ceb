/// Adds special tokens around an encoded sequence (tokenizers' post_processor).
protocol PostProcessor: Sendable {
    func process(_ ids: [Int]) -> [Int]
}

/// `TemplateProcessing` for single sequences: pieces are `$A` or special tokens.
struct TemplateProcessor: PostProcessor {
    enum Item { case sequence, tokens([Int]) }
    let items: [Item]
    func process(_ ids: [Int]) -> [Int] {
        items.flatMap { item -> [Int] in
            switch item {
            case .sequence: return ids
            case let .tokens(t): return t
            }
        }
    }
}

struct IdentityProcessor: PostProcessor {
    func process(_ ids: [Int]) -> [Int] { ids }
}

struct SequenceProcessor: PostProcessor {
    let steps: [PostProcessor]
    func process(_ ids: [Int]) -> [Int] { steps.reduce(ids) { $1.process($0) } }
}

enum PostProcessorFactory {
    static func make(_ json: [String: Any]?) throws -> PostProcessor? {
        guard let json else { return nil }
        guard let type = json["type"] as? String else { throw TokenizerError.missingField(component: "post_processor", field: "type") }
        switch type {
        case "ByteLevel": return IdentityProcessor()  // only adjusts offsets
        case "TemplateProcessing":
            let special = json["special_tokens"] as? [String: Any] ?? [:]
            let single = json["single"] as? [[String: Any]] ?? []
            var items: [TemplateProcessor.Item] = []
            for piece in single {
                if piece["Sequence"] != nil { items.append(.sequence); continue }
                guard let st = piece["SpecialToken"] as? [String: Any], let name = st["id"] as? String else {
                    throw TokenizerError.unsupportedOption(component: "TemplateProcessing", option: "piece \(piece)")
                }
                guard let entry = special[name] as? [String: Any], let ids = entry["ids"] as? [Int] else {
                    throw TokenizerError.missingField(component: "TemplateProcessing special_tokens", field: name)
                }
                items.append(.tokens(ids))
            }
            return TemplateProcessor(items: items)
        case "Sequence":
            let list = json["processors"] as? [[String: Any]] ?? []
            return SequenceProcessor(steps: try list.compactMap { try make($0) })
        default:
            throw TokenizerError.unsupportedType(component: "post_processor", type: type)
        }
    }
}
