#!/usr/bin/env python3
"""Where one forward pass of ours spends its time: oneDNN convolutions (by kernel and post-ops) against
everything else (layout conversions, concat, upsample, pooling, the Detect head), from oneDNN's own
per-primitive timings (DNNL_VERBOSE=1) on the last of a few repeated passes.

Usage (release build; the model and input from engine_benchmark.py's build_models, or any .pt/.onnx):
    python3 Benchmarks/profile_forward.py MODEL INPUT.u8 --shape 1,3,960,1280 [--threads 2] [--repeat 3]

Also prints any convolution that runs on oneDNN's reference kernel (`ref:`), which is a bug to fix:
that kernel is about a hundred times slower than the JIT ones.
"""
import argparse
import collections
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("model")
    parser.add_argument("input")
    parser.add_argument("--shape", default="1,3,960,1280")
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--binary", default=str(ROOT / ".build" / "release" / "megadetector"))
    args = parser.parse_args()
    environment = dict(os.environ, DNNL_VERBOSE="1")
    run = subprocess.run([args.binary, "infer-raw", args.model, "--input", args.input, "--shape", args.shape,
                          "--output", "/dev/null", "--threads", str(args.threads), "--repeat", str(args.repeat)],
                         capture_output=True, text=True, env=environment)
    if run.returncode != 0:
        sys.exit(f"infer-raw failed ({run.returncode}): {run.stderr[-2000:]}")
    lines = run.stdout.splitlines()
    forward = [float(value) for value in next(line for line in lines if line.startswith("forward seconds:")).split(":")[1].split()]
    verbose = [line for line in lines if line.split(",", 1)[0] in ("dnnl_verbose", "onednn_verbose")]
    executions = [line.split(",") for line in verbose if ",exec,cpu,convolution," in line]
    per_pass = len(executions) // args.repeat
    last = executions[-per_pass:]
    # Reorders of the last pass: the blocked copies staged around convolutions (weights are reordered at load).
    primitives = [line for line in verbose if ",exec,cpu,convolution," in line or ",exec,cpu,reorder," in line]
    first_of_last = [index for index, line in enumerate(primitives) if ",exec,cpu,convolution," in line][-per_pass]
    reorders = [float(line.split(",")[-1]) / 1000 for line in primitives[max(first_of_last - 1, 0):] if ",exec,cpu,reorder," in line]
    groups = collections.defaultdict(lambda: [0, 0.0])
    for fields in last:
        post_ops = next((field.split("attr-post-ops:")[1].split()[0] for field in fields if "attr-post-ops:" in field), "none")
        key = (fields[4], post_ops)
        groups[key][0] += 1
        groups[key][1] += float(fields[-1]) / 1000
    convolutions = sum(seconds for _, seconds in groups.values())
    print(f"forward passes (s): {' '.join(f'{value:.3f}' for value in forward)}; profiled the last one, {per_pass} convolutions")
    print(f"{'kernel':24s} {'post-ops':44s} {'count':>5s} {'seconds':>8s}")
    for (kernel, post_ops), (count, seconds) in sorted(groups.items(), key=lambda item: -item[1][1]):
        print(f"{kernel:24s} {post_ops:44s} {count:5d} {seconds:8.3f}")
    print(f"reorders to and from blocked data: {len(reorders)}, {sum(reorders):.3f} s")
    print(f"convolutions {convolutions:.3f} s, everything else {forward[-1] - convolutions:.3f} s "
          f"({100 * convolutions / forward[-1]:.0f} % in convolutions)")
    slow = [(kernel, post_ops) for (kernel, post_ops) in groups if kernel.startswith("ref")]
    if slow:
        print(f"WARNING: {sum(groups[key][0] for key in slow)} convolutions run on oneDNN's reference kernel: {slow}")


if __name__ == "__main__":
    main()
