#!/usr/bin/env python3
"""Runs the reference package's post-processing tools on the detection fixtures and records what they
produce, for Tests/PostprocessingTests.

Run from the repository root with the reference environment (../shared/docs/reference-setup.md,
plus `pip install fastquadtree`, which repeat-detection elimination imports):
    VENV/bin/python Tests/Fixtures/postprocessing/generate_postprocessing_fixtures.py

Writes expected_separate.json: for each case, the arguments (ours and the reference's) and the
resulting folder tree (every folder and file, relative to the output folder); expected_subset.json:
for each subset case, the reference's options, our arguments and the text of every file written.
"""
import hashlib
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
    # run_md_and_speciesnet's output (species labels) on the shared camera-trap photos.
    "species": (ROOT / "Tests" / "Fixtures" / "speciesnet" / "expected_md_speciesnet_default.json", ROOT.parent / "shared" / "images"),
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
    # People and vehicles held above every confidence, so photos with animals land in animals/ and its
    # species folders (the random-weight detector sees people and vehicles everywhere).
    ("species", "species_folders", ["--animal_threshold", "0.2", "--human_threshold", "0.9995", "--vehicle_threshold", "0.9995",
                                    "--classification_thresholds", "sylvilagus species=0.25,human=0.1"],
     ["--animal-threshold", "0.2", "--person-threshold", "0.9995", "--vehicle-threshold", "0.9995",
      "--classification-thresholds", "sylvilagus species=0.25,human=0.1"]),
    ("species", "species_one_listed", ["--animal_threshold", "0.2", "--human_threshold", "0.9995", "--vehicle_threshold", "0.9995",
                                       "--classification_thresholds", "sylvilagus species=0.3"],
     ["--animal-threshold", "0.2", "--person-threshold", "0.9995", "--vehicle-threshold", "0.9995",
      "--classification-thresholds", "sylvilagus species=0.3"]),
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


# (name, reference options, our command-line arguments); input: expected_shared.json (works without
# ../shared: only the results file is read).
SUBSET_CASES = [
    ("query_and_confidence", {"query": "camera-traps/", "confidence_threshold": 0.3},
     ["--query", "camera-traps/", "--confidence-threshold", "0.3"]),
    ("starts_with_and_replace", {"query": "^edge-cases/", "replacement": "EDGE/"},
     ["--query", "^edge-cases/", "--replacement", "EDGE/"]),
    # Not compared: with a replacement and no query the reference writes the file unchanged (its query
    # step only runs when a query is given), although its option says "prepend"; we prepend.
    ("sizes_and_failures", {"minimum_detection_size": 0.001, "maximum_detection_size": 0.05, "remove_failed_images": True},
     ["--minimum-detection-size", "0.001", "--maximum-detection-size", "0.05", "--remove-failed-images"]),
    ("category_names", {"category_names_to_keep": {"animal": 0.25, "vehicle": 0.5}},
     ["--category-names-to-keep", "animal=0.25,vehicle=0.5"]),
    ("category_ids", {"categories_to_keep": ["2"]}, ["--categories-to-keep", "2"]),
    ("split_bottom_relative", {"split_folders": True, "make_folder_relative": True},
     ["--split-folders", "--make-folder-relative"]),
    ("split_n_from_top", {"split_folders": True, "split_folder_mode": "n_from_top", "split_folder_param": 0},
     ["--split-folders", "--split-folder-mode", "n_from_top", "--split-folder-param", "0"]),
]


