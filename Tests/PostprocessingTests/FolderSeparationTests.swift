import Foundation
import Postprocessing
import ResultsFormat
import Testing
import TestSupport

/// `megadetector separate` against the reference's separate_detections_into_folders: the same folder
/// tree (Tests/Fixtures/postprocessing/generate_postprocessing_fixtures.py), plus moves that survive
/// interruption and the failure paths.
struct FolderSeparationTests {
    static let fixture = Fixtures.repositoryRoot.appendingPathComponent("Tests/Fixtures/postprocessing/expected_separate.json")

    static func expected() throws -> [String: Any] { try Fixtures.jsonObject(at: fixture) }

    /// The fixture's separation cases whose photos come from `source` ("shared" or "synthetic").
    static func cases(source: String) throws -> [String] {
        let table = try expected()["separate"]
        let names = try Fixtures.caseNames(table, in: fixture.lastPathComponent).filter {
            ((table as? [String: Any])?[$0] as? [String: Any])?["source"] as? String == source
        }
        guard !names.isEmpty else { throw Fixtures.FixtureError.missing("\(fixture.lastPathComponent) has no \(source) cases") }
        return names
    }

    static func source(_ name: String) throws -> (results: String, photos: String) {
        let detect = Fixtures.repositoryRoot.appendingPathComponent("Tests/Fixtures/detect")
        if name == "shared" {
            return (detect.appendingPathComponent("expected_shared.json").path, try Fixtures.requireShared().appendingPathComponent("images").path)
        }
        if name == "species" {
            let results = Fixtures.repositoryRoot.appendingPathComponent("Tests/Fixtures/speciesnet/expected_md_speciesnet_default.json")
            return (results.path, try Fixtures.requireShared().appendingPathComponent("images").path)
        }
        return (detect.appendingPathComponent("expected_synthetic.json").path, detect.appendingPathComponent("synthetic").path)
    }

    static func tree(_ folder: URL) -> [String] {
        guard let enumerator = FileManager.default.enumerator(at: folder, includingPropertiesForKeys: [.isDirectoryKey]) else { return [] }
        var entries: [String] = []
        for case let url as URL in enumerator {
            let relative = String(url.standardizedFileURL.path.dropFirst(folder.standardizedFileURL.path.count + 1))
            let isDirectory = (try? url.resourceValues(forKeys: [.isDirectoryKey]).isDirectory) ?? false
            entries.append(relative + (isDirectory == true ? "/" : ""))
        }
        return entries.sorted()
    }

