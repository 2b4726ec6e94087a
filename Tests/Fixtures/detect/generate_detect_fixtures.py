#!/usr/bin/env python3
"""Generates the detection fixtures: a small MDv5-architecture model that behaves like a detector at
MegaDetector's 1280 input, synthetic photos for the edge cases, and what the official `megadetector`
package (classic mode) computes on them and on ../shared/images.

Run from the repository root with the reference environment (../shared/docs/reference-setup.md):
    VENV/bin/python Tests/Fixtures/detect/generate_detect_fixtures.py [--shared ../shared]

Writes next to this script:
- md_v5_tiny.pt: P6 YOLOv5 (MDv5's layer structure, narrow), random weights, BatchNorm calibrated on
  real photos at 1280, Detect head scaled so photos get a realistic mix of detections.
- synthetic/: odd sizes, portrait, tiny, PNG with alpha / grayscale / palette / 16-bit, EXIF
  orientations 1-8, progressive JPEG.
- expected_shared.json, expected_synthetic.json: run_detector_batch results (threshold 0.005,
  recursive, relative filenames, image size and timestamp included); expected_synthetic_augment.json
  the same with --augment (YOLOv5 test-time augmentation).
- expected_pixels.json: per photo, the MD5 of the RGB pixels the reference decodes (PIL, EXIF
  rotation applied) and of the letterboxed 1280 tensor it feeds the network (OpenCV INTER_LINEAR).
- md_v5_tiny_dynamic.onnx: md_v5_tiny.pt exported to ONNX with dynamic height and width, as
  `yolov5 export --dynamic` does (fp32, BatchNorm fused, Detect in export mode), and
  md_v5_tiny_960x1280.onnx, the same with a fixed 960x1280 input (what a 4:3 photo letterboxes to at
  1280); `--onnx-only` makes just these (and their manifest entries) from the existing .pt.
- manifest.json: versions and commands.
"""
import argparse
import copy
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "engine"))

import numpy as np  # noqa: E402
import torch  # noqa: E402
import generate_engine_fixtures as engine  # noqa: E402
import cv2  # noqa: E402
from PIL import Image, ImageOps  # noqa: E402

from megadetector.visualization import visualization_utils as vis_utils  # noqa: E402
from yolov5.utils.augmentations import letterbox as yolov5_letterbox  # noqa: E402

THRESHOLD = "0.005"


def build_detector(shared):
    model = engine.build_model(engine.p6_config(), shared, 1280, 64, (0.9, 1.0, 0.0))
    detect = model.model[-1]
    with torch.no_grad():
        for conv in detect.m:
            conv.weight.mul_(30.0)
            bias = conv.bias.view(detect.na, -1)
            bias[:, 4] -= 6.0   # objectness
            bias[:, 5:] += 2.0  # classes
    path = HERE / "md_v5_tiny.pt"
    engine.save_checkpoint(model, path)
    return path


def make_synthetic(shared):
    folder = HERE / "synthetic"
    folder.mkdir(exist_ok=True)
    source = Image.open(shared / "images" / "camera-traps" / "animl_IMAG0004_cougar.JPG").convert("RGB")
    small = source.resize((640, 480), Image.BILINEAR)
    small.resize((1001, 667), Image.BILINEAR).save(folder / "odd_size_1001x667.jpg", quality=85)
    source.crop((800, 300, 1400, 1200)).save(folder / "portrait_600x900.jpg", quality=85)
    small.resize((64, 48), Image.BILINEAR).save(folder / "tiny_64x48.jpg", quality=90)
    source.crop((0, 1200, 2560, 1712)).resize((1500, 300), Image.BILINEAR).save(folder / "wide_1500x300.jpg", quality=85)
    small.save(folder / "progressive.jpg", quality=85, progressive=True)
    rgba = small.resize((320, 240)).convert("RGBA")
    alpha = np.asarray(rgba).copy()
    alpha[:, :, 3] = np.linspace(0, 255, 320, dtype=np.uint8)[None, :]
    Image.fromarray(alpha, "RGBA").save(folder / "alpha.png")
    small.resize((320, 240)).convert("L").save(folder / "gray.png")
    small.resize((320, 240)).convert("P", palette=Image.ADAPTIVE, colors=64).save(folder / "palette.png")
    gray16 = (np.asarray(small.resize((320, 240)).convert("L")).astype(np.uint16) * 257)
    cv2.imwrite(str(folder / "gray16.png"), gray16)
    rgb16 = np.asarray(small.resize((320, 240))).astype(np.uint16) * 257
    cv2.imwrite(str(folder / "rgb16.png"), rgb16[:, :, ::-1])
    oriented = small.resize((400, 300))
    for orientation in range(1, 9):
        exif = Image.Exif()
        exif[274] = orientation
        exif[0x8769] = {36867: "2024:06:01 21:13:07"}  # DateTimeOriginal in the Exif IFD
        oriented.save(folder / f"exif_orientation_{orientation}.jpg", quality=85, exif=exif)
    return folder


def run_reference(model, folder, output, extra=()):
    command = [sys.executable, "-m", "megadetector.detection.run_detector_batch", str(model), str(folder), str(output),
               "--recursive", "--output_relative_filenames", "--threshold", THRESHOLD, "--include_image_size",
               "--include_image_timestamp", "--quiet", *extra]
    subprocess.run(command, check=True, capture_output=True, text=True)
    return " ".join(["megadetector.detection.run_detector_batch", "MODEL", "FOLDER", "OUTPUT"] + command[6:])


