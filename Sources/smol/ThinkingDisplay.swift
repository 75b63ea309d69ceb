import Foundation
import SmolRuntime

/// Shows reasoning distinctly: dimmed on a terminal, between markers otherwise, or hidden.
struct ThinkingDisplay {
    var splitter = ReasoningSplitter()
    let hide: Bool
    let tty = isatty(STDOUT_FILENO) == 1
    var inReasoning = false

    init(hide: Bool) { self.hide = hide }

    mutating func feed(_ text: String) -> String { render(splitter.feed(text)) }
    mutating func finish() -> String { render(splitter.finish()) + (inReasoning && tty ? "\u{1B}[0m" : "") }

    private mutating func render(_ pieces: [ReasoningSplitter.Piece]) -> String {
        var out = ""
        for p in pieces {
            switch p {
            case let .reasoning(t):
                if hide { continue }
                if !inReasoning { out += tty ? "\u{1B}[2m" : "<think>"; inReasoning = true }
                out += t
            case let .answer(t):
                if inReasoning { out += tty ? "\u{1B}[0m" : "</think>"; inReasoning = false }
                out += hide ? String(t.drop { $0 == "\n" && out.isEmpty }) : t
            }
        }
        return out
    }
}
