#!/usr/bin/env python3
"""SpeciesNet's classifier at full size, random weights: Keras `EfficientNetV2M(weights=None,
classes=2498)` at 480x480 with BatchNorm statistics set from five shared camera-trap photos (one
training-mode pass with momentum 0, so activations have realistic scales), exported as the released
file was made (tf2onnx -> onnx2torch -> `torch.save`), then run by PyTorch (fp32 and fp64) and by us
(`infer-raw` on the `.pt` and on the ONNX export). Prints each one's distance to the float64 run, the
top-5 agreement, and one forward pass's time, side by side. Nothing is asserted; the files are too big
to commit (220 MB).

Usage (two Pythons: one with TensorFlow + tf2onnx + pillow, one with the reference environment + onnx2torch):
    REF_VENV/bin/python Benchmarks/speciesnet_full_size.py --tf-python TF_VENV/bin/python [--scratch /tmp/md-speciesnet]
"""
import argparse
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]

KERAS_PART = r'''
import sys, glob
import numpy as np, tensorflow as tf, tf2onnx
from PIL import Image
scratch, shared = sys.argv[1], sys.argv[2]
tf.random.set_seed(0)
model = tf.keras.applications.EfficientNetV2M(weights=None, classes=2498, input_shape=(480, 480, 3), classifier_activation=None)
photos = sorted(glob.glob(shared + "/images/camera-traps/*"))[:6]
arrays = [np.asarray(Image.open(p).convert("RGB").resize((480, 480), Image.BILINEAR), dtype=np.float32) / 255.0 for p in photos]
for layer in model.layers:
    if isinstance(layer, tf.keras.layers.BatchNormalization):
        layer.momentum = 0.0
model(np.stack(arrays[:5]), training=True)
spec = (tf.TensorSpec((None, 480, 480, 3), tf.float32, name="input_1"),)
tf2onnx.convert.from_keras(model, input_signature=spec, opset=13, output_path=scratch + "/effnetv2m.onnx")
np.save(scratch + "/input.npy", arrays[5][None])
'''


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--tf-python", required=True)
    parser.add_argument("--shared", default=str(ROOT.parent / "shared"))
    parser.add_argument("--scratch", default="/tmp/md-speciesnet")
    parser.add_argument("--binary", default=str(ROOT / ".build" / "release" / "megadetector"))
    args = parser.parse_args()
    scratch = Path(args.scratch)
    scratch.mkdir(parents=True, exist_ok=True)
    if not (scratch / "effnetv2m.onnx").exists():
        subprocess.run([args.tf_python, "-c", KERAS_PART, str(scratch), args.shared], check=True)
    import onnx
    import onnx2torch
    import torch
    module = onnx2torch.convert(onnx.load(scratch / "effnetv2m.onnx")).eval()
    torch.save(module, scratch / "effnetv2m.pt")
    x = torch.from_numpy(np.load(scratch / "input.npy"))
    x.numpy().astype("<f4").tofile(scratch / "input.f32")
    with torch.no_grad():
        module(x)
        start = time.perf_counter()
        torch32 = module(x).numpy().ravel()
        torch_seconds = time.perf_counter() - start
        torch64 = module.double()(x.double()).numpy().ravel()
    rows = [("PyTorch fp32", torch32, torch_seconds)]
    for name, path in [("ours, .pt (onnx2torch GraphModule)", scratch / "effnetv2m.pt"), ("ours, ONNX export", scratch / "effnetv2m.onnx")]:
        out = scratch / "ours.f32"
        run = subprocess.run([args.binary, "infer-raw", str(path), "--input", str(scratch / "input.f32"), "--shape", "1,480,480,3",
                              "--output", str(out), "--repeat", "3"], check=True, capture_output=True, text=True)
        # "forward seconds: first second third": the best of the warm passes.
        times = [float(value) for line in run.stdout.splitlines() if line.startswith("forward seconds:") for value in line.split(":")[1].split()]
        seconds = min(times[1:]) if len(times) > 1 else float("nan")
        rows.append((name, np.fromfile(out, dtype="<f4"), seconds))
    top = list(np.argsort(-torch64)[:5])
    print(f"EfficientNetV2-M, 2498 classes, 480x480, random weights with calibrated BatchNorm; logits up to {np.abs(torch64).max():.3g}")
    print(f"{'run':40s} {'max |x - fp64|':>15s} {'top-5 = fp64':>13s} {'forward s':>10s}")
    for name, values, seconds in rows:
        print(f"{name:40s} {np.abs(values - torch64).max():15.3g} {str(list(np.argsort(-values)[:5]) == top):>13s} {seconds:10.2f}")


if __name__ == "__main__":
    main()
