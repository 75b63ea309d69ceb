import Foundation
/// How `smol serve` listens and what it accepts.
public struct ServerOptions: Sendable {
    public var host = "127.0.0.1"
    /// 0 picks a free port.
    public var port = 8080
    /// When set, every request needs `Authorization: Bearer KEY` or `x-api-key: KEY`.
    public var apiKey: String? = nil
    /// Allows a non-loopback bind without a key.
    public var insecure = false
    /// The id clients send as `model`; nil derives one from the folder name.
    public var modelId: String? = nil
    /// Requests allowed to wait for a free slot before 429.
    public var maxQueue = 16
    /// Requests generated together (continuous batching); more wait in the queue.
    public var parallel = 4
    /// Memory for the KV of cached conversations (bytes); nil: a quarter of RAM, at most 8 GiB.
    public var cacheMemory: Int? = nil
    /// Seconds of silence after which a stream gets a keep-alive (an SSE comment, or Anthropic's
    /// `ping` event) while it waits in the queue or prefills; 0 sends none.
    public var keepAliveSeconds = 5.0
    /// A directory for KV blocks of long prefixes, kept across restarts; nil: none.
    public var promptCacheDirectory: String? = nil
    /// Disk budget of the prompt cache directory.
    public var promptCacheBytes = 10 << 30
    /// KV cache length in tokens; nil: the model's maximum, capped at 8192.
    public var contextLength: Int? = nil
    public var limits = ServerLimits()
    /// Constrain tool calls to the tools' schemas unless a request says otherwise.
    public var constrainToolCalls = true
    /// Answer only the model's own names (id, folder name); otherwise any name is this model.
    public var strictModelNames = false
    public init() {}

    static func isLoopback(_ host: String) -> Bool {
        let h = host.lowercased()
        if h == "localhost" || h == "localhost." || h == "::1" || h == "[::1]" { return true }
        // 127.0.0.0/8, written as a dotted quad and nothing else (127.0.0.1.evil.com is a DNS name).
        let parts = h.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0] == "127" else { return false }
        return parts.allSatisfy { p in p.count <= 3 && !p.isEmpty && p.allSatisfy(\.isASCII) && UInt8(p) != nil }
    }

    /// Refuses an exposed, unauthenticated server unless asked for explicitly.
    public func validate() throws(ServerError) {
        if !Self.isLoopback(host) && apiKey == nil && !insecure {
            throw ServerError("refusing to listen on \(host) without --api-key: anyone on the network could use the model; pass --api-key KEY, or --insecure to allow it")
        }
        guard (0...65535).contains(port) else { throw ServerError("--port must be between 0 and 65535, got \(port)") }
        guard maxQueue >= 0 else { throw ServerError("--max-queue must be >= 0") }
        if let c = contextLength, c < 16 { throw ServerError("--context must be at least 16 tokens") }
        guard (1...64).contains(parallel) else { throw ServerError("--parallel must be between 1 and 64, got \(parallel)") }
        if let m = cacheMemory, m < 0 { throw ServerError("--cache-memory must not be negative") }
        guard keepAliveSeconds >= 0, keepAliveSeconds.isFinite else { throw ServerError("--keep-alive must be >= 0 seconds") }
        if let k = apiKey, k.isEmpty { throw ServerError("--api-key must not be empty") }
    }
}

extension ServerOptions {
    /// The default KV cache budget: a quarter of physical memory, at most 8 GiB.
    public static var defaultCacheMemory: Int {
        Int(min(ProcessInfo.processInfo.physicalMemory / 4, 8 << 30))
    }

    /// "8G", "512M", "300k" or a plain number of MiB (as llama-server's --cache-ram).
    public static func parseBytes(_ text: String, flag: String) throws(ServerError) -> Int {
        let t = text.trimmingCharacters(in: .whitespaces).lowercased()
        var digits = t, unit = Double(1 << 20)
        for (suffix, u) in [("gib", 1 << 30), ("mib", 1 << 20), ("kib", 1 << 10), ("gb", 1 << 30), ("mb", 1 << 20), ("kb", 1 << 10),
                            ("g", 1 << 30), ("m", 1 << 20), ("k", 1 << 10), ("b", 1)] as [(String, Int)] where t.hasSuffix(suffix) {
            digits = String(t.dropLast(suffix.count)).trimmingCharacters(in: .whitespaces)
            unit = Double(u)
            break
        }
        guard let v = Double(digits), v >= 0, v.isFinite, v * unit < Double(Int64.max / 2) else {
            throw ServerError("\(flag) takes a size such as 8G, 512M or a number of MiB, got '\(text)'")
        }
        return Int(v * unit)
    }
}

public struct ServerError: Error, CustomStringConvertible {
    public let description: String
    public init(_ d: String) { description = d }
}

/// `SmolLM3-3B` -> `smollm3:3b`; names with `:` are what harnesses treat as local models.
/// A GGUF file drops its extension (`SmolLM2-135M-Instruct.Q4_1.gguf` -> `smollm2:135m-instruct-q4_1`);
/// a Hugging Face cache snapshot (`models--org--name/snapshots/<rev>`) is named after its repo.
func defaultModelId(folder: String) -> String {
    var parts = folder.split(separator: "/").map(String.init)
    if parts.count >= 3, parts[parts.count - 2] == "snapshots", parts[parts.count - 3].hasPrefix("models--") {
        let repoDir = parts[parts.count - 3]
        parts = [repoDir.range(of: "--", options: .backwards).map { String(repoDir[$0.upperBound...]) } ?? repoDir]
    }
    var name = parts.last?.lowercased() ?? "model"
    if name.hasSuffix(".gguf") { name = String(name.dropLast(5)).replacingOccurrences(of: ".", with: "-") }
    if let dash = name.firstIndex(of: "-") {
        return name[..<dash] + ":" + name[name.index(after: dash)...]
    }
    return name + ":latest"
}
