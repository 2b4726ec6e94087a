import Foundation
import Testing
import TestSupport

/// The Kubernetes manifests in deploy/k8s validate against the Kubernetes schemas offline
/// (`kubernetes-validate` from PyPI; no API server can run here), and the validator does reject a
/// manifest with a wrong field, so a pass means something.
@Suite(.requires(.program("kubernetes-validate", install: "pip install kubernetes-validate")))
struct DeploymentFilesTests {
    static func validate(_ files: [String]) throws -> (status: Int32, output: String) {
        try Fixtures.runTool(try #require(KubernetesValidator.path), files)
    }

    @Test func kubernetesManifestsValidate() throws {
        let folder = Fixtures.repositoryRoot.appendingPathComponent("deploy/k8s")
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".yaml") }.sorted()
        #expect(files.count == 3)
        let result = try Self.validate(files.map { folder.appendingPathComponent($0).path })
        #expect(result.status == 0, "\(result.output)")

        let broken = FileManager.default.temporaryDirectory.appendingPathComponent("broken-\(UUID().uuidString).yaml")
        let worker = try String(contentsOf: folder.appendingPathComponent("megadetector-worker-job.yaml"), encoding: .utf8)
        try worker.replacingOccurrences(of: "parallelism: 8", with: "parallelism: eight").write(to: broken, atomically: true, encoding: .utf8)
        #expect(try Self.validate([broken.path]).status != 0, "a wrong field type is rejected")
    }
}

enum KubernetesValidator {
    /// `kubernetes-validate` on PATH, if installed.
    static var path: String? { Fixtures.executable(named: "kubernetes-validate") }
}
