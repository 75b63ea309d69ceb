import Foundation
import SmolTemplates
import Testing

@Suite("Fixtures rendered by transformers")
struct FixtureTests {
    @Test("fixture file is present and complete")
    func fixtureFileLoads() {
        #expect(FixtureCase.all.count >= 100)
        #expect(FixtureCase.all.contains { $0.name.hasPrefix("smollm3_") })
        #expect(FixtureCase.all.contains { $0.name.hasPrefix("smollm2_") })
        #expect(FixtureCase.all.contains { $0.name.hasPrefix("smolvlm2_") })
        #expect(FixtureCase.all.filter { $0.name.hasPrefix("syn_") }.count >= 60)
    }

    @Test("renders byte-identical to transformers", arguments: FixtureCase.rendered)
    func rendersLikeTransformers(_ fixture: FixtureCase) throws {
        // The SmolLM3 template comes from ../shared, which CI provides: missing is a failure.
        let source = try #require(try fixture.templateSource(), "\(fixture.name): template file not available")
        let expected = try #require(fixture.value["expected"]?.string)
        let actual = try fixture.render(source: source)
        #expect(actual == expected, "\(fixture.name)\n--- expected\n\(expected)\n--- actual\n\(actual)")
        if actual != expected {
            let e = Array(expected.unicodeScalars)
            let a = Array(actual.unicodeScalars)
            let i = (0..<min(e.count, a.count)).first { e[$0] != a[$0] } ?? min(e.count, a.count)
            Issue.record("first difference at scalar \(i): expected \(String(String.UnicodeScalarView(e[i..<min(i + 40, e.count)])).debugDescription) got \(String(String.UnicodeScalarView(a[i..<min(i + 40, a.count)])).debugDescription)")
        }
    }

    /// Python exception class → the error kind the Swift renderer reports.
    static let expectedKinds: [String: TemplateError.Kind] = [
        "TemplateError": .raised,
        "TemplateAssertionError": .unknownFilter,
        "TemplateRuntimeError": .unknownTest,
        "TemplateSyntaxError": .syntax,
        "SecurityError": .security,
        "OverflowError": .security,
        "UndefinedError": .undefinedValue,
        "TypeError": .typeError,
        "ZeroDivisionError": .zeroDivision,
    ]

    @Test("fails where transformers fails", arguments: FixtureCase.failing)
    func failsLikeTransformers(_ fixture: FixtureCase) throws {
        let source = try #require(try fixture.templateSource())
        let pythonError = try #require(fixture.value["error"]?.string)
        let expectedKind = try #require(FixtureTests.expectedKinds[pythonError])
        do {
            let output = try fixture.render(source: source)
            Issue.record("expected \(pythonError), rendered \(output.debugDescription)")
        } catch let error as TemplateError {
            #expect(error.kind == expectedKind, "\(error)")
            #expect(error.line >= 1, "error should carry a position: \(error)")
            if expectedKind == .raised || expectedKind == .security || expectedKind == .undefinedValue {
                #expect(error.message == fixture.value["error_message"]?.string)
            }
        }
    }
}
