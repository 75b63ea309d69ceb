/// Recursive-descent parser following `jinja2.parser` closely, so operator precedence
/// and statement syntax accept what the Hub's templates use and reject the same typos.
struct Parser {
    var tokens: [Token]
    var index = 0
    var depth = 0
    var loopDepth = 0
    let maxDepth: Int

    init(tokens: [Token], maxDepth: Int) {
        self.tokens = tokens
        self.maxDepth = maxDepth
    }

    static func parse(_ source: String, maxDepth: Int = 256) throws -> [Statement] {
        var lexer = Lexer(source)
        var parser = Parser(tokens: try lexer.tokenize(), maxDepth: maxDepth)
        let body = try parser.subparse(endTags: [])
        guard case .eof = parser.current.kind else {
            throw parser.error("unexpected token")
        }
        return body
    }

    // MARK: Token helpers

    var current: Token { tokens[min(index, tokens.count - 1)] }

    func peek(_ offset: Int = 1) -> Token { tokens[min(index + offset, tokens.count - 1)] }

    mutating func advance() -> Token {
        let t = current
        if index < tokens.count - 1 { index += 1 }
        return t
    }

    func error(_ message: String, at token: Token? = nil) -> TemplateError {
        TemplateError(.syntax, message, at: (token ?? current).loc)
    }

    func isName(_ name: String, _ token: Token? = nil) -> Bool {
        if case .name(let n) = (token ?? current).kind { return n == name }
        return false
    }

    func isOp(_ op: String, _ token: Token? = nil) -> Bool {
        if case .op(let o) = (token ?? current).kind { return o == op }
        return false
    }

    mutating func skipName(_ name: String) -> Bool {
        guard isName(name) else { return false }
        _ = advance()
        return true
    }

    mutating func skipOp(_ op: String) -> Bool {
        guard isOp(op) else { return false }
        _ = advance()
        return true
    }

    mutating func expectOp(_ op: String) throws {
        guard skipOp(op) else { throw error("expected token '\(op)', got \(describe(current))") }
    }

    mutating func expectName() throws -> String {
        guard case .name(let n) = current.kind else {
            throw error("expected name, got \(describe(current))")
        }
        _ = advance()
        return n
    }

    mutating func expectBlockEnd() throws {
        guard case .blockEnd = current.kind else {
            throw error("expected end of statement block, got \(describe(current))")
        }
        _ = advance()
    }

    func describe(_ t: Token) -> String {
        switch t.kind {
        case .data: return "template data"
        case .variableBegin: return "'{{'"
        case .variableEnd: return "'}}'"
        case .blockBegin: return "'{%'"
        case .blockEnd: return "end of statement block"
        case .name(let n): return "'\(n)'"
        case .string(let s): return "string '\(s)'"
        case .integer(let i): return "integer \(i)"
        case .float(let d): return "float \(d)"
        case .op(let o): return "'\(o)'"
        case .eof: return "end of template"
        }
    }

    /// Guards every recursive production: untrusted templates must not overflow the stack.
    mutating func enter() throws {
        depth += 1
        if depth > maxDepth {
            throw TemplateError(.depthLimit, "template nesting exceeds \(maxDepth) levels", at: current.loc)
        }
    }

    mutating func leave() { depth -= 1 }

    // MARK: Statements

    /// Parses until a block whose tag is in `endTags`; leaves the stream on that tag's name.
    mutating func subparse(endTags: Set<String>) throws -> [Statement] {
        try enter()
        defer { leave() }
        var body: [Statement] = []
        while true {
            let token = current
            switch token.kind {
            case .eof:
                if !endTags.isEmpty {
                    throw error("Unexpected end of template. Jinja was looking for the following tags: \(endTags.sorted().map { "'\($0)'" }.joined(separator: " or ")).")
                }
                return body
            case .data(let text):
                _ = advance()
                body.append(Statement(kind: .text(text), loc: token.loc))
            case .variableBegin:
                _ = advance()
                let expr = try parseTuple(withCondition: true)
                guard case .variableEnd = current.kind else {
                    throw error("expected token 'end of print statement', got \(describe(current))")
                }
                _ = advance()
                body.append(Statement(kind: .output(expr), loc: token.loc))
            case .blockBegin:
                _ = advance()
                if case .name(let tag) = current.kind, endTags.contains(tag) { return body }
                body.append(try parseStatement())
            default:
                throw error("unexpected \(describe(token))")
            }
        }
    }

    /// Parses a body and consumes the closing `{% end... %}` tag; returns the body and the tag that ended it.
    mutating func parseBody(_ endTags: Set<String>, consumeEnd: Bool = true) throws -> ([Statement], String) {
        let body = try subparse(endTags: endTags)
        let tag = try expectName()
        if consumeEnd { try expectBlockEnd() }
        return (body, tag)
    }

    mutating func parseStatement() throws -> Statement {
        let token = current
        guard case .name(let tag) = token.kind else { throw error("tag name expected") }
        _ = advance()
        let kind: StatementKind
        switch tag {
        case "if": kind = try parseIf()
        case "for": kind = try parseFor()
        case "set": kind = try parseSet()
        case "macro": kind = try parseMacro()
        case "call": kind = try parseCallBlock()
        case "filter":
            let filters = try parseFilterChain(nil, startInline: true)
            try expectBlockEnd()
            kind = .filterBlock(filters: filters, body: try parseBody(["endfilter"]).0)
        case "with": kind = try parseWith()
        case "generation":
            try expectBlockEnd()
            kind = .generation(try parseBody(["endgeneration"]).0)
        case "break", "continue":
            guard loopDepth > 0 else { throw error("'\(tag)' outside of a loop", at: token) }
            try expectBlockEnd()
            kind = tag == "break" ? .breakLoop : .continueLoop
        default:
            throw error("Encountered unknown tag '\(tag)'.", at: token)
        }
        return Statement(kind: kind, loc: token.loc)
    }

