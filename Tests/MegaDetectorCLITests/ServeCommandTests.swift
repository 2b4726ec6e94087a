import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Diagnostics
import ResultsFormat
import Testing
import TestSupport

/// `megadetector serve` end to end: a real server process, jobs over HTTP, results that must equal
/// what `megadetector detect` writes for the same photos, and the refusals a public service needs.
@Suite(.serialized) struct ServeCommandTests {
    static let fixtures = Fixtures.repositoryRoot.appendingPathComponent("Tests/Fixtures/detect")
    static let photos = fixtures.appendingPathComponent("synthetic").path
    static let model = fixtures.appendingPathComponent("md_v5_tiny.pt").path
    static let key = "test-key-\(UUID().uuidString)"
    static let otherKey = "other-key-\(UUID().uuidString)"

    struct ServerFailure: Error, CustomStringConvertible {
        let request: String
        let cause: String
        let server: String
        var description: String { "\(request) failed: \(cause); \(server)" }
    }

    final class Server {
        let process = Process()
        let port: Int
        let folder: URL
        /// The job store: an SQLite file in `folder` unless a PostgreSQL URL is given.
        let database: String
        /// Where the server's standard error goes.
        let logFile: URL

        init(extra: [String] = [], reusing previous: Server? = nil, database: String? = nil, environment: [String: String] = [:]) throws {
            folder = previous?.folder ?? FileManager.default.temporaryDirectory.appendingPathComponent("serve-\(UUID().uuidString)")
            self.database = database ?? previous?.database ?? folder.appendingPathComponent("jobs.sqlite").path
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            let hash = try Fixtures.runCLI(["hash-key", ServeCommandTests.key]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            try Data("not a photo".utf8).write(to: folder.appendingPathComponent("broken.jpg"))
            let otherHash = try Fixtures.runCLI(["hash-key", ServeCommandTests.otherKey]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            try "tester \(hash)\nother-lab \(otherHash)\n".write(to: folder.appendingPathComponent("keys"), atomically: true, encoding: .utf8)
            port = previous?.port ?? Fixtures.unusedPort()
            process.executableURL = Fixtures.cli
            process.arguments = ["serve", "--database", self.database, "--root", ServeCommandTests.photos, "--root", folder.path,
                                 "--api-keys", folder.appendingPathComponent("keys").path, "--model", ServeCommandTests.model,
                                 "--port", "\(port)", "--shard-size", "4", "--max-request-bytes", "4096"]
                + (self.database.hasPrefix("postgres") ? ["--database-start-timeout", "180"] : []) + extra
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
            // The server's log is kept beside its database, so a failing test can say why the server went away.
            let log = folder.appendingPathComponent("server-\(UUID().uuidString).log")
            FileManager.default.createFile(atPath: log.path, contents: nil)
            logFile = log
            process.standardError = try FileHandle(forWritingTo: log)
            process.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
            try process.run()
        }

        func request(_ method: String, _ path: String, body: String? = nil, key: String? = ServeCommandTests.key) async throws -> (Int, JSONValue?, Data) {
            var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!)
            request.httpMethod = method
            if let key { request.setValue("Bearer \(key)", forHTTPHeaderField: "Authorization") }
            if let body { request.httpBody = Data(body.utf8) }
            let data: Data, response: URLResponse
            do {
                (data, response) = try await URLSession.shared.data(for: request)
            } catch {
                throw ServerFailure(request: "\(method) \(path)", cause: ErrorMessage.sentence(for: error), server: diagnosis())
            }
            return ((response as! HTTPURLResponse).statusCode, try? JSONParser.parse(Array(data)), data)
        }

        /// Whether the server still runs and the end of its log: what a failed request needs to be understood.
        func diagnosis() -> String {
            let state = process.isRunning ? "still running" : "exited with \(process.terminationStatus) (\(process.terminationReason == .uncaughtSignal ? "signal" : "exit"))"
            let log = (try? String(contentsOf: logFile, encoding: .utf8)) ?? ""
            return "server \(state); log ends: \(log.suffix(2000))"
        }

        func waitUntilUp() async throws {
            // Up to two minutes: on two cores under the whole test suite a server can take that long to start.
            for _ in 0..<1200 {
                if let (status, _, _) = try? await request("GET", "/healthz", key: nil), status == 200 { return }
                try await Task.sleep(nanoseconds: 100_000_000)
            }
            Issue.record("the server did not come up")
        }

        func waitFor(job id: String, status wanted: String) async throws -> JSONValue? {
            // Up to five minutes: the whole suite on two cores can slow a job of full-size photos tenfold.
            for _ in 0..<3000 {
                let (_, body, _) = try await request("GET", "/v1/jobs/\(id)")
                if body?.object?["status"]?.string == wanted { return body }
                try await Task.sleep(nanoseconds: 100_000_000)
            }
            Issue.record("job \(id) never became \(wanted)")
            return nil
        }

        /// Polls until at least `photos` photos of the job are done (up to a minute); returns the count.
        func waitForProgress(job id: String, photos: Double) async throws -> Double {
            var done = 0.0
            for _ in 0..<1200 where done < photos {
                done = try await request("GET", "/v1/jobs/\(id)").1?.object?["photos_done"]?.number ?? 0
                try await Task.sleep(nanoseconds: 50_000_000)
            }
            return done
        }

        /// Downloads the job's results and checks them against `detect` on the same folder: every photo
        /// exactly once, in order, entries identical. Returns the served file.
        @discardableResult
        func expectResultsEqualDetect(job id: String, folder: String = ServeCommandTests.photos, recursive: Bool = false,
                                      model: String = ServeCommandTests.model) async throws -> ResultsFile {
            let (_, _, data) = try await request("GET", "/v1/jobs/\(id)/results")
            let servedPath = self.folder.appendingPathComponent("served-\(id).json")
            try data.write(to: servedPath)
            let served = try ResultsFile.read(path: servedPath.path)
            let output = self.folder.appendingPathComponent("detect-\(id).json").path
            let run = try Fixtures.runCLI(["detect", model, folder, output, "--quiet"] + (recursive ? ["--recursive"] : []))
            #expect(run.status == 0, "\(run.stderr)")
            let expected = try ResultsFile.read(path: output)
            #expect(!expected.images.isEmpty, "detect found no photo in \(folder): the comparison would check nothing")
            #expect(served.images.map(\.file) == expected.images.map(\.file), "every photo exactly once, in order")
            #expect(ResultsComparer.compare(served, expected).identicalImages == expected.images.count)
            return served
        }

        deinit {
            if process.isRunning { process.terminate() }
            process.waitUntilExit()
        }
    }

