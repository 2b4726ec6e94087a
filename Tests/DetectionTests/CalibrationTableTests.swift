import Detection
import Engine
import Foundation
import Testing
import TestSupport

@Suite struct CalibrationTableTests {
    static func table() -> CalibrationTable {
        CalibrationTable(modelMD5: String(repeating: "a", count: 32), imageSize: 1280, source: "2 photos", photos: ["a.jpg", "b.jpg"],
                         ranges: ["x": -0.25...7.5, "y": 0...3], squares: ["x": .init(sum: 12.5, count: 100), "y": .init(sum: 2, count: 8)])
    }

    /// Written and read back, a table is the same, ranges and signal statistics included (the
    /// statistics decide which convolutions stay fp32, so losing them would quantize every layer).
    @Test func aTableSurvivesItsFile() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("table-\(UUID().uuidString).json").path
        try Self.table().write(to: path)
        let read = try CalibrationTable.read(path: path)
        #expect(read == Self.table())
        #expect(read.fingerprint == Self.table().fingerprint)
        #expect(read.activationRanges.signalToNoise("x", levels: 128) != nil)
        // RMS 0.3536 against a step of 7.75 / 127: 20 log10(0.3536 / (0.0610 / sqrt(12))) = 26.05 dB.
        #expect(abs((read.activationRanges.signalToNoise("x", levels: 128) ?? 0) - 26.051) < 0.001)
    }

    @Test func foreignOrDamagedFilesAreRefusedNamingTheProblem() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("table-\(UUID().uuidString).json").path
        try Data(#"{"format": "something else", "version": 1}"#.utf8).write(to: URL(fileURLWithPath: path))
        #expect { try CalibrationTable.read(path: path) } throws: { "\($0)".contains("not a calibration file (field '") && "\($0)".contains("' is missing)") }
        var table = Self.table()
        table.format = "other"
        try table.write(to: path)
        #expect { try CalibrationTable.read(path: path) } throws: { "\($0)".contains("is not 'megadetector-swift int8 calibration' version 1") }
        #expect { try Int8Calibration.check(Self.table(), path: path, modelMD5: String(repeating: "b", count: 32), imageSize: 1280) }
            throws: { "\($0)".contains("was made for the model with MD5") }
        #expect { try Int8Calibration.check(Self.table(), path: path, modelMD5: String(repeating: "a", count: 32), imageSize: 640) }
            throws: { "\($0)".contains("measured at image size 1280, this run uses 640") }
    }

    @Test func theDefaultSampleDependsOnTheSetOfPhotosNotTheirOrder() {
        let paths = (0..<100).map { String(format: "/p/%03d.jpg", $0) }
        let sample = Int8Calibration.sample(paths)
        #expect(sample.count == 16)
        #expect(Int8Calibration.sample(paths.reversed()) == sample)
        #expect(Int8Calibration.sample(paths.shuffled()) == sample)
        #expect(sample.first == "/p/000.jpg" && Set(sample).count == 16)
        #expect(Int8Calibration.sample(Array(paths.prefix(5))) == Array(paths.prefix(5)))
    }
}
