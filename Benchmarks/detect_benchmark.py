#!/usr/bin/env python3
"""`megadetector detect` next to the reference package's CLI (run_detector_batch), same photos, same
model file (full-size MDv5a architecture with random weights, from engine_benchmark.py, or with --model
larch MDv1000-larch's, from Tests/Fixtures/ultralytics/generate_ultralytics_fixtures.py, or with --model
cedar MDv1000-cedar's, from Tests/Fixtures/yolov9/generate_yolov9_fixtures.py), same options.

Measures, for each tool, the wall time of a run over 1 photo and over N photos, and derives
per-photo time = (T(N) - T(1)) / (N - 1) and start-up = T(1) - per-photo time. Also compares the two
results files with `megadetector compare`. Nothing is asserted; figures are printed.

Usage (reference environment from ../shared/docs/reference-setup.md, release build of ours):
    swift build -c release
    VENV/bin/python Benchmarks/detect_benchmark.py [--photos 8] [--size 2048x1536] [--rounds 3] [--precisions fp32,int8]

--size picks only photos of that pixel size (users' photos are mostly 2048x1536 to 4000x3000);
without it the first N photos in name order are used, whatever their sizes. The photo sizes, the CPU
and each tool's peak memory (max RSS of the N-photo run) are printed with the figures.
"""
import os
import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "Benchmarks"))
# The environment as the user gave it. Importing yolov5 (engine_benchmark builds the model with it)
# sets OMP_NUM_THREADS to cores - 1 in this process: inherited, it ran both tools on one thread of two.
CLEAN_ENVIRONMENT = dict(os.environ)


def alternate(tools, rounds, scratch):
    """Runs each tool's command (a function of its output path) once per round, the tools taking turns, so
    that a slower or busier moment of the host falls on all of them; returns name -> [(seconds, peak MB,
    output path)] in round order."""
    runs = {name: [] for name in tools}
    for _ in range(rounds):
        for name, command in tools.items():
            output = scratch / (name.split(" ")[0] + ".json")
            elapsed, peak = timed(command(output))
            runs[name].append((elapsed, peak, output))
    return runs


