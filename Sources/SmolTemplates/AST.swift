/// Expression node with its source position, so runtime errors can point into the template.
struct Node {
    var expr: Expr
    var loc: SourceLocation
}

indirect enum Expr {
    case literal(TemplateValue)
    case name(String)
    case list([Node])
    case tuple([Node])
    case dict([(Node, Node)])
    case attribute(Node, String)
    case `subscript`(Node, Node)
    /// Only valid as the index of a subscript.
    case slice(Node?, Node?, Node?)
    case call(Node, [CallArgument])
    /// `target` is nil for `{% filter %}` blocks, where the body text is the input.
    case filter(Node?, String, [CallArgument])
    case test(Node, String, [CallArgument], negated: Bool)
    case negate(Node)
    case plus(Node)
    case not(Node)
    case binary(BinaryOperator, Node, Node)
    case and(Node, Node)
    case or(Node, Node)
    case compare(Node, [(CompareOperator, Node)])
    case conditional(test: Node, then: Node, otherwise: Node?)
    case concat([Node])
}

enum BinaryOperator: String {
    case add = "+", subtract = "-", multiply = "*", divide = "/", floorDivide = "//", modulo = "%", power = "**"
}

enum CompareOperator: String {
    case eq = "==", ne = "!=", lt = "<", le = "<=", gt = ">", ge = ">=", isIn = "in", notIn = "not in"
}

enum CallArgument {
    case positional(Node)
    case keyword(String, Node)
    case star(Node)
    case doubleStar(Node)
}

/// Assignment targets for `set`, `for` and `with`.
indirect enum Target {
    case name(String)
    /// `{% set ns.attr = ... %}`
    case attribute(String, String)
    case tuple([Target])

    var names: [String] {
        switch self {
        case .name(let n): return [n]
        case .attribute: return []
        case .tuple(let items): return items.flatMap(\.names)
        }
    }
}

struct Statement {
    var kind: StatementKind
    var loc: SourceLocation
}

struct MacroDefinition {
    var name: String
    var parameters: [(String, Node?)]
    var body: [Statement]
}

indirect enum StatementKind {
    case text(String)
    case output(Node)
    case ifChain([(Node, [Statement])], otherwise: [Statement])
    case forLoop(ForLoop)
    case set(Target, Node)
    case setBlock(Target, filters: [Node], body: [Statement])
    case macro(MacroDefinition)
    case callBlock(call: Node, parameters: [(String, Node?)], body: [Statement])
    case filterBlock(filters: [Node], body: [Statement])
    /// HF's `{% generation %}`: renders the body unchanged (only used for assistant masks in Python).
    case generation([Statement])
    case with([(Target, Node)], body: [Statement])
    case breakLoop
    case continueLoop
}

struct ForLoop {
    var target: Target
    var iterable: Node
    var condition: Node?
    var body: [Statement]
    var otherwise: [Statement]
    var recursive: Bool
}
