import Engine
import Foundation
import Testing
import TestSupport

struct YOLOv5DetectTests {
    /// One level, one anchor, one class, a 1x2 grid: every formula checked against hand computation.
    @Test func decodeMatchesFormulas() {
        let detect = YOLOv5Detect(classCount: 1, strides: [8], anchorsInPixels: [[(width: 10, height: 20)]])
        // NCHW: channel k holds (cell x0, cell x1); channels are tx, ty, tw, th, obj, cls.
        let t: [Float] = [0, 0.5, 0, -1, 1, 2, 0, 0, 3, -3, 0, 1]
        let x = Tensor(shape: [1, 6, 1, 2], values: t)
        let out = detect.reference([x])[0]
        #expect(out.shape == [1, 2, 6])
        func sigmoid(_ v: Float) -> Float { 1 / (1 + exp(-v)) }
        let second = Array(out.values[6..<12])
        #expect(abs(second[0] - (sigmoid(0.5) * 2 + 0.5) * 8) < 1e-5)  // x = 1 -> grid 0.5
        #expect(abs(second[1] - (sigmoid(-1) * 2 - 0.5) * 8) < 1e-5)
        #expect(abs(second[2] - pow(sigmoid(2) * 2, 2) * 10) < 1e-4)
        #expect(abs(second[3] - 20) < 1e-4)  // th = 0: (2 * 0.5)^2 * anchor height
        #expect(abs(second[4] - sigmoid(-3)) < 1e-6)
        #expect(abs(second[5] - sigmoid(1)) < 1e-6)
    }

    @Test func channelsLastPathMatchesReference() throws {
        let anchors: [[(width: Float, height: Float)]] = [[(10, 13), (16, 30), (33, 23)], [(30, 61), (62, 45), (59, 119)]]
        let detect = YOLOv5Detect(classCount: 3, strides: [8, 16], anchorsInPixels: anchors)
        var random = SeededGenerator(seed: 9)
        let inputs = [random.tensor([1, 24, 4, 6], scale: 3), random.tensor([1, 24, 2, 3], scale: 3)]
        #expect(try fastPathDifference(detect, inputs: inputs) < 1e-5)
    }
}
