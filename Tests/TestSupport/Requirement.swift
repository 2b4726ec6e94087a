import Foundation
import Testing

/// Something a test needs that a machine may lack: `../shared`, a program, a Python package, root.
///
/// Tests name what they need with the `.requires(_:)` trait. Where it is missing, a developer's run
/// reports the test as *skipped* with the reason (never as passed); under CI (`CI=true`), where
/// `.ci/run` installs everything, a missing requirement *fails* the test naming what is missing.
public struct Requirement: Sendable {
    /// What is needed, for the skip message ("../shared (camera-trap photos)").
    public let name: String
    /// Why it is missing here, or nil when it is present. Called when the test is about to run.
    let missingReason: @Sendable () -> String?

    public init(_ name: String, missingReason: @escaping @Sendable () -> String?) {
        self.name = name
        self.missingReason = missingReason
    }

    /// True under CI (`CI=true`), where missing material is a failure rather than a skip.
    public static var isCI: Bool { ProcessInfo.processInfo.environment["CI"] == "true" }

    /// The shared folder beside the repository (camera-trap photos, edge cases, the YOLOX-Nano model).
    public static let shared = Requirement("../shared (camera-trap photos and the YOLOX-Nano model)") {
        Fixtures.shared == nil ? "\(Fixtures.sharedLocation.path) is absent" : nil
    }

    /// A program found on PATH.
    public static func program(_ name: String, install: String) -> Requirement {
        Requirement("\(name) (\(install))") { Fixtures.executable(named: name) == nil ? "\(name) is not on PATH" : nil }
    }

    public static let python3 = program("python3", install: "apt-get install -y python3")
    public static let chromium = Requirement("chromium, for the PDF report (apt-get install -y chromium)") {
        ["chromium", "chromium-browser", "google-chrome"].contains { Fixtures.executable(named: $0) != nil }
            ? nil : "no chromium on PATH"
    }
    public static let postgres = Requirement("PostgreSQL (apt-get install -y postgresql)") { PostgresCluster.unavailableReason }
    public static let slurm = Requirement("a one-node Slurm cluster (apt-get install -y slurm-wlm munge, as root)") {
        SlurmCluster.unavailableReason
    }
    /// Network namespaces (root, iproute2, and a kernel that lets this sandbox make them): tried for real.
    public static let networkNamespaces = Requirement("network namespaces (root and iproute2's ip netns)") {
        guard let namespace = NetworkNamespace.create() else { return "a network namespace cannot be made here" }
        namespace.destroy()
        return nil
    }
    /// A Python with the reference `megadetector` package, named by MEGADETECTOR_REFERENCE_PYTHON.
    public static let referencePython = Requirement(
        "MEGADETECTOR_REFERENCE_PYTHON, a Python with the megadetector package (.ci/run makes one)") {
        guard let python = ProcessInfo.processInfo.environment["MEGADETECTOR_REFERENCE_PYTHON"], !python.isEmpty else {
            return "MEGADETECTOR_REFERENCE_PYTHON is not set"
        }
        return FileManager.default.isExecutableFile(atPath: python) ? nil : "MEGADETECTOR_REFERENCE_PYTHON=\(python) is not executable"
    }
}

/// Thrown by a `.requires` trait under CI: the test fails with this message instead of being skipped.
public struct MissingRequirement: Error, CustomStringConvertible {
    public let description: String
}

extension Trait where Self == ConditionTrait {
    /// Runs the test where `requirement` is met; elsewhere reports it skipped, naming what is missing;
    /// under CI fails it instead (a thrown condition is recorded as the test's failure).
    public static func requires(_ requirement: Requirement, sourceLocation: SourceLocation = #_sourceLocation) -> Self {
        .enabled(Comment(rawValue: "needs \(requirement.name)"), sourceLocation: sourceLocation) {
            guard let reason = requirement.missingReason() else { return true }
            if Requirement.isCI { throw MissingRequirement(description: "CI=true and \(reason): needs \(requirement.name)") }
            return false
        }
    }
}
