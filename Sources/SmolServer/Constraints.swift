import Foundation
import SmolGrammar
import SmolJSON
import SmolRuntime

/// What the reply must be, as the client asked (`response_format`, Ollama's `format`).
enum ResponseFormat: Equatable {
    case text
    /// Any JSON object.
    case jsonObject
    case jsonSchema(JSONValue, strict: Bool)
}

/// How a reply's tool calls are written.
enum ToolMode: Equatable {
    /// No tools in play.
    case off
    /// The template's own format (SmolLM3's `<tool_call>` blocks).
    case native
    /// The template has no tools: a system message describes them and the reply is a JSON
    /// envelope (llama-server's generic format).
    case generic
}

extension ResponseFormat {
    /// OpenAI's `response_format`: `{"type": "text" | "json_object" | "json_schema", "json_schema": {schema, strict, name}}`.
    static func parseOpenAI(_ f: Field) throws(APIError) -> ResponseFormat {
        _ = try f.object()
        guard let type = f["type"] else { throw .missing("response_format.type") }
        switch try type.string() {
        case "text": return .text
        case "json_object": return .jsonObject
        case "json_schema":
            guard let js = f["json_schema"] else { throw .missing("response_format.json_schema") }
            _ = try js.object()
            var strict = false
            if let s = js["strict"], case .bool(let b) = s.value { strict = b }
            guard let schema = js["schema"] else { return .jsonObject }
            switch schema.value {
            case .object, .bool: return .jsonSchema(schema.value, strict: strict)
            default: throw .invalid(schema.path, "expected a JSON Schema object, got \(schema.kind)")
            }
        default:
            throw .invalid(type.path, "expected \"text\", \"json_object\" or \"json_schema\", got '\(try type.string())'")
        }
    }

    /// Ollama's `format`: `"json"` or a JSON Schema object.
    static func parseOllama(_ f: Field) throws(APIError) -> ResponseFormat {
        switch f.value {
        case .string("json"): return .jsonObject
        case .string(""), .null: return .text
        case .object: return .jsonSchema(f.value, strict: true)
        default: throw .invalid(f.path, "expected \"json\" or a JSON Schema object")
        }
    }
}

/// Grammar errors as 400s naming the request field.
func grammarError(_ e: GrammarError, param: String, code: String) -> APIError {
    APIError(status: 400, message: "\(param): \(e.message)", param: param, code: code)
}

extension ChatJob {
    var grammarTools: [ToolCallGrammar.Tool] {
        tools.compactMap { t in
            let fn = t["function"] ?? t
            guard case let .string(name)? = fn["name"] else { return nil }
            var strict = false
            if case .bool(true)? = fn["strict"] { strict = true }
            return ToolCallGrammar.Tool(name: name, parameters: fn["parameters"], strict: strict)
        }
    }

    /// Index of each tool in the request, for error paths.
    func toolPath(_ tools: [ToolCallGrammar.Tool]) -> (Int) -> String {
        let all = grammarTools.map(\.name)
        return { i in "tools[\(all.firstIndex(of: tools[i].name) ?? i)].function.parameters" }
    }

