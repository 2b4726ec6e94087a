import ArgumentParser
import Detection
import Engine

extension Precision: ExpressibleByArgument {}

/// --precision and --calibration, for the commands that run a detector.
struct PrecisionOptions: ParsableArguments {
    @Option(help: """
        Convolution arithmetic: fp32 (default, the reference's answers), int8 (faster; scales from \
        --calibration, else this model's cached calibration, else measured once on 16 of the job's photos \
        and cached), or bf16 (CPUs with AVX512-BF16 or AMX only).
        """)
    var precision: Precision = .fp32

    @Option(help: "int8 scales written by `megadetector calibrate` for this model.")
    var calibration: String?

    /// The request for a run whose photos are `photos` (the default calibration samples them).
    func request(photos: [String]) throws -> PrecisionRequest {
        if calibration != nil, precision != .int8 { throw ValidationError("--calibration goes with --precision int8") }
        return PrecisionRequest(precision: precision, calibrationFile: calibration, calibrationPhotos: photos)
    }
}
