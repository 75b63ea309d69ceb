/// Expression evaluation for `Interpreter`.
extension Interpreter {
    func eval(_ node: Node, _ scope: Scope) throws -> TemplateValue {
        try step(node.loc)
        do {
            return try evalUnlocated(node, scope)
        } catch let error as TemplateError {
            throw error.located(node.loc)
        }
    }

    private func evalUnlocated(_ node: Node, _ scope: Scope) throws -> TemplateValue {
        let loc = node.loc
        switch node.expr {
        case .literal(let v):
            return v
        case .name(let name):
            return scope.lookup(name) ?? .undefined("'\(name)' is undefined")
        case .list(let items):
            return try buildContainer(.array(try items.map { try eval($0, scope) }), at: loc)
        case .tuple(let items):
            return try buildContainer(.tuple(try items.map { try eval($0, scope) }), at: loc)
        case .dict(let pairs):
            var dict = TemplateDictionary()
            for (k, v) in pairs { try dict.set(try eval(k, scope), try eval(v, scope)) }
            return try buildContainer(.dictionary(dict), at: loc)
        case .attribute(let target, let name):
            return try Access.attribute(try eval(target, scope), name)
        case .subscript(let target, let index):
            let base = try eval(target, scope)
            if case .slice(let a, let b, let c) = index.expr {
                try Access.requireDefined(base)
                return try Access.slice(base, try a.map { try eval($0, scope) },
                                        try b.map { try eval($0, scope) }, try c.map { try eval($0, scope) })
            }
            return try Access.item(base, try eval(index, scope))
        case .slice:
            throw TemplateError(.syntax, "slice outside of a subscript", at: loc)
        case .call:
            return try evalCall(node, scope, caller: nil)
        case .filter(let target, let name, let args):
            let input = try target.map { try eval($0, scope) } ?? .undefined("no filter input")
            let result = try Filters.apply(name, to: input, arguments: try evalArguments(args, scope), interpreter: self, at: loc)
            return try checkSize(result, at: loc)
        case .test(let target, let name, let args, let negated):
            let value = try eval(target, scope)
            let result = try Tests.apply(name, to: value, arguments: try evalArguments(args, scope), interpreter: self)
            return .bool(result != negated)
        case .negate(let inner):
            return try Operators.negate(try eval(inner, scope))
        case .plus(let inner):
            let v = try eval(inner, scope)
            guard v.isNumber else {
                try Access.requireDefined(v)
                throw TemplateError(.typeError, "bad operand type for unary +: '\(v.typeName)'")
            }
            return v
        case .not(let inner):
            return .bool(!(try eval(inner, scope).isTruthy))
        case .and(let l, let r):
            let left = try eval(l, scope)
            return left.isTruthy ? try eval(r, scope) : left
        case .or(let l, let r):
            let left = try eval(l, scope)
            return left.isTruthy ? left : try eval(r, scope)
        case .binary(let op, let l, let r):
            let result = try Operators.binary(op, try eval(l, scope), try eval(r, scope), limits: limits)
            return try checkSize(result, at: loc)
        case .compare(let first, let rest):
            var left = try eval(first, scope)
            for (op, rightNode) in rest {
                let right = try eval(rightNode, scope)
                guard try Operators.compare(op, left, right) else { return .bool(false) }
                left = right
            }
            return .bool(true)
        case .conditional(let test, let then, let otherwise):
            if try eval(test, scope).isTruthy { return try eval(then, scope) }
            guard let otherwise else { return .undefined("the inline if-expression evaluated to false and no else section was defined.") }
            return try eval(otherwise, scope)
        case .concat(let parts):
            var s = ""
            for p in parts { s += try PythonRepr.str(try eval(p, scope)) }
            return try checkSize(.string(s), at: loc)
        }
    }

    /// New containers may wrap older ones (`[ns.x]` in a loop); bounding their depth here keeps
    /// printing, comparison and deallocation away from unbounded recursion.
    private func buildContainer(_ value: TemplateValue, at loc: SourceLocation) throws -> TemplateValue {
        let checked = try checkSize(value, at: loc)
        var visited = 0
        func depthOf(_ v: TemplateValue, _ level: Int) throws -> Void {
            guard level < PythonRepr.maxDepth else {
                throw TemplateError(.depthLimit, "value nested deeper than \(PythonRepr.maxDepth) levels", at: loc)
            }
            switch v {
            case .array(let items), .tuple(let items):
                visited += items.count
                for i in items { try depthOf(i, level + 1) }
            case .dictionary(let d):
                visited += d.count
                for i in d.values { try depthOf(i, level + 1) }
            default:
                break
            }
        }
        try depthOf(checked, 0)
        try charge(visited / 64, at: loc)
        return checked
    }

    func evalArguments(_ args: [CallArgument], _ scope: Scope) throws -> Arguments {
        var result = Arguments()
        for arg in args {
            switch arg {
            case .positional(let n):
                result.positional.append(try eval(n, scope))
            case .keyword(let k, let n):
                result.keyword.append((k, try eval(n, scope)))
            case .star(let n):
                result.positional.append(contentsOf: try Operators.iterate(try eval(n, scope)))
            case .doubleStar(let n):
                guard case .dictionary(let d) = try eval(n, scope) else {
                    throw TemplateError(.typeError, "argument after ** must be a mapping", at: n.loc)
                }
                for (k, v) in d.pairs {
                    guard case .string(let key) = k else {
                        throw TemplateError(.typeError, "keywords must be strings", at: n.loc)
                    }
                    result.keyword.append((key, v))
                }
            }
        }
        return result
    }

    func evalCall(_ node: Node, _ scope: Scope, caller: TemplateValue?) throws -> TemplateValue {
        guard case .call(let calleeNode, let argNodes) = node.expr else {
            throw TemplateError(.syntax, "expected a call", at: node.loc)
        }
        let callee = try eval(calleeNode, scope)
        let args = try evalArguments(argNodes, scope)
        return try call(callee, args, caller: caller, at: node.loc)
    }

    func call(_ callee: TemplateValue, _ args: Arguments, caller: TemplateValue? = nil, at loc: SourceLocation) throws -> TemplateValue {
        switch callee {
        case .object(let obj):
            switch obj.payload {
            case .macro(let macro):
                return try callMacro(macro, args, caller: caller, at: loc)
            case .function(_, let fn):
                return try checkSize(try fn(self, args), at: loc)
            case .boundMethod(let receiver, let name):
                return try checkSize(try Methods.call(name, on: receiver, args, interpreter: self), at: loc)
            default:
                break
            }
        case .undefined(let hint):
            throw Access.undefinedError(hint)
        default:
            break
        }
        throw TemplateError(.typeError, "'\(callee.typeName)' object is not callable", at: loc)
    }
}
