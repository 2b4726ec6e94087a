import Classification
import Engine
import Foundation
import Imaging
import Testing
import TestSupport

/// The classifier against speciesnet 5.0.6's own `predict` on the same crops and model folder
/// (Tests/Fixtures/speciesnet): the same top-5 classes in the same order, scores within 2e-6.
/// Scores differ only by float32 noise: PyTorch's softmax uses its vectorised exp, ours libm's, and the
/// convolutions accumulate in another order (the logits differ by ~1e-7).
struct SpeciesNetClassifierTests {
    static let modelFolder = SpeciesNetCropTests.folder.appendingPathComponent("model").path

    @Test(.requires(.shared)) func topClassesEqualSpeciesNets() throws {
        let classifier = try SpeciesNetClassifier(folder: Self.modelFolder)
        #expect(classifier.labels.count == 7 && classifier.folder.type == .alwaysCrop)
        let shared = try Fixtures.requireShared()
        for entry in try SpeciesNetCropTests.cases() {
            let photo = try #require(entry["photo"] as? String), box = try #require(entry["bbox"] as? [Double])
            let image = try ImageDecoder.decode(path: shared.appendingPathComponent("images/\(photo)").path).image
            let crop = try #require(SpeciesNetCrop.crop(image, bbox: box))
            let ours = try classifier.classify(crop)
            // Logits judged against a float64 run of the same module: our distance within 4x PyTorch fp32's.
            let logits = try classifier.logits(crop)
            let float32 = try #require(entry["logits_float32"] as? [Double]), float64 = try #require(entry["logits_float64"] as? [Double])
            let ourError = zip(logits, float64).map { abs(Double($0) - $1) }.max() ?? .nan
            let torchError = zip(float32, float64).map { abs($0 - $1) }.max() ?? .nan
            #expect(ourError <= max(4 * torchError, 1e-6), "\(photo): logits error \(ourError), PyTorch fp32's \(torchError)")
            let classes = try #require(entry["classes"] as? [String]), scores = try #require(entry["scores"] as? [Double])
            #expect(ours.map(\.label) == classes, "\(photo)")
            let worst = zip(ours.map(\.score), scores).map { abs(Double($0) - $1) }.max() ?? .nan
            #expect(worst <= 2e-6, "\(photo): score error \(worst)")
        }
    }

    @Test func modelFolderProblemsAreNamed() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("md-speciesnet-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        #expect(throws: SpeciesNetModelFolder.Failure.self) { try SpeciesNetModelFolder(folder: folder.path) }
        try Data(#"{"version": "x", "type": "always_crop", "classifier": "../../etc/passwd", "classifier_labels": "l.txt", "taxonomy": "t", "geofence": "g"}"#.utf8)
            .write(to: folder.appendingPathComponent("info.json"))
        do {
            _ = try SpeciesNetModelFolder(folder: folder.path)
            Issue.record("a classifier path outside the folder was accepted")
        } catch {
            #expect("\(error)".contains("points outside the folder"))
        }
    }
}
