import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import ResultsFormat
import Testing
import TestSupport

/// Jobs over an S3 bucket: `moto_server` (PyPI `moto`) stands in for S3 on loopback; the photos of
/// ../shared/images (or the fixture folder) are uploaded under a prefix, a job names `s3://traps/cams/`, and its
/// results must equal `detect` on the same photos read from disk, each photo once under its s3 URI.
@Suite(.serialized, .requires(Requirement("moto_server and boto3 (pip install 'moto[server]' boto3)") { S3Tools.unavailableReason }))
struct S3ServiceTests {
    static let credentials = ["AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing-secret"]

    @Test func bucketJobEqualsDetectOnTheSamePhotos() async throws {
        let port = Fixtures.unusedPort()
        let moto = Process()
        moto.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        moto.arguments = ["moto_server", "-H", "127.0.0.1", "-p", "\(port)"]
        moto.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        moto.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try moto.run()
        // SIGKILL: the test runner's blocked-signal mask can leave a Python child deaf to SIGTERM.
        defer { kill(moto.processIdentifier, SIGKILL); moto.waitUntilExit() }
        let endpoint = "http://127.0.0.1:\(port)"
        for _ in 0..<100 {
            if (try? await URLSession.shared.data(from: URL(string: endpoint)!)) != nil { break }
            try await Task.sleep(nanoseconds: 100_000_000)
        }
        let filler = Fixtures.repositoryRoot.appendingPathComponent("Tests/Fixtures/s3/fill_bucket.py").path
        // The photos of ../shared/images where present (edge cases included), else the fixture photos.
        let photoFolder = Fixtures.shared?.appendingPathComponent("images").resolvingSymlinksInPath().path ?? ServeCommandTests.photos
        let fill = try S3Tools.run(["python3", filler, endpoint, "traps", "cams/", photoFolder, "payroll"], environment: Self.credentials)
        #expect(fill.status == 0, "\(fill.output)")

        let server = try ServeCommandTests.Server(extra: ["--s3-bucket", "traps", "--s3-endpoint", endpoint], environment: Self.credentials)
        try await server.waitUntilUp()
        #expect(try await server.request("POST", "/v1/jobs", body: #"{"folder": "s3://payroll/secret/"}"#).0 == 403, "bucket not allow-listed")
        #expect(try await server.request("POST", "/v1/jobs", body: #"{"images": ["s3://payroll/secret/photo.jpg"]}"#).0 == 403)
        let (status, created, _) = try await server.request("POST", "/v1/jobs", body: #"{"folder": "s3://traps/cams/", "request_name": "bucket"}"#)
        #expect(status == 201)
        let id = try #require(created?.object?["id"]?.string)
        let finished = try await server.waitFor(job: id, status: "completed")
        #expect(finished?.object?["photos_done"]?.number == created?.object?["photos"]?.number)

        let (_, _, data) = try await server.request("GET", "/v1/jobs/\(id)/results")
        let servedPath = server.folder.appendingPathComponent("served.json")
        try data.write(to: servedPath)
        let served = try ResultsFile.read(path: servedPath.path)
        let output = server.folder.appendingPathComponent("detect.json").path
        let detect = try Fixtures.runCLI(["detect", ServeCommandTests.model, photoFolder, output, "--recursive",
                                          "--output-relative-filenames", "--quiet"])
        #expect(detect.status == 0, "\(detect.stderr)")
        let expected = try ResultsFile.read(path: output)
        let servedByName = Dictionary(served.images.map { ($0.file, $0) }, uniquingKeysWith: { first, _ in first })
        #expect(servedByName.count == served.images.count && served.images.count >= 10, "each photo once")
        #expect(Set(served.images.map(\.file)) == Set(expected.images.map { "s3://traps/cams/" + $0.file }))
        for image in expected.images {
            var local = image
            local.file = "s3://traps/cams/" + image.file
            #expect(servedByName[local.file]?.json == local.json, "\(image.file)")
        }
    }
}

/// The S3 stand-in and the Python tools that fill it, found on PATH.
enum S3Tools {
    static var unavailableReason: String? {
        guard Fixtures.executable(named: "moto_server") != nil else { return "moto_server is not installed" }
        guard (try? run(["python3", "-c", "import boto3"]).status) == 0 else { return "boto3 is not installed" }
        return nil
    }

    static func run(_ arguments: [String], environment: [String: String] = [:]) throws -> (status: Int32, output: String) {
        try Fixtures.runTool("/usr/bin/env", arguments, environment: environment)
    }
}
