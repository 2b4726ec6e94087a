#!/usr/bin/env python3
"""Generates the fixtures for YOLOv9 models of the WongKinYiu layout (MDv1000-cedar, which the reference
runs through the `yolov9pip` package): random-weight checkpoints with the real structures and
container, built with yolov9pip's own classes (which pickle as `models.common.*` / `models.yolo.*`,
as files trained in the yolov9 repository do), and what the reference package computes with them.

Run from the repository root with the reference environment (../shared/docs/reference-setup.md, plus
`pip install yolov9pip` next to `megadetector`, which the reference needs for model_type "yolov9"):
    VENV/bin/python Tests/Fixtures/yolov9/generate_yolov9_fixtures.py [--shared ../shared]
A separate script from the YOLOv5 generators: yolov9pip and yolov5 both put a package named `models`
on sys.path, so the two cannot be imported in one process.

Writes next to this script:
- yolov9c_dual_tiny.pt: YOLOv9-c as trained (models/detect/yolov9-c.yaml: the main branch plus the
  reversible auxiliary branch with CBLinear/CBFuse, a DualDDetect head), every channel count divided
  by 8, nc = 3. The reference takes the first of DualDDetect's two outputs (yolov9's
  non_max_suppression keeps `prediction[0]`), i.e. the auxiliary branch's.
- yolov9c_tiny.pt: the single-head layout (gelan-c / a "converted" yolov9-c: DDetect on the main
  branch), same narrowing.
  Both: BatchNorm statistics measured on real photos at 640, class branch scaled for a realistic mix
  of detections, saved as yolov9's strip_optimizer leaves a file (float16 model, no optimizer), then
  `megadetector_info.json` {"model_type": "yolov9", "image_size": 640} added by the reference's
  `add_metadata_to_megadetector_model_file`.
- expected_<model>_shared.json / _synthetic.json: run_detector_batch (classic mode, threshold 0.005,
  recursive, relative filenames, image size and timestamp) on ../shared/images and
  Tests/Fixtures/detect/synthetic.
- raw_<model>_input.u8, raw_<model>_fp32.f32, raw_<model>_fp64.f32: one photo letterboxed as the
  reference does, and the output the reference's NMS reads ([1, 4 + 3, anchors]) in float32 (the
  reference's fused model) and float64.
- argsort_cases.json: tie-heavy float32 arrays (integers / divisor) and PyTorch's
  `argsort(descending=True)` of each: yolov9's NMS orders candidates with it, and its order among
  equal scores decides which box survives. `--argsort-only` writes just this file.
- manifest.json: versions, commands, shapes.
With --full-size-into DIR, writes only DIR/md_v1000_cedar_random.pt: the trained layout at full width
(YOLOv9-c, about 50 M parameters with both heads), random weights, for benchmarks (not committed).
"""
import argparse
import copy
import json
import subprocess
import sys
import warnings
from importlib.metadata import version
from pathlib import Path

import cv2
import numpy as np
import torch
from PIL import Image

import yolov9.models.yolo  # noqa: F401  (puts the yolov9 folder on sys.path, so `models.*` imports)
import models.yolo  # noqa: E402  the copy whose classes pickle as `models.*`, as trained files do

from megadetector.detection.pytorch_detector import add_metadata_to_megadetector_model_file  # noqa: E402

HERE = Path(__file__).resolve().parent
SEED = 20261207
THRESHOLD = "0.005"
SIZE = 640
RAW_PHOTO = "camera-traps/animl_IMAG0004_cougar.JPG"
# The same photos as Tests/Fixtures/engine (copied: that generator imports yolov5's `models`).
CALIBRATION_PHOTOS = [
    "camera-traps/animl_BUOW_IMG_0708.JPG",
    "camera-traps/animl_IMAG0046_bobcat.JPG",
    "camera-traps/zamba_ena24_2480.jpg",
    "camera-traps/speciesnet_ocelot.jpg",
    "camera-traps/sample-dzf-07.jpg",
    "camera-traps/animl_2021-05-28_SYFR0041_deer.JPG",
]

