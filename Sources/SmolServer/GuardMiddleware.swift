import Foundation
import Hummingbird
import SmolJSON

/// Runs before every route: the API key, the Host check, and errors turned into JSON in
/// the shape of the API the path belongs to (a harness shows an HTML error as "wrong endpoint").
struct GuardMiddleware<Context: RequestContext>: RouterMiddleware {
    let apiKey: String?
    /// Without a key on a loopback bind, only loopback Host names are served: a web page
    /// whose DNS name rebinds to 127.0.0.1 must not reach the model.
    let checkHost: Bool

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let anthropic = request.uri.path.hasPrefix("/v1/messages")
        let ollama = request.uri.path.hasPrefix("/api/")
        do {
            if checkHost, let authority = request.head.authority, !ServerOptions.isLoopback(hostName(authority: authority)) {
                throw APIError(status: 403, type: "permission_error",
                               message: "Host '\(authority)' is not a loopback name; this server only answers localhost requests unless started with --api-key",
                               code: "forbidden_host")
            }
            if let key = apiKey, !Self.authorized(request.headers, key: key) {
                throw APIError(status: 401, type: "authentication_error",
                               message: "missing or wrong API key: send 'Authorization: Bearer KEY' or 'x-api-key: KEY'", code: "invalid_api_key")
            }
            return try await next(request, context)
        } catch {
            let e: APIError
            switch error {
            case let a as APIError: e = a
            case let h as HTTPError where h.status == .notFound:
                e = APIError(status: 404, type: "not_found_error", message: "no route for \(request.method) \(request.uri.path)", code: "not_found")
            case let h as HTTPError where h.status == .methodNotAllowed:
                e = APIError(status: 405, message: "\(request.method) is not allowed on \(request.uri.path)", code: "method_not_allowed")
            case let h as HTTPError:
                e = APIError(status: Int(h.status.code), message: h.body ?? h.status.reasonPhrase)
            default:
                e = apiError(from: error)
            }
            var headers = HTTPFields()
            headers[.contentType] = "application/json"
            if let r = e.retryAfter { headers[.retryAfter] = String(r) }
            let body = (anthropic ? e.anthropicBody : ollama ? ["error": .string(e.message)] : e.openAIBody).serialized
            return Response(status: .init(code: e.status), headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: body)))
        }
    }

    static func authorized(_ headers: HTTPFields, key: String) -> Bool {
        var given: [String] = []
        if let a = headers[.authorization] {
            let parts = a.split(separator: " ", maxSplits: 1)
            if parts.count == 2, parts[0].lowercased() == "bearer" { given.append(String(parts[1]).trimmingCharacters(in: .whitespaces)) }
        }
        for field in headers where field.name.canonicalName == "x-api-key" { given.append(field.value) }
        return given.contains { constantTimeEqual($0, key) }
    }
}

/// Compares without an early exit, so response timing does not reveal the key.
func constantTimeEqual(_ a: String, _ b: String) -> Bool {
    let x = Array(a.utf8), y = Array(b.utf8)
    var diff = UInt8(x.count == y.count ? 0 : 1)
    for i in 0..<max(x.count, y.count) {
        diff |= (i < x.count ? x[i] : 0) ^ (i < y.count ? y[i] : 0)
    }
    return diff == 0
}

/// The host part of a Host header value (`[::1]:8080` -> `::1`).
func hostName(authority: String) -> String {
    if authority.hasPrefix("["), let end = authority.firstIndex(of: "]") {
        return String(authority[authority.index(after: authority.startIndex)..<end])
    }
    return String(authority.split(separator: ":", maxSplits: 1).first ?? "")
}
