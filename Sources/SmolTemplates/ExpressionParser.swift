/// Expression grammar, precedence as in `jinja2.parser`:
/// condexpr < or < and < not < compare < + - < ~ < * / // % < ** < unary < postfix/filters.
extension Parser {
    mutating func parseExpression(withCondition: Bool = true) throws -> Node {
        withCondition ? try parseConditional() : try parseOr()
    }

    /// Comma-separated expressions become a tuple, as in `{{ a, b }}` or `{% set a, b = 1, 2 %}`.
    mutating func parseTuple(withCondition: Bool, extraEnd: Set<String> = [], explicitParentheses: Bool = false) throws -> Node {
        let loc = current.loc
        var items: [Node] = []
        var isTuple = false
        while true {
            if !items.isEmpty { try expectOp(",") }
            if isTupleEnd(extraEnd) { break }
            items.append(try parseExpression(withCondition: withCondition))
            guard isOp(",") else { break }
            isTuple = true
        }
        if !isTuple {
            if let only = items.first { return only }
            if !explicitParentheses { throw error("Expected an expression, got \(describe(current))") }
        }
        return Node(expr: .tuple(items), loc: loc)
    }

    mutating func parseConditional() throws -> Node {
        try enter()
        defer { leave() }
        var expr = try parseOr()
        while isName("if") {
            let loc = advance().loc
            let test = try parseOr()
            let otherwise: Node? = skipName("else") ? try parseConditional() : nil
            expr = Node(expr: .conditional(test: test, then: expr, otherwise: otherwise), loc: loc)
        }
        return expr
    }

    mutating func parseOr() throws -> Node {
        var left = try parseAnd()
        while isName("or") {
            let loc = advance().loc
            left = Node(expr: .or(left, try parseAnd()), loc: loc)
        }
        return left
    }

    mutating func parseAnd() throws -> Node {
        var left = try parseNot()
        while isName("and") {
            let loc = advance().loc
            left = Node(expr: .and(left, try parseNot()), loc: loc)
        }
        return left
    }

    mutating func parseNot() throws -> Node {
        guard isName("not") else { return try parseCompare() }
        try enter()
        defer { leave() }
        let loc = advance().loc
        return Node(expr: .not(try parseNot()), loc: loc)
    }

    mutating func parseCompare() throws -> Node {
        let left = try parseAdditive()
        var ops: [(CompareOperator, Node)] = []
        while true {
            if case .op(let o) = current.kind, let op = CompareOperator(rawValue: o), op != .isIn, op != .notIn {
                _ = advance()
                ops.append((op, try parseAdditive()))
            } else if skipName("in") {
                ops.append((.isIn, try parseAdditive()))
            } else if isName("not"), isName("in", peek()) {
                _ = advance()
                _ = advance()
                ops.append((.notIn, try parseAdditive()))
            } else {
                break
            }
        }
        return ops.isEmpty ? left : Node(expr: .compare(left, ops), loc: left.loc)
    }

    mutating func parseAdditive() throws -> Node {
        var left = try parseConcat()
        while isOp("+") || isOp("-") {
            let t = advance()
            let op: BinaryOperator = isOp("+", t) ? .add : .subtract
            left = Node(expr: .binary(op, left, try parseConcat()), loc: t.loc)
        }
        return left
    }

    mutating func parseConcat() throws -> Node {
        var items = [try parseMultiplicative()]
        while skipOp("~") { items.append(try parseMultiplicative()) }
        return items.count == 1 ? items[0] : Node(expr: .concat(items), loc: items[0].loc)
    }

    mutating func parseMultiplicative() throws -> Node {
        var left = try parsePower()
        while true {
            guard case .op(let o) = current.kind, ["*", "/", "//", "%"].contains(o),
                let op = BinaryOperator(rawValue: o)
            else { break }
            let loc = advance().loc
            left = Node(expr: .binary(op, left, try parsePower()), loc: loc)
        }
        return left
    }

    /// Jinja's `**` is left-associative (`2**3**2 == 64`), unlike Python.
    mutating func parsePower() throws -> Node {
        var left = try parseUnary()
        while isOp("**") {
            let loc = advance().loc
            left = Node(expr: .binary(.power, left, try parseUnary()), loc: loc)
        }
        return left
    }

    mutating func parseUnary(withFilter: Bool = true) throws -> Node {
        try enter()
        defer { leave() }
        var node: Node
        if isOp("-") {
            let loc = advance().loc
            node = Node(expr: .negate(try parseUnary(withFilter: false)), loc: loc)
        } else if isOp("+") {
            let loc = advance().loc
            node = Node(expr: .plus(try parseUnary(withFilter: false)), loc: loc)
        } else {
            node = try parsePrimary()
        }
        node = try parsePostfix(node)
        if withFilter { node = try parseFilterExpression(node) }
        return node
    }