BACKBONE = [
    [-1, 1, "Silence", []],
    [-1, 1, "Conv", [64, 3, 2]], [-1, 1, "Conv", [128, 3, 2]], [-1, 1, "RepNCSPELAN4", [256, 128, 64, 1]],
    [-1, 1, "ADown", [256]], [-1, 1, "RepNCSPELAN4", [512, 256, 128, 1]], [-1, 1, "ADown", [512]],
    [-1, 1, "RepNCSPELAN4", [512, 512, 256, 1]], [-1, 1, "ADown", [512]], [-1, 1, "RepNCSPELAN4", [512, 512, 256, 1]],
]
HEAD = [
    [-1, 1, "SPPELAN", [512, 256]], [-1, 1, "nn.Upsample", [None, 2, "nearest"]], [[-1, 7], 1, "Concat", [1]],
    [-1, 1, "RepNCSPELAN4", [512, 512, 256, 1]], [-1, 1, "nn.Upsample", [None, 2, "nearest"]], [[-1, 5], 1, "Concat", [1]],
    [-1, 1, "RepNCSPELAN4", [256, 256, 128, 1]], [-1, 1, "ADown", [256]], [[-1, 13], 1, "Concat", [1]],
    [-1, 1, "RepNCSPELAN4", [512, 512, 256, 1]], [-1, 1, "ADown", [512]], [[-1, 10], 1, "Concat", [1]],
    [-1, 1, "RepNCSPELAN4", [512, 512, 256, 1]],
]
AUXILIARY = [
    [5, 1, "CBLinear", [[256]]], [7, 1, "CBLinear", [[256, 512]]], [9, 1, "CBLinear", [[256, 512, 512]]],
    [0, 1, "Conv", [64, 3, 2]], [-1, 1, "Conv", [128, 3, 2]], [-1, 1, "RepNCSPELAN4", [256, 128, 64, 1]],
    [-1, 1, "ADown", [256]], [[23, 24, 25, -1], 1, "CBFuse", [[0, 0, 0]]], [-1, 1, "RepNCSPELAN4", [512, 256, 128, 1]],
    [-1, 1, "ADown", [512]], [[24, 25, -1], 1, "CBFuse", [[1, 1]]], [-1, 1, "RepNCSPELAN4", [512, 512, 256, 1]],
    [-1, 1, "ADown", [512]], [[25, -1], 1, "CBFuse", [[2]]], [-1, 1, "RepNCSPELAN4", [512, 512, 256, 1]],
]
MODELS = {
    "yolov9c_dual_tiny": HEAD + AUXILIARY + [[[31, 34, 37, 16, 19, 22], 1, "DualDDetect", ["nc"]]],
    "yolov9c_tiny": HEAD + [[[16, 19, 22], 1, "DDetect", ["nc"]]],
}