def pixel_digests(folders):
    """MD5 of the reference's decoded RGB pixels and of its letterboxed network input, per photo."""
    digests = {}
    for root, prefix in folders:
        for path in sorted(root.rglob("*")):
            if path.suffix.lower() not in (".jpg", ".jpeg", ".png") or path.name.startswith("."):
                continue
            key = f"{prefix}/{path.relative_to(root).as_posix()}"
            try:
                image = np.asarray(vis_utils.load_image(str(path)))
            except Exception as error:  # the reference records these as failures
                digests[key] = {"error": type(error).__name__}
                # Where we decode what the reference cannot (CMYK, palette), PIL's own conversion to RGB
                # (after the same EXIF handling) is what we are compared with.
                try:
                    with Image.open(path) as opened:
                        rgb = np.asarray(ImageOps.exif_transpose(opened).convert("RGB"))
                    digests[key].update({"pil_rgb_shape": list(rgb.shape),
                                         "pil_rgb_md5": hashlib.md5(np.ascontiguousarray(rgb).tobytes()).hexdigest()})
                except Exception:
                    pass
                continue
            entry = {"mode_shape": list(image.shape), "dtype": str(image.dtype),
                     "decoded_md5": hashlib.md5(np.ascontiguousarray(image).tobytes()).hexdigest()}
            if image.ndim == 3 and image.dtype == np.uint8:
                boxed = yolov5_letterbox(image, 1280, stride=64, auto=True, scaleup=True)[0]
                entry["letterboxed_shape"] = list(boxed.shape)
                entry["letterboxed_md5"] = hashlib.md5(np.ascontiguousarray(boxed).tobytes()).hexdigest()
            digests[key] = entry
    return digests


def write_pixels(shared, synthetic=HERE / "synthetic"):
    digests = pixel_digests([(shared / "images", "shared"), (synthetic, "synthetic")])
    (HERE / "expected_pixels.json").write_text(json.dumps(digests, indent=1, sort_keys=True) + "\n")


def export_onnx_files(model_path):
    """The .pt as people export it: dynamic H and W (and anchor count), and fixed at 960x1280."""
    dynamic = export_onnx_file(model_path, "md_v5_tiny_dynamic.onnx",
                               {"images": {2: "height", 3: "width"}, "output0": {1: "anchors"}})
    fixed = export_onnx_file(model_path, "md_v5_tiny_960x1280.onnx", None)
    return {"dynamic_onnx": dynamic, "fixed_onnx": fixed}


def export_onnx_file(model_path, name, dynamic_axes):
    import onnx
    from yolov5 import models
    model = engine.fp32_from_checkpoint(model_path)
    exported = copy.deepcopy(model).float().eval().fuse()
    for module in exported.modules():
        if isinstance(module, models.yolo.Detect):
            module.inplace = False
            module.export = True
    path = HERE / name
    example = torch.zeros(1, 3, 960, 1280)
    torch.onnx.export(exported, example, str(path), opset_version=12, do_constant_folding=True,
                      input_names=["images"], output_names=["output0"], dynamo=False, dynamic_axes=dynamic_axes)
    onnx.checker.check_model(onnx.load(str(path)))
    return {"file": path.name, "from": model_path.name, "opset": 12, "input": "1x3x960x1280",
            "dynamic_axes": str(dynamic_axes), "versions": {"torch": torch.__version__, "onnx": onnx.__version__}}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--shared", default=str(HERE.parents[3] / "shared"))
    parser.add_argument("--pixels-only", action="store_true", help="only rewrite expected_pixels.json")
    parser.add_argument("--onnx-only", action="store_true", help="only (re)export the ONNX files from md_v5_tiny.pt")
    args = parser.parse_args()
    shared = Path(args.shared).resolve()
    if args.onnx_only:
        manifest = json.loads((HERE / "manifest.json").read_text())
        manifest.update(export_onnx_files(HERE / "md_v5_tiny.pt"))
        (HERE / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
        return
    if args.pixels_only:
        write_pixels(shared)
        return
    torch.set_num_threads(2)
    model = build_detector(shared)
    synthetic = make_synthetic(shared)
    command = run_reference(model, shared / "images", HERE / "expected_shared.json")
    run_reference(model, synthetic, HERE / "expected_synthetic.json")
    run_reference(model, synthetic, HERE / "expected_synthetic_augment.json", ["--augment"])
    write_pixels(shared, synthetic)
    import megadetector
    from importlib.metadata import version
    manifest = {
        "generator": "Tests/Fixtures/detect/generate_detect_fixtures.py",
        "reference_command": command,
        "versions": {"megadetector": version("megadetector"), "torch": torch.__version__, "yolov5": version("yolov5"),
                     "opencv": cv2.__version__, "pillow": Image.__version__, "numpy": np.__version__,
                     "python": sys.version.split()[0]},
        "model": model.name,
        "megadetector_module": os.path.dirname(megadetector.__file__).split("site-packages/")[-1],
    }
    manifest.update(export_onnx_files(model))
    (HERE / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    for name in ("expected_shared.json", "expected_synthetic.json", "expected_synthetic_augment.json"):
        results = json.loads((HERE / name).read_text())
        counts = [len(image.get("detections") or []) for image in results["images"]]
        above = [sum(d["conf"] > 0.2 for d in image.get("detections") or []) for image in results["images"]]
        failures = [image["file"] for image in results["images"] if "failure" in image]
        print(f"{name}: {len(counts)} images, detections per image {min(counts)}..{max(counts)}, "
              f"> 0.2 per image {min(above)}..{max(above)}, failures {failures}")


if __name__ == "__main__":
    main()
