#!/usr/bin/env python3
"""Generates the engine fixtures: small random-weight YOLOv5 models in MegaDetector's container format,
their ONNX exports, PyTorch's and onnxruntime's outputs for fixed inputs, the YOLOX-Nano reference output,
and crafted malicious / malformed checkpoint files.

Run from the repository root with the reference environment (see ../shared/docs/reference-setup.md):
    VENV/bin/python Tests/Fixtures/engine/generate_engine_fixtures.py [--shared ../shared]

Everything written lands next to this script. `manifest.json` records the command and library versions.
Binary arrays are raw little-endian (float32 `.f32`, uint8 `.u8`); their shapes are in the manifest.
"""
import argparse
import copy
import io
import json
import os
import pickle
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import torch
import yolov5
import yolov5.models.yolo  # noqa: F401  (puts the yolov5 folder on sys.path, so `models.*` imports)

import models.common  # noqa: E402  the copy whose classes pickle as `models.common.*`, like MDv5
import models.yolo  # noqa: E402
import cv2  # noqa: E402
import onnx  # noqa: E402
import onnxruntime  # noqa: E402
from PIL import Image  # noqa: E402

HERE = Path(__file__).resolve().parent
SEED = 20261129

# Calibration photos: real camera-trap photos, so BatchNorm statistics (and so activation scales) are
# realistic.
CALIBRATION_PHOTOS = [
    "camera-traps/animl_BUOW_IMG_0708.JPG",
    "camera-traps/animl_IMAG0046_bobcat.JPG",
    "camera-traps/zamba_ena24_2480.jpg",
    "camera-traps/speciesnet_ocelot.jpg",
    "camera-traps/sample-dzf-07.jpg",
    "camera-traps/animl_2021-05-28_SYFR0041_deer.JPG",
]
TEST_PHOTO = "camera-traps/animl_IMAG0004_cougar.JPG"

ANCHORS_P6 = [[19, 27, 44, 40, 38, 94], [96, 68, 86, 152, 180, 137], [140, 301, 303, 264, 238, 542],
              [436, 615, 739, 380, 925, 792]]
ANCHORS_P5 = [[10, 13, 16, 30, 33, 23], [30, 61, 62, 45, 59, 119], [116, 90, 156, 198, 373, 326]]


def p6_config():
    """MDv5's architecture (yolov5x6.yaml), narrowed and shortened so the file stays small."""
    return {
        "nc": 3, "depth_multiple": 0.33, "width_multiple": 0.125, "anchors": ANCHORS_P6,
        "backbone": [
            [-1, 1, "Conv", [64, 6, 2, 2]], [-1, 1, "Conv", [128, 3, 2]], [-1, 3, "C3", [128]],
            [-1, 1, "Conv", [256, 3, 2]], [-1, 6, "C3", [256]], [-1, 1, "Conv", [512, 3, 2]],
            [-1, 9, "C3", [512]], [-1, 1, "Conv", [768, 3, 2]], [-1, 3, "C3", [768]],
            [-1, 1, "Conv", [1024, 3, 2]], [-1, 3, "C3", [1024]], [-1, 1, "SPPF", [1024, 5]],
        ],
        "head": [
            [-1, 1, "Conv", [768, 1, 1]], [-1, 1, "nn.Upsample", [None, 2, "nearest"]],
            [[-1, 8], 1, "Concat", [1]], [-1, 3, "C3", [768, False]],
            [-1, 1, "Conv", [512, 1, 1]], [-1, 1, "nn.Upsample", [None, 2, "nearest"]],
            [[-1, 6], 1, "Concat", [1]], [-1, 3, "C3", [512, False]],
            [-1, 1, "Conv", [256, 1, 1]], [-1, 1, "nn.Upsample", [None, 2, "nearest"]],
            [[-1, 4], 1, "Concat", [1]], [-1, 3, "C3", [256, False]],
            [-1, 1, "Conv", [256, 3, 2]], [[-1, 20], 1, "Concat", [1]], [-1, 3, "C3", [512, False]],
            [-1, 1, "Conv", [512, 3, 2]], [[-1, 16], 1, "Concat", [1]], [-1, 3, "C3", [768, False]],
            [-1, 1, "Conv", [768, 3, 2]], [[-1, 12], 1, "Concat", [1]], [-1, 3, "C3", [1024, False]],
            [[23, 26, 29, 32], 1, "Detect", ["nc", "anchors"]],
        ],
    }


