#!/usr/bin/env python3
"""Generates the fixtures for MegaDetector models trained with the `ultralytics` package (MDv1000-larch
and -sorrel are YOLO11; MDv6 files are ultralytics too): random-weight checkpoints with the real
architectures and container, made by the `ultralytics` package itself, and what the reference package
computes with them.

Run from the repository root with the reference environment (../shared/docs/reference-setup.md, plus
`pip install ultralytics` next to `megadetector`, which the reference needs for these models):
    VENV/bin/python Tests/Fixtures/ultralytics/generate_ultralytics_fixtures.py [--shared ../shared]

Writes next to this script:
- yolo11_tiny.pt: YOLO11 at the "l" scale's structure (C3k2 with C3k blocks, C2PSA attention, the
  depthwise class branch of the YOLO11 Detect head, DFL), narrowed (width 0.125, depth 0.5) so the file
  stays small; nc = 3 (animal, person, vehicle). BatchNorm statistics measured on real photos at 640,
  class branch scaled so photos get a realistic mix of detections. Saved as ultralytics releases a
  trained model: the trainer's checkpoint dict passed through `strip_optimizer` (float16 weights,
  `train_args`, no optimizer), then `megadetector_info.json` {"model_type": "ultralytics",
  "image_size": 640} added by the reference's own `add_metadata_to_megadetector_model_file`, as on
  MDv1000-larch.
- yolov8_tiny.pt: the same for YOLOv8 (C2f, the older Detect head with plain 3x3 class branches), at
  the "s" scale's structure, narrowed; metadata image size 960 (as MDv1000-sorrel's size).
- yolov9_tiny.pt: YOLOv9-c as ultralytics builds it (MDv6's YOLOv9 files: RepNCSPELAN4 with RepConv
  units, ADown, SPPELAN, the YOLOv8 Detect head), every channel count divided by 8; image size 640.
- yolov9e_tiny.pt: YOLOv9-e as ultralytics builds it (an nn.Identity stem, a second backbone joined
  through CBLinear/CBFuse), every channel count divided by 8; image size 640.
- yolov10_tiny.pt: YOLOv10-n's structure (SCDown, PSA, C2fCIB with RepVGGDW) narrowed, with its
  end-to-end v10Detect head (one-to-one branch, top-k instead of NMS); image size 640.
- yolov10_e2e_tiny.pt: the same with the head's `end2end` switched on before saving.
- expected_<model>_shared.json / expected_<model>_synthetic.json: run_detector_batch (classic mode,
  threshold 0.005, recursive, relative filenames, image size and timestamp included) on ../shared/images
  and on Tests/Fixtures/detect/synthetic.
- raw_<model>_input.u8, raw_<model>_fp32.f32, raw_<model>_fp64.f32: one photo letterboxed as the
  reference does it, and the network's output [1, 4 + 3, anchors] from the reference's model
  (`.float().fuse().eval()`) in float32 and from the same weights in float64.
- crafted_ultralytics_exec.pt: yolo11_tiny.pt's checkpoint with one more `train_args` value whose
  unpickling would call os.system (a `__reduce__`), as a malicious "model" would; `--crafted-only`
  makes just this file. Loading it must be refused, naming the global, with nothing executed.
- yolo11_tiny_dynamic.onnx, yolov8_tiny_dynamic.onnx, yolov10_e2e_tiny_dynamic.onnx: the .pt files
  exported by ultralytics' own exporter with dynamic height and width (`YOLO(file).export(format="onnx",
  dynamic=True)`, as users export for variable photo sizes; BatchNorm fused, `[1, 4 + 3, anchors]`
  output, or for the end-to-end model `[1, 300, 6]` after an in-graph top-k; metadata with the size
  and names). `--onnx-only` makes just these. The reference package does not run ONNX files:
  their expected results are the reference's on the .pt they came from.
- manifest.json: versions, commands, shapes.
"""
import argparse
import copy
import json
import subprocess
import sys
import warnings
from importlib.metadata import version
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "engine"))
import generate_engine_fixtures as engine  # noqa: E402  (photo loading and letterbox helpers)

import ultralytics  # noqa: E402
from ultralytics.nn.tasks import DetectionModel, yaml_model_load  # noqa: E402
from ultralytics.utils.torch_utils import strip_optimizer  # noqa: E402
from megadetector.detection.pytorch_detector import add_metadata_to_megadetector_model_file  # noqa: E402

