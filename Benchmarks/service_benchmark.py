#!/usr/bin/env python3
"""Batch-service throughput and status-poll latency: one `megadetector serve` (no in-process
workers) and 1, 2 or 4 `megadetector worker` processes on its SQLite database, next to a plain
`megadetector detect` over the same photos in the same run.

For each worker count: a fresh database, one job over N photos (copies of ../shared/images camera-trap
photos, or of the fixture photos), shards of --shard-size; the wall time from submission to
`completed`, photos per second, and the latency of `GET /v1/jobs/ID` polled every 50 ms while the job
runs (median and 95th percentile). Nothing is asserted; figures are printed. On this 2-core machine
more than 2 workers cannot run faster: they share the cores (each worker gets --threads 2/k, at least 1).

Usage (release build):
    swift build -c release
    python3 Benchmarks/service_benchmark.py [--photos 48] [--model Tests/Fixtures/detect/md_v5_tiny.pt]
"""
import argparse
import hashlib
import json
import shutil
import socket
import statistics
import subprocess
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
KEY = "benchmark-key"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(port, method, path, body=None):
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method,
                                     data=None if body is None else json.dumps(body).encode(),
                                     headers={"Authorization": f"Bearer {KEY}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def prepare_photos(scratch, shared, count):
    sources = sorted((shared / "images").rglob("*.jpg")) if (shared / "images").is_dir() else []
    sources = [p for p in sources if "edge" not in str(p)] or sorted((ROOT / "Tests/Fixtures/detect/synthetic").glob("*.jpg"))
    folder = scratch / "photos"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for index in range(count):
        source = sources[index % len(sources)]
        shutil.copy(source, folder / f"{index:05d}_{source.name}")
    return folder


def run_service(binary, scratch, photos, model, workers, shard_size):
    database = scratch / f"jobs-{workers}.sqlite"
    for suffix in ("", "-wal", "-shm"):
        Path(str(database) + suffix).unlink(missing_ok=True)
    keys = scratch / "keys"
    keys.write_text(f"bench {hashlib.sha256(KEY.encode()).hexdigest()}\n")
    port = free_port()
    server = subprocess.Popen([binary, "serve", "--database", str(database), "--root", str(photos), "--api-keys", str(keys),
                               "--model", model, "--port", str(port), "--workers", "0", "--shard-size", str(shard_size)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except OSError:
                time.sleep(0.05)
        threads = max(1, 2 // workers)
        start = time.perf_counter()
        job = call(port, "POST", "/v1/jobs", {"folder": "."})
        pool = [subprocess.Popen([binary, "worker", "--database", str(database), "--exit-when-idle", "--threads", str(threads),
                                  "--name", f"w{i}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for i in range(workers)]
        latencies = []
        while True:
            before = time.perf_counter()
            status = call(port, "GET", f"/v1/jobs/{job['id']}")
            latencies.append(time.perf_counter() - before)
            if status["status"] == "completed":
                break
            time.sleep(0.05)
        elapsed = time.perf_counter() - start
        for worker in pool:
            worker.wait(timeout=60)
        results = call(port, "GET", f"/v1/jobs/{job['id']}/results")
        return elapsed, latencies, results
    finally:
        server.terminate()
        server.wait(timeout=30)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--shared", default=str(ROOT.parent / "shared"))
    parser.add_argument("--scratch", default="/tmp/md-service-bench")
    parser.add_argument("--binary", default=str(ROOT / ".build" / "release" / "megadetector"))
    parser.add_argument("--model", default=str(ROOT / "Tests/Fixtures/detect/md_v5_tiny.pt"))
    parser.add_argument("--photos", type=int, default=48)
    parser.add_argument("--shard-size", type=int, default=8)
    args = parser.parse_args()
    scratch = Path(args.scratch)
    scratch.mkdir(parents=True, exist_ok=True)
    photos = prepare_photos(scratch, Path(args.shared), args.photos)

    start = time.perf_counter()
    output = scratch / "detect.json"
    subprocess.run([args.binary, "detect", args.model, str(photos), str(output), "--quiet"], check=True, capture_output=True)
    detect_seconds = time.perf_counter() - start
    expected = {image["file"]: image for image in json.loads(output.read_text())["images"]}
    print(f"photos: {args.photos}, model: {Path(args.model).name}, shard size: {args.shard_size}, cores: 2")
    print(f"detect (one process):   {detect_seconds:7.2f} s   {args.photos / detect_seconds:6.2f} photos/s")
    for workers in (1, 2, 4):
        elapsed, latencies, results = run_service(args.binary, scratch, photos, args.model, workers, args.shard_size)
        served = {image["file"]: image for image in results["images"]}
        same = sum(served.get(name) == image for name, image in expected.items())
        latencies.sort()
        p95 = latencies[min(len(latencies) - 1, int(0.95 * len(latencies)))]
        print(f"service, {workers} worker(s): {elapsed:7.2f} s   {args.photos / elapsed:6.2f} photos/s   "
              f"x{detect_seconds / elapsed:.2f} of detect   poll median {statistics.median(latencies) * 1000:.1f} ms, "
              f"p95 {p95 * 1000:.1f} ms ({len(latencies)} polls)   identical to detect: {same}/{len(expected)}")


if __name__ == "__main__":
    main()
