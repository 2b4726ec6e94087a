// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "MegaDetector",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "megadetector", targets: ["MegaDetectorCLI"]),
        .library(name: "Engine", targets: ["Engine"]),
        .library(name: "ModelFormats", targets: ["ModelFormats"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // The only place that sees oneDNN's C API. It compiles against oneDNN 2.x (Debian) and 3.x
        // (Homebrew) and exposes a small stable surface to Swift.
        .target(
            name: "CDNNLShim",
            cSettings: [.headerSearchPath("include")],
            linkerSettings: [.linkedLibrary("dnnl")]
        ),
        .target(name: "Engine", dependencies: ["CDNNLShim"]),
        .target(name: "ModelFormats", dependencies: ["Engine"]),
        .executableTarget(
            name: "MegaDetectorCLI",
            dependencies: [
                "Engine", "ModelFormats",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .target(name: "TestSupport", dependencies: ["Engine"], path: "Tests/TestSupport"),
        .testTarget(name: "EngineTests", dependencies: ["Engine", "TestSupport"]),
        .testTarget(name: "ModelFormatsTests", dependencies: ["ModelFormats", "Engine", "TestSupport"]),
        .testTarget(name: "MegaDetectorCLITests", dependencies: ["TestSupport"]),
    ]
)
