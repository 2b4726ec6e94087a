#!/usr/bin/env python3
"""Time of `megadetector report` on a generated 100,000-image results file (sampling 500 photos to
render, 2 threads), next to the time to read and validate the same file. Prints figures only.

The photos are the shared camera-trap photos, referenced many times under different names through
a folder of symbolic links, so the report renders real images.
Usage: swift build -c release && python3 Benchmarks/report_benchmark.py [--images 100000]
"""
import argparse
import json
import os
import random
import subprocess
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=int, default=100_000)
    parser.add_argument("--shared", default=str(ROOT.parent / "shared"))
    parser.add_argument("--binary", default=str(ROOT / ".build" / "release" / "megadetector"))
    args = parser.parse_args()
    photos = sorted((Path(args.shared) / "images" / "camera-traps").glob("*"))
    rng = random.Random(0)
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        images = []
        for i in range(args.images):
            folder = f"site{i // 2000:03d}"
            name = f"{folder}/img{i:06d}.jpg"
            detections = []
            for _ in range(rng.choice([0, 0, 1, 1, 2, 3])):
                x, y = rng.random() * 0.8, rng.random() * 0.8
                detections.append({"category": rng.choice(["1", "1", "2", "3"]), "conf": round(rng.random(), 3),
                                   "bbox": [round(x, 4), round(y, 4), 0.1, 0.1]})
            detections.sort(key=lambda d: d["conf"], reverse=True)
            images.append({"file": name, "detections": detections})
        results = {"images": images, "detection_categories": {"1": "animal", "2": "person", "3": "vehicle"},
                   "info": {"format_version": "1.6", "detector": "md_v5a.0.1.pt",
                            "detector_metadata": {"typical_detection_threshold": 0.2}}}
        results_path = scratch / "results.json"
        results_path.write_text(json.dumps(results, indent=1))
        # Photos: only the sampled ones are read, but any may be; link every name to a real photo.
        links = scratch / "photos"
        for i in range(args.images):
            target = links / f"site{i // 2000:03d}" / f"img{i:06d}.jpg"
            target.parent.mkdir(parents=True, exist_ok=True)
            os.symlink(photos[i % len(photos)], target)
        start = time.perf_counter()
        subprocess.run([args.binary, "validate", str(results_path)], check=True, capture_output=True)
        validate = time.perf_counter() - start
        start = time.perf_counter()
        out = subprocess.run([args.binary, "report", str(results_path), str(scratch / "report"), "--images-dir", str(links),
                              "--num-images-to-sample", "500", "--workers", "2"], check=True, capture_output=True, text=True)
        report = time.perf_counter() - start
        size = results_path.stat().st_size / 1e6
        print(f"results file: {args.images} images, {size:.0f} MB")
        print(f"validate: {validate:.2f} s")
        print(f"report (500 photos rendered, 2 threads): {report:.2f} s")
        print(out.stdout.strip().splitlines()[0])


if __name__ == "__main__":
    main()
