import Foundation
import SmolTemplates
import Testing

@Suite("Values, formatting and loading")
struct ValueTests {
    func render(_ source: String, _ variables: [String: TemplateValue] = [:]) throws -> String {
        try Template(source).render(variables)
    }

    @Test(arguments: [
        (0.1, "0.1"), (1.0, "1.0"), (1e-05, "1e-05"), (0.0001, "0.0001"), (1e16, "1e+16"),
        (1e15, "1000000000000000.0"), (123456789012345678.0, "1.2345678901234568e+17"),
        (-2.5e-10, "-2.5e-10"), (Double.infinity, "inf"), (-0.0, "-0.0"), (1.5e300, "1.5e+300"),
    ])
    func pythonFloatRepr(_ value: Double, _ expected: String) throws {
        #expect(try render("{{ x }}", ["x": .double(value)]) == expected)
    }

    @Test func jsonParsingKeepsOrderAndNumberKinds() throws {
        let value = try TemplateValue(jsonString: #"{"z": 1, "a": 1.0, "m": [true, null, "é\u00e9\ud83d\ude00"], "big": 1e400}"#)
        #expect(try render("{{ v | tojson }}", ["v": value]) == #"{"z": 1, "a": 1.0, "m": [true, null, "éé😀"], "big": Infinity}"#)
        #expect(try render("{{ v }}", ["v": value]) == "{'z': 1, 'a': 1.0, 'm': [True, None, 'éé😀'], 'big': inf}")
    }

    @Test func foundationJSONBooleansAndNumbers() throws {
        let data = Data(#"[true, false, 1, 1.0, 2.5, "s", null, {"k": [0]}]"#.utf8)
        let object = try JSONSerialization.jsonObject(with: data)
        let value = try TemplateValue(jsonObject: object)
        #expect(try render("{{ v }}", ["v": value]) == "[True, False, 1, 1.0, 2.5, 's', None, {'k': [0]}]")
        let native = try TemplateValue(jsonObject: [true, 3, 0.5, "x"] as [Any])
        #expect(try render("{{ v }}", ["v": native]) == "[True, 3, 0.5, 'x']")
    }

    @Test func swiftLiterals() throws {
        let message: TemplateValue = ["role": "user", "content": "hi", "n": 2, "f": 0.5, "ok": true, "none": nil]
        #expect(try render("{{ m }}", ["m": message]) == "{'role': 'user', 'content': 'hi', 'n': 2, 'f': 0.5, 'ok': True, 'none': None}")
    }

    @Test func reasoningFieldsAreAliasedLikeTransformers() throws {
        let template = try ChatTemplate(source: "{{ messages[0] | tojson }}")
        let out = try template.render(messages: [["role": "assistant", "content": "x", "reasoning": "r"]])
        #expect(out == #"{"thinking": "r", "role": "assistant", "content": "x", "reasoning": "r", "reasoning_content": "r"}"#)
    }

    @Test func chatVariablesMatchTransformers() throws {
        let template = try ChatTemplate(source: "{{ tools is none }}|{{ documents is none }}|{{ add_generation_prompt }}|{{ bos_token }}|{{ eos_token is defined }}|{{ enable_thinking }}")
        let out = try template.render(messages: [], addGenerationPrompt: true, extra: ["enable_thinking": false], bosToken: "<s>")
        #expect(out == "True|True|True|<s>|False|False")
    }

    @Test func injectedClockDrivesStrftime() throws {
        let clock = TemplateClock.fixed(year: 2024, month: 2, day: 29, hour: 23, minute: 7, second: 1)
        let out = try Template("{{ strftime_now('%a %d %b %Y %I:%M:%S %p %j %-d') }}").render([:], clock: clock)
        #expect(out == "Thu 29 Feb 2024 11:07:01 PM 060 29")
    }

    @Test func loaderPrefersJinjaThenJsonThenTokenizerConfig() throws {
        let fm = FileManager.default
        let dir = fm.temporaryDirectory.appendingPathComponent("smoltemplates-\(UUID().uuidString)")
        try fm.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? fm.removeItem(at: dir) }

        #expect(throws: TemplateError.self) { try ChatTemplateLoader.source(inModelDirectory: dir) }

        try #"{"chat_template": [{"name": "tool_use", "template": "T"}, {"name": "default", "template": "D"}]}"#
            .write(to: dir.appendingPathComponent("tokenizer_config.json"), atomically: true, encoding: .utf8)
        #expect(try ChatTemplateLoader.source(inModelDirectory: dir) == "D")
        #expect(try ChatTemplateLoader.source(inModelDirectory: dir, name: "tool_use") == "T")

        try #"{"chat_template": "J"}"#.write(to: dir.appendingPathComponent("chat_template.json"), atomically: true, encoding: .utf8)
        #expect(try ChatTemplateLoader.source(inModelDirectory: dir) == "J")

        try "{{ 'X' }}".write(to: dir.appendingPathComponent("chat_template.jinja"), atomically: true, encoding: .utf8)
        #expect(try ChatTemplateLoader.load(modelDirectory: dir).render(messages: []) == "X")
    }

    @Test func realModelFoldersLoad() throws {
        let root = FixtureCase.repositoryRoot
        let folders = [
            root.appendingPathComponent("../shared/models/SmolLM3-3B"),
            root.appendingPathComponent("Models/SmolLM2-135M-Instruct"),
        ]
        for dir in folders {
            let template = try ChatTemplateLoader.load(modelDirectory: dir, clock: FixtureCase.clock)
            let out = try template.render(messages: [["role": "user", "content": "Hi"]], addGenerationPrompt: true)
            #expect(out.contains("<|im_start|>user\nHi<|im_end|>\n"))
        }
    }

    @Test func templatesAreReusableAcrossRenders() throws {
        let template = try Template("{% set ns = namespace(n=0) %}{% for i in xs %}{% set ns.n = ns.n + i %}{% endfor %}{{ ns.n }}")
        #expect(try template.render(["xs": [1, 2, 3]]) == "6")
        #expect(try template.render(["xs": [10]]) == "10")
    }
}
