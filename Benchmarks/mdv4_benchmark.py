#!/usr/bin/env python3
"""MegaDetector v4 (TF1 Faster R-CNN / InceptionResNetV2 frozen graph): `megadetector detect` next to
TensorFlow running the same full-size graph on the same 2048x1536 photo, side by side in one run.

The graph is the full-size random-weight export that Tests/Fixtures/mdv4/make_mdv4_fixtures.py leaves in its
scratch folder (/tmp/mdv4-export/full/export/frozen_inference_graph.pb, 242 MB, not committed): node for node
the structure of md_v4.1.0.pb. The photo is a 4:3 photo of ../shared/images scaled to 2048x1536, so the graph
resizes it to 600x800 as MegaDetector v4 does for most camera-trap photos.

Measured for each side, every process started afresh and timed by wall clock:
  - TensorFlow 2.15 (session with 2 intra-op and 2 inter-op threads, like our 2 threads): graph load, then per
    photo the time of PIL decode + session.run, over --runs runs after one warm-up run;
  - ours: `megadetector detect GRAPH FOLDER OUT --threads 2` over 1 photo and over --runs copies; per photo =
    (T(N) - T(1)) / (N - 1), start-up (graph load + one photo's set-up) = T(1) - per photo;
  - peak resident memory of each process (ru_maxrss of a wrapper's only child).
Also compares the detections: TF's outputs through the reference TFDetector's conventions next to ours.
Nothing is asserted.

Usage (the TF environment of ../shared/docs/mdv4-notes.md; a release build of ours):
    swift build -c release
    /root/tfref/bin/python Benchmarks/mdv4_benchmark.py [--graph PATH] [--runs 3]
"""
import argparse
import json
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_GRAPH = "/tmp/mdv4-export/full/export/frozen_inference_graph.pb"


def tensorflow_worker(graph_path, photo, runs):
    """Runs inside a child process: prints one JSON line with load and per-run seconds and the outputs."""
    import numpy as np
    import tensorflow as tf
    from PIL import Image

    start = time.perf_counter()
    graph_def = tf.compat.v1.GraphDef()
    graph_def.ParseFromString(Path(graph_path).read_bytes())
    graph = tf.Graph()
    with graph.as_default():
        tf.compat.v1.import_graph_def(graph_def, name="")
    config = tf.compat.v1.ConfigProto(intra_op_parallelism_threads=2, inter_op_parallelism_threads=2)
    session = tf.compat.v1.Session(graph=graph, config=config)
    load = time.perf_counter() - start
    times = []
    for run in range(runs + 1):
        start = time.perf_counter()
        image = np.asarray(Image.open(photo).convert("RGB"))[np.newaxis]
        scores, boxes = session.run(["detection_scores:0", "detection_boxes:0"], {"image_tensor:0": image})
        if run > 0:  # the first run is the warm-up
            times.append(time.perf_counter() - start)
    print(json.dumps({"load": load, "times": times, "scores": scores[0].tolist(), "boxes": boxes[0].tolist()}))


def measured(command):
    """Wall seconds, peak RSS in MiB and stdout of `command`, run under a wrapper whose only child it is."""
    wrapper = ("import resource, subprocess, sys, time\n"
               "start = time.perf_counter()\n"
               "done = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
               "elapsed = time.perf_counter() - start\n"
               "sys.stderr.write(done.stderr)\n"
               "if done.returncode: sys.exit(done.returncode)\n"
               "print(elapsed, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
               "print(done.stdout, end='')\n")
    done = subprocess.run([sys.executable, "-c", wrapper] + command, capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"{' '.join(command[:3])} ... failed:\n{done.stderr[-3000:]}")
    first, _, rest = done.stdout.partition("\n")
    elapsed, peak_kib = first.split()
    return float(elapsed), int(peak_kib) / 1024, rest