    /// The constraint for this request, or nil when the reply is free.
    /// - `mode`: how tool calls are written; `offered`: the tools the model may call;
    /// - `forcedCall`: the prompt already ends with the call opener (native mode);
    /// - `allowThinking`: a leading think block stays free.
    func constraint(model: SmolModel, mode: ToolMode, offered: [ToolCallGrammar.Tool], forcedCall: Bool,
                    allowThinking: Bool, constrainByDefault: Bool) throws(APIError) -> GrammarConstraintSpec? {
        let grammars = model.grammars
        let eos = model.eosTokenIds
        let constrainTools = constrainToolCalls ?? constrainByDefault
        let path = toolPath(offered)
        func cached(_ key: String, _ param: String, _ code: String, _ make: () throws(GrammarError) -> (grammar: Grammar, relaxed: [String]))
            throws(APIError) -> GrammarAutomaton {
            do {
                return try grammars.automaton(key: key) {
                    let (g, relaxed) = try make()
                    if !relaxed.isEmpty {
                        FileHandle.standardError.write(Data("smol serve: the parameters of \(relaxed.joined(separator: ", ")) use JSON Schema this server does not support; their arguments are constrained to any JSON object\n".utf8))
                    }
                    return g
                }
            } catch let e as GrammarError {
                throw grammarError(e, param: param, code: code)
            } catch {
                throw APIError(status: 400, message: "\(param): \(error)", param: param, code: code)
            }
        }
        let toolsKey = JSONValue.array(offered.map { .array([.string($0.name), $0.parameters ?? .null, .bool($0.strict)]) }).serialized

        if let g = grammar {
            guard mode == .off || !constrainTools else {
                throw .invalid("grammar", "cannot be combined with constrained tool calls (send constrain_tool_calls false, or no tools)")
            }
            let a = try cached("gbnf:" + g, "grammar", "invalid_grammar") { () throws(GrammarError) in (try GBNFParser.parse(g), []) }
            return GrammarConstraintSpec(automaton: a, scope: .reply(allowThinking: allowThinking), eosTokenIds: eos)
        }
        var schema: JSONValue? = nil
        switch responseFormat {
        case .text: break
        case .jsonObject: schema = ["type": "object", "additionalProperties": true]
        case let .jsonSchema(s, _): schema = s
        }
        switch mode {
        case .off:
            guard let schema else { return nil }
            let a = try cached("schema:" + schema.serialized, "response_format.json_schema.schema", "invalid_schema") { () throws(GrammarError) in
                (try JSONSchemaGrammar.compile(schema), [])
            }
            return GrammarConstraintSpec(automaton: a, scope: .reply(allowThinking: allowThinking), eosTokenIds: eos)
        case .native:
            if schema != nil && !forcedCall {
                // A formatted answer, or calls instead of it.
                let a = try cached("value-or-calls:\(parallelCalls(mode)):" + (schema?.serialized ?? "") + toolsKey, "tools", "invalid_schema") {
                    () throws(GrammarError) in
                    try ToolCallGrammar.valueOrNativeCalls(schema: schema, tools: offered, open: ToolCallParser.open,
                                                           close: ToolCallParser.close, parallel: parallelCalls(mode), path: path)
                }
                return GrammarConstraintSpec(automaton: a, scope: .reply(allowThinking: allowThinking), eosTokenIds: eos)
            }
            guard constrainTools else { return nil }
            let a = try cached("native:" + toolsKey, "tools", "invalid_schema") { () throws(GrammarError) in
                try ToolCallGrammar.native(tools: offered, close: ToolCallParser.close, path: path)
            }
            return GrammarConstraintSpec(automaton: a, scope: .region(trigger: ToolCallParser.open, repeatable: parallelCalls(mode),
                                                                        startInside: forcedCall), eosTokenIds: eos)
        case .generic:
            guard constrainTools || schema != nil else { return nil }
            var e = ToolCallGrammar.Envelope()
            e.parallel = parallelCalls(mode)
            e.allowResponse = toolChoice == .auto
            e.responseSchema = schema
            let a = try cached("envelope:\(e.parallel):\(e.allowResponse):" + (schema?.serialized ?? "") + toolsKey, "tools", "invalid_schema") {
                () throws(GrammarError) in
                try ToolCallGrammar.envelope(tools: offered, e, path: path)
            }
            return GrammarConstraintSpec(automaton: a, scope: .reply(allowThinking: false), eosTokenIds: eos)
        }
    }

    /// The generic mode's conversation: the tools described in the system message, earlier
    /// calls written as envelopes, tool results as user turns.
    func genericMessages(offered: [JSONValue]) -> [ChatMessage] {
        let list = offered.map { t -> JSONValue in
            let fn = t["function"] ?? t
            var o: [(String, JSONValue)] = [("name", fn["name"] ?? .string(""))]
            if let d = fn["description"] { o.append(("description", d)) }
            o.append(("parameters", fn["parameters"] ?? ["type": "object"]))
            return .object(o)
        }
        let parallel = parallelCalls(.generic)
        let callShape = parallel
            ? #"{"tool_calls": [{"name": "<tool name>", "arguments": {<arguments>}}]}"#
            : #"{"tool_call": {"name": "<tool name>", "arguments": {<arguments>}}}"#
        var instructions = "You can call these tools:\n" + list.map(\.serialized).joined(separator: "\n")
            + "\n\nReply with one JSON object. To call tools: " + callShape
        if toolChoice == .auto { instructions += ". To answer directly: {\"response\": \"<your answer>\"}" }
        instructions += "."
        var out: [ChatMessage] = []
        var names: [String: String] = [:]
        for m in messages {
            var m = m
            if m.role == "assistant" && !m.toolCalls.isEmpty {
                let calls = m.toolCalls.map { c -> JSONValue in
                    names[c.id] = c.name
                    return ["name": .string(c.name), "arguments": (try? JSONValue(parsing: c.arguments)) ?? .object([])]
                }
                let env: JSONValue = calls.count == 1 ? ["tool_call": calls[0]] : ["tool_calls": .array(calls)]
                m = ChatMessage(role: "assistant", text: env.serialized)
            } else if m.role == "tool" {
                var o: [(String, JSONValue)] = []
                if let n = m.name ?? m.toolCallId.flatMap({ names[$0] }) { o.append(("name", .string(n))) }
                o.append(("content", .string(m.plainText)))
                m = ChatMessage(role: "user", text: JSONValue.object([("tool_response", .object(o))]).serialized)
            }
            out.append(m)
        }
        if let first = out.first, first.role == "system" {
            var s = first
            if let t = s.text { s.text = t + "\n\n" + instructions } else { s.parts = (s.parts ?? []) + [.text("\n\n" + instructions)] }
            out[0] = s
        } else {
            out.insert(.system(instructions), at: 0)
        }
        return out
    }
}