def subset_cases():
    from megadetector.postprocessing.subset_json_detector_output import (SubsetJsonDetectorOutputOptions,
                                                                          subset_json_detector_output)
    results = SOURCES["shared"][0]
    cases = {}
    for name, settings, our_arguments in SUBSET_CASES:
        options = SubsetJsonDetectorOutputOptions()
        for key, value in settings.items():
            setattr(options, key, value)
        with tempfile.TemporaryDirectory() as scratch:
            output = Path(scratch) / ("out" if options.split_folders else "out.json")
            subset_json_detector_output(str(results), str(output), options)
            texts = {p.relative_to(output).as_posix(): p.read_text() for p in sorted(output.rglob("*.json"))} \
                if output.is_dir() else {"": output.read_text()}
            # The MD5 of each file's exact text (our output must be byte-identical) and its image count.
            files = {file: {"md5": hashlib.md5(text.encode()).hexdigest(), "images": len(json.loads(text)["images"])}
                     for file, text in texts.items()}
        cases[name] = {"reference_options": settings, "our_arguments": our_arguments, "files": files}
    return cases


def combine_case():
    """Split expected_shared.json by folder (paths kept), then combine the parts in a shuffled order."""
    from megadetector.postprocessing.combine_batch_outputs import combine_batch_output_files
    from megadetector.postprocessing.subset_json_detector_output import (SubsetJsonDetectorOutputOptions,
                                                                          subset_json_detector_output)
    with tempfile.TemporaryDirectory() as scratch:
        options = SubsetJsonDetectorOutputOptions()
        options.split_folders = True
        parts = Path(scratch) / "parts"
        subset_json_detector_output(str(SOURCES["shared"][0]), str(parts), options)
        order = ["everyday.json", "camera-traps.json", "edge-cases.json"]
        output = Path(scratch) / "combined.json"
        combine_batch_output_files([str(parts / name) for name in order], str(output))
        text = output.read_text()
    return {"split_arguments": ["--split-folders"], "order": order,
            "md5": hashlib.md5(text.encode()).hexdigest(), "images": len(json.loads(text)["images"])}


def combine_species_case():
    """Two run_md_and_speciesnet outputs with different species categories (roll-up on; no roll-up with raw
    scores), one per half of the camera-trap photos, combined: the second file's categories are merged
    into the first's by name. The failure texts run_md_and_speciesnet writes next to the detections of
    photos with uncroppable boxes are removed from the inputs, because the reference's merge validates
    its input and refuses them."""
    from megadetector.postprocessing.combine_batch_outputs import combine_batch_output_files
    speciesnet = ROOT / "Tests" / "Fixtures" / "speciesnet"
    names = []
    for index, (source, part) in enumerate([("expected_md_speciesnet_default.json", slice(0, 17)),
                                             ("expected_md_speciesnet_gbr_norollup_raw.json", slice(17, None))]):
        document = json.loads((speciesnet / source).read_text())
        document["images"] = document["images"][part]
        for image in document["images"]:
            image.pop("failure", None)
        name = f"combine_species_{'ab'[index]}.json"
        (HERE / name).write_text(json.dumps(document, indent=1) + "\n")
        names.append(name)
    with tempfile.TemporaryDirectory() as scratch:
        output = Path(scratch) / "combined.json"
        combine_batch_output_files([str(HERE / name) for name in names], str(output))
        text = output.read_text()
    combined = json.loads(text)
    return {"inputs": names, "md5": hashlib.md5(text.encode()).hexdigest(), "images": len(combined["images"]),
            "classification_categories": combined["classification_categories"]}


CONVERT_CASES = [
    ("report", ["megadetector.postprocessing.generate_csv_report", "{input}", "--output_file", "{output}",
                "--datetime_source", "{input}", "--folder_level_columns", "0,1"],
     ["--to", "report", "--datetime-source", "{input}", "--folder-level-columns", "0,1"]),
    ("report_threshold", ["megadetector.postprocessing.generate_csv_report", "{input}", "--output_file", "{output}",
                          "--detection_confidence_threshold", "0.5"],
     ["--to", "report", "--detection-confidence-threshold", "0.5"]),
    ("wi", ["megadetector.postprocessing.md_to_wi", "{input}", "{output}", "--base_folder", "/data/photos"],
     ["--to", "wi", "--base-folder", "/data/photos"]),
    # (name, reference command (module and arguments after input/output), our arguments)
    ("csv", ["megadetector.postprocessing.convert_output_format", "{input}", "--output_path", "{output}"], ["--to", "csv"]),
    ("coco", ["megadetector.postprocessing.md_to_coco", "{input}", "{output}", "0.15"], ["--to", "coco"]),
    ("coco_metadata_failures", ["megadetector.postprocessing.md_to_coco", "{input}", "{output}", "0.3",
                                "--preserve_nonstandard_metadata", "--include_failed_images"],
     ["--to", "coco", "--confidence-threshold", "0.3", "--preserve-nonstandard-metadata", "--include-failed-images"]),
]


