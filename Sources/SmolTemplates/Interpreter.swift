/// Tree-walking evaluator. Every statement and expression costs one step, and nesting is
/// counted, so hostile templates end in a `TemplateError` rather than a hang or a stack overflow.
final class Interpreter {
    enum Flow { case normal, breakLoop, continueLoop }

    let limits: RenderLimits
    let clock: TemplateClock
    let globals: Scope
    private(set) var steps = 0
    private var depth = 0

    init(limits: RenderLimits, clock: TemplateClock) {
        self.limits = limits
        self.clock = clock
        globals = Scope(parent: nil)
        Globals.install(into: globals)
    }

    func render(_ body: [Statement], variables: [String: TemplateValue]) throws -> String {
        let root = Scope(parent: globals)
        root.variables = variables
        closures = [root]
        defer { releaseCycles() }
        var out = ""
        _ = try execute(body, scope: root, into: &out)
        return out
    }

    /// Scopes that macros closed over (and the root): a macro stored in the scope it closes
    /// over, or a namespace holding itself, is a reference cycle that would outlive the render.
    private var closures: [Scope] = []

    /// Breaks those cycles when a render ends: empties the closure scopes and their ancestors,
    /// and the namespaces reachable from them (found by the template fuzzer, under LeakSanitizer).
    private func releaseCycles() {
        var seen = Set<ObjectIdentifier>()
        func release(_ v: TemplateValue) {
            switch v {
            case let .array(xs), let .tuple(xs): xs.forEach(release)
            case let .dictionary(d): d.values.forEach(release)
            case let .object(o):
                guard seen.insert(ObjectIdentifier(o)).inserted else { return }
                let attributes = o.attributes
                o.attributes = TemplateDictionary()
                attributes.values.forEach(release)
                if case let .macro(m) = o.payload, let c = m.caller { m.caller = nil; release(c) }
            default: break
            }
        }
        for c in closures {
            var scope: Scope? = c
            while let s = scope, s !== globals, seen.insert(ObjectIdentifier(s)).inserted {
                let vars = s.variables
                s.variables = [:]
                vars.values.forEach(release)
                scope = s.parent
            }
        }
        closures = []
    }

    // MARK: Budgets

    func step(_ loc: SourceLocation) throws {
        steps += 1
        if steps > limits.maxSteps {
            throw TemplateError(.stepLimit, "template exceeded its budget of \(limits.maxSteps) evaluation steps", at: loc)
        }
    }

    func charge(_ count: Int, at loc: SourceLocation) throws {
        steps += count
        try step(loc)
    }

    private func nest<T>(_ loc: SourceLocation, _ body: () throws -> T) throws -> T {
        depth += 1
        defer { depth -= 1 }
        if depth > limits.maxDepth {
            throw TemplateError(.depthLimit, "evaluation nested deeper than \(limits.maxDepth) levels", at: loc)
        }
        return try body()
    }

    func checkSize(_ value: TemplateValue, at loc: SourceLocation) throws -> TemplateValue {
        switch value {
        case .string(let s) where s.utf8.count > limits.maxOutputBytes:
            throw TemplateError(.outputLimit, "string exceeds \(limits.maxOutputBytes) bytes", at: loc)
        case .array(let a) where a.count > limits.maxCollectionLength,
            .tuple(let a) where a.count > limits.maxCollectionLength:
            throw TemplateError(.outputLimit, "list exceeds \(limits.maxCollectionLength) items", at: loc)
        default:
            return value
        }
    }

    func append(_ text: String, to out: inout String, at loc: SourceLocation) throws {
        out += text
        if out.utf8.count > limits.maxOutputBytes {
            throw TemplateError(.outputLimit, "output exceeds \(limits.maxOutputBytes) bytes", at: loc)
        }
    }

    // MARK: Statements

    func execute(_ statements: [Statement], scope: Scope, into out: inout String) throws -> Flow {
        for statement in statements {
            try step(statement.loc)
            let flow = try nest(statement.loc) { try executeOne(statement, scope: scope, into: &out) }
            if flow != .normal { return flow }
        }
        return .normal
    }

    private func executeOne(_ statement: Statement, scope: Scope, into out: inout String) throws -> Flow {
        let loc = statement.loc
        do {
            switch statement.kind {
            case .text(let text):
                try append(text, to: &out, at: loc)
            case .output(let node):
                try append(try PythonRepr.str(try eval(node, scope)), to: &out, at: loc)
            case .ifChain(let branches, let otherwise):
                for (condition, body) in branches {
                    if try eval(condition, scope).isTruthy {
                        return try execute(body, scope: scope, into: &out)
                    }
                }
                return try execute(otherwise, scope: scope, into: &out)
            case .forLoop(let loop):
                return try executeFor(loop, scope: scope, into: &out)
            case .set(let target, let node):
                try assign(target, try eval(node, scope), in: scope, at: loc)
            case .setBlock(let target, let filters, let body):
                var captured = ""
                _ = try execute(body, scope: scope, into: &captured)
                try assign(target, try applyFilters(filters, to: .string(captured), scope), in: scope, at: loc)
            case .macro(let def):
                let macro = Macro(name: def.name, parameters: def.parameters, body: def.body, closure: scope)
                closures.append(scope)
                scope.variables[def.name] = .object(TemplateObject(.macro(macro)))
            case .callBlock(let call, let parameters, let body):
                let caller = Macro(name: "caller", parameters: parameters, body: body, closure: scope)
                closures.append(scope)
                let result = try evalCall(call, scope, caller: .object(TemplateObject(.macro(caller))))
                try append(try PythonRepr.str(result), to: &out, at: loc)
            case .filterBlock(let filters, let body):
                var captured = ""
                _ = try execute(body, scope: scope, into: &captured)
                try append(try PythonRepr.str(try applyFilters(filters, to: .string(captured), scope)), to: &out, at: loc)
            case .generation(let body):
                return try execute(body, scope: scope, into: &out)
            case .with(let assignments, let body):
                let inner = Scope(parent: scope)
                for (target, node) in assignments {
                    try assign(target, try eval(node, scope), in: inner, at: loc)
                }
                return try execute(body, scope: inner, into: &out)
            case .breakLoop:
                return .breakLoop
            case .continueLoop:
                return .continueLoop
            }
        } catch let error as TemplateError {
            throw error.located(loc)
        }
        return .normal
    }

