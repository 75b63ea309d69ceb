import Foundation
import SmolTemplates
import Testing

@Suite("Errors and limits")
struct ErrorTests {
    func renderError(_ source: String, limits: RenderLimits = RenderLimits(), variables: [String: TemplateValue] = [:]) -> TemplateError? {
        do {
            let template = try Template(source, limits: limits)
            _ = try template.render(variables)
            return nil
        } catch let error as TemplateError {
            return error
        } catch {
            Issue.record("unexpected error type \(error)")
            return nil
        }
    }

    @Test func syntaxErrorHasLineAndColumn() throws {
        let error = try #require(renderError("line one\nline two {{ 1 + }}"))
        #expect(error.kind == .syntax)
        #expect(error.line == 2)
        #expect(error.column == 17)
    }

    @Test func unterminatedTagsAndStrings() throws {
        #expect(renderError("{{ x")?.kind == .syntax)
        #expect(renderError("{% if x %}")?.kind == .syntax)
        #expect(renderError("{# comment")?.kind == .syntax)
        #expect(renderError("{{ 'abc }}")?.kind == .syntax)
        #expect(renderError("{{ (1 }}")?.kind == .syntax)
        #expect(renderError("{% endfor %}")?.kind == .syntax)
        #expect(renderError("{% break %}")?.kind == .syntax)
    }

    @Test func unknownFilterAndTest() throws {
        let filter = try #require(renderError("\n  {{ 'x' | shout }}"))
        #expect(filter.kind == .unknownFilter)
        #expect(filter.message == "No filter named 'shout'.")
        #expect(filter.line == 2)
        #expect(renderError("{{ 1 is prime }}")?.kind == .unknownTest)
    }

    @Test func raiseExceptionCarriesMessage() throws {
        let error = try #require(renderError("{% if true %}\n{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"))
        #expect(error.kind == .raised)
        #expect(error.message == "Conversation roles must alternate user/assistant/user/assistant/...")
        #expect(error.line == 2)
    }

    @Test func stepBudgetStopsNestedRanges() throws {
        var limits = RenderLimits()
        limits.maxSteps = 300_000
        let source = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"
        let error = try #require(renderError(source, limits: limits))
        #expect(error.kind == .stepLimit)
    }

    @Test func defaultStepBudgetAlsoStops() throws {
        let source = "{% for i in range(100000) %}{% for j in range(100000) %}{{ '' }}{% endfor %}{% endfor %}"
        let error = try #require(renderError(source))
        #expect(error.kind == .stepLimit)
    }

    @Test func deepParenthesesAreRejected() throws {
        let source = "{{ " + String(repeating: "(", count: 10_000) + "1" + String(repeating: ")", count: 10_000) + " }}"
        #expect(renderError(source)?.kind == .depthLimit)
    }

    @Test func deepIfNestingIsRejected() throws {
        let source = String(repeating: "{% if true %}", count: 10_000) + "x" + String(repeating: "{% endif %}", count: 10_000)
        #expect(renderError(source)?.kind == .depthLimit)
    }

    @Test func otherDeepExpressionsAreRejected() throws {
        #expect(renderError("{{ " + String(repeating: "[", count: 5_000) + String(repeating: "]", count: 5_000) + " }}")?.kind == .depthLimit)
        #expect(renderError("{{ " + String(repeating: "not ", count: 5_000) + "1 }}")?.kind == .depthLimit)
        #expect(renderError("{{ " + String(repeating: "-", count: 5_000) + "1 }}")?.kind == .depthLimit)
        #expect(renderError("{{ 1 " + String(repeating: "if 1 else 1 ", count: 5_000) + "}}")?.kind == .depthLimit)
    }

    @Test func moderateNestingStillWorks() throws {
        let source = String(repeating: "{% if true %}", count: 50) + "x" + String(repeating: "{% endif %}", count: 50)
        #expect(try Template(source).render([:]) == "x")
        let parens = "{{ " + String(repeating: "(", count: 40) + "1" + String(repeating: ")", count: 40) + " }}"
        #expect(try Template(parens).render([:]) == "1")
    }

    @Test func infiniteMacroRecursionIsStopped() throws {
        let error = try #require(renderError("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}"))
        #expect(error.kind == .depthLimit)
    }

    @Test func valuesNestedThroughLoopsAreBounded() throws {
        let source = "{% set ns = namespace(x=[]) %}{% for i in range(5000) %}{% set ns.x = [ns.x] %}{% endfor %}{{ ns.x }}"
        #expect(renderError(source)?.kind == .depthLimit)
    }

    @Test func outputCapIsEnforced() throws {
        var limits = RenderLimits()
        limits.maxOutputBytes = 1 << 20
        let error = try #require(renderError("{% for i in range(100000) %}{{ 'x' * 1000 }}{% endfor %}", limits: limits))
        #expect(error.kind == .outputLimit)
        let doubling = "{% set ns = namespace(s='ab') %}{% for i in range(64) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}"
        #expect(renderError(doubling, limits: limits)?.kind == .outputLimit)
        #expect(renderError("{{ 'x' * 100000000000 }}", limits: limits)?.kind == .outputLimit)
    }

    @Test func sandboxRules() throws {
        #expect(renderError("{{ range(100001) | length }}")?.kind == .security)
        let append = try #require(renderError("{% set l = [] %}{{ l.append(1) }}"))
        #expect(append.kind == .security)
        #expect(append.message == "access to attribute 'append' of 'list' object is unsafe.")
        #expect(renderError("{{ {}.update({'a': 1}) }}")?.kind == .security)
        #expect(renderError("{{ ''.__class__() }}")?.kind == .security)
    }

    @Test func runtimeTypeErrorsArePositioned() throws {
        let error = try #require(renderError("ok\n  {{ 'a' + 1 }}"))
        #expect(error.kind == .typeError)
        #expect(error.message == "can only concatenate str (not \"int\") to str")
        #expect(error.line == 2)
        #expect(renderError("{{ 9223372036854775807 + 1 }}")?.kind == .valueError)
        #expect(renderError("{{ 1 // 0 }}")?.kind == .zeroDivision)
        #expect(renderError("{% for a, b in [1] %}{% endfor %}")?.kind == .typeError)
        #expect(renderError("{% for a, b in [[1, 2, 3]] %}{% endfor %}")?.kind == .valueError)
    }

    @Test func undefinedMisuse() throws {
        #expect(renderError("{{ nope.attr }}")?.kind == .undefinedValue)
        #expect(renderError("{{ nope['k'] }}")?.kind == .undefinedValue)
        #expect(renderError("{{ nope() }}")?.kind == .undefinedValue)
        #expect(renderError("{{ nope | tojson }}")?.kind == .typeError)
        #expect(renderError("{{ nope is defined }}") == nil)
    }
}
