import Engine
import Foundation
import Testing
import TestSupport

/// The ops the anchor-free YOLO families added (attention, the DFL decode, nearest resize to another
/// tensor's size, MatMul, Softmax): hand-computed values, and the channels-last fast paths (channel
/// split, nearest resize) against the plain implementations.
struct AnchorFreeOpsTests {
    /// One head, one key and one value channel, two positions: q = (1, 2), k = (3, 4), v = (5, 6).
    @Test func spatialAttentionByHand() {
        let x = Tensor(shape: [1, 3, 1, 2], values: [1, 2, 3, 4, 5, 6])
        let outputs = SpatialAttention(heads: 1, keyChannels: 1, valueChannels: 1, scale: 1).reference([x])
        // Position 0 scores (3, 4), position 1 scores (6, 8); each output is v weighted by their softmax.
        let first = 5 * (1 / (1 + exp(Float(1)))) + 6 * (1 / (1 + exp(Float(-1))))
        let second = 5 * (1 / (1 + exp(Float(2)))) + 6 * (1 / (1 + exp(Float(-2))))
        #expect(abs(outputs[0].values[0] - first) < 1e-6 && abs(outputs[0].values[1] - second) < 1e-6, "\(outputs[0].values)")
        #expect(outputs[1].values == [5, 6])
    }

    /// One cell at stride 8 with two bins (weights 0, 1) and equal logits: every distance is 0.5.
    @Test func anchorFreeDecodeByHand() {
        let box = Tensor(shape: [1, 8, 1, 1], values: [Float](repeating: 0, count: 8))
        let scores = Tensor(shape: [1, 2, 1, 1], values: [0, 2])
        let centre = AnchorFreeDetect(classCount: 2, strides: [8], binWeights: [0, 1]).reference([box, scores])[0]
        #expect(centre.shape == [1, 6, 1])
        #expect(Array(centre.values.prefix(4)) == [4, 4, 8, 8])  // cx, cy, w, h
        #expect(abs(centre.values[4] - 0.5) < 1e-7 && abs(centre.values[5] - 1 / (1 + exp(-2))) < 1e-7)
        let corners = AnchorFreeDetect(classCount: 2, strides: [8], binWeights: [0, 1], corners: true).reference([box, scores])[0]
        #expect(Array(corners.values.prefix(4)) == [0, 0, 8, 8])  // x1, y1, x2, y2
    }

    @Test func matMulAndSoftmaxByHand() {
        let a = Tensor(shape: [2, 2, 3], values: [1, 2, 3, 4, 5, 6, 1, 0, 0, 0, 1, 0])
        let b = Tensor(shape: [3, 2], values: [1, 2, 3, 4, 5, 6])  // broadcast over a's batch
        let product = MatMul().reference([a, b])[0]
        #expect(product.shape == [2, 2, 2])
        #expect(product.values == [22, 28, 49, 64, 1, 2, 3, 4])
        let softmax = Softmax(axis: 1).reference([Tensor(shape: [1, 2, 2], values: [0, 1, 0, 1])])[0]
        #expect(softmax.values.allSatisfy { abs($0 - 0.5) < 1e-7 })
        let last = Softmax(axis: 2).reference([Tensor(shape: [1, 1, 2], values: [0, log(3)])])[0]
        #expect(abs(last.values[0] - 0.25) < 1e-6 && abs(last.values[1] - 0.75) < 1e-6)
    }

    /// PyTorch's nearest rule: a 2x3 map to 4x6 repeats each cell twice; to 3x5 it picks floor(i * in / out).
    @Test func nearestResizeLikeByHand() {
        let x = Tensor(shape: [1, 1, 2, 3], values: [1, 2, 3, 4, 5, 6])
        let doubled = NearestResizeLike().reference([x, Tensor(zeros: [1, 1, 4, 6])])[0]
        #expect(doubled.values == [1, 1, 2, 2, 3, 3, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 4, 4, 5, 5, 6, 6])
        let odd = NearestResizeLike().reference([x, Tensor(zeros: [1, 1, 3, 5])])[0]
        #expect(odd.values == [1, 1, 2, 2, 3, 1, 1, 2, 2, 3, 4, 4, 5, 5, 6])
    }

    /// The channels-last kernels copy values, so they must equal the plain implementations exactly.
    @Test func channelsLastSplitAndResizeEqualThePlainOps() throws {
        var random = SeededGenerator(seed: 11)
        let x = random.tensor([2, 10, 5, 7])
        #expect(try fastPathDifference(Split(axis: 1, sizes: [3, 7]), inputs: [x], outputCount: 2) == 0)
        #expect(try fastPathDifference(NearestResizeLike(), inputs: [x, random.tensor([2, 1, 10, 14])]) == 0)
        #expect(try fastPathDifference(NearestResizeLike(), inputs: [x, random.tensor([1, 1, 11, 9])]) == 0)
    }
}
