#!/usr/bin/env python3
"""Forward-pass benchmark: our engine next to PyTorch and onnxruntime on the full-size MDv5a network.

Builds YOLOv5x6 with MegaDetector's 3 classes and random weights (BatchNorm statistics set from real
photos so activations have a realistic scale, which also keeps denormals out of the measurement;
gamma 0.85 and a scaled Detect head as in the test fixtures, so outputs are comparable),
saves it in MegaDetector's container (fp16 .pt) and as ONNX, then measures each engine in its own
process on the same 1280x960 input (a letterboxed 2048x1536 camera-trap photo), fp32, 2 threads:
per-image forward time (median of the repeats after a warm-up) and peak resident memory.

Nothing here is committed output; the models go to a scratch folder (default /tmp/md-bench).
Usage (reference environment from ../shared/docs/reference-setup.md, release build of ours):
    swift build -c release
    VENV/bin/python Benchmarks/engine_benchmark.py [--repeats 3] [--threads 2] [--precisions]
--precisions adds the reduced-precision rows: ours int8 (calibrated on the benchmark photo, the default
40 dB line) and bf16 where the CPU has native bf16, PyTorch bf16 autocast, and onnxruntime int8 static
QDQ (per-channel weights, calibrated on the same tensor).
"""
import argparse
import copy
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "Tests" / "Fixtures" / "engine"))


def build_models(scratch, shared):
    import numpy as np
    import torch
    import generate_engine_fixtures as fixtures
    pt, onnx_path, tensor = scratch / "mdv5a_random_calm.pt", scratch / "mdv5a_random_calm.onnx", scratch / "input_1280x960.u8"
    if pt.exists() and onnx_path.exists() and tensor.exists():
        return pt, onnx_path, tensor
    config = fixtures.p6_config()
    config.update({"depth_multiple": 1.33, "width_multiple": 1.25})
    torch.manual_seed(0)
    model = fixtures.models.yolo.DetectionModel(copy.deepcopy(config))
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.reset_running_stats()
            module.momentum = None
    model.train()
    with torch.no_grad():
        for name in fixtures.CALIBRATION_PHOTOS[:2]:
            model(fixtures.to_input(fixtures.letterbox(fixtures.load_rgb(shared / "images" / name), 640, 64)))
    model.eval()
    # As for the test fixtures: BatchNorm gamma 0.85 keeps the random network out of the chaotic regime
    # and a scaled Detect head gives a realistic number of boxes, so NMS costs what it costs on real
    # photos and two implementations can be compared.
    detect = model.model[-1]
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.weight.fill_(0.85)
        for conv in detect.m:
            conv.weight.mul_(5.0)
            conv.bias.view(detect.na, -1)[:, 4] -= 2.0
    fixtures.save_checkpoint(model, pt)
    letterboxed = fixtures.letterbox(fixtures.load_rgb(shared / "images" / "camera-traps" / "animl_BUOW_IMG_0708.JPG"), 1280, 64)
    assert letterboxed.shape[:2] == (960, 1280), letterboxed.shape
    tensor.write_bytes(np.ascontiguousarray(letterboxed.transpose(2, 0, 1)).tobytes())
    fp32 = fixtures.fp32_from_checkpoint(pt)
    fixtures.export_onnx(fp32, fixtures.to_input(letterboxed), onnx_path)
    return pt, onnx_path, tensor


def child(engine, model, tensor, threads, repeats):
    """Runs in a fresh process: prints a JSON line with forward times and peak memory."""
    import numpy as np
    x = np.fromfile(tensor, dtype=np.uint8).reshape(1, 3, 960, 1280).astype(np.float32) / 255.0
    times = []
    if engine in ("pytorch", "pytorch-bf16"):
        import contextlib
        import torch
        torch.set_num_threads(threads)
        import yolov5.models.yolo  # noqa: F401
        checkpoint = torch.load(model, map_location="cpu", weights_only=False)
        net = checkpoint["model"].float().fuse().eval()  # as the reference PTDetector runs it
        inp = torch.from_numpy(x)
        # bf16: PyTorch's CPU autocast (convolutions in bf16, emulated where the CPU has no bf16 unit).
        autocast = torch.autocast("cpu", dtype=torch.bfloat16) if engine == "pytorch-bf16" else contextlib.nullcontext()
        with torch.no_grad(), autocast:
            for _ in range(repeats + 1):
                start = time.perf_counter()
                net(inp)
                times.append(time.perf_counter() - start)
    else:
        import onnxruntime
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        session = onnxruntime.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
        for _ in range(repeats + 1):
            start = time.perf_counter()
            session.run(None, {"images": x})
            times.append(time.perf_counter() - start)
    # VmHWM, not ru_maxrss: the latter inherits the (large) parent's figure across fork and exec.
    status = Path("/proc/self/status").read_text().splitlines()
    peak = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:")) / 1024
    print(json.dumps({"times": times[1:], "peak_mb": peak}))


def quantize_onnx(onnx_path, tensor, scratch):
    """onnxruntime's static QDQ int8 (per-channel weights), calibrated on the benchmark tensor: the
    peer the issue names. Returns the quantized file."""
    import numpy as np
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
    target = scratch / "mdv5a_random_calm_int8_qdq.onnx"
    if target.exists():
        return target
    x = np.fromfile(tensor, dtype=np.uint8).reshape(1, 3, 960, 1280).astype(np.float32) / 255.0

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.items = iter([{"images": x}])

        def get_next(self):
            return next(self.items, None)

    # Per-channel DequantizeLinear (its `axis`) needs opset 13; the export is opset 12.
    import onnx
    from onnx import version_converter
    opset13 = scratch / "mdv5a_random_calm_opset13.onnx"
    onnx.save(version_converter.convert_version(onnx.load(str(onnx_path)), 13), str(opset13))
    quantize_static(str(opset13), str(target), Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)
    return target


