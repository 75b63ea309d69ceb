/// Finds stop strings in streamed text. Text that could still be the start of a stop
/// string is held back, so a stop string never reaches the caller, even split across tokens.
struct StopStringMatcher {
    let stops: [String]
    private var pending = ""
    /// The stop string that ended generation.
    private(set) var matched: String? = nil

    init(_ stops: [String]) { self.stops = stops.filter { !$0.isEmpty } }

    /// Returns the text safe to emit and whether a stop string was found.
    mutating func feed(_ piece: String) -> (String, Bool) {
        guard !stops.isEmpty else { return (piece, false) }
        pending += piece
        // Earliest stop string occurrence wins.
        var cut: String.Index? = nil
        for s in stops {
            if let r = pending.range(of: s), cut == nil || r.lowerBound < cut! { cut = r.lowerBound; matched = s }
        }
        if let cut {
            let out = String(pending[..<cut])
            pending = ""
            return (out, true)
        }
        // Hold back the longest suffix that is a prefix of some stop string.
        var hold = 0
        for s in stops {
            let maxLen = min(s.count, pending.count)
            if maxLen == 0 { continue }
            for len in stride(from: maxLen, through: 1, by: -1) where len > hold {
                if pending.hasSuffix(String(s.prefix(len))) { hold = len; break }
            }
        }
        let emitCount = pending.count - hold
        let out = String(pending.prefix(emitCount))
        pending = String(pending.suffix(hold))
        return (out, false)
    }

    /// End of generation: whatever is held back is real text.
    mutating func finish(_ tail: String) -> String {
        let (out, stopped) = feed(tail)
        if stopped { return out }
        let rest = out + pending
        pending = ""
        return rest
    }
}
