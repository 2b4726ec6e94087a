#!/usr/bin/env python3
"""bf16 fidelity of the peer: PyTorch's bf16 autocast (CPU) against PyTorch fp32 on the trained YOLOX-Nano
of ../shared/models, measured as Bf16FidelityTests measures ours: every readable photo of
../shared/images, YOLOX's preprocessing (BGR 0-255, OpenCV bilinear resize to fit 416x416 at the top
left, grey 114 padding), decode on strides 8/16/32, class-aware NMS at 0.45; every fp32 detection >= 0.1
is matched to the bf16 detection (from 0.05) of its class with the highest IoU (>= 0.5), and the worst
confidence and box coordinate errors (as fractions of the photo's width and height) are printed.
Nothing is asserted: this says what bf16 costs a peer on the same network.

Usage (reference environment: torch, onnx2torch, opencv-python-headless, numpy):
    VENV/bin/python Benchmarks/bf16_peer_fidelity.py [--shared ../shared]
"""
import argparse
from pathlib import Path

import cv2
import numpy as np
import torch
from onnx2torch import convert

SIZE = 416


def preprocess(image):
    ratio = min(SIZE / image.shape[0], SIZE / image.shape[1])
    resized = cv2.resize(image, (int(image.shape[1] * ratio), int(image.shape[0] * ratio)), interpolation=cv2.INTER_LINEAR)
    padded = np.full((SIZE, SIZE, 3), 114, dtype=np.uint8)
    padded[:resized.shape[0], :resized.shape[1]] = resized
    return torch.from_numpy(padded.transpose(2, 0, 1).astype(np.float32))[None], ratio


def iou(a, b):
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - w * h
    return w * h / union if union > 0 else 0.0


def detections(output, ratio, minimum):
    rows, candidates, row = output.reshape(-1, 85), [], 0
    for stride in (8, 16, 32):
        cells = SIZE // stride
        for gy in range(cells):
            for gx in range(cells):
                v = rows[row]
                row += 1
                index = int(np.argmax(v[5:]))
                score = float(v[4] * v[5 + index])
                if score < minimum:
                    continue
                cx, cy = (v[0] + gx) * stride, (v[1] + gy) * stride
                w, h = np.exp(v[2]) * stride, np.exp(v[3]) * stride
                candidates.append(((cx - w / 2) / ratio, (cy - h / 2) / ratio, (cx + w / 2) / ratio, (cy + h / 2) / ratio, score, index))
    kept = []
    for candidate in sorted(candidates, key=lambda c: -c[4]):
        if not any(k[5] == candidate[5] and iou(k, candidate) > 0.45 for k in kept):
            kept.append(candidate)
    return kept


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--shared", default=str(Path(__file__).resolve().parents[2] / "shared"))
    args = parser.parse_args()
    shared = Path(args.shared)
    torch.set_num_threads(2)
    model = convert(str(shared / "models" / "yolox_nano_416_coco.onnx")).eval()
    photos = sorted(p for folder in ("camera-traps", "everyday", "edge-cases") for p in (shared / "images" / folder).iterdir())
    count = compared = 0
    missing, worst_conf, worst_coord = [], 0.0, 0.0
    for path in photos:
        image = cv2.imread(str(path))
        if image is None:
            continue
        count += 1
        tensor, ratio = preprocess(image)
        with torch.no_grad():
            expected = detections(model(tensor).float().numpy(), ratio, 0.1)
            with torch.autocast("cpu", dtype=torch.bfloat16):
                actual = detections(model(tensor).float().numpy(), ratio, 0.05)
        height, width = image.shape[:2]
        for detection in expected:
            same = [a for a in actual if a[5] == detection[5]]
            best = max(same, key=lambda a: iou(a, detection), default=None)
            if best is None or iou(best, detection) < 0.5:
                missing.append(f"{path.name}: class {detection[5]} {detection[4]:.3f}")
                continue
            compared += 1
            worst_conf = max(worst_conf, abs(best[4] - detection[4]))
            worst_coord = max(worst_coord, abs(best[0] - detection[0]) / width, abs(best[2] - detection[2]) / width,
                              abs(best[1] - detection[1]) / height, abs(best[3] - detection[3]) / height)
    print(f"PyTorch {torch.__version__} bf16 autocast vs fp32, YOLOX-Nano, {count} photos: {compared} fp32 detections >= 0.1 compared, "
          f"{len(missing)} without a match, worst confidence error {worst_conf:.4f}, worst coordinate error {worst_coord:.4f}")
    if missing:
        print("without a match:", missing)


if __name__ == "__main__":
    main()
