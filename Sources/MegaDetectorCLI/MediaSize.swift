import Imaging
import VideoDecoding

/// The pixel size of a photo, or of a clip's frames as they are read (turned by a rotation tag), for
/// conversions that need a size the results file does not record.
enum MediaSize {
    static func of(_ path: String) throws -> (width: Int, height: Int) {
        guard VideoFiles.isVideo(path) else {
            let decoded = try ImageDecoder.decode(path: path)
            return (decoded.image.width, decoded.image.height)
        }
        let reader = try VideoReader(path: path)
        return reader.quarterTurns % 2 == 1 ? (reader.height, reader.width) : (reader.width, reader.height)
    }
}
