#!/usr/bin/env python3
"""Batch-service throughput and status-poll latency: one `megadetector serve` (no in-process
workers) and 1, 2 or 4 `megadetector worker` processes on its job store (SQLite, and PostgreSQL in a
throwaway local cluster where PostgreSQL is installed), next to a plain `megadetector detect` over the
same photos in the same run.

For each worker count: a fresh database, one job over N photos (copies of ../shared/images camera-trap
photos, or of the fixture photos), shards of --shard-size; the wall time from submission to
`completed`, photos per second, and the latency of `GET /v1/jobs/ID` polled every 50 ms while the job
runs (median and 95th percentile). Then, with wrk (Debian package `wrk`) where installed: the status
endpoint under load (wrk -t2 -c16 for --wrk-seconds) while one worker runs a job, requests/s and
latency percentiles. Nothing is asserted; figures are printed. On this 2-core machine more than 2
workers cannot run faster: they share the cores (each worker gets --threads 2/k, at least 1), and wrk
itself takes CPU from the server and the worker.

Usage (release build):
    swift build -c release
    python3 Benchmarks/service_benchmark.py [--photos 48] [--model Tests/Fixtures/detect/md_v5_tiny.pt] [--stores sqlite,postgres]
"""
import argparse
import glob
import os
import re
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


class Postgres:
    """A throwaway PostgreSQL cluster (as the tests start one); a new database per measurement."""

    def __init__(self, scratch):
        binaries = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
        if not binaries:
            raise RuntimeError("PostgreSQL is not installed")
        self.bin = Path(binaries[-1]).parent
        self.folder = scratch / "pg"
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder.mkdir(parents=True)
        shutil.chown(self.folder, "postgres")
        self.port = free_port()
        self.run("initdb", "-D", f"{self.folder}/data", "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
        self.run("pg_ctl", "-D", f"{self.folder}/data", "-l", f"{self.folder}/log", "-w", "-o",
                 f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.folder} -c fsync=off", "start")
        self.count = 0

    def run(self, program, *arguments):
        prefix = ["runuser", "-u", "postgres", "--"] if os.getuid() == 0 else []
        subprocess.run(prefix + [str(self.bin / program), *arguments], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def new_database(self):
        self.count += 1
        name = f"jobs{self.count}"
        self.run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", name)
        return f"postgres://postgres@127.0.0.1:{self.port}/{name}"

    def stop(self):
        self.run("pg_ctl", "-D", f"{self.folder}/data", "-w", "stop", "-m", "fast")


def new_sqlite(scratch, workers):
    database = scratch / f"jobs-{workers}.sqlite"
    for suffix in ("", "-wal", "-shm"):
        Path(str(database) + suffix).unlink(missing_ok=True)
    return str(database)


def wrk_load(port, job_id, seconds):
    """Requests/s and latency percentiles of GET /v1/jobs/ID under wrk, or None without wrk."""
    if shutil.which("wrk") is None:
        return None
    result = subprocess.run(["wrk", "-t2", "-c16", f"-d{seconds}s", "--latency", "-H", f"Authorization: Bearer {KEY}",
                             f"http://127.0.0.1:{port}/v1/jobs/{job_id}"], capture_output=True, text=True)
    figures = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", result.stdout).group(1))}
    for percentile in ("50", "90", "99"):
        match = re.search(rf"^\s+{percentile}%\s+([\d.]+)(us|ms|s)", result.stdout, re.MULTILINE)
        value, unit = float(match.group(1)), match.group(2)
        figures[f"p{percentile}"] = value / 1000 if unit == "us" else value * 1000 if unit == "s" else value
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", result.stdout)
    figures["non2xx"] = int(errors.group(1)) if errors else 0
    return figures


def run_service(binary, scratch, photos, model, workers, shard_size, database, wrk_seconds=0):
    keys = scratch / "keys"
    keys.write_text(f"bench {hashlib.sha256(KEY.encode()).hexdigest()}\n")
    port = free_port()
    server = subprocess.Popen([binary, "serve", "--database", database, "--root", str(photos), "--api-keys", str(keys),
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
        pool = [subprocess.Popen([binary, "worker", "--database", database, "--exit-when-idle", "--threads", str(threads),
                                  "--name", f"w{i}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for i in range(workers)]
        load = wrk_load(port, job["id"], wrk_seconds) if wrk_seconds else None
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
        return elapsed, latencies, results, load
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
    parser.add_argument("--stores", default="sqlite,postgres")
    parser.add_argument("--wrk-seconds", type=int, default=10)
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
    for store in args.stores.split(","):
        postgres = None
        if store == "postgres":
            try:
                postgres = Postgres(scratch)
            except (RuntimeError, subprocess.CalledProcessError, LookupError) as error:
                print(f"postgres: skipped ({error})")
                continue
        try:
            for workers in (1, 2, 4):
                database = postgres.new_database() if postgres else new_sqlite(scratch, workers)
                elapsed, latencies, results, _ = run_service(args.binary, scratch, photos, args.model, workers, args.shard_size, database)
                served = {image["file"]: image for image in results["images"]}
                same = sum(served.get(name) == image for name, image in expected.items())
                latencies.sort()
                p95 = latencies[min(len(latencies) - 1, int(0.95 * len(latencies)))]
                print(f"{store:8s} {workers} worker(s): {elapsed:7.2f} s   {args.photos / elapsed:6.2f} photos/s   "
                      f"x{detect_seconds / elapsed:.2f} of detect   poll median {statistics.median(latencies) * 1000:.1f} ms, "
                      f"p95 {p95 * 1000:.1f} ms ({len(latencies)} polls)   identical to detect: {same}/{len(expected)}")
            if args.wrk_seconds and shutil.which("wrk"):
                database = postgres.new_database() if postgres else new_sqlite(scratch, 99)
                _, _, _, load = run_service(args.binary, scratch, photos, args.model, 1, args.shard_size, database, args.wrk_seconds)
                print(f"{store:8s} status under wrk -t2 -c16 ({args.wrk_seconds} s, 1 worker running): {load['rps']:.0f} requests/s, "
                      f"latency p50 {load['p50']:.2f} ms, p90 {load['p90']:.2f} ms, p99 {load['p99']:.2f} ms, non-2xx {load['non2xx']}")
        finally:
            if postgres:
                postgres.stop()


if __name__ == "__main__":
    main()
