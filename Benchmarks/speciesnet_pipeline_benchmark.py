#!/usr/bin/env python3
"""The whole MegaDetector + SpeciesNet pipeline, side by side: the reference's
`python -m megadetector.detection.run_md_and_speciesnet` (megadetector 10.0.28, speciesnet 5.0.6) and
ours, `megadetector detect DETECTOR PHOTOS OUT.json --classifier FOLDER [--country C]`, same photos,
same detector file, same SpeciesNet model folder, on the CPU.

Measures, for each tool, the wall time of one run over the N photos (start-up, both models' loading,
detection and classification included; s/photo = total / N), its peak memory (the child's VmHWM, as
detect_benchmark.py reads it), and how many detections got "classifications". Then checks that the two
results agree: detections of the reference >= 0.1 are paired with ours (same category, IoU >= 0.5 or
corners within 0.01) and their classification labels (top-2, by full taxonomy string) compared; an
unpaired detection disagrees. Nothing is asserted.

--classifier tiny: Tests/Fixtures/speciesnet/model as is (a small SpeciesNet-like net, 7 labels) with the
repository's tiny MDv5 test detector: a cheap check of the pipeline around the models.
--classifier full: SpeciesNet's architecture at full size with random weights (EfficientNetV2-M, 2498
outputs, 480x480: /tmp/md-speciesnet/effnetv2m.pt from speciesnet_full_size.py) in a model folder made
once under --scratch (the fixture's 7 labels then 2491 generated ones, with a taxonomy and a geofence
that cover them), with MDv5a's architecture (random weights, calibrated statistics) as detector.

The tools alternate for --rounds rounds (medians printed), each given --threads compute threads
(ours: --threads; the reference: OMP_NUM_THREADS / MKL_NUM_THREADS, which torch honours) and the CPU
(CUDA_VISIBLE_DEVICES empty). The reference keeps its own default of 4 loader (preprocessing) threads
unless --loader-workers says otherwise.

Usage (reference environment with speciesnet, release build of ours):
    swift build -c release
    VENV/bin/python Benchmarks/speciesnet_pipeline_benchmark.py --classifier tiny --count 3 --skip 3 --rounds 1
    VENV/bin/python Benchmarks/speciesnet_pipeline_benchmark.py --classifier full --count 8 --rounds 3 --country KEN

--count N --skip K takes photos K+1..K+N of --photos in name order (the tiny detector finds nothing >= 0.1,
so nothing to classify, in the first three shared photos); --binary picks our executable (a copy, while
the release build is being rebuilt); --prepare-only makes the model and photo folders and stops.
"""
import argparse
import json
import os
import shutil
import sys
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "Benchmarks"))
import detect_benchmark  # noqa: E402
from detect_benchmark import alternate, photo_size, cpu_model  # noqa: E402

FIXTURE_MODEL = ROOT / "Tests" / "Fixtures" / "speciesnet" / "model"
FULL_OUTPUTS = 2498


def generated_taxa(count):
    """`count` species labels (uuid;class;order;family;genus;species;common name) in a regular tree,
    4 species a genus, 5 genera a family, 5 families an order, orders alternately mammals and birds,
    and the ancestors the taxonomy needs for roll-up."""
    species, ancestors = [], {}
    for index in range(count):
        genus, family, order = index // 4, index // 20, index // 100
        klass = "mammalia" if order % 2 == 0 else "aves"
        parts = [klass, f"ordo{order}", f"familia{family}", f"genus{genus}", f"species{index}"]
        identifier = lambda text: str(uuid.uuid5(uuid.NAMESPACE_URL, "md-bench/" + text))
        species.append(f"{identifier(';'.join(parts))};{';'.join(parts)};generated species {index}")
        for depth, name in [(4, f"genus{genus} species"), (3, f"familia{family} family"), (2, f"ordo{order} order")]:
            key = ";".join(parts[:depth] + [""] * (5 - depth))
            ancestors[key] = f"{identifier(key)};{key};{name}"
    return species, list(ancestors.values())