    mutating func parsePrimary() throws -> Node {
        let token = current
        switch token.kind {
        case .name(let n):
            _ = advance()
            switch n {
            case "true", "True": return Node(expr: .literal(.bool(true)), loc: token.loc)
            case "false", "False": return Node(expr: .literal(.bool(false)), loc: token.loc)
            case "none", "None": return Node(expr: .literal(.null), loc: token.loc)
            default: return Node(expr: .name(n), loc: token.loc)
            }
        case .string(var s):
            _ = advance()
            // Adjacent string literals concatenate, as in Python.
            while case .string(let more) = current.kind {
                s += more
                _ = advance()
            }
            return Node(expr: .literal(.string(s)), loc: token.loc)
        case .integer(let i):
            _ = advance()
            return Node(expr: .literal(.int(i)), loc: token.loc)
        case .float(let d):
            _ = advance()
            return Node(expr: .literal(.double(d)), loc: token.loc)
        case .op("("):
            _ = advance()
            let inner = try parseTuple(withCondition: true, explicitParentheses: true)
            try expectOp(")")
            return inner
        case .op("["):
            _ = advance()
            var items: [Node] = []
            while !isOp("]") {
                if !items.isEmpty { try expectOp(",") }
                if isOp("]") { break }
                items.append(try parseExpression())
            }
            try expectOp("]")
            return Node(expr: .list(items), loc: token.loc)
        case .op("{"):
            _ = advance()
            var items: [(Node, Node)] = []
            while !isOp("}") {
                if !items.isEmpty { try expectOp(",") }
                if isOp("}") { break }
                let key = try parseExpression()
                try expectOp(":")
                items.append((key, try parseExpression()))
            }
            try expectOp("}")
            return Node(expr: .dict(items), loc: token.loc)
        default:
            throw error("unexpected \(describe(token))")
        }
    }

    mutating func parsePostfix(_ start: Node) throws -> Node {
        var node = start
        while true {
            if isOp(".") {
                let loc = advance().loc
                switch current.kind {
                case .name(let n):
                    _ = advance()
                    node = Node(expr: .attribute(node, n), loc: loc)
                case .integer(let i):
                    _ = advance()
                    node = Node(expr: .subscript(node, Node(expr: .literal(.int(i)), loc: loc)), loc: loc)
                default:
                    throw error("expected name or number")
                }
            } else if isOp("[") {
                let loc = advance().loc
                var args: [Node] = []
                while !isOp("]") {
                    if !args.isEmpty { try expectOp(",") }
                    args.append(try parseSubscribed())
                }
                try expectOp("]")
                let index = args.count == 1 ? args[0] : Node(expr: .tuple(args), loc: loc)
                node = Node(expr: .subscript(node, index), loc: loc)
            } else if isOp("(") {
                let loc = current.loc
                node = Node(expr: .call(node, try parseCallArguments()), loc: loc)
            } else {
                return node
            }
        }
    }

    mutating func parseSubscribed() throws -> Node {
        let loc = current.loc
        var parts: [Node?] = []
        if skipOp(":") {
            parts.append(nil)
        } else {
            let node = try parseExpression()
            guard skipOp(":") else { return node }
            parts.append(node)
        }
        if isOp(":") || isOp("]") || isOp(",") {
            parts.append(nil)
        } else {
            parts.append(try parseExpression())
        }
        if skipOp(":"), !isOp("]"), !isOp(",") {
            parts.append(try parseExpression())
        } else {
            parts.append(nil)
        }
        return Node(expr: .slice(parts[0], parts[1], parts[2]), loc: loc)
    }

    mutating func parseCallArguments() throws -> [CallArgument] {
        try expectOp("(")
        var args: [CallArgument] = []
        var needComma = false
        while !isOp(")") {
            if needComma {
                try expectOp(",")
                if isOp(")") { break }
            }
            if skipOp("*") {
                args.append(.star(try parseExpression()))
            } else if skipOp("**") {
                args.append(.doubleStar(try parseExpression()))
            } else if case .name(let key) = current.kind, isOp("=", peek()) {
                _ = advance()
                _ = advance()
                args.append(.keyword(key, try parseExpression()))
            } else {
                if args.contains(where: { if case .positional = $0 { return false } else { return true } }) {
                    throw error("positional argument follows keyword argument")
                }
                args.append(.positional(try parseExpression()))
            }
            needComma = true
        }
        try expectOp(")")
        return args
    }

    mutating func parseDottedName() throws -> String {
        var name = try expectName()
        while isOp("."), case .name = peek().kind {
            _ = advance()
            name += "." + (try expectName())
        }
        return name
    }

    /// Filter chain after `|`; with `startInline` the first filter has no leading pipe (`{% filter upper %}`).
    mutating func parseFilterChain(_ target: Node?, startInline: Bool) throws -> [Node] {
        var filters: [Node] = []
        var inline = startInline
        while isOp("|") || inline {
            if !inline { _ = advance() }
            inline = false
            let loc = current.loc
            let name = try parseDottedName()
            let args = isOp("(") ? try parseCallArguments() : []
            filters.append(Node(expr: .filter(nil, name, args), loc: loc))
        }
        return filters
    }

    mutating func parseFilterExpression(_ start: Node) throws -> Node {
        var node = start
        while true {
            if skipOp("|") {
                let loc = current.loc
                let name = try parseDottedName()
                let args = isOp("(") ? try parseCallArguments() : []
                node = Node(expr: .filter(node, name, args), loc: loc)
            } else if isName("is") {
                let loc = advance().loc
                let negated = skipName("not")
                let name = try parseDottedName()
                var args: [CallArgument] = []
                if isOp("(") {
                    args = try parseCallArguments()
                } else if startsTestArgument() {
                    if isName("is") { throw error("You cannot chain multiple tests with is") }
                    args = [.positional(try parsePostfix(try parsePrimary()))]
                }
                node = Node(expr: .test(node, name, args, negated: negated), loc: loc)
            } else if isOp("(") {
                let loc = current.loc
                node = Node(expr: .call(node, try parseCallArguments()), loc: loc)
            } else {
                return node
            }
        }
    }

    func startsTestArgument() -> Bool {
        switch current.kind {
        case .name(let n): return !["else", "or", "and"].contains(n)
        case .string, .integer, .float, .op("["), .op("{"): return true
        default: return false
        }
    }
}
