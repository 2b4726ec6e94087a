#!/usr/bin/env python3
"""Generates the fixtures for MDv1000-style model files that carry `megadetector_info.json`: the
detection fixture model with that entry added by the reference package's own
`add_metadata_to_megadetector_model_file` (which appends it deflate-compressed, as on the released
MDv1000 files), and what the reference's run_detector_batch computes with it (the metadata's image
size instead of MDv5's default 1280, as MDv1000-spruce's 640). 1024, not 640: this P6 fixture model
(stride 64) fails on 4:3 photos letterboxed to 640x480, in the reference as in ours.

Run from the repository root with the reference environment (../shared/docs/reference-setup.md):
    VENV/bin/python Tests/Fixtures/detect/generate_metadata_fixtures.py

Writes next to this script:
- md_v5_tiny_metadata_1024.pt: md_v5_tiny.pt plus megadetector_info.json {"model_type": "yolov5",
  "image_size": 1024}, deflated.
- md_v5_tiny_metadata_damaged.pt: the same with one byte of the deflated entry flipped (its CRC-32
  no longer matches): must be refused, not read past.
- expected_synthetic_metadata_1024.json: run_detector_batch on synthetic/ with the first file
  (threshold 0.005, recursive, relative filenames, image size and timestamp included).
- metadata_manifest.json: versions and commands.
"""
import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from importlib.metadata import version

from megadetector.detection.pytorch_detector import add_metadata_to_megadetector_model_file

HERE = Path(__file__).resolve().parent
METADATA = {"model_type": "yolov5", "image_size": 1024}


def main():
    source = HERE / "md_v5_tiny.pt"
    with_metadata = HERE / "md_v5_tiny_metadata_1024.pt"
    add_metadata_to_megadetector_model_file(str(source), str(with_metadata), METADATA)
    with zipfile.ZipFile(with_metadata) as archive:
        info = next(entry for entry in archive.infolist() if entry.filename.endswith("megadetector_info.json"))
        assert info.compress_type == zipfile.ZIP_DEFLATED, "the reference no longer deflates its metadata"
    damaged = HERE / "md_v5_tiny_metadata_damaged.pt"
    shutil.copyfile(with_metadata, damaged)
    with open(damaged, "r+b") as file:
        # The local header's extra field can differ from the central one: read its real length.
        file.seek(info.header_offset + 26)
        name_length, extra_length = (int.from_bytes(file.read(2), "little") for _ in range(2))
        data_offset = info.header_offset + 30 + name_length + extra_length
        file.seek(data_offset + info.compress_size // 2)
        byte = file.read(1)[0]
        file.seek(data_offset + info.compress_size // 2)
        file.write(bytes([byte ^ 0x01]))
    output = HERE / "expected_synthetic_metadata_1024.json"
    command = [sys.executable, "-m", "megadetector.detection.run_detector_batch", str(with_metadata), str(HERE / "synthetic"),
               str(output), "--recursive", "--output_relative_filenames", "--threshold", "0.005", "--include_image_size",
               "--include_image_timestamp", "--quiet"]
    subprocess.run(command, check=True, capture_output=True, text=True)
    import cv2
    import numpy
    import PIL
    import torch
    import yolov5
    manifest = {
        "generator": "Tests/Fixtures/detect/generate_metadata_fixtures.py",
        "metadata": METADATA,
        "reference_command": " ".join(["megadetector.detection.run_detector_batch", "MODEL", "FOLDER", "OUTPUT"] + command[6:]),
        "versions": {"megadetector": version("megadetector"), "torch": torch.__version__,
                     "yolov5": yolov5.__version__, "opencv": cv2.__version__, "pillow": PIL.__version__,
                     "numpy": numpy.__version__, "python": sys.version.split()[0]},
    }
    (HERE / "metadata_manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")


if __name__ == "__main__":
    main()