# Converters on run_md_and_speciesnet output: the CSV's classification columns. (md_to_wi validates its input,
# and the reference's validator refuses this file: photos with both a failure and detections.)
# And speciesnet's own predictions.json (speciesnet 5.0.6's, Tests/Fixtures/speciesnet) to a MegaDetector file (speciesnet_to_md).
SPECIES_CONVERT_CASES = [
    ("csv_species", "Tests/Fixtures/speciesnet/expected_md_speciesnet_default.json",
     ["megadetector.postprocessing.convert_output_format", "{input}", "--output_path", "{output}"], ["--to", "csv"]),
    ("md_from_speciesnet", "Tests/Fixtures/speciesnet/expected_predictions_ken.json",
     ["megadetector.data_management.speciesnet_to_md", "{input}", "{output}"], ["--to", "md"]),
    ("md_from_speciesnet_full_image", "Tests/Fixtures/speciesnet/expected_predictions_full_image.json",
     ["megadetector.data_management.speciesnet_to_md", "{input}", "{output}", "--base_folder", "images"], ["--to", "md", "--base-folder", "images"]),
    ("md_from_speciesnet_failures", "Tests/Fixtures/speciesnet/expected_predictions_empty_crops.json",
     ["megadetector.data_management.speciesnet_to_md", "{input}", "{output}"], ["--to", "md"]),
]


def species_convert_cases():
    cases = {}
    for name, source, command, our_arguments in SPECIES_CONVERT_CASES:
        with tempfile.TemporaryDirectory() as scratch:
            output = Path(scratch) / ("out.csv" if name.startswith("csv") else "out.json")
            arguments = [part.format(input=ROOT / source, output=output) for part in command]
            subprocess.run([sys.executable, "-m", *arguments], check=True, capture_output=True, text=True)
            text = output.read_text()
        cases[name] = {"our_arguments": our_arguments, "input": source, "md5": hashlib.md5(text.encode()).hexdigest()}
    return cases


def convert_cases():
    """The reference converters' command lines on expected_shared.json. COCO annotation ids are random
    UUIDs and the description names the input path, so those are blanked for comparison."""
    cases = {}
    for name, command, our_arguments in CONVERT_CASES:
        with tempfile.TemporaryDirectory() as scratch:
            output = Path(scratch) / ("out.csv" if name in ("csv", "report", "report_threshold") else "out.json")
            # (the WI converter is byte-compared like the CSV)
            arguments = [part.format(input=SOURCES["shared"][0], output=output) for part in command]
            subprocess.run([sys.executable, "-m", *arguments], check=True, capture_output=True, text=True)
            text = output.read_text()
        if name in ("csv", "wi", "report", "report_threshold"):
            cases[name] = {"our_arguments": our_arguments, "md5": hashlib.md5(text.encode()).hexdigest()}
        else:
            coco = json.loads(text)
            coco["info"]["description"] = ""
            for annotation in coco["annotations"]:
                annotation["id"] = ""
            cases[name] = {"our_arguments": our_arguments, "normalised": coco}
    return cases | species_convert_cases()


