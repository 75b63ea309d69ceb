// swift-tools-version:6.0
import Foundation
import PackageDescription

// Hot loops live in C (CSmolKernels) so that they are fast even in debug builds and can
// dispatch on CPU features at run time; Swift holds the model logic.
let optimizedC: [CSetting] = [.unsafeFlags(["-O3", "-fno-math-errno", "-pthread"])]

let package = Package(
    name: "SmolRuntime",
    products: [
        .library(name: "SmolRuntime", targets: ["SmolRuntime"]),
        .executable(name: "smol", targets: ["smol"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CBLAS", path: "Sources/CBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]),
        .target(name: "CSmolKernels", dependencies: ["CBLAS"], path: "Sources/CSmolKernels", cSettings: optimizedC,
                linkerSettings: [.linkedLibrary("pthread"), .linkedLibrary("m")]),
        // PNG and JPEG decoding (Debian: libpng-dev, libjpeg-dev), errors caught inside C.
        .target(name: "CSmolImage", path: "Sources/CSmolImage", cSettings: optimizedC,
                linkerSettings: [.linkedLibrary("png16"), .linkedLibrary("jpeg")]),
        .target(name: "SmolKernels", dependencies: ["CSmolKernels", "CBLAS", "SmolWeights"]),
        .target(name: "SmolJSON"),
        // Constrained decoding: JSON Schema / GBNF to byte grammars and token masks.
        .target(name: "CSmolGrammar", path: "Sources/CSmolGrammar", cSettings: optimizedC),
        .target(name: "SmolGrammar", dependencies: ["CSmolGrammar", "SmolJSON"]),
        .target(name: "SmolWeights", dependencies: ["SmolJSON"]),
        .target(name: "SmolTokenizers", dependencies: ["SmolJSON"]),
        .target(name: "SmolTemplates", dependencies: ["SmolJSON"]),
        .target(name: "SmolRuntime", dependencies: [
            "CSmolKernels", "SmolKernels", "SmolJSON", "SmolWeights", "SmolTokenizers", "SmolTemplates", "SmolVision", "SmolGrammar",
        ]),
        .target(name: "SmolEval", dependencies: ["SmolRuntime"]),
        .target(name: "SmolVision", dependencies: ["CSmolKernels", "CSmolImage", "SmolJSON"]),
        .target(name: "SmolServer", dependencies: [
            "SmolRuntime", "SmolJSON", "SmolGrammar", "SmolTemplates", "SmolVision",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "NIOCore", package: "swift-nio"),
        ]),
        .executableTarget(name: "smol", dependencies: [
            "SmolRuntime", "SmolEval", "SmolServer", "SmolKernels", "SmolGrammar", "SmolJSON", "SmolWeights", "SmolTokenizers", "SmolTemplates", "SmolVision",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        // Test-only C helpers (SHA-256 of tensors against fixture digests).
        .target(name: "CTestSupport", path: "Tests/CTestSupport", cSettings: optimizedC),
        .testTarget(name: "SmolKernelsTests", dependencies: ["SmolKernels", "CSmolKernels"]),
        .testTarget(name: "SmolWeightsTests", dependencies: ["SmolWeights"]),
        .testTarget(name: "SmolTokenizersTests", dependencies: ["SmolTokenizers"]),
        .testTarget(name: "SmolTemplatesTests", dependencies: ["SmolTemplates"], exclude: ["Fixtures"]),
        .testTarget(name: "SmolRuntimeTests", dependencies: ["SmolRuntime", "SmolVision", "CTestSupport"]),
        .testTarget(name: "SmolEvalTests", dependencies: ["SmolEval"]),
        .testTarget(name: "SmolGrammarTests", dependencies: ["SmolGrammar", "SmolJSON"]),
        .testTarget(name: "SmolServerTests", dependencies: ["SmolServer", "SmolJSON"]),
        .testTarget(name: "SmolVisionTests", dependencies: ["SmolVision", "SmolJSON"]),
    ]
)

// libFuzzer targets (Tests/Fuzz), only when SMOL_FUZZ is set: scripts/fuzz.sh builds them with
// the fuzzer and address sanitizers into .build-fuzz. They have no main of their own.
if ProcessInfo.processInfo.environment["SMOL_FUZZ"] != nil {
    let fuzzTargets: [(String, [Target.Dependency])] = [
        ("FuzzJSON", ["SmolJSON"]),
        ("FuzzWeights", ["SmolWeights"]),
        ("FuzzTemplate", ["SmolTemplates"]),
        ("FuzzRequests", ["SmolServer", "SmolJSON"]),
        ("FuzzReplyParser", ["SmolRuntime"]),
        ("FuzzGrammar", ["SmolGrammar", "SmolJSON"]),
    ]
    for (name, deps) in fuzzTargets {
        package.targets.append(.executableTarget(name: name, dependencies: deps, path: "Tests/Fuzz/Targets/\(name)",
                                                 swiftSettings: [.unsafeFlags(["-parse-as-library"])]))
    }
}
