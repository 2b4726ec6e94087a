import Engine
import Testing
import TestSupport

struct GraphFusionTests {
    /// Conv -> Sigmoid -> Mul and Add(x, Conv) as an exporter writes them, fused into one Conv.
    @Test func fusesSiLUAndResidual() throws {
        var random = SeededGenerator(seed: 11)
        let conv1 = Conv(weights: random.tensor([4, 4, 3, 3], scale: 0.3), bias: random.tensor([4]).values, pads: [1, 1, 1, 1])
        let conv2 = Conv(weights: random.tensor([4, 4, 1, 1], scale: 0.3), bias: nil)
        let graph = try Graph(inputs: [Graph.Input(name: "x", shape: [1, 4, 6, 6])], outputs: ["out"], nodes: [
            Graph.Node(name: "c1", operation: conv1, inputs: ["x"], outputs: ["c1"]),
            Graph.Node(name: "s1", operation: Unary(.activation(.sigmoid)), inputs: ["c1"], outputs: ["s1"]),
            Graph.Node(name: "m1", operation: Elementwise(.mul), inputs: ["c1", "s1"], outputs: ["m1"]),
            Graph.Node(name: "c2", operation: conv2, inputs: ["m1"], outputs: ["c2"]),
            Graph.Node(name: "add", operation: Elementwise(.add), inputs: ["x", "c2"], outputs: ["out"]),
        ])
        let fused = try GraphFusion.fuse(graph)
        #expect(fused.nodes.count == 2)
        #expect((fused.nodes[0].operation as? Conv)?.activation == .silu)
        #expect((fused.nodes[1].operation as? Conv)?.addsResidual == true)
        let input = ["x": random.tensor([1, 4, 6, 6])]
        let shapes = ["x": [1, 4, 6, 6]]
        let expected = try Network(graph: graph, backend: .reference, planningInputShapes: shapes).run(input)["out"]!
        for backend in ExecutionBackend.allCases {
            let actual = try Network(graph: fused, backend: backend, planningInputShapes: shapes).run(input)["out"]!
            #expect(actual.maxAbsoluteDifference(to: expected) < 1e-5)
        }
    }

    /// InceptionResNet's residual: relu(x + up(relu(conv(x)))) becomes two convs, the second with the
    /// residual sum and the ReLU after it in its epilogue.
    @Test func fusesTheReLUAfterAResidualSum() throws {
        var random = SeededGenerator(seed: 12)
        let branch = Conv(weights: random.tensor([3, 4, 3, 3], scale: 0.3), bias: random.tensor([3]).values, pads: [1, 1, 1, 1])
        let up = Conv(weights: random.tensor([4, 3, 1, 1], scale: 0.5), bias: [-3, -0.5, 0.5, 3])  // sums of both signs
        let graph = try Graph(inputs: [Graph.Input(name: "x", shape: [2, 4, 5, 7])], outputs: ["out"], nodes: [
            Graph.Node(name: "b", operation: branch, inputs: ["x"], outputs: ["b"]),
            Graph.Node(name: "br", operation: Unary(.activation(.relu)), inputs: ["b"], outputs: ["br"]),
            Graph.Node(name: "u", operation: up, inputs: ["br"], outputs: ["u"]),
            Graph.Node(name: "add", operation: Elementwise(.add), inputs: ["x", "u"], outputs: ["sum"]),
            Graph.Node(name: "relu", operation: Unary(.activation(.relu)), inputs: ["sum"], outputs: ["out"]),
        ])
        let fused = try GraphFusion.fuse(graph)
        #expect(fused.nodes.count == 2)
        let last = fused.nodes.last?.operation as? Conv
        #expect(last?.addsResidual == true && last?.residualActivation == .relu && last?.activation == Activation.none)
        let input = ["x": random.tensor([2, 4, 5, 7])]
        let shapes = ["x": [2, 4, 5, 7]]
        let expected = try Network(graph: graph, backend: .reference, planningInputShapes: shapes).run(input)["out"]!
        #expect(expected.values.contains { $0 == 0 } && expected.values.contains { $0 > 0 })
        for backend in ExecutionBackend.allCases {
            let actual = try Network(graph: fused, backend: backend, planningInputShapes: shapes).run(input)["out"]!
            #expect(actual.maxAbsoluteDifference(to: expected) < 1e-5)
        }
    }