def merge_cases():
    """merge_detections of a second model's run into the detection fixture's results. The reference's
    IoU asserts on zero-area boxes (which random test networks produce), so both inputs are first
    subset to boxes with area > 0; the inputs are written next to this script."""
    from megadetector.postprocessing.merge_detections import MergeDetectionsOptions, merge_detections
    from megadetector.postprocessing.subset_json_detector_output import (SubsetJsonDetectorOutputOptions,
                                                                          subset_json_detector_output)
    with tempfile.TemporaryDirectory() as scratch:
        raw = Path(scratch) / "p6.json"
        subprocess.run([sys.executable, "-m", "megadetector.detection.run_detector_batch",
                        str(ROOT / "Tests" / "Fixtures" / "engine" / "yolov5_p6_tiny.pt"), str(ROOT.parent / "shared" / "images"),
                        str(raw), "--recursive", "--output_relative_filenames", "--threshold", "0.3", "--quiet"],
                       check=True, capture_output=True, text=True)
        for source, name in ((raw, "merge_source.json"), (SOURCES["shared"][0], "merge_target.json")):
            options = SubsetJsonDetectorOutputOptions()
            options.minimum_detection_size = 1e-9
            options.overwrite_json_files = True
            subset_json_detector_output(str(source), str(HERE / name), options)
    cases = {}
    for name, settings, our_arguments in [
        ("defaults", {}, []),
        ("empty_only_thresholds", {"merge_empty_only": True, "source_confidence_thresholds": [0.5],
                                   "target_confidence_threshold": 0.3}, ["--merge-empty-only", "--source-confidence-thresholds", "0.5",
                                                                         "--target-confidence-threshold", "0.3"]),
        ("exclude_vehicles_marked", {"categories_to_exclude": ["3"], "iou_threshold": 0.3, "mark_copied_detections": True},
         ["--categories-to-exclude", "3", "--iou-threshold", "0.3", "--mark-copied-detections"]),
    ]:
        options = MergeDetectionsOptions()
        for key, value in settings.items():
            setattr(options, key, value)
        with tempfile.TemporaryDirectory() as scratch:
            output = Path(scratch) / "merged.json"
            merge_detections([str(HERE / "merge_source.json")], str(HERE / "merge_target.json"), str(output), options)
            text = output.read_text()
        cases[name] = {"reference_options": settings, "our_arguments": our_arguments,
                       "md5": hashlib.md5(text.encode()).hexdigest()}
    return cases


def labelme_case():
    """md_to_labelme on a copy of the synthetic photos: the MD5 of every .json it writes."""
    import shutil
    with tempfile.TemporaryDirectory() as scratch:
        photos = Path(scratch) / "photos"
        shutil.copytree(SOURCES["synthetic"][1], photos)
        subprocess.run([sys.executable, "-m", "megadetector.postprocessing.md_to_labelme", str(SOURCES["synthetic"][0]),
                        str(photos), "--confidence_threshold", "0.02"], check=True, capture_output=True, text=True)
        return {"our_arguments": ["--to", "labelme", "--confidence-threshold", "0.02"],
                "files": {p.name: hashlib.md5(p.read_bytes()).hexdigest() for p in sorted(photos.glob("*.json"))}}


