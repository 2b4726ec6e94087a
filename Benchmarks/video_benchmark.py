#!/usr/bin/env python3
"""`megadetector detect` on clips next to the reference package's `process_video`, same clips, same
model file, same sampling. Camera-trap clips are made from ../shared/images photos (a slow pan, H.264,
30 fps, 1920x1080 by default: what most traps record), so the decoder has real work to do.

Measures for each tool the wall time of a run over all clips (start-up included), and prints frames
decoded and frames inferred per second, peak memory (max RSS) and the ratio. Also compares the results
files. Nothing is asserted.

Usage (reference environment from ../shared/docs/reference-setup.md plus PyAV, release build of ours):
    swift build -c release
    VENV/bin/python Benchmarks/video_benchmark.py [--model tiny|larch] [--clips 2] [--seconds 10] [--frame-sample 10] [--rounds 2]

--model tiny is the repository's small test model (md_v5_tiny.pt): inference is cheap, so the figure is
mostly decoding and the pipeline around it (the check that decoding is not the bottleneck). --model larch
is MDv1000-larch's architecture with random weights (ultralytics YOLO11-L at 640, made as in
detect_benchmark.py): a figure for what a user waits for.
"""
import argparse
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "Benchmarks"))
sys.path.insert(0, str(ROOT / "Tests" / "Fixtures" / "video"))
CLEAN_ENVIRONMENT = dict(os.environ)

from detect_benchmark import alternate, cpu_model  # noqa: E402


def make_clips(folder, shared, count, seconds, width, height):
    import generate_video_fixtures as clips
    photos = sorted((shared / "images" / "camera-traps").glob("*.JPG"))[:count]
    folder.mkdir(parents=True, exist_ok=True)
    made = []
    for index, photo in enumerate(photos):
        path = folder / f"clip_{index}_{width}x{height}.mp4"
        if not path.exists():
            clips.encode(path, clips.panning_frames(photo, width, height, int(30 * seconds)), "libx264", 30, "yuv420p",
                         {"crf": "23", "threads": "2"})
        made.append(path)
    return made


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--shared", default=str(ROOT.parent / "shared"))
    parser.add_argument("--scratch", default="/tmp/md-video-bench")
    parser.add_argument("--binary", default=str(ROOT / ".build" / "release" / "megadetector"))
    parser.add_argument("--model", default="tiny", choices=["tiny", "larch"])
    parser.add_argument("--clips", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--size", default="1920x1080")
    parser.add_argument("--frame-sample", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=1, help="alternate the tools this many times; medians are printed")
    args = parser.parse_args()
    scratch = Path(args.scratch)
    width, height = (int(value) for value in args.size.lower().split("x"))
    clips = make_clips(scratch / "clips", Path(args.shared), args.clips, args.seconds, width, height)
    if args.model == "tiny":
        model = ROOT / "Tests" / "Fixtures" / "detect" / "md_v5_tiny.pt"
        description = "the repository's tiny MDv5-architecture test model (1280)"
    else:
        sys.path.insert(0, str(ROOT / "Tests" / "Fixtures" / "ultralytics"))
        import generate_ultralytics_fixtures
        model = Path("/tmp/md-bench") / "md_v1000_larch_random.pt"
        if not model.exists():
            model = generate_ultralytics_fixtures.make_full_size("larch", Path("/tmp/md-bench"), Path(args.shared))
        description = "MDv1000-larch architecture (ultralytics YOLO11-L at 640, random weights)"
    folder = scratch / "clips"
    sampling = ["--frame-sample", str(args.frame_sample)]
    tools = {
        "megadetector-swift": lambda out: [args.binary, "detect", str(model), str(folder), str(out), "--quiet",
                                           "--output-relative-filenames"] + sampling,
        "reference process_video (megadetector 10.0.28)": lambda out: [
            sys.executable, "-m", "megadetector.detection.process_video", str(model), str(folder),
            "--output_json_file", str(out), "--frame_sample", str(args.frame_sample)],
    }
    runs = alternate(tools, args.rounds, scratch)
    frames = int(30 * args.seconds) * len(clips)
    inferred = sum(len(range(0, int(30 * args.seconds), args.frame_sample)) for _ in clips)
    print(f"{len(clips)} clips of {args.seconds:g} s, {width}x{height} H.264 at 30 fps ({frames} frames, {inferred} inferred with "
          f"--frame-sample {args.frame_sample}), {description}, {os.cpu_count()} cores of {cpu_model()}")
    print(f"{'tool':48s} {'wall s':>8s} {'decoded fps':>12s} {'inferred fps':>13s} {'peak MB':>8s}")
    medians = {}
    for name, rounds in runs.items():
        elapsed = sorted(run[0] for run in rounds)[len(rounds) // 2]
        run = next(run for run in rounds if run[0] == elapsed)
        medians[name] = run
        if len(rounds) > 1:
            print(f"{name}: wall time in each round (s): {' '.join(f'{r[0]:.2f}' for r in rounds)}")
        print(f"{name:48s} {elapsed:8.2f} {frames / elapsed:12.1f} {inferred / elapsed:13.2f} {run[1]:8.0f}")
    ours, reference = medians["megadetector-swift"], medians["reference process_video (megadetector 10.0.28)"]
    print(f"ratio reference / ours (wall time, start-up included): {reference[0] / ours[0]:.2f}x")
    comparison = subprocess.run([args.binary, "compare", str(ours[2]), str(reference[2])], capture_output=True, text=True)
    print(comparison.stdout.strip())


if __name__ == "__main__":
    main()
