/// Separates `<think>…</think>` reasoning from the answer in streamed text, holding back
/// any suffix that could be the start of a tag.
public struct ReasoningSplitter: Sendable {
    public enum Piece: Sendable, Equatable { case reasoning(String), answer(String) }
    public static let openTag = "<think>"
    public static let closeTag = "</think>"
    private var inside = false
    private var pending = ""

    /// `startInside`: the prompt already opened a think block.
    public init(startInside: Bool = false) { inside = startInside }

    public mutating func feed(_ text: String) -> [Piece] {
        pending += text
        var out: [Piece] = []
        while true {
            let tag = inside ? Self.closeTag : Self.openTag
            if let r = pending.range(of: tag) {
                let before = String(pending[..<r.lowerBound])
                if !before.isEmpty { out.append(inside ? .reasoning(before) : .answer(before)) }
                pending = String(pending[r.upperBound...])
                inside.toggle()
                continue
            }
            // Keep back a possible partial tag.
            var hold = 0
            for len in stride(from: min(tag.count - 1, pending.count), through: 1, by: -1) where pending.hasSuffix(String(tag.prefix(len))) {
                hold = len
                break
            }
            let emit = String(pending.dropLast(hold))
            if !emit.isEmpty { out.append(inside ? .reasoning(emit) : .answer(emit)) }
            pending = String(pending.suffix(hold))
            return out
        }
    }

    public mutating func finish() -> [Piece] {
        defer { pending = "" }
        return pending.isEmpty ? [] : [inside ? .reasoning(pending) : .answer(pending)]
    }
}
