/// Opens a `.pb` file as a TensorFlow graph, turning reader failures into `ModelFormatError`s that
/// name the problem (a truncated file, a file that is not a graph).
public enum TensorFlowGraphFile {
    public static func open(_ path: String) throws -> TFGraphDef {
        let file = try MappedFile(path: path)
        do {
            return try TFGraphDef(file: file)
        } catch let error as TFGraphError {
            throw ModelFormatError.malformedGraph("\(error)")
        } catch let ModelFormatError.malformedProtobuf(offset, reason) {
            throw ModelFormatError.malformedGraph("\(path) is truncated or not a protobuf (byte \(offset): \(reason))")
        }
    }
}
