import SmolJSON
@testable import SmolServer

/// Every API's request reader on any JSON body: a job or an APIError naming the field. The
/// first byte picks the API; the rest is the body.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRequests(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    var p = StrictJSONParser()
    p.maxDepth = 64
    guard let body = try? p.parse(UnsafeRawBufferPointer(start: data + 1, count: size - 1)) else { return 0 }
    var limits = ServerLimits()
    limits.maxImageBytes = 1 << 20
    switch data[0] % 6 {
    case 0: _ = try? OpenAIRequest.parse(body, limits: limits)
    case 1: _ = try? AnthropicRequest.parse(body, limits: limits)
    case 2: _ = try? OllamaRequest.chat(body, limits: limits)
    case 3: _ = try? OllamaRequest.generate(body, limits: limits)
    case 4: _ = try? ResponsesRequest.parse(body, limits: limits)
    default: _ = try? CompletionsRequest.parse(body)
    }
    return 0
}