def p5_config():
    """A YOLOv5s-style P5 network (as in MDv1000-spruce) with 2 classes and the older SPP block."""
    return {
        "nc": 2, "depth_multiple": 0.33, "width_multiple": 0.125, "anchors": ANCHORS_P5,
        "backbone": [
            [-1, 1, "Conv", [64, 6, 2, 2]], [-1, 1, "Conv", [128, 3, 2]], [-1, 3, "C3", [128]],
            [-1, 1, "Conv", [256, 3, 2]], [-1, 6, "C3", [256]], [-1, 1, "Conv", [512, 3, 2]],
            [-1, 9, "C3", [512]], [-1, 1, "Conv", [1024, 3, 2]], [-1, 3, "C3", [1024]],
            [-1, 1, "SPP", [1024, [5, 9, 13]]],
        ],
        "head": [
            [-1, 1, "Conv", [512, 1, 1]], [-1, 1, "nn.Upsample", [None, 2, "nearest"]],
            [[-1, 6], 1, "Concat", [1]], [-1, 3, "C3", [512, False]],
            [-1, 1, "Conv", [256, 1, 1]], [-1, 1, "nn.Upsample", [None, 2, "nearest"]],
            [[-1, 4], 1, "Concat", [1]], [-1, 3, "C3", [256, False]],
            [-1, 1, "Conv", [256, 3, 2]], [[-1, 14], 1, "Concat", [1]], [-1, 3, "C3", [512, False]],
            [-1, 1, "Conv", [512, 3, 2]], [[-1, 10], 1, "Concat", [1]], [-1, 3, "C3", [1024, False]],
            [[17, 20, 23], 1, "Detect", ["nc", "anchors"]],
        ],
    }


def load_rgb(path):
    image = Image.open(path)
    image.load()
    return np.asarray(image.convert("RGB"))


