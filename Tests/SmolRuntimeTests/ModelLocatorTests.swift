import Foundation
import Testing
@testable import SmolRuntime

/// `--model org/repo` finds a snapshot in the local Hugging Face cache, never downloading.
@Suite struct ModelLocatorTests {
    /// A hub cache with a folder model (two revisions, refs/main naming the older) and a GGUF repo.
    static func makeCache() throws -> String {
        let hub = NSTemporaryDirectory() + "smol-locator-\(UUID().uuidString)/hub"
        let fm = FileManager.default
        let a = hub + "/models--HuggingFaceTB--SmolLM3-3B"
        for rev in ["aaaa", "bbbb"] {
            try fm.createDirectory(atPath: a + "/snapshots/" + rev, withIntermediateDirectories: true)
            fm.createFile(atPath: a + "/snapshots/\(rev)/config.json", contents: Data("{}".utf8))
        }
        try fm.createDirectory(atPath: a + "/refs", withIntermediateDirectories: true)
        fm.createFile(atPath: a + "/refs/main", contents: Data("aaaa\n".utf8))
        let g = hub + "/models--ggml-org--SmolLM3-3B-GGUF/snapshots/cccc"
        try fm.createDirectory(atPath: g, withIntermediateDirectories: true)
        for f in ["SmolLM3-Q4_K_M.gguf", "SmolLM3-Q8_0.gguf", "mmproj-SmolLM3-f16.gguf"] { fm.createFile(atPath: g + "/" + f, contents: Data()) }
        let one = hub + "/models--org--One-GGUF/snapshots/dddd"
        try fm.createDirectory(atPath: one, withIntermediateDirectories: true)
        fm.createFile(atPath: one + "/one.Q4_0.gguf", contents: Data())
        return hub
    }

    @Test func cacheLocation() {
        #expect(ModelLocator.hubCache(environment: ["HF_HUB_CACHE": "/x", "HF_HOME": "/y"]) == "/x")
        #expect(ModelLocator.hubCache(environment: ["HF_HOME": "/y"]) == "/y/hub")
        #expect(ModelLocator.hubCache(environment: ["XDG_CACHE_HOME": "/z", "HOME": "/h"]) == "/z/huggingface/hub")
        #expect(ModelLocator.hubCache(environment: ["HOME": "/h"]) == "/h/.cache/huggingface/hub")
    }

    @Test func resolvesRepoIds() throws {
        let hub = try Self.makeCache()
        let env = ["HF_HUB_CACHE": hub]
        #expect(try ModelLocator.resolve("HuggingFaceTB/SmolLM3-3B", environment: env).hasSuffix("/snapshots/aaaa"))
        #expect(try ModelLocator.resolve("ggml-org/SmolLM3-3B-GGUF:q8_0", environment: env).hasSuffix("/SmolLM3-Q8_0.gguf"))
        #expect(try ModelLocator.resolve("org/One-GGUF", environment: env).hasSuffix("/one.Q4_0.gguf"))
        // An existing path wins and is returned unchanged.
        #expect(try ModelLocator.resolve(hub, environment: env) == hub)
    }

    @Test(arguments: [
        ("ggml-org/SmolLM3-3B-GGUF", "several GGUF files"),
        ("ggml-org/SmolLM3-3B-GGUF:Q2_K", "matches"),
        ("HuggingFaceTB/Missing", "never downloads"),
        ("../etc", "no such model folder"),
        ("a/b/c", "no such model folder"),
        ("org/..", "no such model folder"),
    ])
    func clearErrors(_ spec: String, _ fragment: String) throws {
        let hub = try Self.makeCache()
        #expect { try ModelLocator.resolve(spec, environment: ["HF_HUB_CACHE": hub]) } throws: { e in
            guard let nf = e as? ModelLocator.NotFound else { return false }
            return nf.description.contains(fragment) && nf.description.contains(spec)
        }
    }
}
