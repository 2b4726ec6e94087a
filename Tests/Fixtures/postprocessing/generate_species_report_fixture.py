#!/usr/bin/env python3
"""The reference report's species section on run_md_and_speciesnet output (megadetector's
postprocess_batch_results): the species links with their sampled-photo counts and the whole file's
detections per species, read from the index page it writes.

Input: Tests/Fixtures/speciesnet/expected_md_speciesnet_default.json and ../shared/images (every photo
sampled). Output: expected_species_report.json. Usage: REFERENCE_PYTHON generate_species_report_fixture.py
"""
import json
import re
import sys
import tempfile
from importlib.metadata import version
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
RESULTS = ROOT / "Tests" / "Fixtures" / "speciesnet" / "expected_md_speciesnet_default.json"


def main():
    from megadetector.postprocessing.postprocess_batch_results import PostProcessingOptions, process_batch_results
    shared = Path(sys.argv[sys.argv.index("--shared") + 1]) if "--shared" in sys.argv else ROOT.parent / "shared"
    with tempfile.TemporaryDirectory() as scratch:
        options = PostProcessingOptions()
        options.md_results_file = str(RESULTS)
        options.output_dir = scratch
        options.image_base_dir = str(shared / "images")
        options.num_images_to_sample = -1
        options.parallelize_rendering = False
        options.confidence_threshold = 0.2
        process_batch_results(options)
        index = (Path(scratch) / "index.html").read_text()
    species = index[index.index("Species classification results"):]
    links, footer = species.split("Category counts", 1)
    expected = {
        "generator": "Tests/Fixtures/postprocessing/generate_species_report_fixture.py",
        "megadetector": version("megadetector"),
        "input": "Tests/Fixtures/speciesnet/expected_md_speciesnet_default.json",
        "confidence_threshold": 0.2,
        "species_links": {name: int(count) for _, name, count in re.findall(r'<a href="([^"]+)\.html">([^<]+)</a> \((\d+)\)', links)},
        "species_counts": {name: int(count) for name, count in re.findall(r"^([^<>\n]+): (\d+)<br/>", footer, re.MULTILINE)},
    }
    (HERE / "expected_species_report.json").write_text(json.dumps(expected, indent=1) + "\n")
    print(expected)


if __name__ == "__main__":
    main()
