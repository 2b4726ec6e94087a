/// Reads constant values by node name, through `Identity` nodes, naming what is missing.
struct ConstantReader {
    let nodes: [String: TFNode]
    let file: MappedFile

    static func nodeName(_ reference: String) -> String {
        String(reference.split(separator: ":").first ?? "")
    }

    func values(_ reference: String) throws -> [Float] {
        var name = Self.nodeName(reference)
        while let node = nodes[name], node.op == "Identity", let input = node.inputs.first(where: { !$0.hasPrefix("^") }) {
            name = Self.nodeName(input)
        }
        guard let node = nodes[name] else { throw ModelFormatError.unexpectedGraph("node \(name) is missing") }
        guard node.op == "Const", case let .tensor(tensor) = node.attributes["value"] else {
            throw ModelFormatError.unexpectedGraph("node \(name) is \(node.op), expected a constant")
        }
        return try tensor.floats(in: file, node: name)
    }
}
