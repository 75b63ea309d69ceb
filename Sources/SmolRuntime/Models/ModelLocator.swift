import Foundation

/// Turns what a user passes as `--model` into a folder or a GGUF file on disk: a path as is, or
/// a Hugging Face repo id (`HuggingFaceTB/SmolLM3-3B`, optionally `:TAG` to pick one GGUF file
/// of a repo that holds several, e.g. `ggml-org/SmolLM3-3B-GGUF:Q4_K_M`) found in the local
/// hub cache. Never downloads.
public enum ModelLocator {
    public struct NotFound: Error, CustomStringConvertible {
        public let description: String
    }

    /// The hub cache: $HF_HUB_CACHE, else $HF_HOME/hub, else $XDG_CACHE_HOME/huggingface/hub,
    /// else ~/.cache/huggingface/hub (the order huggingface_hub uses).
    public static func hubCache(environment env: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let c = env["HF_HUB_CACHE"], !c.isEmpty { return c }
        if let h = env["HF_HOME"], !h.isEmpty { return h + "/hub" }
        if let x = env["XDG_CACHE_HOME"], !x.isEmpty { return x + "/huggingface/hub" }
        return (env["HOME"] ?? NSHomeDirectory()) + "/.cache/huggingface/hub"
    }

    /// `org/name` or `org/name:tag`, with the characters the hub allows.
    static func parseRepoId(_ spec: String) -> (repo: String, tag: String?)? {
        var s = spec
        var tag: String? = nil
        if let colon = s.lastIndex(of: ":") {
            tag = String(s[s.index(after: colon)...])
            s = String(s[..<colon])
            if tag!.isEmpty { return nil }
        }
        let parts = s.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2 else { return nil }
        let ok = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-_."))
        for p in parts {
            guard !p.isEmpty, p != ".", p != "..", !p.hasPrefix("."),
                  p.unicodeScalars.allSatisfy({ ok.contains($0) && $0.isASCII }) else { return nil }
        }
        return (s, tag)
    }

    /// A path that exists is returned unchanged. Otherwise a repo id is looked up in the cache.
    public static func resolve(_ spec: String, environment env: [String: String] = ProcessInfo.processInfo.environment) throws -> String {
        let fm = FileManager.default
        if fm.fileExists(atPath: spec) { return spec }
        guard let (repo, tag) = parseRepoId(spec) else {
            throw NotFound(description: "\(spec): no such model folder or .gguf file")
        }
        let cache = hubCache(environment: env)
        let repoDir = cache + "/models--" + repo.replacingOccurrences(of: "/", with: "--")
        let snapshots = repoDir + "/snapshots"
        guard let revs = try? fm.contentsOfDirectory(atPath: snapshots).filter({ !$0.hasPrefix(".") }), !revs.isEmpty else {
            throw NotFound(description: "\(spec): not a path, and the Hugging Face cache has no snapshot of \(repo) (looked in \(repoDir); set HF_HUB_CACHE or HF_HOME, or download it with `hf download \(repo)`; smol never downloads)")
        }
        // refs/main names the snapshot the hub tools consider current; else the newest one.
        var rev: String
        if let main = try? String(contentsOfFile: repoDir + "/refs/main", encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines), revs.contains(main) {
            rev = main
        } else {
            func mtime(_ r: String) -> Date {
                ((try? fm.attributesOfItem(atPath: snapshots + "/" + r))?[.modificationDate] as? Date) ?? .distantPast
            }
            rev = revs.max { (mtime($0), $0) < (mtime($1), $1) }!
        }
        let snapshot = snapshots + "/" + rev
        let ggufs = ((try? fm.contentsOfDirectory(atPath: snapshot)) ?? []).filter { $0.lowercased().hasSuffix(".gguf") }.sorted()
        let hasFolderModel = fm.fileExists(atPath: snapshot + "/config.json")
        if let tag {
            let t = tag.lowercased()
            let picked = ggufs.filter { !$0.lowercased().contains("mmproj") && $0.lowercased().contains(t) }
            guard picked.count == 1 else {
                throw NotFound(description: picked.isEmpty
                    ? "\(spec): no .gguf file in \(snapshot) matches '\(tag)' (files: \(ggufs.isEmpty ? "none" : ggufs.joined(separator: ", ")))"
                    : "\(spec): '\(tag)' matches several files in \(snapshot): \(picked.joined(separator: ", "))")
            }
            return snapshot + "/" + picked[0]
        }
        if hasFolderModel { return snapshot }
        let models = ggufs.filter { !$0.lowercased().contains("mmproj") }
        if models.count == 1 { return snapshot + "/" + models[0] }
        if models.isEmpty {
            throw NotFound(description: "\(spec): the cached snapshot \(snapshot) has neither config.json nor a .gguf file (an incomplete download?)")
        }
        throw NotFound(description: "\(spec): the cached snapshot holds several GGUF files (\(models.joined(separator: ", "))); pick one with \(repo):TAG, e.g. \(repo):Q4_K_M")
    }
}