def full_model_folder(scratch, classifier):
    """A SpeciesNet model folder around the full-size random-weight classifier, made once."""
    folder = scratch / "model_full"
    if (folder / "info.json").exists():
        return folder
    building = scratch / "model_full.partial"
    shutil.rmtree(building, ignore_errors=True)
    building.mkdir(parents=True)
    try:
        os.link(classifier, building / "effnetv2m.pt")  # 220 MB: a hard link where the filesystem allows it
    except OSError:
        shutil.copyfile(classifier, building / "effnetv2m.pt")
    labels = (FIXTURE_MODEL / "labels.txt").read_text().splitlines()
    species, ancestors = generated_taxa(FULL_OUTPUTS - len(labels))
    (building / "labels.txt").write_text("\n".join(labels + species) + "\n")
    taxonomy = (FIXTURE_MODEL / "taxonomy_release.txt").read_text().splitlines()
    taxonomy += ["b1352069-a39c-4a84-a949-60044271c0c1;aves;;;;;bird"] + ancestors + species
    (building / "taxonomy_release.txt").write_text("\n".join(taxonomy) + "\n")
    geofence = json.loads((FIXTURE_MODEL / "geofence_release.json").read_text())
    for index, label in enumerate(species):
        key = ";".join(label.split(";")[1:6])
        if index % 5 == 0:  # a fifth of the species live only somewhere, half of those in Kenya
            geofence[key] = {"allow": {"KEN": [], "TZA": []} if index % 10 == 0 else {"USA": [], "CAN": ["BC"]}}
        elif index % 7 == 0:
            geofence[key] = {"block": {"KEN": [], "GBR": []}}
    (building / "geofence_release.json").write_text(json.dumps(geofence, indent=1) + "\n")
    info = json.loads((FIXTURE_MODEL / "info.json").read_text())
    info.update(version="4.0.3a-bench-random", classifier="effnetv2m.pt")
    (building / "info.json").write_text(json.dumps(info, indent=1) + "\n")
    building.rename(folder)
    return folder


def labelled(results, folder):
    """{relative file: [(category, bbox, conf, labels or None)]} with labels as full taxonomy strings."""
    names = dict(results.get("classification_categories", {}))
    names.update(results.get("classification_category_descriptions", {}))
    images = {}
    for image in results["images"]:
        name = image["file"]
        name = os.path.relpath(name, folder) if os.path.isabs(name) else name
        images[name] = [(d["category"], d["bbox"], d["conf"],
                         [names.get(c[0], c[0]) for c in d["classifications"]] if "classifications" in d else None)
                        for d in image.get("detections") or []]
    return images


def iou(a, b):
    width = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    height = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    inter = max(width, 0) * max(height, 0)
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union > 0 else 0.0