def letterbox(rgb, size, stride, top_left=False):
    """MegaDetector's letterbox (reference-pipeline.md section 5), or YOLOX's top-left variant."""
    h, w = rgb.shape[:2]
    r = min(size / h, size / w)
    if top_left:
        new_w, new_h = int(w * r), int(h * r)
        resized = cv2.resize(rgb, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
        out = np.full((size, size, 3), 114, dtype=np.uint8)
        out[:new_h, :new_w] = resized
        return out
    new_w, new_h = int(round(w * r)), int(round(h * r))
    dw, dh = ((size - new_w) % stride) / 2, ((size - new_h) % stride) / 2
    if (new_w, new_h) != (w, h):
        rgb = cv2.resize(rgb, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
    top, bottom = int(round(dh - 0.1)), int(round(dh + 0.1))
    left, right = int(round(dw - 0.1)), int(round(dw + 0.1))
    return cv2.copyMakeBorder(rgb, top, bottom, left, right, cv2.BORDER_CONSTANT, value=(114, 114, 114))


def to_input(letterboxed):
    return torch.from_numpy(letterboxed.transpose(2, 0, 1).copy()).float().unsqueeze(0) / 255.0


def build_model(config, shared, calibration_size, stride, calm):
    """`calm` = (BatchNorm gamma, Detect weight scale, objectness bias shift).

    With gamma 1 a random deep network is chaotic: float32 rounding alone moves its boxes by up to
    0.7 px against a float64 run, so no implementation could be compared at a useful tolerance. A gamma
    a little under 1 keeps activations at a realistic scale while float32 noise stays near 1e-3 px; the
    Detect scale and objectness shift then give a realistic mix of detections (tens per photo)."""
    gamma, detect_scale, objectness_shift = calm
    torch.manual_seed(SEED)
    model = models.yolo.DetectionModel(copy.deepcopy(config))
    # BatchNorm statistics from real photos (cumulative average), else activations vanish with depth.
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.reset_running_stats()
            module.momentum = None
    model.train()
    with torch.no_grad():
        for name in CALIBRATION_PHOTOS:
            model(to_input(letterbox(load_rgb(shared / "images" / name), calibration_size, stride)))
    model.eval()
    detect = model.model[-1]
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.weight.fill_(gamma)
        for conv in detect.m:
            conv.weight.mul_(detect_scale)
            bias = conv.bias.view(detect.na, -1)
            bias[:, 4] += objectness_shift
    # parse_model instantiates the `yolov5.models.common` copies; MDv5's pickle names `models.common.*`
    # and `models.yolo.*`, so point every module at the identical class of the `models.` copy.
    for module in model.modules():
        module_name = type(module).__module__
        if module_name.startswith("yolov5.models."):
            copy_module = sys.modules[module_name[len("yolov5."):]]
            module.__class__ = getattr(copy_module, type(module).__name__)
    nc = config["nc"]
    model.names = ["animal", "person", "vehicle"] if nc == 3 else [f"class{i}" for i in range(nc)]
    return model


def save_checkpoint(model, path):
    """The container MDv5 ships: a dict whose 'model' is the whole DetectionModel in float16."""
    half = copy.deepcopy(model).half()
    checkpoint = {
        "epoch": -1,
        "best_fitness": np.array([0.61], dtype=np.float64),
        "model": half,
        "ema": None,
        "updates": None,
        "optimizer": None,
        "opt": {"imgsz": 1280, "weights": "yolov5x6.pt", "hyp": {"lr0": 0.01}},
        "date": "2026-11-29T00:00:00",
    }
    torch.save(checkpoint, path)


def fp32_from_checkpoint(path):
    """What the reference computes with: the fp16-stored weights, converted to fp32 (no fusing)."""
    checkpoint = torch.load(path, map_location="cpu", weights_only=False)
    return checkpoint["model"].float().eval()


def write_array(name, array, dtype):
    data = np.ascontiguousarray(array, dtype=dtype)
    (HERE / name).write_bytes(data.tobytes())
    return {"file": name, "shape": list(data.shape), "dtype": "float32" if dtype == np.float32 else "uint8"}


def export_onnx(model, example, path):
    exported = copy.deepcopy(model).float().eval().fuse()
    for module in exported.modules():
        if isinstance(module, models.yolo.Detect):
            module.inplace = False
            module.export = True
    torch.onnx.export(exported, example, str(path), opset_version=12, do_constant_folding=True,
                      input_names=["images"], output_names=["output0"], dynamo=False)
    onnx.checker.check_model(onnx.load(str(path)))


def run_onnxruntime(path, array, input_name):
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 2
    session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return session.run(None, {input_name: array})[0]


def yolov5_fixture(name, config, shared, input_size, stride, calm):
    model = build_model(config, shared, input_size, stride, calm)
    pt_path = HERE / f"{name}.pt"
    save_checkpoint(model, pt_path)
    fp32 = fp32_from_checkpoint(pt_path)
    letterboxed = letterbox(load_rgb(shared / "images" / TEST_PHOTO), input_size, stride)
    example = to_input(letterboxed)
    with torch.no_grad():
        output = fp32(example)[0][0].numpy()
        float64_output = copy.deepcopy(fp32).double()(example.double())[0][0].numpy()
    # Layer-by-layer outputs of the first few layers, to test the intermediate dump.
    captured = {}
    hooks = [layer.register_forward_hook(lambda m, i, o, k=layer.i: captured.__setitem__(k, o))
             for layer in fp32.model[2:3]]
    with torch.no_grad():
        fp32(example)
    for hook in hooks:
        hook.remove()
    onnx_path = HERE / f"{name}.onnx"
    export_onnx(fp32, example, onnx_path)
    ort_output = run_onnxruntime(onnx_path, example.numpy(), "images")[0]
    obj = output[:, 4]
    scores = obj * output[:, 5:].max(axis=1)
    print(f"{name}: output {output.shape}, rows with score > 0.005: {(scores > 0.005).sum()}, "
          f"> 0.2: {(scores > 0.2).sum()}, > 0.5: {(scores > 0.5).sum()}, "
          f"max |torch - onnxruntime| {np.abs(output - ort_output).max():.3g}, "
          f"max |torch - float64| boxes {np.abs(output - float64_output)[:, :4].max():.3g} "
          f"scores {np.abs(output - float64_output)[:, 4:].max():.3g}")
    detect = fp32.model[-1]
    return {
        "checkpoint": pt_path.name,
        "onnx": onnx_path.name,
        "classes": config["nc"],
        "strides": [int(s) for s in detect.stride.tolist()],
        "anchors_pixels": (detect.anchors * detect.stride.view(-1, 1, 1)).tolist(),
        "parameters": int(sum(p.numel() for p in fp32.parameters())),
        "layers": len(fp32.model),
        "photo": TEST_PHOTO,
        "input": write_array(f"{name}_input.u8", letterboxed.transpose(2, 0, 1), np.uint8),
        "torch_output": write_array(f"{name}_torch_output.f32", output, np.float32),
        # The same network evaluated in float64: the yardstick for how far any float32 implementation
        # (PyTorch included) strays through rounding alone.
        "float64_output": write_array(f"{name}_float64_output.f32", float64_output, np.float32),
        "onnxruntime_output": write_array(f"{name}_onnxruntime_output.f32", ort_output, np.float32),
        "layer_outputs": {str(k): write_array(f"{name}_layer{k}.f32", v[0].numpy(), np.float32)
                          for k, v in captured.items()},
    }


def yolox_fixture(shared):
    model_path = shared / "models" / "yolox_nano_416_coco.onnx"
    rgb = load_rgb(shared / "images" / "everyday" / "bus.jpg")
    letterboxed = letterbox(rgb, 416, 32, top_left=True)
    bgr_chw = letterboxed[:, :, ::-1].transpose(2, 0, 1)
    output = run_onnxruntime(model_path, bgr_chw[None].astype(np.float32), "images")[0]
    # The full 3549x85 output is 1.2 MB; keep box and objectness columns for every row and the
    # complete rows where something was found.
    confident = np.nonzero(output[:, 4] > 0.01)[0]
    return {
        "model": "models/yolox_nano_416_coco.onnx",
        "photo": "everyday/bus.jpg",
        "input_bgr": write_array("yolox_input_bgr.u8", bgr_chw, np.uint8),
        "output_columns_0_to_4": write_array("yolox_output_cols0-4.f32", output[:, :5], np.float32),
        "confident_rows": confident.tolist(),
        "confident_output": write_array("yolox_output_confident.f32", output[confident], np.float32),
    }


# ---- crafted files ------------------------------------------------------------------------------

MARKER_ENV = "MEGADETECTOR_PWN_MARKER"


def global_op(module, name):
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def short_string(text):
    data = text.encode()
    return b"X" + len(data).to_bytes(4, "little") + data


def malicious_pickle(module, name, argument_tuple_ops):
    """A protocol-2 pickle whose payload calls module.name(...) through REDUCE."""
    return b"\x80\x02" + global_op(module, name) + argument_tuple_ops + b"R."


def torch_zip(path, pickle_bytes, archive="archive"):
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as z:
        # Fixed timestamps keep regenerated files byte-identical.
        for name, data in ((f"{archive}/data.pkl", pickle_bytes), (f"{archive}/byteorder", "little"),
                           (f"{archive}/version", "3\n")):
            z.writestr(zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0)), data)