def run_ours(binary, model, tensor, threads, repeats, extra=()):
    out = subprocess.run([str(binary), "infer-raw", str(model), "--input", str(tensor), "--shape", "1,3,960,1280",
                          "--output", "/dev/null", "--threads", str(threads), "--repeat", str(repeats + 1), *extra],
                         capture_output=True, text=True, check=True).stdout
    lines = {line.split(":")[0]: line.split(":", 1)[1].strip() for line in out.splitlines() if ":" in line}
    times = [float(t) for t in lines["forward seconds"].split()][1:]
    return {"times": times, "peak_mb": float(lines["peak resident memory MB"])}


def run_child(engine, model, tensor, threads, repeats, timeout=None):
    """None when the child does not finish within `timeout` seconds (PyTorch's bf16 autocast on a CPU
    without bf16 units: more than 9 minutes for 4 passes in one try)."""
    try:
        out = subprocess.run([sys.executable, __file__, "--child", engine, "--model", str(model), "--tensor", str(tensor),
                              "--threads", str(threads), "--repeats", str(repeats)],
                             capture_output=True, text=True, check=True, timeout=timeout).stdout
    except subprocess.TimeoutExpired:
        return None
    return json.loads(out.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--shared", default=str(ROOT.parent / "shared"))
    parser.add_argument("--scratch", default="/tmp/md-bench")
    parser.add_argument("--binary", default=str(ROOT / ".build" / "release" / "megadetector"))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--precisions", action="store_true",
                        help="also ours int8 (and bf16 where the CPU has it), PyTorch bf16 autocast and onnxruntime int8 static QDQ")
    parser.add_argument("--bf16-timeout", type=float, default=300, help="seconds for PyTorch's bf16 child")
    parser.add_argument("--child")
    parser.add_argument("--model")
    parser.add_argument("--tensor")
    args = parser.parse_args()
    if args.child:
        return child(args.child, args.model, args.tensor, args.threads, args.repeats)
    scratch = Path(args.scratch)
    scratch.mkdir(parents=True, exist_ok=True)
    pt, onnx_path, tensor = build_models(scratch, Path(args.shared))
    results = {
        "megadetector-swift (.pt, oneDNN fp32)": run_ours(args.binary, pt, tensor, args.threads, args.repeats),
        "megadetector-swift (.onnx, oneDNN fp32)": run_ours(args.binary, onnx_path, tensor, args.threads, args.repeats),
        "PyTorch fp32 (megadetector's way)": run_child("pytorch", pt, tensor, args.threads, args.repeats),
        "onnxruntime fp32": run_child("onnxruntime", onnx_path, tensor, args.threads, args.repeats),
    }
    if args.precisions:
        table = scratch / "int8_calibration_engine.json"
        photo = Path(args.shared) / "images" / "camera-traps" / "animl_BUOW_IMG_0708.JPG"
        subprocess.run([str(args.binary), "calibrate", str(pt), str(photo), "--output", str(table)], check=True,
                       capture_output=True)
        results["megadetector-swift (.pt, int8, default line)"] = run_ours(
            args.binary, pt, tensor, args.threads, args.repeats, ["--precision", "int8", "--calibration", str(table)])
        bf16 = subprocess.run([str(args.binary), "infer-raw", str(pt), "--input", str(tensor), "--shape", "1,3,960,1280",
                               "--output", "/dev/null", "--precision", "bf16"], capture_output=True, text=True)
        if bf16.returncode == 0:
            results["megadetector-swift (.pt, bf16)"] = run_ours(args.binary, pt, tensor, args.threads, args.repeats,
                                                                 ["--precision", "bf16"])
        else:
            print(f"ours bf16 not run: {bf16.stderr.strip().splitlines()[-1] if bf16.stderr.strip() else bf16.returncode}")
        results["PyTorch bf16 autocast"] = run_child("pytorch-bf16", pt, tensor, args.threads, args.repeats,
                                                     timeout=args.bf16_timeout)
        results["onnxruntime int8 static QDQ"] = run_child("onnxruntime", quantize_onnx(onnx_path, tensor, scratch), tensor,
                                                           args.threads, args.repeats)
    ours = statistics.median(results["megadetector-swift (.pt, oneDNN fp32)"]["times"])
    print(f"MDv5a architecture (YOLOv5x6, random weights), 1x3x960x1280, {args.threads} threads, "
          f"median of {args.repeats} after a warm-up")
    print(f"{'engine':42s} {'forward s':>10s} {'peak MB':>9s} {'vs ours':>8s}")
    for name, result in results.items():
        if result is None:
            print(f"{name:42s} did not finish {args.repeats + 1} passes in {args.bf16_timeout:.0f} s")
            continue
        median = statistics.median(result["times"])
        print(f"{name:42s} {median:10.3f} {result['peak_mb']:9.0f} {median / ours:7.2f}x")
    print("fp32 limit on this machine per reference-pipeline.md: 2.665 s (623.7 GFLOP at 234 GFLOP/s)")


if __name__ == "__main__":
    main()
