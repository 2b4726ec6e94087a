import Engine
import Testing
import TestSupport

struct LayoutOpsTests {
    @Test func maxPoolReferenceAndFastPath() throws {
        let x = Tensor(shape: [1, 1, 3, 3], values: [1, 9, 2, 3, 4, 5, 8, 6, 7])
        let pool = MaxPool(kernel: (3, 3), strides: (1, 1), pads: [1, 1, 1, 1])
        #expect(pool.reference([x])[0].values == [9, 9, 9, 9, 9, 9, 8, 8, 7])
        var random = SeededGenerator(seed: 3)
        for (kernel, stride, pad) in [(5, 1, 2), (9, 1, 4), (13, 1, 6), (2, 2, 0), (3, 2, 1)] {
            let op = MaxPool(kernel: (kernel, kernel), strides: (stride, stride), pads: [pad, pad, pad, pad])
            #expect(try fastPathDifference(op, inputs: [random.tensor([1, 6, 11, 13])]) == 0)
        }
    }

    /// Padded cells neither add nor count (TF SAME AvgPool); the channels-last kernel equals the reference
    /// exactly, including the whole-plane mean of the MDv4 heads and odd SAME padding.
    @Test func averagePoolReferenceAndFastPath() throws {
        let x = Tensor(shape: [1, 1, 3, 3], values: [1, 9, 2, 3, 4, 5, 8, 6, 7])
        let pool = AveragePool(kernel: (3, 3), strides: (1, 1), pads: [1, 1, 1, 1])
        // Window sums over the cells inside the image, divided by how many there are (4 at corners, 6 on edges).
        let sums: [Float] = [17, 24, 20, 31, 45, 33, 21, 33, 22]
        let counts: [Float] = [4, 6, 4, 6, 9, 6, 4, 6, 4]
        #expect(pool.reference([x])[0].values == zip(sums, counts).map { $0 / $1 })
        var random = SeededGenerator(seed: 4)
        for (kernel, stride, pads) in [((3, 3), 1, [1, 1, 1, 1]), ((3, 3), 2, [0, 0, 1, 1]), ((11, 13), 1, [0, 0, 0, 0]), ((2, 2), 2, [0, 0, 0, 0])] {
            let op = AveragePool(kernel: kernel, strides: (stride, stride), pads: pads)
            #expect(try fastPathDifference(op, inputs: [random.tensor([2, 6, 11, 13])]) == 0)
        }
    }

    @Test func nearestResize() throws {
        let x = Tensor(shape: [1, 1, 2, 2], values: [1, 2, 3, 4])
        #expect(Resize(scale: (2, 2)).reference([x])[0].values == [1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4])
        var random = SeededGenerator(seed: 4)
        #expect(try fastPathDifference(Resize(scale: (2, 3)), inputs: [random.tensor([2, 5, 3, 4])]) == 0)
    }

    @Test func concatenation() throws {
        let a = Tensor(shape: [1, 1, 1, 2], values: [1, 2]), b = Tensor(shape: [1, 2, 1, 2], values: [3, 4, 5, 6])
        #expect(Concat(axis: 1).reference([a, b])[0].values == [1, 2, 3, 4, 5, 6])
        #expect(Concat(axis: 3).reference([a, a])[0].values == [1, 2, 1, 2])
        var random = SeededGenerator(seed: 5)
        let inputs = [random.tensor([1, 3, 4, 5]), random.tensor([1, 7, 4, 5]), random.tensor([1, 1, 4, 5])]
        #expect(try fastPathDifference(Concat(axis: 1), inputs: inputs) == 0)
    }

    /// ONNX Expand broadcasts to the larger of each pair of dimensions; Unary exp is e^x.
    @Test func expandAndExp() throws {
        let x = Tensor(shape: [3, 1], values: [1, 2, 3])
        let expanded = Expand(target: [2, 1, 4]).reference([x])[0]
        #expect(expanded.shape == [2, 3, 4])
        #expect(expanded.values == (0..<2).flatMap { _ in [1, 2, 3].flatMap { Array(repeating: Float($0), count: 4) } })
        let exponent = Unary(.exp).reference([Tensor(shape: [3], values: [0, 1, -2])])[0].values
        #expect(exponent[0] == 1 && abs(exponent[1] - 2.7182817) < 1e-6 && abs(exponent[2] - 0.13533528) < 1e-7)
    }

    @Test func elementwiseBroadcasting() throws {
        let a = Tensor(shape: [2, 1], values: [1, 2]), b = Tensor(shape: [3], values: [10, 20, 30])
        #expect(Elementwise(.add).reference([a, b])[0] == Tensor(shape: [2, 3], values: [11, 21, 31, 12, 22, 32]))
        #expect(Elementwise(.pow).reference([Tensor(shape: [1], values: [3]), Tensor(shape: [1], values: [2])])[0].values == [9])
        var random = SeededGenerator(seed: 6)
        let x = random.tensor([1, 4, 3, 3]), y = random.tensor([1, 4, 3, 3])
        #expect(try fastPathDifference(Elementwise(.mul), inputs: [x, y]) == 0)
        #expect(try fastPathDifference(Elementwise(.add), inputs: [x, random.tensor([1, 1, 3, 1])]) == 0)
    }

    @Test func unaryFunctions() throws {
        let x = Tensor(shape: [3], values: [-1, 0, 2])
        let sigmoid = Unary(.activation(.sigmoid)).reference([x])[0].values
        #expect(abs(sigmoid[0] - 0.268941) < 1e-6)
        #expect(sigmoid[1] == 0.5)
        #expect(abs(sigmoid[2] - 0.880797) < 1e-6)
        let silu = Unary(.activation(.silu)).reference([x])[0].values
        #expect(abs(silu[0] + 0.268941) < 1e-6)
        #expect(abs(silu[2] - 1.761594) < 1e-6)
        let expectedHardswish: [Float] = [-2.0 / 6.0, 0, 10.0 / 6.0]
        #expect(Unary(.activation(.hardswish)).reference([x])[0].values == expectedHardswish)
    }

    @Test func reshapeTransposeSliceSplit() throws {
        let x = Tensor(shape: [2, 3], values: [0, 1, 2, 3, 4, 5])
        #expect(Reshape(target: [3, -1]).reference([x])[0].shape == [3, 2])
        #expect(Reshape(target: [0, 3]).reference([x])[0].shape == [2, 3])
        #expect(Transpose(permutation: [1, 0]).reference([x])[0].values == [0, 3, 1, 4, 2, 5])
        // Every second column from 1, clamped end.
        #expect(Slice(starts: [1], ends: [Int.max], axes: [1], steps: [2]).reference([x])[0].values == [1, 4])
        #expect(Slice(starts: [-1], ends: [10], axes: [0], steps: [1]).reference([x])[0].values == [3, 4, 5])
        let parts = Split(axis: 1, sizes: [1, 2]).reference([x])
        #expect(parts[0].values == [0, 3] && parts[1].values == [1, 2, 4, 5])
        #expect(throws: EngineError.self) { try Reshape(target: [4, -1]).outputShapes(for: [[2, 3]], node: "r") }
    }
}