def crafted_files():
    shell = f'touch "${MARKER_ENV}"'
    payloads = {
        "evil_os_system.pt": malicious_pickle("os", "system", short_string(shell) + b"\x85"),
        "evil_builtins_eval.pt": malicious_pickle(
            "builtins", "eval", short_string(f"__import__('os').system('{shell}')") + b"\x85"),
        "evil_subprocess_popen.pt": malicious_pickle(
            "subprocess", "Popen",
            b"(" + short_string("sh") + short_string("-c") + short_string(shell) + b"l\x85"),
        # An allowed-looking prefix with a class that is not part of YOLOv5.
        "evil_unknown_class.pt": b"\x80\x02}q\x00" + short_string("model") +
        global_op("models.yolo", "EvilModel") + b")\x81s.",
    }
    # The os.system payload hidden after a legitimate-looking start of a checkpoint dict.
    payloads["evil_nested_in_checkpoint.pt"] = (
        b"\x80\x02}q\x00(" + short_string("epoch") + b"J\xff\xff\xff\xff" + short_string("model") +
        global_op("os", "system") + short_string(shell) + b"\x85Ru.")
    entries = {}
    for name, data in payloads.items():
        torch_zip(HERE / name, data)
        entries[name] = "refused"
    # Prove each payload is live: Python's pickle runs it.
    for name, data in payloads.items():
        marker = HERE / "pwned.tmp"
        marker.unlink(missing_ok=True)
        code = "import pickle,sys; pickle.loads(open(sys.argv[1],'rb').read())"
        raw = HERE / "payload.tmp"
        raw.write_bytes(data)
        subprocess.run([sys.executable, "-c", code, str(raw)], env={**os.environ, MARKER_ENV: str(marker)},
                       capture_output=True)
        raw.unlink()
        if name != "evil_unknown_class.pt" and not marker.exists():
            raise SystemExit(f"payload of {name} did not run under pickle.loads; the fixture proves nothing")
        marker.unlink(missing_ok=True)
    # A state dict (weights only, no module tree): a valid PyTorch file that is not a YOLOv5 checkpoint.
    torch.save({"conv.weight": torch.zeros(2, 3, 1, 1), "conv.bias": torch.zeros(2)}, HERE / "state_dict_only.pt")
    entries["state_dict_only.pt"] = "not a YOLOv5 checkpoint"
    # What `torch.save(module.state_dict())` writes: an OrderedDict whose `_metadata` attribute arrives as
    # BUILD on the dict. Also weights only: refused as "not a YOLOv5 checkpoint", not as a malformed pickle.
    torch.save(torch.nn.Sequential(torch.nn.Conv2d(3, 2, 1)).state_dict(), HERE / "module_state_dict.pt")
    entries["module_state_dict.pt"] = "not a YOLOv5 checkpoint"
    # A real checkpoint whose second layer names no input layer (`f = []`): refused, not a crash.
    crafted = torch.load(HERE / "yolov5_p5_tiny.pt", map_location="cpu", weights_only=False)
    crafted["model"].model[1].f = []
    torch.save(crafted, HERE / "layer_reads_nothing.pt")
    entries["layer_reads_nothing.pt"] = "layer 1 (Conv) reads 0 layers"
    # A real checkpoint whose module tree loops (layer 1 lists itself among its children): the loader
    # must walk it once and finish.
    cyclic = torch.load(HERE / "yolov5_p5_tiny.pt", map_location="cpu", weights_only=False)
    cyclic["model"].model[1]._modules["loop"] = cyclic["model"].model[1]
    torch.save(cyclic, HERE / "cyclic_modules.pt")
    entries["cyclic_modules.pt"] = "loads: the loop is walked once"
    # A truncated copy of a real checkpoint (the end-of-central-directory record is gone).
    whole = (HERE / "yolov5_p5_tiny.pt").read_bytes()
    (HERE / "truncated.pt").write_bytes(whole[: len(whole) // 2])
    entries["truncated.pt"] = "corrupt zip"
    (HERE / "not_a_zip.pt").write_bytes(b"this is not a model file\n" * 4)
    entries["not_a_zip.pt"] = "not a zip"
    # A valid ONNX graph using an operator the engine does not implement.
    x = onnx.helper.make_tensor_value_info("images", onnx.TensorProto.FLOAT, [1, 3, 8, 8])
    y = onnx.helper.make_tensor_value_info("output", onnx.TensorProto.FLOAT, [1, 3, 8, 8])
    graph = onnx.helper.make_graph([onnx.helper.make_node("Erf", ["images"], ["output"], name="erf_node")],
                                   "unsupported", [x], [y])
    onnx.save(onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", 13)]),
              str(HERE / "unsupported_op.onnx"))
    entries["unsupported_op.onnx"] = "unsupported operator Erf (opset 13)"
    return {"marker_environment_variable": MARKER_ENV, "files": entries}


def tensor_layouts():
    """A checkpoint of plain tensors in every storage type and view layout the reader must handle,
    with their values (as float64 lists) in the manifest."""
    torch.manual_seed(SEED)
    base = torch.randn(4, 6)
    tensors = {
        "float32": base.clone(),
        "float16": base.half(),
        "bfloat16": base.bfloat16(),
        "float64": base.double(),
        "int64": torch.arange(-5, 7).view(3, 4),
        "transposed_view": base.t(),  # strides (1, 6)
        "offset_view": base[1:3, 2:5],  # storage offset 8, strides (6, 1)
        "stepped_view": base[::2, ::3],  # strides (12, 3)
        "scalar": torch.tensor(2.5),
    }
    torch.save(tensors, HERE / "tensor_layouts.pt")
    return {name: {"shape": list(t.shape), "values": t.double().flatten().tolist(), "dtype": str(t.dtype)}
            for name, t in tensors.items()}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--shared", default=str(HERE.parents[3] / "shared"))
    parser.add_argument("--crafted-only", action="store_true", help="only rewrite the crafted files (models untouched)")
    args = parser.parse_args()
    if args.crafted_only:
        manifest = json.loads((HERE / "manifest.json").read_text())
        manifest["crafted"] = crafted_files()
        (HERE / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
        print("rewrote the crafted files and", HERE / "manifest.json")
        return
    shared = Path(args.shared).resolve()
    np.random.seed(SEED)
    torch.set_num_threads(2)
    manifest = {
        "generator": "Tests/Fixtures/engine/generate_engine_fixtures.py",
        "versions": {"python": sys.version.split()[0], "torch": torch.__version__, "yolov5": yolov5.__version__,
                     "onnx": onnx.__version__, "onnxruntime": onnxruntime.__version__, "numpy": np.__version__,
                     "opencv": cv2.__version__, "pillow": Image.__version__},
        "models": {
            "yolov5_p6_tiny": yolov5_fixture("yolov5_p6_tiny", p6_config(), shared, 320, 64, (0.85, 5.0, -2.0)),
            "yolov5_p5_tiny": yolov5_fixture("yolov5_p5_tiny", p5_config(), shared, 320, 32, (0.9, 8.0, 3.0)),
        },
        "yolox": yolox_fixture(shared),
        "tensor_layouts": tensor_layouts(),
    }
    manifest["crafted"] = crafted_files()
    (HERE / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    print("wrote", HERE / "manifest.json")


if __name__ == "__main__":
    main()