def make_photo(shared, scratch):
    from PIL import Image

    source = shared / "images" / "camera-traps" / "animl_IMAG0004_cougar.JPG"
    photo = scratch / "photo_2048x1536.jpg"
    Image.open(source).convert("RGB").resize((2048, 1536), Image.BILINEAR).save(photo, quality=92)
    return photo


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--tensorflow-worker":
        tensorflow_worker(sys.argv[2], sys.argv[3], int(sys.argv[4]))
        return
    parser = argparse.ArgumentParser()
    parser.add_argument("--graph", default=DEFAULT_GRAPH)
    parser.add_argument("--shared", default=str(ROOT.parent / "shared"))
    parser.add_argument("--scratch", default="/tmp/mdv4-bench")
    parser.add_argument("--binary", default=str(ROOT / ".build" / "release" / "megadetector"))
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--photo", help="a photo to use as it is, instead of the 2048x1536 one made from ../shared")
    args = parser.parse_args()
    if not Path(args.graph).exists():
        sys.exit(f"{args.graph} is missing: run Tests/Fixtures/mdv4/make_mdv4_fixtures.py (it leaves the full export there)")
    scratch = Path(args.scratch)
    scratch.mkdir(parents=True, exist_ok=True)
    photo = Path(args.photo).resolve() if args.photo else make_photo(Path(args.shared), scratch)
    folders = {}
    for count in (1, args.runs + 1):
        folder = scratch / f"photos_{count}"
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir()
        for index in range(count):
            (folder / f"photo_{index:02d}.jpg").symlink_to(photo)
        folders[count] = folder

    print(f"graph {args.graph} ({Path(args.graph).stat().st_size / 1e6:.1f} MB), photo {photo.name}, 2 threads")
    _, tf_peak, tf_out = measured([sys.executable, __file__, "--tensorflow-worker", args.graph, str(photo), str(args.runs)])
    tf_figures = json.loads(tf_out.strip().splitlines()[-1])
    tf_per_photo = sum(tf_figures["times"]) / len(tf_figures["times"])

    ours = {}
    for count, folder in folders.items():
        out = scratch / f"ours_{count}.json"
        ours[count] = measured([args.binary, "detect", args.graph, str(folder), str(out), "--threads", "2", "--quiet",
                                "--threshold", "0.0001"])
    many = args.runs + 1
    our_per_photo = (ours[many][0] - ours[1][0]) / (many - 1)
    our_startup = ours[1][0] - our_per_photo

    print(f"{'':28}{'s/photo':>10}{'start-up s':>12}{'peak MiB':>10}")
    print(f"{'TensorFlow 2.15 (session)':28}{tf_per_photo:10.2f}{tf_figures['load']:12.2f}{tf_peak:10.0f}"
          f"   runs: {', '.join(f'{t:.2f}' for t in tf_figures['times'])}")
    print(f"{'megadetector-swift detect':28}{our_per_photo:10.2f}{our_startup:12.2f}{max(o[1] for o in ours.values()):10.0f}"
          f"   T(1) {ours[1][0]:.2f} s, T({many}) {ours[many][0]:.2f} s")
    print(f"ratio TensorFlow / ours per photo: {tf_per_photo / our_per_photo:.2f}x")

    # The same detections? TF's outputs through the reference TFDetector's conventions (score above the
    # threshold, [xmin, ymin, w, h], truncated to 4 and 3 decimals) next to our entries, in order.
    def truncate(value, digits):
        factor = 10 ** digits
        return int(value * factor) / factor

    threshold = 0.0001
    reference = []
    for score, box in zip(tf_figures["scores"], tf_figures["boxes"]):
        if score > threshold:
            ymin, xmin, ymax, xmax = box
            reference.append((truncate(score, 3), [truncate(v, 4) for v in (xmin, ymin, xmax - xmin, ymax - ymin)]))
    results = json.loads((scratch / "ours_1.json").read_text())
    ours = [(d["conf"], d["bbox"]) for d in results["images"][0].get("detections", [])]
    pairs = list(zip(ours, reference))
    conf_error = max((abs(a[0] - b[0]) for a, b in pairs), default=float("nan"))
    box_error = max((abs(x - y) for a, b in pairs for x, y in zip(a[1], b[1])), default=float("nan"))
    print(f"detections: ours {len(ours)}, TensorFlow {len(reference)} (score > {threshold}); in order, largest confidence "
          f"difference {conf_error:.3f}, largest coordinate difference {box_error:.4f}")

if __name__ == "__main__":
    main()