    @Test func folderJobGivesTheSameResultsAsDetect() async throws {
        let server = try Server()
        try await server.waitUntilUp()
        let (status, created, _) = try await server.request("POST", "/v1/jobs", body: #"{"folder": ".", "request_name": "synthetic"}"#)
        #expect(status == 201)
        let id = try #require(created?.object?["id"]?.string)
        let finished = try await server.waitFor(job: id, status: "completed")
        #expect(finished?.object?["photos_done"]?.number == created?.object?["photos"]?.number)
        let (resultsStatus, _, data) = try await server.request("GET", "/v1/jobs/\(id)/results")
        #expect(resultsStatus == 200)
        let servedPath = server.folder.appendingPathComponent("served.json")
        try data.write(to: servedPath)
        let served = try ResultsFile.read(path: servedPath.path)

        let output = server.folder.appendingPathComponent("detect.json").path
        let detect = try Fixtures.runCLI(["detect", Self.model, Self.photos, output, "--quiet"])
        #expect(detect.status == 0, "\(detect.stderr)")
        let expected = try ResultsFile.read(path: output)
        #expect(served.images.map(\.file) == expected.images.map(\.file))
        let report = ResultsComparer.compare(served, expected)
        #expect(report.identicalImages == expected.images.count, "\(report)")

        // A photo that cannot be read is a failure record, as in `detect`, and does not stop the job.
        let broken = server.folder.appendingPathComponent("broken.jpg").resolvingSymlinksInPath().path
        let (_, second, _) = try await server.request("POST", "/v1/jobs", body: "{\"images\": [\"\(broken)\", \"\(Self.photos)/gray.png\"]}")
        let secondId = try #require(second?.object?["id"]?.string)
        let done = try await server.waitFor(job: secondId, status: "completed")
        #expect(done?.object?["photos_failed"]?.number == 1)
        let (_, secondResults, _) = try await server.request("GET", "/v1/jobs/\(secondId)/results")
        // Entries are sorted by path, and where the checkout lies decides which of the two comes first.
        let images = secondResults?.object?["images"]?.array ?? []
        #expect(images.count == 2)
        let brokenEntry = images.first { $0.object?["file"]?.string?.hasSuffix("broken.jpg") == true }
        let grayEntry = images.first { $0.object?["file"]?.string?.hasSuffix("gray.png") == true }
        #expect(brokenEntry?.object?["failure"]?.string == "image access failure")
        #expect(grayEntry?.object?["detections"]?.array != nil)

        let (_, _, metrics) = try await server.request("GET", "/metrics", key: nil)
        let text = String(decoding: metrics, as: UTF8.self)
        #expect(text.contains("megadetector_jobs{status=\"completed\"} 2\n"), "\(text)")
        #expect(text.contains("megadetector_photos_processed_total \(expected.images.count + 2)\n"), "\(text)")
        #expect(text.contains("megadetector_photos_failed_total 1\n"), "\(text)")
    }

    @Test func refusals() async throws {
        let server = try Server(extra: ["--workers", "0", "--max-photos-per-job", "5"])
        try await server.waitUntilUp()
        let job = #"{"folder": "."}"#
        #expect(try await server.request("POST", "/v1/jobs", body: job, key: nil).0 == 401)
        #expect(try await server.request("POST", "/v1/jobs", body: job, key: "wrong").0 == 401)
        #expect(try await server.request("GET", "/v1/jobs", key: nil).0 == 401)
        #expect(try await server.request("POST", "/v1/jobs", body: "{not json").0 == 400)
        #expect(try await server.request("POST", "/v1/jobs", body: #"{"folder": ".", "model": "/etc/passwd"}"#).0 == 400)
        #expect(try await server.request("POST", "/v1/jobs", body: #"{"folder": "../"}"#).0 == 403)
        #expect(try await server.request("POST", "/v1/jobs", body: #"{"images": ["/etc/hostname"]}"#).0 == 403)
        #expect(try await server.request("POST", "/v1/jobs", body: job).0 == 422, "more photos than --max-photos-per-job")
        let huge = #"{"images": [""# + String(repeating: "\"a.png\", ", count: 1000) + "\"a.png\"]}"
        #expect(try await server.request("POST", "/v1/jobs", body: huge).0 == 413)
        #expect(try await server.request("GET", "/v1/jobs/no-such-job").0 == 404)

        // With no workers the job waits; its results are refused until done, and cancel is final.
        let (status, created, _) = try await server.request("POST", "/v1/jobs", body: #"{"folder": ".", "first_n": 3}"#)
        #expect(status == 201)
        let id = try #require(created?.object?["id"]?.string)
        #expect(try await server.request("GET", "/v1/jobs/\(id)/results").0 == 409)
        let partial = try await server.request("GET", "/v1/jobs/\(id)/results?partial=true")
        #expect(partial.0 == 200 && partial.1?.object?["images"]?.array?.count == 0)
        // Another caller can neither see nor cancel it.
        #expect(try await server.request("GET", "/v1/jobs/\(id)", key: Self.otherKey).0 == 404)
        #expect(try await server.request("GET", "/v1/jobs/\(id)/results?partial=true", key: Self.otherKey).0 == 404)
        #expect(try await server.request("POST", "/v1/jobs/\(id)/cancel", key: Self.otherKey).0 == 404)
        #expect(try await server.request("GET", "/v1/jobs", key: Self.otherKey).1?.object?["jobs"]?.array == [])
        #expect(try await server.request("GET", "/v1/jobs").1?.object?["jobs"]?.array?.count == 1)
        let canceled = try await server.request("POST", "/v1/jobs/\(id)/cancel")
        #expect(canceled.0 == 200 && canceled.1?.object?["status"]?.string == "canceled")
    }

    /// Every path the OpenAPI document lists is served (with a real job id where it takes one).
    @Test func openAPIDocumentDescribesServedPaths() async throws {
        let server = try Server(extra: ["--workers", "0"])
        try await server.waitUntilUp()
        let (status, _, data) = try await server.request("GET", "/openapi.yaml", key: nil)
        #expect(status == 200)
        let document = String(decoding: data, as: UTF8.self)
        #expect(document.hasPrefix("openapi: 3.0.3\n"))
        let paths = document.split(separator: "\n").filter { $0.hasPrefix("  /") && $0.hasSuffix(":") }.map { String($0.dropFirst(2).dropLast()) }
        #expect(paths.count == 13, "\(paths)")
        let (_, created, _) = try await server.request("POST", "/v1/jobs", body: #"{"images": ["gray.png"]}"#)
        let id = try #require(created?.object?["id"]?.string)
        // The reference API's POST endpoints need bodies; ReferenceAPITests exercises them.
        for path in paths where !path.hasSuffix("/request_detections") && !path.hasSuffix("/cancel_request") {
            let method = path.hasSuffix("/cancel") ? "POST" : "GET"
            let answer = try await server.request(method, path.replacingOccurrences(of: "{id}", with: id) + (path.hasSuffix("/results") ? "?partial=true" : ""))
            #expect(answer.0 == 200, "\(method) \(path) answered \(answer.0)")
        }
        let models = try await server.request("GET", "/v1/models").1?.object?["models"]?.array
        #expect(models?.first?.object?["name"]?.string == "md_v5_tiny.pt")
        #expect(created?.object?["model"]?.string == "md_v5_tiny.pt", "no server paths in job descriptions")
    }

    /// The server killed outright mid-job (in-process worker included) and started again on the same
    /// database: the job resumes, the dead worker's shard is redone after its lease, and the results
    /// still have every photo exactly once, equal to `detect`'s.
    @Test func jobSurvivesAServerKilledMidJob() async throws {
        let first = try Server(extra: ["--shard-size", "1", "--lease-seconds", "2", "--backend", "reference", "--threads", "1"])
        try await first.waitUntilUp()
        let (_, created, _) = try await first.request("POST", "/v1/jobs", body: #"{"folder": ".", "first_n": 6}"#)
        let id = try #require(created?.object?["id"]?.string)
        let done = try await first.waitForProgress(job: id, photos: 1)
        #expect(done >= 1, "no photo was done before the kill")
        kill(first.process.processIdentifier, SIGKILL)
        first.process.waitUntilExit()

        // The kill landed mid-job: a server without workers on the same database sees the job still
        // running with photos left (the job could otherwise have finished between the poll and the kill).
        let inspector = try Server(extra: ["--workers", "0"], reusing: first)
        try await inspector.waitUntilUp()
        let state = try await inspector.request("GET", "/v1/jobs/\(id)").1?.object
        #expect(state?["status"]?.string == "running", "job state after the kill: \(String(describing: state))")
        #expect((state?["photos_done"]?.number ?? 6) < 6, "the job was finished before the kill")
        kill(inspector.process.processIdentifier, SIGTERM)
        inspector.process.waitUntilExit()

        let second = try Server(extra: ["--shard-size", "1", "--lease-seconds", "2"], reusing: first)
        try await second.waitUntilUp()
        let finished = try await second.waitFor(job: id, status: "completed")
        #expect(finished?.object?["photos_done"]?.number == 6)
        let (_, _, data) = try await second.request("GET", "/v1/jobs/\(id)/results")
        let servedPath = second.folder.appendingPathComponent("served.json")
        try data.write(to: servedPath)
        let served = try ResultsFile.read(path: servedPath.path)
        let output = second.folder.appendingPathComponent("detect.json").path
        #expect(try Fixtures.runCLI(["detect", Self.model, Self.photos, output, "--quiet"]).status == 0)
        let expected = ResultsFile(images: Array(try ResultsFile.read(path: output).images.prefix(6)), info: served.info)
        #expect(served.images.map(\.file) == expected.images.map(\.file))
        #expect(ResultsComparer.compare(served, expected).identicalImages == 6)
    }

    /// The real camera-trap photos of ../shared/images (edge cases included) through the service equal
    /// a plain recursive `detect` over the same folder.
    @Test(.requires(.shared)) func sharedPhotosJobEqualsDetect() async throws {
        let shared = try Fixtures.requireShared()
        let images = shared.appendingPathComponent("images").resolvingSymlinksInPath().path
        let server = try Server(extra: ["--root", images, "--shard-size", "10"])
        try await server.waitUntilUp()
        let (status, created, _) = try await server.request("POST", "/v1/jobs", body: "{\"folder\": \"\(images)\"}")
        #expect(status == 201)
        let id = try #require(created?.object?["id"]?.string)
        _ = try await server.waitFor(job: id, status: "completed")
        let served = try await server.expectResultsEqualDetect(job: id, folder: images, recursive: true)
        #expect(served.images.count > 10)
    }

    /// Photos named by http URLs (a local web server standing in for a remote one; the photos of
    /// ../shared/images where present, else the fixture photos): fetched by the worker, detected exactly
    /// as the local files are, recorded under their URLs; a missing one is a failure record. Without
    /// --allow-private-url-hosts the same loopback URLs are refused.
    @Test(.requires(.python3)) func urlPhotosAreFetchedAndInternalHostsRefused() async throws {
        let photoFolder = Fixtures.shared?.appendingPathComponent("images").resolvingSymlinksInPath().path ?? Self.photos
        let webPort = Fixtures.unusedPort()
        let web = Process()
        web.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        web.arguments = ["python3", "-m", "http.server", "\(webPort)", "--bind", "127.0.0.1", "--directory", photoFolder]
        web.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        web.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try web.run()
        // SIGKILL: the test runner's blocked-signal mask can leave the child deaf to SIGTERM.
        defer { kill(web.processIdentifier, SIGKILL); web.waitUntilExit() }
        let base = "http://127.0.0.1:\(webPort)"
        let extensions: Set<String> = ["jpg", "jpeg", "png", "gif", "bmp", "tif", "tiff", "webp"]
        let relative = (FileManager.default.enumerator(atPath: photoFolder)?.allObjects as? [String] ?? [])
            .filter { extensions.contains(($0 as NSString).pathExtension.lowercased()) }.sorted()
        let urls = relative.map { base + "/" + ($0.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? $0) } + ["\(base)/missing.jpg"]
        let body = JSONWriter.serialize(.object(JSONObject([("images", .array(urls.map { .string($0) }))])), indent: nil)

        let strict = try Server(extra: ["--workers", "0", "--allow-urls", "--max-request-bytes", "65536"])
        try await strict.waitUntilUp()
        #expect(try await strict.request("POST", "/v1/jobs", body: body).0 == 403)
        #expect(try await strict.request("POST", "/v1/jobs", body: "{\"images\": [\"file:///etc/passwd\"]}").0 == 403)

        let server = try Server(extra: ["--allow-urls", "--allow-private-url-hosts", "--max-request-bytes", "65536"])
        try await server.waitUntilUp()
        for _ in 0..<100 {
            if let (_, response) = try? await URLSession.shared.data(from: URL(string: urls[0])!),
               (response as? HTTPURLResponse)?.statusCode == 200 { break }
            try await Task.sleep(nanoseconds: 100_000_000)
        }
        let (status, created, _) = try await server.request("POST", "/v1/jobs", body: body)
        #expect(status == 201)
        let id = try #require(created?.object?["id"]?.string)
        _ = try await server.waitFor(job: id, status: "completed")
        let (_, results, _) = try await server.request("GET", "/v1/jobs/\(id)/results")
        let images = results?.object?["images"]?.array?.compactMap(\.object) ?? []
        func entry(_ url: String) -> JSONObject? { images.first { $0["file"]?.string == url } }
        #expect(images.count == urls.count, "every URL once")
        #expect(entry("\(base)/missing.jpg")?["failure"]?.string == "image access failure")

        let output = server.folder.appendingPathComponent("detect.json").path
        #expect(try Fixtures.runCLI(["detect", Self.model, photoFolder, output, "--recursive", "--output-relative-filenames", "--quiet"]).status == 0)
        let local = try ResultsFile.read(path: output).images
        #expect(local.count == relative.count && local.count >= 10)
        for (name, url) in zip(relative, urls) {
            var expected = try #require(local.first { $0.file == name }).json.object
            expected?["file"] = .string(url)
            #expect(entry(url) == expected, "\(name)")
        }
    }

    /// A MegaDetector v4-structure graph served like a `.pt` model: the job's results equal `detect`'s.
    @Test func megadetectorV4GraphJobEqualsDetect() async throws {
        let graph = Fixtures.repositoryRoot.appendingPathComponent("Tests/Fixtures/mdv4/mdv4_thin.pb").path
        let server = try Server(extra: ["--model", graph])
        try await server.waitUntilUp()
        let (status, created, _) = try await server.request("POST", "/v1/jobs", body: #"{"folder": ".", "model": "mdv4_thin.pb"}"#)
        #expect(status == 201, "\(String(describing: created))")
        let id = try #require(created?.object?["id"]?.string)
        _ = try await server.waitFor(job: id, status: "completed")
        let served = try await server.expectResultsEqualDetect(job: id, model: graph)
        #expect(served.images.contains { !($0.detections ?? []).isEmpty })
    }

    /// A model that cannot be loaded fails the job with the reason instead of retrying forever.
    @Test func unloadableModelFailsTheJob() async throws {
        let broken = FileManager.default.temporaryDirectory.appendingPathComponent("broken-\(UUID().uuidString).pt")
        try Data("not a checkpoint".utf8).write(to: broken)
        let server = try Server(extra: ["--model", broken.path])
        try await server.waitUntilUp()
        let body = "{\"images\": [\"gray.png\"], \"model\": \"\(broken.lastPathComponent)\"}"
        let (_, created, _) = try await server.request("POST", "/v1/jobs", body: body)
        let id = try #require(created?.object?["id"]?.string)
        let failed = try await server.waitFor(job: id, status: "failed")
        #expect(failed?.object?["message"]?.string?.contains("cannot load model") == true)
        #expect(try await server.request("GET", "/v1/jobs/\(id)/results").0 == 409)
    }
}

extension ServeCommandTests {
    /// SIGTERM mid-shard: the server exits 0 after its worker hands the shard back, so a restart
    /// finishes the job at once instead of waiting out the (here 10-minute) lease.
    @Test func sigtermHandsTheShardBack() async throws {
        let first = try Server(extra: ["--shard-size", "6", "--lease-seconds", "600", "--backend", "reference", "--threads", "1"])
        try await first.waitUntilUp()
        let (_, created, _) = try await first.request("POST", "/v1/jobs", body: #"{"folder": ".", "first_n": 6}"#)
        let id = try #require(created?.object?["id"]?.string)
        // SIGTERM lands while the only shard (all 6 photos, committed together) is leased and unfinished.
        var leased = false
        for _ in 0..<600 where !leased {
            let metrics = String(decoding: try await first.request("GET", "/metrics", key: nil).2, as: UTF8.self)
            leased = metrics.contains("megadetector_shards{state=\"leased\"} 1")
            if !leased { try await Task.sleep(nanoseconds: 50_000_000) }
        }
        try #require(leased, "no shard was ever leased: SIGTERM would not land mid-shard")
        #expect(try await first.request("GET", "/v1/jobs/\(id)").1?.object?["photos_done"]?.number == 0)
        kill(first.process.processIdentifier, SIGTERM)
        let deadline = Date().addingTimeInterval(60)
        while first.process.isRunning && Date() < deadline { try await Task.sleep(nanoseconds: 50_000_000) }
        #expect(!first.process.isRunning, "serve did not exit after SIGTERM")
        first.process.waitUntilExit()
        #expect(first.process.terminationStatus == 0)

        let second = try Server(extra: ["--shard-size", "6", "--lease-seconds", "600"], reusing: first)
        try await second.waitUntilUp()
        let finished = try await second.waitFor(job: id, status: "completed")
        #expect(finished?.object?["photos_done"]?.number == 6)
    }
}

extension ServeCommandTests {
    /// Cancel mid-job: the job becomes canceled at once, the worker commits nothing more, and the
    /// partial results hold each committed photo exactly once.
    @Test func cancelMidJobStopsTheWork() async throws {
        let server = try Server(extra: ["--shard-size", "2", "--backend", "reference", "--threads", "1"])
        try await server.waitUntilUp()
        let (_, created, _) = try await server.request("POST", "/v1/jobs", body: #"{"folder": ".", "first_n": 8}"#)
        let id = try #require(created?.object?["id"]?.string)
        _ = try await server.waitForProgress(job: id, photos: 2)
        let (status, canceled, _) = try await server.request("POST", "/v1/jobs/\(id)/cancel")
        #expect(status == 200 && canceled?.object?["status"]?.string == "canceled")
        let atCancel = try #require(canceled?.object?["photos_done"]?.number)
        #expect(atCancel >= 2 && atCancel < 8)
        try await Task.sleep(nanoseconds: 4_000_000_000)  // longer than a shard takes on this backend
        let later = try await server.request("GET", "/v1/jobs/\(id)").1?.object
        #expect(later?["status"]?.string == "canceled")
        #expect(later?["photos_done"]?.number == atCancel, "nothing committed after the cancel")
        let (_, partial, _) = try await server.request("GET", "/v1/jobs/\(id)/results?partial=true")
        let files = partial?.object?["images"]?.array?.compactMap { $0.object?["file"]?.string } ?? []
        #expect(files.count == Int(atCancel) && Set(files).count == files.count)
        #expect(try await server.request("POST", "/v1/jobs/\(id)/cancel").1?.object?["status"]?.string == "canceled")
    }
}