def rde_input():
    """A results file over ../shared/images with synthetic detections: boxes that recur in every
    camera-trap photo (suspicious), in 25 (suspicious), in 10 (not), a large recurring box (too big
    to be suspicious) and unique boxes."""
    photos = sorted(p.relative_to(SOURCES["shared"][1]).as_posix() for p in (SOURCES["shared"][1] / "camera-traps").iterdir())
    photos += sorted(p.relative_to(SOURCES["shared"][1]).as_posix() for p in (SOURCES["shared"][1] / "everyday").iterdir())
    images = []
    for i, file in enumerate(photos):
        jitter = ((i * 7) % 5 - 2) * 0.0002
        detections = []
        if file.startswith("camera-traps/"):
            detections.append({"category": "1", "conf": round(0.3 + (i % 5) * 0.1, 3),
                               "bbox": [round(0.1 + jitter, 4), 0.2, 0.05, 0.08]})
            if i < 25:
                detections.append({"category": "3", "conf": 0.45, "bbox": [0.7, round(0.6 - jitter, 4), 0.1, 0.1]})
            if i % 3 == 0:
                detections.append({"category": "1", "conf": 0.8, "bbox": [0.4, 0.4, 0.05, 0.05]})
            detections.append({"category": "2", "conf": 0.6, "bbox": [0.0, 0.0, 0.6, 0.6]})
        detections.append({"category": "1", "conf": round(0.15 + (i % 7) * 0.1, 3),
                           "bbox": [round(0.05 * (i % 15), 4), round(0.03 * (i % 11), 4), 0.04, 0.06]})
        detections.sort(key=lambda d: d["conf"], reverse=True)
        images.append({"file": file, "detections": detections})
    results = {"images": images, "detection_categories": {"1": "animal", "2": "person", "3": "vehicle"},
               "info": {"format_version": "1.6", "detector": "synthetic", "detector_metadata": {
                   "megadetector_version": "unknown", "typical_detection_threshold": 0.2,
                   "conservative_detection_threshold": 0.1}}}
    (HERE / "rde_input.json").write_text(json.dumps(results, indent=1))


def negated(path):
    results = json.loads(Path(path).read_text())
    return sorted([image["file"], index] for image in results["images"]
                  for index, detection in enumerate(image.get("detections") or []) if detection["conf"] < 0)


def rde_cases():
    """find_repeat_detections + remove_repeat_detections: the detections negated when the review
    folder is kept whole, and when the vehicle group's review image is deleted."""
    from megadetector.postprocessing.repeat_detection_elimination import repeat_detections_core as core
    from megadetector.postprocessing.repeat_detection_elimination.remove_repeat_detections import remove_repeat_detections
    rde_input()
    cases = {}
    with tempfile.TemporaryDirectory() as scratch:
        options = core.RepeatDetectionOptions()
        options.imageBase = str(SOURCES["shared"][1])
        options.outputBase = scratch
        # (Its serial path fails on an unassigned pool; threads work.)
        options.nWorkers = 2
        options.parallelizationUsesThreads = True
        options.bRenderDetectionTiles = False
        result = core.find_repeat_detections(str(HERE / "rde_input.json"), None, options)
        filtering = Path(result.filterFile).parent
        index = json.loads(Path(result.filterFile).read_text())
        found = [{"category": d["category"], "bbox": d["bbox"], "instances": len(d["instances"])}
                 for directory in index["suspicious_detections"] for d in directory]
        output = Path(scratch) / "kept.json"
        remove_repeat_detections(str(HERE / "rde_input.json"), str(output), str(filtering))
        cases["all_kept"] = {"suspicious": found, "negated": negated(output)}
        vehicle = next(d for directory in index["suspicious_detections"] for d in directory if d["category"] == "3")
        (filtering / vehicle["sampleImageRelativeFileName"]).unlink()
        output = Path(scratch) / "vehicle_deleted.json"
        remove_repeat_detections(str(HERE / "rde_input.json"), str(output), str(filtering))
        cases["vehicle_deleted"] = {"negated": negated(output)}
    return cases


def crops_case():
    """create_crop_folder with rde_input.json over ../shared/images (its boxes all have an area; the
    reference fails on the zero-width boxes random test networks produce): each crop's name and size,
    and the MD5 of the results file with crop ids."""
    from megadetector.postprocessing.create_crop_folder import CreateCropFolderOptions, create_crop_folder
    from PIL import Image
    options = CreateCropFolderOptions()
    options.confidence_threshold = 0.5
    options.n_workers = 1
    with tempfile.TemporaryDirectory() as scratch:
        output = Path(scratch) / "crops"
        with_ids = Path(scratch) / "with_ids.json"
        create_crop_folder(str(HERE / "rde_input.json"), str(SOURCES["shared"][1]), str(output), str(with_ids), None, options)
        crops = {p.relative_to(output).as_posix(): list(Image.open(p).size) for p in sorted(output.rglob("*.jpg"))}
        return {"our_arguments": ["--confidence-threshold", "0.5"], "crops": crops,
                "with_ids_md5": hashlib.md5(with_ids.read_bytes()).hexdigest()}


