import SmolJSON

/// An error answered to the client: an HTTP status and a message naming what was wrong.
/// Rendered in the OpenAI shape or the Anthropic shape depending on the endpoint.
public struct APIError: Error, CustomStringConvertible, Sendable {
    public var status: Int
    /// OpenAI `error.type` (e.g. invalid_request_error).
    public var type: String
    public var message: String
    /// The request field at fault, as a path (`messages[2].content`), if any.
    public var param: String?
    public var code: String?
    /// Seconds, for 429 responses.
    public var retryAfter: Int? = nil
    /// The message in Anthropic's wording, where it differs (clients match on it).
    public var anthropicMessage: String? = nil

    public init(status: Int, type: String = "invalid_request_error", message: String, param: String? = nil, code: String? = nil) {
        self.status = status
        self.type = type
        self.message = message
        self.param = param
        self.code = code
    }

    public var description: String { "\(status) \(type): \(message)" }

    public static func invalid(_ param: String, _ message: String) -> APIError {
        APIError(status: 400, message: "\(param): \(message)", param: param, code: "invalid_value")
    }

    public static func missing(_ param: String) -> APIError {
        APIError(status: 400, message: "\(param): required field is missing", param: param, code: "missing_required_parameter")
    }

    /// A prompt that leaves no room in the context, in each API's own wording: agent harnesses
    /// (Claw Code among them) compact the conversation only when they recognise the text, and
    /// read the limit from "maximum context length is N tokens".
    public static func contextLengthExceeded(promptTokens: Int, context: Int) -> APIError {
        var e = APIError(status: 400,
                         message: "This model's maximum context length is \(context) tokens. However, your messages resulted in \(promptTokens) tokens"
                             + (promptTokens == context ? ", which leaves no room for the reply." : ".")
                             + " Please reduce the length of the messages.",
                         param: "messages", code: "context_length_exceeded")
        e.anthropicMessage = "prompt is too long: \(promptTokens) tokens > \(context - 1) maximum"
        return e
    }

    public var openAIBody: JSONValue {
        ["error": .object([
            ("message", .string(message)), ("type", .string(type)),
            ("param", param.map(JSONValue.string) ?? .null), ("code", code.map(JSONValue.string) ?? .null),
        ])]
    }

    /// Anthropic names error types by status.
    public var anthropicType: String {
        switch status {
        case 401: return "authentication_error"
        case 403: return "permission_error"
        case 404: return "not_found_error"
        case 413: return "request_too_large"
        case 429: return "rate_limit_error"
        case 503: return "overloaded_error"
        case 400..<500: return "invalid_request_error"
        default: return "api_error"
        }
    }

    public var anthropicBody: JSONValue {
        ["type": "error", "error": ["type": .string(anthropicType), "message": .string(anthropicMessage ?? message)]]
    }
}
