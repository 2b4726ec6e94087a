// swift-tools-version:6.1
import PackageDescription

/// Pixel loops and reference kernels are unusably slow unoptimised; tests run debug builds, so these
/// targets are optimised in every configuration.
let optimisedAlways: [SwiftSetting] = [.unsafeFlags(["-O"], .when(configuration: .debug))]

let package = Package(
    name: "MegaDetector",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "megadetector", targets: ["MegaDetectorCLI"]),
        .library(name: "Engine", targets: ["Engine"]),
        .library(name: "ModelFormats", targets: ["ModelFormats"]),
    ],
    traits: [
        .trait(name: "OneDNN", description: "Convolutions on oneDNN (libdnnl). Without it (--disable-default-traits) every op runs on the plain Swift reference implementation and no oneDNN library is needed."),
        .default(enabledTraits: ["OneDNN"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
    ],
    targets: [
        // The only place that sees oneDNN's C API. It compiles against oneDNN 2.x (Debian) and 3.x
        // (Homebrew) and exposes a small stable surface to Swift.
        .target(
            name: "CDNNLShim",
            cSettings: [.headerSearchPath("include")],
            linkerSettings: [.linkedLibrary("dnnl")]
        ),
        .target(
            name: "Engine",
            dependencies: [.target(name: "CDNNLShim", condition: .when(traits: ["OneDNN"]))],
            swiftSettings: optimisedAlways
        ),
        // libjpeg-turbo (Debian libjpeg62-turbo-dev / libturbojpeg0-dev) and libpng (libpng-dev).
        .systemLibrary(name: "CFreeType", pkgConfig: "freetype2", providers: [.apt(["libfreetype-dev"])]),
        .target(name: "CImageCodecs", dependencies: ["CFreeType"],
                linkerSettings: [.linkedLibrary("jpeg"), .linkedLibrary("png16"), .linkedLibrary("freetype")]),
        .target(name: "Imaging", dependencies: ["CImageCodecs"], swiftSettings: optimisedAlways),
        // FFmpeg's libav* (Debian libavformat-dev, libavcodec-dev, libswscale-dev) decode camera-trap clips.
        .target(name: "CVideoCodecs", linkerSettings: [.linkedLibrary("avformat"), .linkedLibrary("avcodec"), .linkedLibrary("swscale"),
                                                       .linkedLibrary("avutil"), .linkedLibrary("m")]),
        .target(name: "VideoDecoding", dependencies: ["CVideoCodecs", "Imaging"]),
        .target(name: "ResultsFormat"),
        // One plain sentence for errors that reach users (Foundation's errors print as dictionaries).
        .target(name: "Diagnostics"),
        .target(name: "Postprocessing", dependencies: ["ResultsFormat", "Imaging", "Diagnostics", "VideoDecoding", "Classification"]),
        // Job stores (SQLite, PostgreSQL), shards and workers of the batch service (no HTTP here).
        .target(name: "BatchService", dependencies: ["Detection", "Classification", "Engine", "Diagnostics", "ModelFormats", "ResultsFormat", "VideoDecoding", .product(name: "GRDB", package: "GRDB.swift"), .product(name: "Logging", package: "swift-log"),
                                                .product(name: "PostgresNIO", package: "postgres-nio"), .product(name: "NIOSSL", package: "swift-nio-ssl"),
                                                .product(name: "Crypto", package: "swift-crypto")]),
        .target(name: "Detection", dependencies: ["Engine", "ModelFormats", "Imaging", "VideoDecoding", "ResultsFormat", "Diagnostics", .product(name: "Crypto", package: "swift-crypto")],
                swiftSettings: optimisedAlways),
        // zlib (Debian zlib1g-dev) inflates the small deflated entries tools append to .pt archives.
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .target(name: "ModelFormats", dependencies: ["Engine", "CZlib"], swiftSettings: optimisedAlways),
        // Species classification (SpeciesNet): crops, the classifier, its labels.
        .target(name: "Classification", dependencies: ["Engine", "ModelFormats", "Imaging", "ResultsFormat", "VideoDecoding", "Detection"],
                exclude: ["Geocoding/generate_us_admin1_cities.py"], swiftSettings: optimisedAlways),
        .executableTarget(
            name: "MegaDetectorCLI",
            dependencies: [
                "Engine", "ModelFormats", "Imaging", "ResultsFormat", "Detection", "Postprocessing", "BatchService", "Diagnostics",
                "VideoDecoding", "Classification", .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Hummingbird", package: "hummingbird"), .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(name: "TestSupport", dependencies: ["Engine", .product(name: "Crypto", package: "swift-crypto")], path: "Tests/TestSupport"),
        .testTarget(name: "EngineTests", dependencies: ["Engine", "TestSupport"]),
        .testTarget(name: "ModelFormatsTests", dependencies: ["ModelFormats", "Engine", "TestSupport"]),
        .testTarget(name: "ImagingTests", dependencies: ["Imaging", "Detection", "TestSupport"]),
        .testTarget(name: "ClassificationTests", dependencies: ["Classification", "Imaging", "ModelFormats", "Engine", "ResultsFormat", "Detection", "TestSupport"]),
        .testTarget(name: "VideoDecodingTests", dependencies: ["VideoDecoding", "Imaging", "TestSupport"]),
        .testTarget(name: "ResultsFormatTests", dependencies: ["ResultsFormat", "TestSupport"]),
        .testTarget(name: "DiagnosticsTests", dependencies: ["Diagnostics"]),
        .testTarget(name: "DetectionTests", dependencies: ["Detection", "Imaging", "ResultsFormat", "Postprocessing", "TestSupport"]),
        .testTarget(name: "PostprocessingTests", dependencies: ["Postprocessing", "ResultsFormat", "Detection", "TestSupport"]),
        .testTarget(name: "BatchServiceTests", dependencies: ["BatchService", "ResultsFormat", "TestSupport", .product(name: "Logging", package: "swift-log")]),
        .testTarget(name: "MegaDetectorCLITests", dependencies: ["TestSupport", "ResultsFormat", "Diagnostics"]),
    ]
)