    mutating func parseIf() throws -> StatementKind {
        var branches: [(Node, [Statement])] = []
        var condition = try parseTuple(withCondition: false)
        while true {
            try expectBlockEnd()
            let (body, tag) = try parseBody(["elif", "else", "endif"], consumeEnd: false)
            branches.append((condition, body))
            switch tag {
            case "elif":
                condition = try parseTuple(withCondition: false)
            case "else":
                try expectBlockEnd()
                let otherwise = try parseBody(["endif"]).0
                return .ifChain(branches, otherwise: otherwise)
            default:
                try expectBlockEnd()
                return .ifChain(branches, otherwise: [])
            }
        }
    }

    mutating func parseFor() throws -> StatementKind {
        let target = try parseAssignTarget(extraEnd: ["in"])
        guard skipName("in") else { throw error("expected 'in', got \(describe(current))") }
        let iterable = try parseTuple(withCondition: false, extraEnd: ["recursive"])
        var condition: Node?
        if skipName("if") { condition = try parseExpression() }
        let recursive = skipName("recursive")
        try expectBlockEnd()
        loopDepth += 1
        let (body, tag) = try parseBody(["endfor", "else"])
        loopDepth -= 1
        var otherwise: [Statement] = []
        if tag == "else" { otherwise = try parseBody(["endfor"]).0 }
        return .forLoop(ForLoop(target: target, iterable: iterable, condition: condition,
                                body: body, otherwise: otherwise, recursive: recursive))
    }

    mutating func parseSet() throws -> StatementKind {
        let target = try parseAssignTarget(withNamespace: true)
        if skipOp("=") {
            let value = try parseTuple(withCondition: true)
            try expectBlockEnd()
            return .set(target, value)
        }
        let filters = try parseFilterChain(nil, startInline: false)
        try expectBlockEnd()
        return .setBlock(target, filters: filters, body: try parseBody(["endset"]).0)
    }

    mutating func parseSignature() throws -> [(String, Node?)] {
        var params: [(String, Node?)] = []
        try expectOp("(")
        while !isOp(")") {
            if !params.isEmpty { try expectOp(",") }
            if isOp(")") { break }
            let name = try expectName()
            let defaultValue: Node? = skipOp("=") ? try parseExpression() : nil
            params.append((name, defaultValue))
        }
        try expectOp(")")
        return params
    }

    mutating func parseMacro() throws -> StatementKind {
        let name = try expectName()
        let params = try parseSignature()
        try expectBlockEnd()
        // Loop controls don't cross a macro boundary.
        let savedLoops = loopDepth
        loopDepth = 0
        defer { loopDepth = savedLoops }
        let body = try parseBody(["endmacro"]).0
        return .macro(MacroDefinition(name: name, parameters: params, body: body))
    }

    mutating func parseCallBlock() throws -> StatementKind {
        let params = isOp("(") ? try parseSignature() : []
        let call = try parseExpression()
        guard case .call = call.expr else { throw error("expected call", at: Token(kind: .eof, loc: call.loc)) }
        try expectBlockEnd()
        let savedLoops = loopDepth
        loopDepth = 0
        defer { loopDepth = savedLoops }
        let body = try parseBody(["endcall"]).0
        return .callBlock(call: call, parameters: params, body: body)
    }

    mutating func parseWith() throws -> StatementKind {
        var assignments: [(Target, Node)] = []
        while !(current.kind == .blockEnd) {
            if !assignments.isEmpty { try expectOp(",") }
            let target = try parseAssignTarget(withTuple: false)
            try expectOp("=")
            assignments.append((target, try parseExpression()))
        }
        try expectBlockEnd()
        return .with(assignments, body: try parseBody(["endwith"]).0)
    }

    mutating func parseAssignTarget(withTuple: Bool = true, extraEnd: Set<String> = [], withNamespace: Bool = false) throws -> Target {
        if withNamespace, case .name(let ns) = current.kind, isOp(".", peek()) {
            _ = advance()
            _ = advance()
            return .attribute(ns, try expectName())
        }
        var targets: [Target] = []
        var isTuple = false
        while true {
            if !targets.isEmpty { try expectOp(",") }
            if isTupleEnd(extraEnd) { break }
            let t = current
            if case .name(let n) = t.kind, !["true", "false", "none", "True", "False", "None"].contains(n) {
                _ = advance()
                targets.append(.name(n))
            } else if skipOp("(") {
                targets.append(try parseAssignTarget(withTuple: true, extraEnd: []))
                try expectOp(")")
            } else {
                throw error("can't assign to \(describe(t))", at: t)
            }
            guard withTuple, isOp(",") else { break }
            isTuple = true
        }
        if !isTuple, let only = targets.first { return only }
        if targets.isEmpty { throw error("expected assignment target") }
        return .tuple(targets)
    }

    func isTupleEnd(_ extraEnd: Set<String>) -> Bool {
        switch current.kind {
        case .variableEnd, .blockEnd, .eof: return true
        case .op(")"): return true
        case .name(let n): return extraEnd.contains(n)
        default: return false
        }
    }
}