def compare_case():
    """compare_batch_results (no ground truth) of the detection fixture's run against the second
    model's run (merge_source.json), thresholds 0.3 and 0.5: the photos in each class."""
    from megadetector.postprocessing import compare_batch_results as cbr
    with tempfile.TemporaryDirectory() as scratch:
        options = cbr.BatchComparisonOptions()
        options.output_folder = scratch
        options.image_folder = str(SOURCES["shared"][1])
        options.return_images_by_category = True
        options.parallelize_rendering_with_threads = True
        options.n_rendering_workers = 2
        pairwise = cbr.PairwiseBatchComparisonOptions()
        pairwise.results_filename_a = str(SOURCES["shared"][0])
        pairwise.results_filename_b = str(HERE / "merge_source.json")
        pairwise.detection_thresholds_a = {"default": 0.3}
        pairwise.detection_thresholds_b = {"default": 0.5}
        options.pairwise_options = [pairwise]
        results = cbr.compare_batch_results(options)
        classes = results.pairwise_results[0].categories_to_image_pairs
        return {"our_arguments": ["--thresholds", "0.3,0.5"],
                "classes": {name: sorted(pairs.keys()) for name, pairs in classes.items()}}


def main():
    expected = {
        "generator": "Tests/Fixtures/postprocessing/generate_postprocessing_fixtures.py",
        "megadetector": version("megadetector"),
        "sources": {"synthetic": ["Tests/Fixtures/detect/expected_synthetic.json", "Tests/Fixtures/detect/synthetic"],
                    "shared": ["Tests/Fixtures/detect/expected_shared.json", "../shared/images"],
                    "species": ["Tests/Fixtures/speciesnet/expected_md_speciesnet_default.json", "../shared/images"]},
        "separate": separate_cases(),
    }
    (HERE / "expected_separate.json").write_text(json.dumps(expected, indent=1) + "\n")
    subset = {"generator": expected["generator"], "megadetector": expected["megadetector"],
              "input": "Tests/Fixtures/detect/expected_shared.json", "cases": subset_cases(), "combine": combine_case(),
              "combine_species": combine_species_case()}
    (HERE / "expected_compare.json").write_text(json.dumps({"generator": expected["generator"], "case": compare_case()},
                                                            indent=1) + "\n")
    (HERE / "expected_rde.json").write_text(json.dumps({"generator": expected["generator"], "input": "rde_input.json",
                                                        "cases": rde_cases()}, indent=1) + "\n")
    (HERE / "expected_merge.json").write_text(json.dumps({"generator": expected["generator"], "cases": merge_cases()},
                                                          indent=1) + "\n")
    (HERE / "expected_convert.json").write_text(json.dumps({"generator": expected["generator"],
                                                            "megadetector": expected["megadetector"],
                                                            "input": "Tests/Fixtures/detect/expected_shared.json",
                                                            "cases": convert_cases(), "labelme": labelme_case(),
                                                            "crops": crops_case()},
                                                           indent=1) + "\n")
    (HERE / "expected_subset.json").write_text(json.dumps(subset, indent=1) + "\n")
    for name, case in subset["cases"].items():
        print(name, {file: entry["images"] for file, entry in case["files"].items()})
    for name, case in expected["separate"].items():
        folders = {}
        for entry in case["tree"]:
            if not entry.endswith("/"):
                folders[entry.split("/")[0]] = folders.get(entry.split("/")[0], 0) + 1
        print(name, folders)


if __name__ == "__main__":
    main()