    /// A BatchNorm left as Mul + Add after a depthwise convolution (tf2onnx's Keras exports), then SiLU
    /// and a squeeze-excitation gate [N, C, 1, 1]: the Mul/Add fold into the convolution (then SiLU
    /// fuses), a [C] constant (width-wise broadcast) does not fold, and the gate runs channels-last; all
    /// equal the unfused graph on the reference backend.
    @Test func foldsPerChannelAffineIntoConvolutions() throws {
        var random = SeededGenerator(seed: 13)
        let depthwise = Conv(weights: random.tensor([6, 1, 3, 3], scale: 0.4), bias: nil, pads: [1, 1, 1, 1], groups: 6)
        let pointwise = Conv(weights: random.tensor([6, 6, 1, 1], scale: 0.4), bias: random.tensor([6]).values)
        let constants = ["scale": random.tensor([1, 6, 1, 1]), "shift": random.tensor([6, 1, 1]), "gate": random.tensor([1, 6, 1, 1]),
                         "wide": random.tensor([5])]
        let graph = try Graph(inputs: [Graph.Input(name: "x", shape: [1, 6, 4, 5])], outputs: ["out", "wide_out"], nodes: [
            Graph.Node(name: "dw", operation: depthwise, inputs: ["x"], outputs: ["dw"]),
            Graph.Node(name: "scale", operation: Elementwise(.mul), inputs: ["scale", "dw"], outputs: ["scaled"]),
            Graph.Node(name: "shift", operation: Elementwise(.add), inputs: ["scaled", "shift"], outputs: ["bn"]),
            Graph.Node(name: "sig", operation: Unary(.activation(.sigmoid)), inputs: ["bn"], outputs: ["sig"]),
            Graph.Node(name: "silu", operation: Elementwise(.mul), inputs: ["bn", "sig"], outputs: ["act"]),
            Graph.Node(name: "excite", operation: Elementwise(.mul), inputs: ["act", "gate"], outputs: ["out"]),
            Graph.Node(name: "pw", operation: pointwise, inputs: ["x"], outputs: ["pw"]),
            Graph.Node(name: "wide", operation: Elementwise(.mul), inputs: ["pw", "wide"], outputs: ["wide_out"]),
        ], constants: constants)
        let fused = try GraphFusion.fuse(graph)
        #expect(fused.nodes.count == 4)  // Conv(SiLU), excite, pointwise Conv, the [C] multiply
        #expect((fused.nodes.first?.operation as? Conv)?.activation == .silu)
        let input = ["x": random.tensor([1, 6, 4, 5])]
        let shapes = ["x": [1, 6, 4, 5]]
        let expected = try Network(graph: graph, backend: .reference, planningInputShapes: shapes).run(input)
        for backend in ExecutionBackend.allCases {
            let actual = try Network(graph: fused, backend: backend, planningInputShapes: shapes).run(input)
            for name in ["out", "wide_out"] { #expect(actual[name]!.maxAbsoluteDifference(to: expected[name]!) < 1e-5, "\(backend) \(name)") }
        }
    }

    @Test func graphValidationCatchesUseBeforeDefinition() {
        #expect(throws: EngineError.self) {
            try Graph(inputs: [Graph.Input(name: "x", shape: [1])], outputs: ["y"], nodes: [
                Graph.Node(name: "n", operation: Unary(.exp), inputs: ["z"], outputs: ["y"]),
            ])
        }
    }
}