    private func applyFilters(_ filters: [Node], to value: TemplateValue, _ scope: Scope) throws -> TemplateValue {
        var result = value
        for f in filters {
            guard case .filter(_, let name, let args) = f.expr else { continue }
            result = try Filters.apply(name, to: result, arguments: try evalArguments(args, scope), interpreter: self, at: f.loc)
        }
        return result
    }

    private func executeFor(_ loop: ForLoop, scope: Scope, into out: inout String) throws -> Flow {
        let source = try eval(loop.iterable, scope)
        var items = try Operators.iterate(source)
        if let condition = loop.condition {
            // The loop filter sees each candidate item but not `loop`, as in Jinja.
            var kept: [TemplateValue] = []
            for item in items {
                try step(condition.loc)
                let probe = Scope(parent: scope)
                try assign(loop.target, item, in: probe, at: condition.loc)
                if try eval(condition, probe).isTruthy { kept.append(item) }
            }
            items = kept
        }
        if items.isEmpty {
            return try execute(loop.otherwise, scope: scope, into: &out)
        }
        // Jinja only counts depth for `recursive` loops; plain nested loops all report depth 1.
        let state = LoopState(items: items, depth0: 0)
        let loopValue = TemplateValue.object(TemplateObject(.loop(state)))
        for (i, item) in items.enumerated() {
            // Iterations cost a step even with an empty body, or nested empty loops would run unmetered.
            try step(loop.iterable.loc)
            state.index0 = i
            let iteration = Scope(parent: scope)
            iteration.variables["loop"] = loopValue
            try assign(loop.target, item, in: iteration, at: loop.iterable.loc)
            let flow = try execute(loop.body, scope: iteration, into: &out)
            if flow == .breakLoop { break }
        }
        return .normal
    }

    func assign(_ target: Target, _ value: TemplateValue, in scope: Scope, at loc: SourceLocation) throws {
        switch target {
        case .name(let name):
            scope.variables[name] = value
        case .attribute(let nsName, let attr):
            guard case .object(let obj)? = scope.lookup(nsName), case .namespace = obj.payload else {
                throw TemplateError(.typeError, "cannot assign attribute on non-namespace object", at: loc)
            }
            if attr.hasPrefix("_") {
                throw TemplateError(.security, "Chat templates cannot store underscore-prefixed attributes on a namespace, but got '\(attr)'. Please rename the attribute.", at: loc)
            }
            try obj.attributes.set(.string(attr), value)
        case .tuple(let targets):
            let items = try Operators.iterate(value)
            guard items.count == targets.count else {
                let detail = items.count > targets.count
                    ? "too many values to unpack (expected \(targets.count))"
                    : "not enough values to unpack (expected \(targets.count), got \(items.count))"
                throw TemplateError(.valueError, detail, at: loc)
            }
            for (t, v) in zip(targets, items) { try assign(t, v, in: scope, at: loc) }
        }
    }

    // MARK: Macros

    func callMacro(_ macro: Macro, _ args: Arguments, caller: TemplateValue?, at loc: SourceLocation) throws -> TemplateValue {
        let scope = Scope(parent: macro.closure)
        var extraPositional: [TemplateValue] = []
        for (i, v) in args.positional.enumerated() {
            if i < macro.parameters.count {
                scope.variables[macro.parameters[i].0] = v
            } else {
                extraPositional.append(v)
            }
        }
        var extraKeywords = TemplateDictionary()
        for (k, v) in args.keyword {
            if macro.parameters.contains(where: { $0.0 == k }) {
                scope.variables[k] = v
            } else {
                try extraKeywords.set(.string(k), v)
            }
        }
        for (name, defaultNode) in macro.parameters where scope.variables[name] == nil {
            if let defaultNode {
                scope.variables[name] = try eval(defaultNode, scope)
            } else {
                scope.variables[name] = .undefined("parameter '\(name)' was not provided")
            }
        }
        scope.variables["varargs"] = .tuple(extraPositional)
        scope.variables["kwargs"] = .dictionary(extraKeywords)
        if let caller = caller ?? macro.caller { scope.variables["caller"] = caller }
        var out = ""
        _ = try nest(loc) { try execute(macro.body, scope: scope, into: &out) }
        return .string(out)
    }
}