def timed(command):
    """Wall time and peak resident memory (MB) of one run of `command`.

    The peak is the child's own VmHWM, read from /proc while it runs: the rusage `ru_maxrss` of a child
    includes the parent's resident size at the fork (Linux carries it across exec), which inflated every
    tool's figure by the benchmark's own memory (clips or models it holds)."""
    import tempfile
    errors = tempfile.TemporaryFile()  # a pipe nobody reads while polling could fill and block the tool
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=errors, env=CLEAN_ENVIRONMENT)
    peak_kb = 0
    while process.poll() is None:
        try:
            for line in Path(f"/proc/{process.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak_kb = max(peak_kb, int(line.split()[1]))
        except (FileNotFoundError, ProcessLookupError):
            pass
        time.sleep(0.02)
    elapsed = time.perf_counter() - start
    if process.returncode != 0:
        errors.seek(0)
        raise SystemExit(f"{command[0]} failed ({process.returncode}): {errors.read().decode()[-2000:]}")
    return elapsed, peak_kb / 1024


def photo_size(path):
    from PIL import Image
    try:
        with Image.open(path) as image:
            return image.size
    except Exception:
        return None


def cpu_model():
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown CPU"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--shared", default=str(ROOT.parent / "shared"))
    parser.add_argument("--scratch", default="/tmp/md-bench")
    parser.add_argument("--binary", default=str(ROOT / ".build" / "release" / "megadetector"))
    parser.add_argument("--photos", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=1, help="alternate the tools this many times; medians are printed")
    parser.add_argument("--size", help="only photos of this size, WIDTHxHEIGHT (e.g. 2048x1536)")
    parser.add_argument("--model", default="mdv5a", choices=["mdv5a", "larch", "sorrel", "cedar"],
                        help="mdv5a: MDv5a's architecture at 1280; larch: MDv1000-larch's (ultralytics YOLO11-L at 640); sorrel: YOLO11-s at 960 (sorrel's size; the scale "
                             "is a guess); "
                             "cedar: MDv1000-cedar's (YOLOv9-c as trained in the yolov9 repository, at 640)")
    parser.add_argument("--precisions", default="fp32",
                        help="our precisions to run, comma-separated (fp32,int8); int8 is calibrated once on the N photos first")
    args = parser.parse_args()
    import engine_benchmark
    scratch = Path(args.scratch)
    scratch.mkdir(parents=True, exist_ok=True)
    if args.model == "mdv5a":
        model, _, _ = engine_benchmark.build_models(scratch, Path(args.shared))
        description = "MDv5a architecture (random weights)"
    elif args.model == "cedar":
        # In its own process: yolov9pip and yolov5 (imported for mdv5a) both install a `models` package.
        model = scratch / "md_v1000_cedar_random.pt"
        if not model.exists():
            subprocess.run([sys.executable, str(ROOT / "Tests" / "Fixtures" / "yolov9" / "generate_yolov9_fixtures.py"),
                            "--shared", args.shared, "--full-size-into", str(scratch)], check=True, env=CLEAN_ENVIRONMENT)
        description = "MDv1000-cedar architecture (YOLOv9-c, yolov9 repository layout, random weights)"
    else:
        sys.path.insert(0, str(ROOT / "Tests" / "Fixtures" / "ultralytics"))
        import generate_ultralytics_fixtures
        model = scratch / f"md_v1000_{args.model}_random.pt"
        if not model.exists():
            model = generate_ultralytics_fixtures.make_full_size(args.model, scratch, Path(args.shared))
        description = f"MDv1000-{args.model} architecture (ultralytics, random weights)"
    photos = sorted((Path(args.shared) / "images" / "camera-traps").glob("*"))
    if args.size:
        wanted = tuple(int(value) for value in args.size.lower().split("x"))
        photos = [photo for photo in photos if photo_size(photo) == wanted]
    photos = photos[: args.photos]
    if len(photos) < 2:
        raise SystemExit(f"need at least 2 photos, found {len(photos)}")
    folders = {}
    for count in (1, len(photos)):
        folder = scratch / f"photos_{count}"
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir()
        for photo in photos[:count]:
            (folder / photo.name).symlink_to(photo)
        folders[count] = folder
    options = ["--threshold", "0.005", "--recursive"]
    def ours(precision):
        extra = [] if precision == "fp32" else ["--precision", precision]
        if precision == "int8":
            table = scratch / "int8_calibration.json"
            subprocess.run([args.binary, "calibrate", str(model), str(folders[len(photos)]), "--output", str(table)],
                           check=True, env=CLEAN_ENVIRONMENT, stdout=subprocess.DEVNULL)
            extra += ["--calibration", str(table)]
        return lambda folder, out: [args.binary, "detect", str(model), str(folder), str(out), "--quiet",
                                    "--output-relative-filenames"] + options + extra
    tools = {("megadetector-swift" if precision == "fp32" else f"megadetector-swift {precision}"): ours(precision)
             for precision in args.precisions.split(",")}
    tools.update({
        "reference (megadetector 10.0.28)": lambda folder, out: [sys.executable, "-m", "megadetector.detection.run_detector_batch",
                                                                 str(model), str(folder), str(out), "--quiet",
                                                                 "--output_relative_filenames"] + options,
    })
    # The tools alternate, round after round, so that a slow spell of a shared host (we have seen the
    # same run take twice as long ten minutes later) falls on both; each figure is the median of its rounds.
    runs = {name: [] for name in tools}
    for _ in range(args.rounds):
        for name, command in tools.items():
            one, _ = timed(command(folders[1], scratch / "one.json"))
            many_output = scratch / (name.replace(" ", "_").split("(")[0] + ".json")
            many, peak = timed(command(folders[len(photos)], many_output))
            per_photo = (many - one) / (len(photos) - 1)
            runs[name].append((per_photo, one - per_photo, many, many_output, peak))
    figures = {}
    for name, rounds in runs.items():
        per_photos = sorted(run[0] for run in rounds)
        median = rounds[[run[0] for run in rounds].index(per_photos[len(per_photos) // 2])]
        figures[name] = median
        if len(rounds) > 1:
            print(f"{name}: per photo in each round (s): {' '.join(f'{run[0]:.2f}' for run in rounds)}")
    sizes = sorted({f"{size[0]}x{size[1]}" for size in map(photo_size, photos) if size})
    print(f"{len(photos)} camera-trap photos from ../shared/images/camera-traps ({', '.join(sizes)}), "
          f"{description}, {os.cpu_count()} cores of {cpu_model()}, threshold 0.005")
    print(f"{'tool':36s} {'per photo s':>12s} {'start-up s':>11s} {'total s':>8s} {'peak MB':>8s}")
    for name, (per_photo, startup, total, _, peak) in figures.items():
        print(f"{name:36s} {per_photo:12.2f} {startup:11.2f} {total:8.2f} {peak:8.0f}")
    reference = figures["reference (megadetector 10.0.28)"]
    for name, ours_figures in figures.items():
        if not name.startswith("megadetector-swift"):
            continue
        print(f"ratio reference / {name}: per photo {reference[0] / ours_figures[0]:.2f}x, "
              f"start-up {reference[1] / max(ours_figures[1], 1e-3):.2f}x")
        comparison = subprocess.run([args.binary, "compare", str(ours_figures[3]), str(reference[3])], capture_output=True,
                                    text=True, env=CLEAN_ENVIRONMENT)
        print(comparison.stdout.strip())


if __name__ == "__main__":
    main()
