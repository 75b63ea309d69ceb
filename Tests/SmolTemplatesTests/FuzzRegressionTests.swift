import Testing
@testable import SmolTemplates

/// Inputs the template fuzzer found (Tests/Fuzz/corpus/FuzzTemplate keeps them too).
@Suite struct FuzzRegressionTests {
    @Test func hugeFormatWidthsAreErrorsNotAllocations() throws {
        for src in [#"{{ "%4444444444444444d"|format(3) }}"#, #"{{ "%99999999999999999999999s"|format("a") }}"#,
                    #"{{ "%.4444444444444444f"|format(1.5) }}"#, #"{{ "{:4444444444444444}".format(1) }}"#] {
            let t = try Template(src)
            #expect(throws: TemplateError.self, "\(src)") { try t.render([:]) }
        }
        #expect(try Template(#"{{ "%5d|%-4s|"|format(42, "ab") }}"#).render([:]) == "   42|ab  |")
    }
}
