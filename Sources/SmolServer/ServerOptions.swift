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
    /// Requests allowed to wait behind the running one before 429.
    public var maxQueue = 16
    /// KV cache length in tokens; nil: the model's maximum, capped at 8192.
    public var contextLength: Int? = nil
    public var limits = ServerLimits()
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
        if let k = apiKey, k.isEmpty { throw ServerError("--api-key must not be empty") }
    }
}

public struct ServerError: Error, CustomStringConvertible {
    public let description: String
    public init(_ d: String) { description = d }
}

/// `SmolLM3-3B` -> `smollm3:3b`; names with `:` are what harnesses treat as local models.
func defaultModelId(folder: String) -> String {
    let name = folder.split(separator: "/").last.map(String.init)?.lowercased() ?? "model"
    if let dash = name.firstIndex(of: "-") {
        return name[..<dash] + ":" + name[name.index(after: dash)...]
    }
    return name + ":latest"
}
