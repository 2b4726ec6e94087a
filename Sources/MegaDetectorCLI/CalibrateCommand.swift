import ArgumentParser
import Detection
import Engine
import Foundation
import ModelFormats

struct CalibrateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "calibrate",
        abstract: "Measure a model's int8 scales on photos and write them as a calibration file.",
        discussion: """
        Runs the model in fp32 over every photo given (folders are searched like `detect` does), \
        letterboxed exactly as for detection, and records the largest magnitude each convolution's \
        input reaches. The JSON file names the model's MD5, the image size, the photos and the method; \
        give it to `detect --precision int8 --calibration FILE`. The same photos give the same file, in \
        any order. A few dozen photos like the ones to be processed (day, night, empty, animals) are \
        enough; --install makes the file this model's default for int8 runs on this machine.
        """
    )

    @Argument(help: "Model file or known model name.") var model: String
    @Argument(help: "Photos or folders of photos.") var photos: [String]
    @Option(help: "Where to write the calibration file (.json).") var output: String?
    @Flag(help: "Also store it as this model's default calibration (used by --precision int8 without --calibration).") var install = false
    @Flag(help: "Search subfolders.") var recursive = false
    @Option(help: "Long side of the network input (default: the model's, as for detect).") var imageSize: Int?
    @OptionGroup var engine: EngineOptions

    func run() throws {
        try reportingErrors {
            guard output != nil || install else { throw ValidationError("give --output FILE, --install, or both") }
            engine.apply()
            var paths: [String] = []
            for item in photos { paths += try ImageEnumerator.images(in: item, recursive: recursive).paths }
            guard !paths.isEmpty else { throw ValidationError("no photos found in \(photos.joined(separator: ", "))") }
            let modelPath = try ModelRegistry.resolve(model)
            guard !modelPath.lowercased().hasSuffix(".pb") else { throw Int8Calibration.Failure.notForTensorFlowGraphs }
            let loaded = try ModelLoader.load(path: modelPath, backend: engine.backend)
            let configuration = DetectorConfiguration.defaults(for: loaded, imageSize: imageSize)
            let sorted = Array(Set(paths)).sorted()
            let table = try Int8Calibration.measure(model: loaded, configuration: configuration, photos: sorted,
                                                    modelMD5: try ModelRegistry.md5(ofFile: modelPath),
                                                    source: "\(sorted.count) photos given to `megadetector calibrate`")
            var written: [String] = []
            if let output { try table.write(to: output); written.append(output) }
            if install {
                let path = Int8Calibration.cachePath(modelMD5: table.modelMD5, imageSize: table.imageSize)
                try table.write(to: path)
                written.append(path)
            }
            print("Calibrated \(table.ranges.count) convolution inputs on \(table.photos.count) photos at image size \(table.imageSize); fingerprint \(table.fingerprint)")
            for path in written { print("Calibration file saved at \(path)") }
        }
    }
}
