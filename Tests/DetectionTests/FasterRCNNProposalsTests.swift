import Detection
import Foundation
import Imaging
import Testing
import TestSupport

/// The first stage's proposals from TensorFlow's RPN outputs equal the proposals TensorFlow cropped
/// (Tests/Fixtures/mdv4: thin graph, two photos).
struct FasterRCNNProposalsTests {
    static let folder = Fixtures.repositoryRoot.appendingPathComponent("Tests/Fixtures/mdv4")

    static func array(_ photo: [String: Any], _ key: String) throws -> (values: [Float], shape: [Int]) {
        let entry = try #require((photo["arrays"] as? [String: [String: Any]])?[key])
        let data = try Data(contentsOf: folder.appendingPathComponent(try #require(entry["file"] as? String)))
        let values = data.withUnsafeBytes { raw in (0..<(data.count / 4)).map { raw.loadUnaligned(fromByteOffset: $0 * 4, as: Float.self) } }
        return (values, try #require(entry["shape"] as? [Int]))
    }

    /// Every NonMaxSuppression version TF 1.x and 2.x exporters wrote (V2 without a score threshold, V3-V5
    /// with 0), run by TensorFlow on tied scores, overlaps exactly at the threshold, flipped, empty and
    /// zero-score boxes and small limits (Tests/Fixtures/mdv4/make_legacy_op_fixtures.py), selects what ours does.
    @Test func suppressionSelectsWhatEveryTensorFlowVersionSelects() throws {
        let data = try Data(contentsOf: Self.folder.appendingPathComponent("nms_ties.json"))
        let record = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let boxes = try #require(record["boxes"] as? [[Double]]).map { $0.map(Float.init) }
        let scores = try #require(record["scores"] as? [Double]).map(Float.init)
        let cases = try #require(record["cases"] as? [[String: Any]])
        #expect(cases.count == 6)
        for entry in cases {
            let iou = Float(try #require(entry["iou"] as? Double))
            let limit = try #require(entry["limit"] as? Int)
            let selected = try #require(entry["selected"] as? [String: [Int]])
            #expect(selected.count == 4)
            for (version, expected) in selected {
                let threshold: Float? = version == "NonMaxSuppressionV2" ? nil : 0
                let ours = FasterRCNNProposals.suppress(boxes, scores: scores, iouThreshold: iou, limit: limit, scoreThreshold: threshold)
                #expect(ours == expected, "\(version), IoU \(iou), limit \(limit)")
            }
        }
    }

    @Test func anchorsFollowTheGridRule() {
        let anchors = FasterRCNNProposals().anchors(gridHeight: 2, gridWidth: 3)
        #expect(anchors.count == 2 * 3 * 12)
        // Cell (0, 0), aspect ratio 0.5, scale 0.25: height 64 / sqrt(0.5), width 64 * sqrt(0.5).
        let first = anchors[0]
        #expect(abs(first[0] + 45.254834) < 1e-4 && abs(first[1] + 22.627417) < 1e-4)
        // Cell (1, 2) starts at index (1 * 3 + 2) * 12 and is centred on (8, 16).
        let cell = anchors[(1 * 3 + 2) * 12 + 5]  // ratio 1, scale 0.5: 128 x 128
        let expected: [Float] = [-56, -48, 72, 80]
        #expect(cell == expected)
    }

    /// A recorded photo, our proposals from TensorFlow's RPN outputs for it, and the preprocessed size.
    static func proposals(photo index: Int) throws -> (photo: [String: Any], boxes: [[Float]], count: Int, image: [Int]) {
        let manifest = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent("mdv4_thin_outputs.json"))) as? [String: Any])
        let photo = try #require((manifest["photos"] as? [[String: Any]])?[index])
        let encodings = try array(photo, "rpn_box_encodings")
        let objectness = try array(photo, "rpn_objectness")
        let image = try array(photo, "preprocessed")
        let (boxes, count) = FasterRCNNProposals().proposals(boxEncodings: encodings.values, objectnessLogits: objectness.values,
                                                             gridHeight: encodings.shape[1], gridWidth: encodings.shape[2],
                                                             imageHeight: image.shape[1], imageWidth: image.shape[2])
        return (photo, boxes, count, image.shape)
    }

    @Test(arguments: [0, 1]) func proposalsEqualTensorFlow(_ index: Int) throws {
        let (photo, boxes, count, _) = try Self.proposals(photo: index)
        let expected = try Self.array(photo, "proposal_boxes")
        #expect(boxes.count == expected.shape[0])
        let ours = boxes.flatMap { $0 }
        let difference = WorstError.absoluteDifference(ours, expected.values)
        #expect(count > 250, "most of the 300 slots hold a proposal")
        #expect(difference <= 1e-6, "max |ours - TF| = \(difference) over \(count) proposals")
    }
}

extension FasterRCNNProposalsTests {
    /// From TensorFlow's proposals and second-stage logits/encodings to the graph's final outputs:
    /// detection boxes, scores and classes equal TensorFlow's (100 per photo).
    @Test(arguments: [0, 1]) func detectionsEqualTensorFlow(_ index: Int) throws {
        let (photo, proposals, count, image) = try Self.proposals(photo: index)
        let logits = try Self.array(photo, "second_stage_class_logits")
        let boxEncodings = try Self.array(photo, "second_stage_box_encodings")
        let detections = FasterRCNNSecondStage().detections(proposals: proposals, count: count, classLogits: logits.values,
                                                            boxEncodings: boxEncodings.values, classCount: logits.shape[1] - 1,
                                                            imageHeight: image[1], imageWidth: image[2])
        let boxes = try Self.array(photo, "detection_boxes").values
        let scores = try Self.array(photo, "detection_scores").values
        let classes = try Self.array(photo, "detection_classes").values
        #expect(detections.count == 100)
        var boxDifference: Float = 0, scoreDifference: Float = 0
        for (rank, detection) in detections.enumerated() {
            #expect(Float(detection.classId) == classes[rank], "class at rank \(rank)")
            scoreDifference = WorstError.combine(scoreDifference, abs(detection.score - scores[rank]))
            for k in 0..<4 { boxDifference = WorstError.combine(boxDifference, abs(detection.box[k] - boxes[rank * 4 + k])) }
        }
        #expect(scoreDifference <= 1e-6 && boxDifference <= 1e-6, "scores \(scoreDifference), boxes \(boxDifference)")
        // Ranked by score, as TensorFlow ranks them (equal classes checked rank by rank above).
        #expect(zip(detections, detections.dropFirst()).allSatisfy { $0.score >= $1.score })
        #expect(scores[0] > scores[99], "the fixture's scores are not all equal, so the ranking is tested")
    }
}

extension FasterRCNNProposalsTests {
    /// The whole MDv4 pipeline from the photo: our decoding, the graph's preprocessing, both stages on
    /// the Engine, and the post-processing give TensorFlow's detection outputs for the thin graph.
    @Test(.requires(.shared), arguments: [0, 1]) func wholeGraphFromThePhotoEqualsTensorFlow(_ index: Int) throws {
        let shared = try Fixtures.requireShared()
        let manifest = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: Self.folder.appendingPathComponent("mdv4_thin_outputs.json"))) as? [String: Any])
        let photo = try #require((manifest["photos"] as? [[String: Any]])?[index])
        let model = try FasterRCNNModel(path: Self.folder.appendingPathComponent("mdv4_thin.pb").path)
        #expect(model.preprocessor.minDimension == 120 && model.preprocessor.maxDimension == 200 && model.cropSize == 17)
        let decoded = try ImageDecoder.decode(path: shared.appendingPathComponent(try #require(photo["photo"] as? String)).path)
        let detections = try model.detect(decoded.image)
        let boxes = try Self.array(photo, "detection_boxes").values
        let scores = try Self.array(photo, "detection_scores").values
        let classes = try Self.array(photo, "detection_classes").values
        #expect(detections.count == 100)
        var boxDifference: Float = 0, scoreDifference: Float = 0, classMismatches = 0
        for (rank, detection) in detections.enumerated() {
            if Float(detection.classId) != classes[rank] { classMismatches += 1 }
            scoreDifference = WorstError.combine(scoreDifference, abs(detection.score - scores[rank]))
            for k in 0..<4 { boxDifference = WorstError.combine(boxDifference, abs(detection.box[k] - boxes[rank * 4 + k])) }
        }
        #expect(classMismatches == 0 && scoreDifference <= 1e-5 && boxDifference <= 1e-5,
                "classes differing \(classMismatches), scores \(scoreDifference), boxes \(boxDifference)")
    }
}