THRESHOLD = "0.005"
SEED = 20261207
MODELS = {
    # name: (yaml, scale, [depth, width, max_channels], image size, BatchNorm gamma, class logit spread, centre)
    "yolo11_tiny": ("yolo11l.yaml", "l", [0.50, 0.125, 512], 640, 0.9, 2.5, -7.5),
    "yolov8_tiny": ("yolov8s.yaml", "s", [0.33, 0.125, 1024], 960, 0.9, 2.5, -7.5),
    # YOLOv9's yaml files give channels per layer (no scales): "/8" divides them.
    "yolov9_tiny": ("yolov9c.yaml", "c", "/8", 640, 0.9, 2.5, -7.5),
    # YOLOv9-e (MDv6's largest): a second backbone fed through CBLinear/CBFuse, an nn.Identity stem.
    "yolov9e_tiny": ("yolov9e.yaml", "e", "/8", 640, 0.9, 2.5, -7.5),
    # YOLOv10 (MDv6's YOLOv10 files): SCDown, PSA, C2fCIB with RepVGGDW, the end-to-end v10Detect head.
    "yolov10_tiny": ("yolov10n.yaml", "n", [0.33, 0.125, 1024], 640, 0.9, 2.5, -7.5),
    "yolov10_e2e_tiny": ("yolov10n.yaml", "n", [0.33, 0.125, 1024], 640, 0.9, 2.5, -7.5),
}
# Saved with the head's `end2end` switched on (what YOLOv10/YOLO26 files of current ultralytics carry):
# inference then uses the one-to-one head and a top-k instead of NMS, in ultralytics and the reference.
END_TO_END = {"yolov10_e2e_tiny"}
ONNX_EXPORTS = ("yolo11_tiny", "yolov8_tiny", "yolov10_e2e_tiny")
BOX_WEIGHT_SCALE = 20.0
# Full-size networks for Benchmarks/detect_benchmark.py (not committed): the real scale's multiples.
FULL_SIZE_MODELS = {
    "larch": ("yolo11l.yaml", "l", None, 640, 0.9, 2.5, -7.5),  # MDv1000-larch: YOLO11-L at 640
    # MDv1000-sorrel is YOLO11 at 960; its scale is our guess: the reference's normalized speeds (sorrel
    # 7.0, larch 2.4) fit YOLO11-s at 960 (about 48 GFLOP a 960x960 input against YOLO11-L's 87 at 640).
    "sorrel": ("yolo11s.yaml", "s", None, 960, 0.9, 2.5, -7.5),
}
RAW_PHOTO = "camera-traps/animl_IMAG0004_cougar.JPG"


def build(name, shared):
    model, size = build_from(MODELS[name], shared)
    if name in END_TO_END:
        model.model[-1].end2end = True
    return model, size


