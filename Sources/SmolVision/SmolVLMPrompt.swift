/// The text that stands for an image in a SmolVLM prompt, as transformers' SmolVLMProcessor
/// writes it: per tile `<fake_token_around_image><row_r_col_c>` and `seqLen` `<image>`
/// tokens, a newline after each row, then a blank line and the global image wrapped in
/// `<fake_token_around_image><global-img>` ... `<fake_token_around_image>`. An image that
/// was not split is the global block alone.
public enum SmolVLMPrompt {
    public static let imageToken = "<image>"
    public static let fakeToken = "<fake_token_around_image>"
    public static let globalToken = "<global-img>"

    public static func tileToken(row: Int, col: Int) -> String { "<row_\(row)_col_\(col)>" }

    public static func imageText(rows: Int, cols: Int, seqLen: Int) -> String {
        let tokens = String(repeating: imageToken, count: seqLen)
        let global = fakeToken + globalToken + tokens + fakeToken
        guard rows > 0 || cols > 0 else { return global }
        var s = ""
        for r in 1...rows {
            for c in 1...cols { s += fakeToken + tileToken(row: r, col: c) + tokens }
            s += "\n"
        }
        return s + "\n" + global
    }

    /// Replaces the i-th `<image>` placeholder of `text` with `expansions[i]`, in one pass.
    public static func expand(_ text: String, expansions: [String]) throws(VisionError) -> String {
        let pieces = text.components(separatedBy: imageToken)
        guard pieces.count - 1 == expansions.count else {
            throw .placeholderMismatch(placeholders: pieces.count - 1, images: expansions.count)
        }
        var out = pieces[0]
        for (i, e) in expansions.enumerated() { out += e + pieces[i + 1] }
        return out
    }
}