    static func temporaryFolder() -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("md-separate-\(UUID().uuidString)")
    }

    @Test(arguments: try cases(source: "synthetic"))
    func sameTreeAsTheReference(_ name: String) throws {
        try Self.checkSameTree(name)
    }

    @Test(.requires(.shared), arguments: try cases(source: "shared"))
    func sameTreeAsTheReferenceOnSharedPhotos(_ name: String) throws {
        try Self.checkSameTree(name)
    }

    /// Species folders inside animals/ (--classification-thresholds) on run_md_and_speciesnet's output.
    @Test(.requires(.shared), arguments: try cases(source: "species"))
    func sameSpeciesFoldersAsTheReference(_ name: String) throws {
        try Self.checkSameTree(name)
    }

    @Test func speciesFoldersNeedClassificationsOfThatName() throws {
        let source = try Self.source("synthetic")
        let output = Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: output) }
        let result = try Fixtures.runCLI(["separate", source.results, source.photos, output.path, "--classification-thresholds", "deer=0.5"])
        #expect(result.status == 1 && result.stderr.contains("classification_categories); this one has none"), "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: output.appendingPathComponent("animals").path))
    }

    static func checkSameTree(_ name: String) throws {
        let entry = try #require((try Self.expected()["separate"] as? [String: Any])?[name] as? [String: Any])
        let source = try Self.source(entry["source"] as? String ?? "")
        let output = Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: output) }
        let arguments = entry["our_arguments"] as? [String] ?? []
        let result = try Fixtures.runCLI(["separate", source.results, source.photos, output.path] + arguments)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(Self.tree(output) == entry["tree"] as? [String])
    }

    @Test func interruptedMoveCompletesOnARerun() throws {
        let work = Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: work) }
        let photos = work.appendingPathComponent("photos"), output = work.appendingPathComponent("sorted")
        let original = try Self.source("synthetic")
        try FileManager.default.copyItem(atPath: original.photos, toPath: photos.path)
        let names = Self.tree(photos)
        // A first move, then undo part of it as if it had been interrupted: some photos are back in
        // the source only, one is in both places (copied but not yet deleted).
        var options = FolderSeparation.Options(resultsPath: original.results, inputFolder: photos.path, outputFolder: output.path)
        options.move = true
        options.threshold = 0.03
        let first = try FolderSeparation.run(options)
        #expect(first.allSatisfy { $0.kind == .move })
        for action in first.prefix(5) { try FileManager.default.moveItem(atPath: action.target, toPath: action.source) }
        try FileManager.default.copyItem(atPath: first[5].target, toPath: first[5].source)
        let rerun = try Fixtures.runCLI(["separate", original.results, photos.path, output.path, "--threshold", "0.03", "--move"])
        #expect(rerun.status == 1 && rerun.stderr.contains("not empty"))
        let finish = try Fixtures.runCLI(["separate", original.results, photos.path, output.path, "--threshold", "0.03", "--move",
                                          "--allow-existing-directory"])
        #expect(finish.status == 0, "\(finish.stderr)")
        #expect(Self.tree(photos).isEmpty, "photos left behind: \(Self.tree(photos))")
        let placed = Self.tree(output).filter { !$0.hasSuffix("/") }
        #expect(placed.count == names.count)
        #expect(Set(placed.map { $0.split(separator: "/").last! }) == Set(names.map { Substring($0) }))
    }

    /// A move never replaces a different file already at the target (the user's), and keeps the photo.
    @Test func moveKeepsADifferentFileAlreadyAtTheTarget() throws {
        let work = Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: work) }
        let photos = work.appendingPathComponent("photos"), output = work.appendingPathComponent("sorted")
        let original = try Self.source("synthetic")
        try FileManager.default.copyItem(atPath: original.photos, toPath: photos.path)
        var options = FolderSeparation.Options(resultsPath: original.results, inputFolder: photos.path, outputFolder: output.path)
        options.threshold = 0.03
        options.dryRun = true
        let planned = try FolderSeparation.run(options)
        let victim = try #require(planned.first)
        try FileManager.default.createDirectory(atPath: (victim.target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Data("the user's own file".utf8).write(to: URL(fileURLWithPath: victim.target))
        let run = try Fixtures.runCLI(["separate", original.results, photos.path, output.path, "--threshold", "0.03", "--move",
                                       "--allow-existing-directory"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(try String(contentsOfFile: victim.target, encoding: .utf8) == "the user's own file")
        #expect(FileManager.default.fileExists(atPath: victim.source), "the photo stays where it was")
        #expect(Self.tree(photos).filter { !$0.hasSuffix("/") }.count == 1, "every other photo moved")
    }

    @Test func dryRunChangesNothing() throws {
        let output = Self.temporaryFolder()
        let source = try Self.source("synthetic")
        let result = try Fixtures.runCLI(["separate", source.results, source.photos, output.path, "--dry-run", "--threshold", "0.03"])
        #expect(result.status == 0)
        #expect(result.stdout.contains("copy: "))
        #expect(!FileManager.default.fileExists(atPath: output.path))
    }

    @Test func refusesBadInputWithTheProblemNamed() throws {
        let work = Self.temporaryFolder()
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        let source = try Self.source("synthetic")
        let malformed = work.appendingPathComponent("malformed.json")
        try Data("{\"images\": [\n {\"file\": \"a.jpg\" \"detections\": []}]}".utf8).write(to: malformed)
        let unknown = work.appendingPathComponent("unknown.json")
        try Data("""
            {"images": [{"file": "tiny_64x48.jpg", "detections": [{"category": "9", "conf": 0.5, "bbox": [0, 0, 1, 1]}]}],
             "detection_categories": {"1": "animal"}, "info": {"format_version": "1.6"}}
            """.utf8).write(to: unknown)
        let missing = work.appendingPathComponent("missing.json")
        try Data("""
            {"images": [{"file": "no_such_photo.jpg", "detections": []}],
             "detection_categories": {"1": "animal"}, "info": {"format_version": "1.6"}}
            """.utf8).write(to: missing)
        let before = try Data(contentsOf: malformed)
        for (file, message) in [(malformed, "line 2, column 19"), (unknown, "unmapped category 9"), (missing, "cannot find")] {
            let result = try Fixtures.runCLI(["separate", file.path, source.photos, work.appendingPathComponent("out-\(UUID())").path])
            #expect(result.status == 1)
            #expect(result.stderr.contains(message), "\(result.stderr)")
        }
        #expect(try Data(contentsOf: malformed) == before, "an input file was modified")
    }
}

extension FolderSeparationTests {
    @Test func renderBoxesDrawsOnTheCopiesOnly() throws {
        let output = Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: output) }
        let source = try Self.source("synthetic")
        let result = try Fixtures.runCLI(["separate", source.results, source.photos, output.path, "--threshold", "0.03", "--render-boxes"])
        #expect(result.status == 0, "\(result.stderr)")
        let people = Self.tree(output).filter { $0.hasPrefix("people/") && !$0.hasSuffix("/") }
        #expect(!people.isEmpty)
        for file in people {
            let copy = try Data(contentsOf: output.appendingPathComponent(file))
            let original = try Data(contentsOf: URL(fileURLWithPath: source.photos).appendingPathComponent(String(file.dropFirst("people/".count))))
            #expect(copy != original, "\(file) was copied without boxes")
        }
        for file in Self.tree(output) where file.hasPrefix("empty/") && !file.hasSuffix("/") {
            let copy = try Data(contentsOf: output.appendingPathComponent(file))
            let original = try Data(contentsOf: URL(fileURLWithPath: source.photos).appendingPathComponent(String(file.dropFirst("empty/".count))))
            #expect(copy == original, "empty photos are copied unchanged")
        }
        let refused = try Fixtures.runCLI(["separate", source.results, source.photos, output.path + "-m", "--render-boxes", "--move"])
        #expect(refused.status == 1 && refused.stderr.contains("cannot be combined with --move"))
    }
}