def build_from(spec, shared):
    yaml_name, scale, multiples, size, gamma, class_spread, class_centre = spec
    torch.manual_seed(SEED)
    config = yaml_model_load(yaml_name)
    if isinstance(multiples, str):
        divisor = int(multiples[1:])
        channel_arguments = {"Conv": 1, "RepNCSPELAN4": 3, "ELAN1": 3, "ADown": 1, "AConv": 1, "SPPELAN": 2}
        for layer in config["backbone"] + config["head"]:
            if layer[2] == "CBLinear":
                layer[3] = [[value // divisor for value in layer[3][0]]]
                continue
            count = channel_arguments.get(layer[2], 0)
            layer[3] = [value // divisor if position < count else value for position, value in enumerate(layer[3])]
    elif multiples is not None:
        config["scales"] = {scale: multiples}
    config["scale"] = scale
    model = DetectionModel(copy.deepcopy(config), nc=3, verbose=False)
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.reset_running_stats()
            module.momentum = None
    model.train()
    with torch.no_grad():
        for photo in engine.CALIBRATION_PHOTOS:
            model(engine.to_input(engine.letterbox(engine.load_rgb(shared / "images" / photo), size, 32)))
    model.eval()
    detect = model.model[-1]
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.weight.fill_(gamma)
        # Class logits with a realistic spread: per level (and per head: YOLOv10's one-to-one head is
        # the one inference uses), scale the last class convolution so its logits vary by
        # `class_spread` across a photo and centre them on `class_centre`.
        probe = engine.to_input(engine.letterbox(engine.load_rgb(shared / "images" / engine.CALIBRATION_PHOTOS[0]), size, 32))
        heads = [(detect.cv2, detect.cv3)]
        if getattr(detect, "one2one_cv2", None) is not None:
            heads.append((detect.one2one_cv2, detect.one2one_cv3))
        for box_branches, class_branches in heads:
            for box_branch, class_branch in zip(box_branches, class_branches):
                box_branch[-1].weight.mul_(BOX_WEIGHT_SCALE)
                last = class_branch[-1]
                captured = []
                hook = last.register_forward_hook(lambda module, inputs, output: captured.append(output))
                model(probe)
                hook.remove()
                level_logits = captured[0][0].flatten(1)
                scale = class_spread / float(level_logits.std())
                last.weight.mul_(scale)
                last.bias.copy_((last.bias - level_logits.mean(1)) * scale + class_centre)
    model.names = {0: "animal", 1: "person", 2: "vehicle"}
    model.nc = 3
    return model, size


def save_release(model, path, size):
    """What a user downloads: the trainer's checkpoint, then ultralytics' own strip_optimizer."""
    trained = copy.deepcopy(model).half()
    trained.args = {"imgsz": size, "task": "detect", "data": "megadetector.yaml", "model": "yolo11l.pt"}
    checkpoint = {
        "epoch": 99,
        "best_fitness": np.float64(0.61),
        "model": None,
        "ema": trained,
        "updates": 123456,
        "optimizer": None,
        "scaler": None,
        "train_args": {"imgsz": size, "task": "detect", "data": "megadetector.yaml", "epochs": 100, "batch": 16},
        "train_metrics": {"metrics/mAP50(B)": np.float64(0.9), "fitness": np.float64(0.61)},
        "train_results": {"epoch": [1.0, 2.0], "metrics/mAP50(B)": [0.5, 0.9]},
        "date": "2026-12-07T00:00:00",
        "version": ultralytics.__version__,
    }
    torch.save(checkpoint, path)
    strip_optimizer(str(path))


def make_full_size(name, folder, shared):
    """A full-size MDv1000-style file (random weights, realistic activations) for benchmarks."""
    spec = FULL_SIZE_MODELS[name]
    model, size = build_from(spec, shared)
    plain = Path(folder) / f"{name}_plain.pt"
    save_release(model, plain, size)
    path = Path(folder) / f"md_v1000_{name}_random.pt"
    add_metadata_to_megadetector_model_file(str(plain), str(path), {"model_type": "ultralytics", "image_size": size})
    plain.unlink()
    return path


def run_reference(model, folder, output):
    command = [sys.executable, "-m", "megadetector.detection.run_detector_batch", str(model), str(folder), str(output),
               "--recursive", "--output_relative_filenames", "--threshold", THRESHOLD, "--include_image_size",
               "--include_image_timestamp", "--quiet"]
    subprocess.run(command, check=True, capture_output=True, text=True)
    return " ".join(["megadetector.detection.run_detector_batch", "MODEL", "FOLDER", "OUTPUT"] + command[6:])


def write_array(name, array, dtype):
    data = np.ascontiguousarray(array, dtype=dtype)
    (HERE / name).write_bytes(data.tobytes())
    return {"file": name, "shape": list(data.shape), "dtype": "float32" if dtype == np.float32 else "uint8"}


def raw_outputs(name, path, size, shared):
    """The reference's network (fp16 weights -> float, fused) and the same weights in float64."""
    checkpoint = torch.load(path, map_location="cpu", weights_only=False)
    fused = checkpoint["model"].float().fuse().eval()
    exact = copy.deepcopy(checkpoint["model"]).double().eval()
    letterboxed = engine.letterbox(engine.load_rgb(shared / "images" / RAW_PHOTO), size, 32)
    tensor = engine.to_input(letterboxed)
    for model in (fused, exact):
        # End-to-end heads: the decoded one-to-one output before the top-k ([1, 4 + nc, anchors]).
        head = model.model[-1]
        if head.end2end:
            head.postprocess = lambda predictions: predictions.permute(0, 2, 1)
    with torch.no_grad():
        fp32 = fused(tensor)[0].numpy()
        fp64 = exact(tensor.double())[0].numpy()
    files = {
        "input": write_array(f"raw_{name}_input.u8", letterboxed.transpose(2, 0, 1)[None], np.uint8),
        "fp32": write_array(f"raw_{name}_fp32.f32", fp32, np.float32),
        "fp64": write_array(f"raw_{name}_fp64.f32", fp64, np.float32),
    }
    boxes32, boxes64 = fp32[0, :4], fp64[0, :4]
    scores32, scores64 = fp32[0, 4:], fp64[0, 4:]
    files["photo"] = RAW_PHOTO
    files["pytorch_fp32_error"] = {"box_px": float(np.abs(boxes32 - boxes64).max()),
                                   "score": float(np.abs(scores32 - scores64).max())}
    return files


class RunsCommand:
    """Unpickling this calls os.system: what a crafted checkpoint carries."""

    def __reduce__(self):
        import os
        return (os.system, ("echo crafted-ultralytics-checkpoint-ran > /tmp/crafted-ultralytics-ran",))


def write_crafted():
    checkpoint = torch.load(HERE / "yolo11_tiny.pt", map_location="cpu", weights_only=False)
    checkpoint["train_args"]["callbacks"] = RunsCommand()
    torch.save(checkpoint, HERE / "crafted_ultralytics_exec.pt")


def export_onnx(name):
    """ultralytics' exporter, as a user runs it; returns the manifest entry."""
    from ultralytics import YOLO
    source = HERE / f"{name}.pt"
    # ultralytics 8.4 exports an end-to-end head as such only with nms=False (by default it exports the
    # one-to-many branch, for NMS after the network).
    options = {"nms": False} if name in END_TO_END else {}
    exported = Path(YOLO(str(source)).export(format="onnx", dynamic=True, simplify=False, imgsz=MODELS[name][3], **options))
    target = HERE / f"{name}_dynamic.onnx"
    exported.replace(target)
    import onnx
    model = onnx.load(str(target))
    return {"file": target.name, "from": source.name, "opset": model.opset_import[0].version,
            "export": f'YOLO("{source.name}").export(format="onnx", dynamic=True, simplify=False, imgsz={MODELS[name][3]}'
                      + (", nms=False)" if options else ")"),
            "metadata": {entry.key: entry.value for entry in model.metadata_props}, "onnx": onnx.__version__}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--shared", default=str(HERE.parents[3] / "shared"))
    parser.add_argument("--crafted-only", action="store_true", help="only (re)write crafted_ultralytics_exec.pt")
    parser.add_argument("--onnx-only", action="store_true", help="only (re)export the dynamic ONNX files")
    parser.add_argument("--models", default=",".join(MODELS), help="which models to (re)make, comma-separated; the "
                        "manifest keeps the others' entries")
    arguments = parser.parse_args()
    shared = Path(arguments.shared).resolve()
    if arguments.crafted_only:
        write_crafted()
        return
    if arguments.onnx_only:
        manifest = json.loads((HERE / "manifest.json").read_text())
        for name in [name for name in arguments.models.split(",") if name in ONNX_EXPORTS]:
            manifest["models"][name]["dynamic_onnx"] = export_onnx(name)
        (HERE / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
        return
    warnings.filterwarnings("ignore")
    manifest = {"generator": "Tests/Fixtures/ultralytics/generate_ultralytics_fixtures.py", "models": {}}
    if (HERE / "manifest.json").exists():
        manifest["models"] = json.loads((HERE / "manifest.json").read_text())["models"]
    for name in arguments.models.split(","):
        spec = MODELS[name]
        model, size = build(name, shared)
        plain = HERE / f"{name}_plain.pt"
        save_release(model, plain, size)
        path = HERE / f"{name}.pt"
        metadata = {"model_type": "ultralytics", "image_size": size}
        add_metadata_to_megadetector_model_file(str(plain), str(path), metadata)
        plain.unlink()
        entry = {"file": path.name, "yaml": spec[0], "scale": spec[1], "multiples": spec[2], "metadata": metadata,
                 "parameters": sum(p.numel() for p in model.parameters())}
        entry["command"] = run_reference(path, shared / "images", HERE / f"expected_{name}_shared.json")
        run_reference(path, HERE.parent / "detect" / "synthetic", HERE / f"expected_{name}_synthetic.json")
        entry["raw"] = raw_outputs(name, path, size, shared)
        for kind in ("shared", "synthetic"):
            results = json.loads((HERE / f"expected_{name}_{kind}.json").read_text())
            counts = [len(image.get("detections") or []) for image in results["images"]]
            entry[f"detections_{kind}"] = {"total": sum(counts), "max_per_photo": max(counts),
                                           "at_least_0.2": sum(1 for image in results["images"]
                                                               for d in image.get("detections") or [] if d["conf"] >= 0.2)}
        manifest["models"][name] = entry
        print(name, json.dumps(entry, indent=1))
    if "yolo11_tiny" in arguments.models.split(","):
        write_crafted()
    import cv2
    import PIL
    manifest["versions"] = {"megadetector": version("megadetector"), "ultralytics": ultralytics.__version__,
                            "torch": torch.__version__, "opencv": cv2.__version__, "pillow": PIL.__version__,
                            "numpy": np.__version__, "python": sys.version.split()[0]}
    (HERE / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")


if __name__ == "__main__":
    main()
