import Foundation

/// Locations of committed fixtures and of the real default model.
enum FixturePaths {
    static let repoRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()
    static var models: String { repoRoot + "/Tests/Fixtures/models" }
    static func model(_ name: String) -> String { models + "/" + name }
    static var defaultModel: String { repoRoot + "/Models/SmolLM2-135M-Instruct" }
    static var smolLM3Metadata: String { repoRoot + "/../shared/models/SmolLM3-3B" }
}
