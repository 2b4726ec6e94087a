#!/usr/bin/env python3
"""Runs the reference package's post-processing tools on the detection fixtures and records what they
produce, for Tests/PostprocessingTests.

Run from the repository root with the reference environment (../shared/docs/reference-setup.md):
    VENV/bin/python Tests/Fixtures/postprocessing/generate_postprocessing_fixtures.py

Writes expected_separate.json: for each case, the arguments (ours and the reference's) and the
resulting folder tree (every folder and file, relative to the output folder).
"""
import json
import subprocess
import sys
import tempfile
from importlib.metadata import version
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
SOURCES = {
    "synthetic": (ROOT / "Tests" / "Fixtures" / "detect" / "expected_synthetic.json",
                  ROOT / "Tests" / "Fixtures" / "detect" / "synthetic"),
    "shared": (ROOT / "Tests" / "Fixtures" / "detect" / "expected_shared.json", ROOT.parent / "shared" / "images"),
}

# (source, name, reference arguments, our arguments)
SEPARATE_CASES = [
    ("shared", "shared_file_threshold", [], []),
    ("shared", "shared_per_class", ["--animal_threshold", "0.5", "--human_threshold", "0.3"],
     ["--animal-threshold", "0.5", "--person-threshold", "0.3"]),
    ("shared", "shared_skip_empty", ["--threshold", "0.4", "--skip_empty_images"], ["--threshold", "0.4", "--skip-empty"]),
    ("synthetic", "threshold_0.03", ["--threshold", "0.03"], ["--threshold", "0.03"]),
    ("synthetic", "per_class", ["--threshold", "0.03", "--animal_threshold", "0.05", "--human_threshold", "0.02"],
     ["--threshold", "0.03", "--animal-threshold", "0.05", "--person-threshold", "0.02"]),
    ("synthetic", "skip_empty", ["--threshold", "0.05", "--skip_empty_images"], ["--threshold", "0.05", "--skip-empty"]),
    ("synthetic", "file_default_threshold", [], []),
]


def tree(folder):
    entries = sorted(p.relative_to(folder).as_posix() + ("/" if p.is_dir() else "") for p in folder.rglob("*"))
    return entries


def separate_cases():
    cases = {}
    for source, name, reference_arguments, our_arguments in SEPARATE_CASES:
        results, photos = SOURCES[source]
        with tempfile.TemporaryDirectory() as scratch:
            output = Path(scratch) / "out"
            subprocess.run([sys.executable, "-m", "megadetector.postprocessing.separate_detections_into_folders",
                            str(results), str(photos), str(output), *reference_arguments],
                           check=True, capture_output=True, text=True)
            cases[name] = {"source": source, "reference_arguments": reference_arguments, "our_arguments": our_arguments,
                           "tree": tree(output)}
    return cases


def main():
    expected = {
        "generator": "Tests/Fixtures/postprocessing/generate_postprocessing_fixtures.py",
        "megadetector": version("megadetector"),
        "sources": {"synthetic": ["Tests/Fixtures/detect/expected_synthetic.json", "Tests/Fixtures/detect/synthetic"],
                    "shared": ["Tests/Fixtures/detect/expected_shared.json", "../shared/images"]},
        "separate": separate_cases(),
    }
    (HERE / "expected_separate.json").write_text(json.dumps(expected, indent=1) + "\n")
    for name, case in expected["separate"].items():
        folders = {}
        for entry in case["tree"]:
            if not entry.endswith("/"):
                folders[entry.split("/")[0]] = folders.get(entry.split("/")[0], 0) + 1
        print(name, folders)


if __name__ == "__main__":
    main()
