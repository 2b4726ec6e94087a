#!/usr/bin/env python3
"""int8 fidelity of the peer: onnxruntime's static QDQ quantization (the engine_benchmark.py peer: u8
activations per tensor, s8 weights per output channel, MinMax calibration) against onnxruntime fp32 on
the trained YOLOX-Nano of ../shared/models, measured as Int8FidelityTests measures ours: every readable
photo of ../shared/images, calibrated on 16 of them sampled evenly from the sorted list (as `detect`
does by default), YOLOX's preprocessing and decode (bf16_peer_fidelity.py), class-aware NMS at 0.45;
an fp32 detection >= 0.2 is found when the int8 run has one of its class with IoU >= 0.85 (the closest
in confidence is compared), and an int8 detection >= 0.2 is added when fp32 has none of its class with
IoU >= 0.85 at >= 0.1. Nothing is asserted: this says what int8 costs a peer that quantizes every
convolution on the same network.

Usage (reference environment: onnxruntime, onnx, opencv-python-headless, numpy, torch for the shared
helpers):
    VENV/bin/python Benchmarks/int8_peer_fidelity.py [--shared ../shared] [--scratch /tmp/md-bench]
"""
import argparse
import sys
from pathlib import Path

import cv2
import onnx
import onnxruntime as ort
from onnx import version_converter
from onnxruntime.quantization import CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType, quantize_static

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bf16_peer_fidelity import detections, iou, preprocess  # noqa: E402


class Photos(CalibrationDataReader):
    def __init__(self, tensors):
        self.items = iter([{"images": t} for t in tensors])

    def get_next(self):
        return next(self.items, None)


def session(path):
    options = ort.SessionOptions()
    options.intra_op_num_threads = 2
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--shared", default=str(Path(__file__).resolve().parents[2] / "shared"))
    parser.add_argument("--scratch", default="/tmp/md-bench")
    parser.add_argument("--method", default="MinMax", choices=["MinMax", "Percentile", "Entropy"],
                        help="onnxruntime's calibration method (MinMax is its default and engine_benchmark.py's)")
    args = parser.parse_args()
    shared = Path(args.shared)
    model = shared / "models" / "yolox_nano_416_coco.onnx"
    photos = sorted(p for folder in ("camera-traps", "everyday", "edge-cases") for p in (shared / "images" / folder).iterdir())
    inputs = []
    for path in photos:
        image = cv2.imread(str(path))
        if image is not None:
            tensor, ratio = preprocess(image)
            inputs.append((path, tensor.numpy(), ratio))
    # Int8Calibration.sample: 16 photos spread evenly over the sorted list (of the readable photos here).
    step = len(inputs)
    sample = [inputs[i * step // 16][1] for i in range(16)] if step > 16 else [t for _, t, _ in inputs]
    scratch = Path(args.scratch)
    scratch.mkdir(parents=True, exist_ok=True)
    # Per-channel QDQ needs DequantizeLinear's `axis` (opset 13); the file is older.
    opset13 = scratch / "yolox_nano_opset13.onnx"
    onnx.save(version_converter.convert_version(onnx.load(str(model)), 13), str(opset13))
    quantized = scratch / "yolox_nano_int8_qdq.onnx"
    quantize_static(str(opset13), str(quantized), Photos(sample), quant_format=QuantFormat.QDQ, per_channel=True,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8, op_types_to_quantize=["Conv"],
                    calibrate_method=getattr(CalibrationMethod, args.method))
    fp32, int8 = session(model), session(quantized)
    expected_count = found = 0
    worst, added = 0.0, []
    for path, tensor, ratio in inputs:
        expected = detections(fp32.run(None, {"images": tensor})[0], ratio, 0.1)
        actual = detections(int8.run(None, {"images": tensor})[0], ratio, 0.1)
        for detection in (d for d in expected if d[4] >= 0.2):
            expected_count += 1
            candidates = [a for a in actual if a[5] == detection[5] and iou(a, detection) >= 0.85]
            if candidates:
                found += 1
                worst = max(worst, min(abs(a[4] - detection[4]) for a in candidates))
        for detection in (a for a in actual if a[4] >= 0.2):
            if not any(e[5] == detection[5] and iou(e, detection) >= 0.85 for e in expected):
                added.append(f"{path.name}: class {detection[5]} {detection[4]:.3f}")
    print(f"onnxruntime {ort.__version__} int8 static QDQ (convolutions, per-channel weights, {args.method}, 16 calibration photos) vs fp32, "
          f"YOLOX-Nano, {len(inputs)} photos: {found} of {expected_count} fp32 detections >= 0.2 found (same class, IoU >= 0.85), "
          f"worst confidence error {worst:.4f}, {len(added)} added")
    if added:
        print("added:", added)


if __name__ == "__main__":
    main()
