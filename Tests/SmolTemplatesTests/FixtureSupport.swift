import Foundation
import SmolTemplates
import Testing

/// One rendered case from `Fixtures/template_cases.json` (made by scripts/make_template_fixtures.py).
struct FixtureCase: Sendable, CustomTestStringConvertible {
    let name: String
    let value: TemplateValue

    var testDescription: String { name }

    /// Repository root, found from this file so the fixtures travel with the sources.
    static let repositoryRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static let fixturesDirectory: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().appendingPathComponent("Fixtures")

    /// The date the Python side pins `strftime_now` to.
    static let clock = TemplateClock.fixed(year: 2026, month: 11, day: 22, hour: 14, minute: 5, second: 9)

    static let all: [FixtureCase] = {
        let url = fixturesDirectory.appendingPathComponent("template_cases.json")
        guard let data = try? Data(contentsOf: url), let root = try? TemplateValue(jsonData: data),
            let items = root.arrayValue
        else { return [] }
        return items.map { FixtureCase(name: $0["name"]?.string ?? "?", value: $0) }
    }()

    static var rendered: [FixtureCase] { all.filter { $0.value["error"] == nil } }
    static var failing: [FixtureCase] { all.filter { $0.value["error"] != nil } }

    /// Inline source, or the file named by `template_path` relative to the repository root
    /// (the SmolLM3 template lives in the shared models folder and is not copied).
    func templateSource() throws -> String? {
        if let inline = value["template"]?.string { return inline }
        guard let path = value["template_path"]?.string else { return nil }
        let url = FixtureCase.repositoryRoot.appendingPathComponent(path).standardizedFileURL
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        return try String(contentsOf: url, encoding: .utf8)
    }

    func render(source: String) throws -> String {
        let template = try ChatTemplate(source: source, clock: FixtureCase.clock)
        var extra: [String: TemplateValue] = [:]
        for (k, v) in value["kwargs"]?.dictionaryValue?.pairs.map({ ($0.string ?? "", $1) }) ?? [] { extra[k] = v }
        return try template.render(
            messages: value["messages"]?.arrayValue ?? [],
            tools: value["tools"]?.arrayValue,
            documents: value["documents"]?.arrayValue,
            addGenerationPrompt: value["add_generation_prompt"].map { if case .bool(true) = $0 { return true } else { return false } } ?? false,
            extra: extra
        )
    }
}
