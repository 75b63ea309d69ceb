import Foundation

/// Accuracy with a 95% Wilson score interval.
public struct Accuracy: Sendable, Codable {
    public let correct: Int
    public let total: Int
    public init(correct: Int, total: Int) { self.correct = correct; self.total = total }
    public var value: Double { total > 0 ? Double(correct) / Double(total) : 0 }
    public var interval95: (Double, Double) {
        guard total > 0 else { return (0, 0) }
        let n = Double(total), p = value, z = 1.959963984540054
        let denom = 1 + z * z / n
        let centre = (p + z * z / (2 * n)) / denom
        let half = z * (p * (1 - p) / n + z * z / (4 * n * n)).squareRoot() / denom
        return (max(0, centre - half), min(1, centre + half))
    }
    public var summary: String {
        let (lo, hi) = interval95
        return String(format: "%.1f%% (%d/%d, 95%% CI %.1f–%.1f%%)", value * 100, correct, total, lo * 100, hi * 100)
    }
    public var json: [String: Any] {
        let (lo, hi) = interval95
        return ["accuracy": value, "correct": correct, "total": total, "ci95": [lo, hi]]
    }
}

/// A one-line progress display on stderr with rate and running accuracy.
public struct ProgressLine {
    let total: Int
    let start = Date()
    let enabled: Bool
    public init(total: Int, enabled: Bool = true) { self.total = total; self.enabled = enabled }

    public func update(done: Int, correct: Int) {
        guard enabled else { return }
        let t = Date().timeIntervalSince(start)
        let rate = t > 0 ? Double(done) / t : 0
        let width = 30, filled = total > 0 ? width * done / total : width
        let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
        let eta = rate > 0 ? Double(total - done) / rate : 0
        let line = String(format: "\r[%@] %d/%d  %.2f items/s  acc %.1f%%  eta %.0fs ", bar, done, total, rate,
                          done > 0 ? 100 * Double(correct) / Double(done) : 0, eta)
        FileHandle.standardError.write(Data(line.utf8))
        if done == total { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}