def narrowed(layers, divisor=8):
    counts = {"Conv": 1, "RepNCSPELAN4": 3, "ADown": 1, "SPPELAN": 2}
    out = []
    for source, repeats, module, arguments in copy.deepcopy(layers):
        if module == "CBLinear":
            arguments = [[value // divisor for value in arguments[0]]]
        else:
            arguments = [value // divisor if position < counts.get(module, 0) else value for position, value in enumerate(arguments)]
        out.append([source, repeats, module, arguments])
    return out


def load_rgb(path):
    image = Image.open(path)
    image.load()
    return np.asarray(image.convert("RGB"))


def letterbox(rgb, size=SIZE, stride=32):
    """yolov9's letterbox (yolov5's), auto=True, as the reference calls it."""
    h, w = rgb.shape[:2]
    r = min(size / h, size / w)
    new_w, new_h = int(round(w * r)), int(round(h * r))
    dw, dh = ((size - new_w) % stride) / 2, ((size - new_h) % stride) / 2
    if (new_w, new_h) != (w, h):
        rgb = cv2.resize(rgb, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
    top, bottom = int(round(dh - 0.1)), int(round(dh + 0.1))
    left, right = int(round(dw - 0.1)), int(round(dw + 0.1))
    return cv2.copyMakeBorder(rgb, top, bottom, left, right, cv2.BORDER_CONSTANT, value=(114, 114, 114))


def to_input(letterboxed):
    return torch.from_numpy(letterboxed.transpose(2, 0, 1).copy()).float().unsqueeze(0) / 255.0


def first_output(model, tensor):
    """What the reference's NMS reads: model(x)[0], and of a DualDDetect's pair the first."""
    y = model(tensor)[0]
    return y[0] if isinstance(y, (list, tuple)) else y


def build(name, shared, divisor=8):
    torch.manual_seed(SEED)
    config = {"nc": 3, "depth_multiple": 1.0, "width_multiple": 1.0, "anchors": 3,
              "backbone": narrowed(BACKBONE, divisor), "head": narrowed(MODELS[name], divisor)}
    model = models.yolo.DetectionModel(copy.deepcopy(config))
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.reset_running_stats()
            module.momentum = None
    model.train()
    with torch.no_grad():
        for photo in CALIBRATION_PHOTOS:
            model(to_input(letterbox(load_rgb(shared / "images" / photo))))
    model.eval()
    detect = model.model[-1]
    probe = to_input(letterbox(load_rgb(shared / "images" / CALIBRATION_PHOTOS[0])))
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.weight.fill_(0.9)
        # Class logits with a realistic spread (centred on -7.5, spread 2.5), per level and head.
        heads = [(detect.cv2, detect.cv3)] + ([(detect.cv4, detect.cv5)] if hasattr(detect, "cv4") else [])
        for box_branches, class_branches in heads:
            for box_branch, class_branch in zip(box_branches, class_branches):
                box_branch[-1].weight.mul_(20.0)
                last = class_branch[-1]
                captured = []
                hook = last.register_forward_hook(lambda module, inputs, output: captured.append(output))
                model(probe)
                hook.remove()
                logits = captured[0][0].flatten(1)
                scale = 2.5 / float(logits.std())
                last.weight.mul_(scale)
                last.bias.copy_((last.bias - logits.mean(1)) * scale - 7.5)
    model.names = ["animal", "person", "vehicle"]
    return model


def save_release(model, path):
    """As yolov9's train.py leaves best.pt after strip_optimizer: float16 model, no optimizer."""
    checkpoint = {"epoch": -1, "best_fitness": None, "model": copy.deepcopy(model).half(), "ema": None, "updates": None,
                  "optimizer": None, "opt": {"imgsz": SIZE, "weights": "yolov9-c.pt", "hyp": {"lr0": 0.01}},
                  "git": None, "date": "2026-12-07T00:00:00"}
    torch.save(checkpoint, path)


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


def raw_outputs(name, path, shared):
    checkpoint = torch.load(path, map_location="cpu", weights_only=False)
    fused = checkpoint["model"].float().fuse().eval()
    exact = copy.deepcopy(checkpoint["model"]).double().eval()
    letterboxed = letterbox(load_rgb(shared / "images" / RAW_PHOTO))
    tensor = to_input(letterboxed)
    with torch.no_grad():
        fp32 = first_output(fused, tensor).numpy()
        fp64 = first_output(exact, tensor.double()).numpy()
    return {
        "input": write_array(f"raw_{name}_input.u8", letterboxed.transpose(2, 0, 1)[None], np.uint8),
        "fp32": write_array(f"raw_{name}_fp32.f32", fp32, np.float32),
        "fp64": write_array(f"raw_{name}_fp64.f32", fp64, np.float32),
        "photo": RAW_PHOTO,
        "pytorch_fp32_error": {"box_px": float(np.abs(fp32[0, :4] - fp64[0, :4]).max()),
                               "score": float(np.abs(fp32[0, 4:] - fp64[0, 4:]).max())},
    }


def write_argsort_cases():
    generator = torch.Generator().manual_seed(SEED)
    cases = []
    for size in [2, 5, 16, 17, 33, 100, 447, 1000, 3000]:
        for divisor in [2, 7, 50]:
            integers = torch.randint(0, divisor, (size,), generator=generator)
            values = integers.float() / divisor
            cases.append({"integers": integers.tolist(), "divisor": divisor,
                          "argsort_descending": values.argsort(descending=True).tolist()})
    (HERE / "argsort_cases.json").write_text(json.dumps({"torch": torch.__version__, "cases": cases}) + "\n")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--shared", default=str(HERE.parents[3] / "shared"))
    parser.add_argument("--argsort-only", action="store_true", help="only write argsort_cases.json")
    parser.add_argument("--full-size-into", help="only write a full-size YOLOv9-c (as trained, DualDDetect) with "
                        "MDv1000-cedar's metadata into this folder, for Benchmarks/detect_benchmark.py --model cedar")
    arguments = parser.parse_args()
    shared = Path(arguments.shared).resolve()
    if arguments.full_size_into:
        warnings.filterwarnings("ignore")
        model = build("yolov9c_dual_tiny", shared, divisor=1)
        folder = Path(arguments.full_size_into)
        plain = folder / "cedar_plain.pt"
        save_release(model, plain)
        add_metadata_to_megadetector_model_file(str(plain), str(folder / "md_v1000_cedar_random.pt"),
                                                {"model_type": "yolov9", "image_size": SIZE})
        plain.unlink()
        return
    write_argsort_cases()
    if arguments.argsort_only:
        return
    warnings.filterwarnings("ignore")
    manifest = {"generator": "Tests/Fixtures/yolov9/generate_yolov9_fixtures.py", "models": {}}
    for name in MODELS:
        model = build(name, shared)
        plain = HERE / f"{name}_plain.pt"
        save_release(model, plain)
        path = HERE / f"{name}.pt"
        metadata = {"model_type": "yolov9", "image_size": SIZE}
        add_metadata_to_megadetector_model_file(str(plain), str(path), metadata)
        plain.unlink()
        entry = {"file": path.name, "head": MODELS[name][-1][2], "metadata": metadata,
                 "parameters": sum(p.numel() for p in model.parameters())}
        entry["command"] = run_reference(path, shared / "images", HERE / f"expected_{name}_shared.json")
        run_reference(path, HERE.parent / "detect" / "synthetic", HERE / f"expected_{name}_synthetic.json")
        entry["raw"] = raw_outputs(name, path, shared)
        for kind in ("shared", "synthetic"):
            results = json.loads((HERE / f"expected_{name}_{kind}.json").read_text())
            counts = [len(image.get("detections") or []) for image in results["images"]]
            entry[f"detections_{kind}"] = {"total": sum(counts), "max_per_photo": max(counts)}
        manifest["models"][name] = entry
        print(name, json.dumps(entry, indent=1))
    import PIL
    manifest["versions"] = {"megadetector": version("megadetector"), "yolov9pip": version("yolov9pip"),
                            "torch": torch.__version__, "opencv": cv2.__version__, "pillow": PIL.__version__,
                            "numpy": np.__version__, "python": sys.version.split()[0]}
    (HERE / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")


if __name__ == "__main__":
    main()
