import SmolJSON

/// Grammars for tool calls: `{"name": <one of the tools>, "arguments": <that tool's parameters>}`,
/// in a model's native wrapping (SmolLM3's `<tool_call>...</tool_call>`) or in the JSON envelope
/// of the generic mode (models whose chat template has no tools).
public enum ToolCallGrammar {
    public struct Tool: Sendable, Equatable {
        public var name: String
        /// The parameters' JSON Schema; nil: any JSON object.
        public var parameters: JSONValue?
        /// The schema must compile (OpenAI's `strict: true`); otherwise a schema this compiler
        /// does not support constrains the arguments to any JSON object.
        public var strict: Bool
        public init(name: String, parameters: JSONValue?, strict: Bool = false) {
            self.name = name
            self.parameters = parameters
            self.strict = strict
        }
    }

    /// One call object, `{"name": "n", "arguments": {...}}`, for any of `tools`. Tools whose
    /// schema is not supported (and not strict) take any object; their names come back in
    /// `relaxed`. `path` prefixes error paths (`tools[3].function.parameters`).
    public static func callObject(_ c: inout JSONSchemaGrammar, tools: [Tool], path: (Int) -> String,
                                  relaxed: inout [String]) throws(GrammarError) -> GrammarExpr {
        guard !tools.isEmpty else { throw GrammarError("tools: no tools to call") }
        var alts: [GrammarExpr] = []
        for (i, t) in tools.enumerated() {
            let args: GrammarExpr
            if let p = t.parameters {
                var trial = c
                do {
                    args = try trial.value(document: p, scope: "tool\(i)", path: path(i))
                    c = trial
                } catch {
                    if t.strict { throw error }
                    relaxed.append(t.name)
                    args = try c.value(["type": "object", "additionalProperties": true], path: path(i))
                }
            } else {
                args = try c.value(["type": "object", "additionalProperties": true], path: path(i))
            }
            let w = c.ws
            alts.append(.seq([.lit("{"), w, .lit("\"name\""), w, .lit(":"), w, .lit(JSONValue.string(t.name).serialized),
                              w, .lit(","), w, .lit("\"arguments\""), w, .lit(":"), w, args, w, .lit("}")]))
        }
        return alts.count == 1 ? alts[0] : .alt(alts)
    }

    /// The body of a native call after its opener: `\n{...}\n</tool_call>` (whitespace bounded).
    public static func native(tools: [Tool], close: String, path: (Int) -> String = { "tools[\($0)].function.parameters" })
        throws(GrammarError) -> (grammar: Grammar, relaxed: [String]) {
        var c = JSONSchemaGrammar(rootSchema: .null)
        var relaxed: [String] = []
        let call = try callObject(&c, tools: tools, path: path, relaxed: &relaxed)
        let w = c.ws
        let root = c.builder.rule("root", .seq([w, call, w, .lit(close)]))
        return (try c.builder.build(root: root), relaxed)
    }

    /// What a reply may be in the generic mode.
    public struct Envelope: Sendable, Equatable {
        /// Allow `{"response": ...}` (a text reply) beside tool calls.
        public var allowResponse = true
        /// Allow calls at all (false: only a response, e.g. tool_choice none with a format).
        public var allowCalls = true
        /// `{"tool_calls": [...]}` (one or more) instead of `{"tool_call": {...}}`.
        public var parallel = true
        /// The response's schema; nil: a string.
        public var responseSchema: JSONValue? = nil
        public init() {}
    }

    /// The generic mode's reply: `{"tool_call": call}` / `{"tool_calls": [call, ...]}` or
    /// `{"response": text-or-value}`.
    public static func envelope(tools: [Tool], _ e: Envelope, path: (Int) -> String = { "tools[\($0)].function.parameters" })
        throws(GrammarError) -> (grammar: Grammar, relaxed: [String]) {
        var c = JSONSchemaGrammar(rootSchema: e.responseSchema ?? .null)
        var relaxed: [String] = []
        var alts: [GrammarExpr] = []
        let w = c.ws
        if e.allowCalls && !tools.isEmpty {
            let call = try c.sharedRule("call") { c throws(GrammarError) in
                try callObject(&c, tools: tools, path: path, relaxed: &relaxed)
            }
            if e.parallel {
                let list = GrammarExpr.seq([.lit("["), w, call, .rep(.seq([w, .lit(","), w, call]), min: 0, max: 15), w, .lit("]")])
                alts.append(.seq([.lit("{"), w, .lit("\"tool_calls\""), w, .lit(":"), w, list, w, .lit("}")]))
            } else {
                alts.append(.seq([.lit("{"), w, .lit("\"tool_call\""), w, .lit(":"), w, call, w, .lit("}")]))
            }
        }
        if e.allowResponse {
            let value: GrammarExpr
            if let s = e.responseSchema {
                value = try c.value(document: s, scope: "response", path: "response_format.json_schema.schema")
            } else {
                value = try c.value(["type": "string"], path: "response")
            }
            alts.append(.seq([.lit("{"), w, .lit("\"response\""), w, .lit(":"), w, value, w, .lit("}")]))
        }
        guard !alts.isEmpty else { throw GrammarError("tools: the reply can be neither a call nor a response") }
        let root = c.builder.rule("root", .seq([w, alts.count == 1 ? alts[0] : .alt(alts), w]))
        return (try c.builder.build(root: root), relaxed)
    }

    /// A reply that is a value of `schema` or, instead, one or more native calls
    /// (`open` call `close`, whitespace between): a response format together with tools.
    public static func valueOrNativeCalls(schema: JSONValue?, tools: [Tool], open: String, close: String, parallel: Bool,
                                          path: (Int) -> String = { "tools[\($0)].function.parameters" })
        throws(GrammarError) -> (grammar: Grammar, relaxed: [String]) {
        var c = JSONSchemaGrammar(rootSchema: schema ?? .null)
        var relaxed: [String] = []
        let w = c.ws
        let value = try c.value(document: schema ?? ["type": "object", "additionalProperties": true], scope: "response",
                                path: "response_format.json_schema.schema")
        let call = try callObject(&c, tools: tools, path: path, relaxed: &relaxed)
        let one = GrammarExpr.seq([.lit(open), w, call, w, .lit(close)])
        let calls = parallel ? GrammarExpr.seq([one, .rep(.seq([w, one]), min: 0, max: 15)]) : one
        let root = c.builder.rule("root", .seq([w, .alt([value, calls]), w]))
        return (try c.builder.build(root: root), relaxed)
    }
}
