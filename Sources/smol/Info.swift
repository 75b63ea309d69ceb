import ArgumentParser
import Foundation
import SmolKernels

/// `smol info`: the CPU, its features and the kernel path of each family.
struct Info: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the CPU features found and the kernel path each family uses.",
        discussion: "SMOL_ISA=scalar|avx2|avx512|avx512bf16|amx caps the kernel level (to test or compare paths); --precision shows the paths for that prefill arithmetic.")

    @Option(help: "Prefill arithmetic to describe: f32 or bf16 (default: the faster on this CPU).")
    var precision: ComputePrecision?

    func run() throws {
        try KernelInfo.validateEnvironment()
        print("smol \(Smol.version)")
        print("cpu: \(Self.cpuModel) (\(ComputeContext.defaultThreads) cores online)")
        print(KernelInfo.describe(precision: precision ?? .fastest))
    }

    static var cpuModel: String {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return "unknown" }
        var name = "unknown", family = "", model = ""
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2 else { continue }
            if parts[0] == "model name", name == "unknown" { name = parts[1] }
            if parts[0] == "cpu family", family.isEmpty { family = parts[1] }
            if parts[0] == "model", model.isEmpty { model = parts[1] }
            if parts[0] == "processor", parts[1] != "0" { break }
        }
        return family.isEmpty ? name : "\(name), family \(family) model \(model)"
    }
}
