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

    public static let videoToken = "<video>"

    /// Replaces the i-th `<image>` placeholder of `text` with `images[i]` and the i-th
    /// `<video>` with `videos[i]`, in one left-to-right pass (inserted text is not rescanned).
    public static func expand(_ text: String, images: [String], videos: [String] = []) throws(VisionError) -> String {
        var out = "", rest = Substring(text), i = 0, v = 0
        while true {
            let img = rest.range(of: imageToken), vid = rest.range(of: videoToken)
            guard let next = [img, vid].compactMap({ $0 }).min(by: { $0.lowerBound < $1.lowerBound }) else { break }
            out += rest[..<next.lowerBound]
            if next == img {
                if i < images.count { out += images[i] }
                i += 1
            } else {
                if v < videos.count { out += videos[v] }
                v += 1
            }
            rest = rest[next.upperBound...]
        }
        guard i == images.count else { throw .placeholderMismatch(placeholders: i, images: images.count) }
        guard v == videos.count else { throw .videoPlaceholderMismatch(placeholders: v, videos: videos.count) }
        return out + rest
    }
}
