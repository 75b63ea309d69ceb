/// A parsed Jinja template. Parsing happens once; rendering is independent per call.
public struct Template: @unchecked Sendable {
    // The AST is immutable after parsing, which is what makes sharing it across threads safe.
    let body: [Statement]
    public let limits: RenderLimits

    public init(_ source: String, limits: RenderLimits = RenderLimits()) throws {
        self.limits = limits
        body = try Parser.parse(source, maxDepth: limits.maxDepth)
    }

    public func render(_ variables: [String: TemplateValue], clock: TemplateClock = .system) throws -> String {
        let interpreter = Interpreter(limits: limits, clock: clock)
        return try interpreter.render(body, variables: variables)
    }
}