def agreement(ours, reference, threshold=0.1):
    """(agree, total) over detections >= threshold in either output, then the same over those that
    either tool classified (a detection neither classified agrees trivially)."""
    same = total = same_classified = classified = 0
    for name in set(ours) | set(reference):
        mine = [d for d in ours.get(name, []) if d[2] >= threshold]
        theirs = [d for d in reference.get(name, []) if d[2] >= threshold]
        total += max(len(mine), len(theirs))
        free = list(mine)
        for category, box, _, labels in sorted(theirs, key=lambda d: -d[2]):
            # Same category, and IoU >= 0.5 or corners within 0.01 (random detectors make zero-width boxes).
            distance = lambda d: max(abs(x - y) for x, y in zip(d[1], box))
            candidates = [d for d in free if d[0] == category and (iou(d[1], box) >= 0.5 or distance(d) <= 0.01)]
            match = min(candidates, key=distance) if candidates else None
            if match:
                free.remove(match)
                same += match[3] == labels
            if labels is not None or (match and match[3] is not None):
                classified += 1
                same_classified += bool(match) and match[3] == labels
        classified += sum(1 for d in free if d[3] is not None)
    return same, total, same_classified, classified


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--classifier", default="tiny", choices=["tiny", "full"])
    parser.add_argument("--full-classifier", default="/tmp/md-speciesnet/effnetv2m.pt")
    parser.add_argument("--detector", help="detector file (default: tiny: md_v5_tiny.pt; full: /tmp/md-bench/mdv5a_random_calm.pt)")
    parser.add_argument("--photos", default=str(ROOT.parent / "shared" / "images" / "camera-traps"))
    parser.add_argument("--count", type=int, default=8, help="use the first N photos in name order")
    parser.add_argument("--skip", type=int, default=0, help="after skipping this many")
    parser.add_argument("--rounds", type=int, default=1, help="alternate the tools this many times; medians are printed")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--loader-workers", type=int, help="the reference's --loader_workers (default: its own, 4)")
    parser.add_argument("--country", help="ISO 3166-1 alpha-3 code for geofencing, e.g. KEN")
    parser.add_argument("--scratch", default="/tmp/md-speciesnet-bench")
    parser.add_argument("--binary", default=str(ROOT / ".build" / "release" / "megadetector"))
    parser.add_argument("--prepare-only", action="store_true", help="make the model folder and photo folder, print them, stop")
    args = parser.parse_args()
    scratch = Path(args.scratch)
    scratch.mkdir(parents=True, exist_ok=True)
    if args.classifier == "tiny":
        model = FIXTURE_MODEL
        detector = Path(args.detector or ROOT / "Tests" / "Fixtures" / "detect" / "md_v5_tiny.pt")
        description = "tiny SpeciesNet-like classifier (7 labels), tiny MDv5 test detector"
    else:
        model = full_model_folder(scratch, Path(args.full_classifier))
        detector = Path(args.detector or "/tmp/md-bench/mdv5a_random_calm.pt")
        description = f"EfficientNetV2-M SpeciesNet-size classifier ({FULL_OUTPUTS} outputs, random weights), {detector.name}"
    photos = sorted(path for path in Path(args.photos).iterdir() if path.is_file())[args.skip: args.skip + args.count]
    folder = scratch / f"photos_{len(photos)}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    for photo in photos:
        (folder / photo.name).symlink_to(photo.resolve())
    if args.prepare_only:
        print(f"model folder {model} ({sum(1 for _ in open(model / 'labels.txt'))} labels), photos {folder}, detector {detector}")
        return
    threads = str(args.threads)
    detect_benchmark.CLEAN_ENVIRONMENT.update(OMP_NUM_THREADS=threads, MKL_NUM_THREADS=threads, CUDA_VISIBLE_DEVICES="")
    country = ["--country", args.country] if args.country else []
    workers = ["--loader_workers", str(args.loader_workers)] if args.loader_workers else []
    reference_name = "reference run_md_and_speciesnet (megadetector 10.0.28)"
    tools = {
        "megadetector-swift": lambda out: [args.binary, "detect", str(detector), str(folder), str(out), "--classifier", str(model),
                                           "--threads", threads, "--quiet", "--output-relative-filenames"] + country,
        reference_name: lambda out: [sys.executable, "-m", "megadetector.detection.run_md_and_speciesnet", str(folder), str(out),
                                     "--detector_model", str(detector), "--classification_model", str(model)] + workers + country,
    }
    runs = alternate(tools, args.rounds, scratch)
    medians = {}
    for name, rounds in runs.items():
        ordered = sorted(rounds, key=lambda run: run[0])
        medians[name] = (ordered[len(ordered) // 2][0], sorted(run[1] for run in rounds)[len(rounds) // 2], rounds[-1][2])
        if len(rounds) > 1:
            print(f"{name}: wall time in each round (s): {' '.join(f'{run[0]:.2f}' for run in rounds)}")
    results = {name: labelled(json.loads(Path(output).read_text()), folder) for name, (_, _, output) in medians.items()}
    sizes = sorted({f"{size[0]}x{size[1]}" for size in map(photo_size, photos) if size})
    print(f"{len(photos)} photos from {args.photos} ({', '.join(sizes)}), {description}, {args.threads} threads, "
          f"country {args.country or 'none'}, {os.cpu_count()} cores of {cpu_model()}")
    print()
    print("| tool | s/photo | total s | peak MB | detections classified | time ref/ours | peak ref/ours |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    reference = medians[reference_name]
    for name, (elapsed, peak, _) in medians.items():
        classified = sum(1 for detections in results[name].values() for d in detections if d[3] is not None)
        ratios = ("", "") if name == reference_name else (f"{reference[0] / elapsed:.2f}x", f"{reference[1] / peak:.2f}x")
        print(f"| {name} | {elapsed / len(photos):.2f} | {elapsed:.2f} | {peak:.0f} | {classified} | {ratios[0]} | {ratios[1]} |")
    same, total, same_classified, classified = agreement(results["megadetector-swift"], results[reference_name])
    print()
    print(f"classification labels (top 2) of detections >= 0.1: {same} of {total} agree; "
          f"{same_classified} of the {classified} that either tool classified")

if __name__ == "__main__":
    main()
