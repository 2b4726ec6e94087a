#!/usr/bin/env python3
"""Generates the SpeciesNet ensemble and end-to-end fixtures: speciesnet 5.0.6's own
`combine_predictions` on data cases, and speciesnet's own `predictions.json` (format_version 20261015)
for the shared camera-trap photos, made with the committed test model folder (model/) and the test
detector (../detect/md_v5_tiny.pt).

Run from the repository root with the reference environment:
    VENV/bin/python Tests/Fixtures/speciesnet/generate_speciesnet_predictions.py [--shared SHARED]
        [--ensemble-only | --predictions-only | --instances-only]

SHARED is the shared data folder (default: the `shared` folder beside the repository); the photos are
SHARED/images/camera-traps/* (sorted by name) plus the unreadable
SHARED/images/edge-cases/animl_error_img_zero_bytes.JPG, last. The always_crop runs classify detections
at or above 0.5 and leave out the photos where speciesnet would crop such a detection to an empty image
(see DETECTION_THRESHOLD_FOR_CLASSIFICATION); the full_image run takes every photo.

Writes next to this script:
- expected_ensemble.json: `speciesnet.ensemble_prediction_combiner.combine_predictions` with the real
  `geofence_animal_classification` and `roll_up_labels_to_first_matching_level`, one detection per
  case. `cases` use the model folder's taxonomy (loaded as `speciesnet.ensemble._load_taxonomy_from_file`
  does; the loaded map is recorded as `model_taxonomy_map`) and geofence unless a case names other maps
  from `taxonomies` / `geofences` by its "taxonomy" / "geofence" key:
  - the single-item cases of speciesnet's ensemble_prediction_combiner_test.py ("name" starts with
    "combiner_test."), on that test's own taxonomy and geofence ("unit_test"); besides "expected" (the
    real functions) they carry "mocks" (the stub functions the test passes) and "expected_with_mocks"
    (what the test asserts); `mock_functions` gives what each stub returns (null: returns None);
  - a few hand-made cases for branches the model maps cannot reach ("name" starts with "branch.");
  - 400 seeded random cases: detection labels animal / human / vehicle with confidences on and around
    0.2 / 0.5 / 0.7, top-5 classes from the model taxonomy (and two labels outside it) with the top
    score on and around 0.4 / 0.5 / 0.65 / 0.8 / 0.99 (half the animal tops are the species the model
    geofence has rules for), countries None / USA / GBR / MEX / CAN / KEN and regions None / CA / NV
    (and TX with USA), geofencing mostly enabled.
  `batch_cases` are the test file's multi-item cases (several detections at once, an empty list, and a
  length mismatch that raises ValueError).
- expected_predictions_{default,ken,usa_ca,full_image}.json: speciesnet's own output of
  `SpeciesNet(model).predict(filepaths=..., run_mode="single_thread", batch_size=1,
  detection_threshold_for_classification=0.5, predictions_json=...)`
  (no country / country KEN / country USA + admin1_region CA / the same model folder with info.json
  "type": "full_image"), byte for byte as speciesnet wrote it except that the absolute photo paths are
  made relative to SHARED ("images/camera-traps/x.jpg").
- predictions_manifest.json: the calls, each run's photo order, the photos left out and why, the
  threshold and the versions.
"""
import importlib.metadata
import inspect
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from generate_speciesnet_fixtures import EXTRA_LABELS  # noqa: E402

BLANK = "f1856211-cfb7-4a5b-9158-c0f72fd09ee6;;;;;;blank"
HUMAN = "990ae9dd-7a59-4344-afcb-1b7b21368000;mammalia;primates;hominidae;homo;sapiens;human"
VEHICLE = "e2895ed5-780b-48f6-8a11-9e27cb594511;;;;;;vehicle"
ANIMAL = "1f689929-883d-4dae-958c-3d57ab5b6c16;;;;;;animal"

# The labels and maps of speciesnet's ensemble_prediction_combiner_test.py.
LION = "ddf59264-185a-4d35-b647-2785792bdf54;mammalia;carnivora;felidae;panthera;leo;lion"
PANTHERA_GENUS = "fbb23d07-6677-43db-b650-f99ac452c50f;mammalia;carnivora;felidae;panthera;;panthera species"
FELIDAE_FAMILY = "df8514b0-10a5-411f-8ed6-0f415e8153a3;mammalia;carnivora;felidae;;;cat family"
CARNIVORA_ORDER = "eeeb5d26-2a47-4d01-a3de-10b33ec0aee4;mammalia;carnivora;;;;carnivorous mammal"
MAMMALIA_CLASS = "f2d233e3-80e3-433d-9687-e29ecc7a467a;mammalia;;;;;mammal"
BROWN_BEAR = "330bb1e9-84d6-4e41-afa9-938aee17ea29;mammalia;carnivora;ursidae;ursus;arctos;brown bear"
POLAR_BEAR = "e7f83bf6-df2c-4ce0-97fc-2f233df23ec4;mammalia;carnivora;ursidae;ursus;maritimus;polar bear"
GIANT_PANDA = "85662682-67c1-4ecb-ba05-ba12e2df6b65;mammalia;carnivora;ursidae;ailuropoda;melanoleuca;giant panda"
URSUS_GENUS = "5a0f5e3f-c634-4b86-910a-b105cb526a24;mammalia;carnivora;ursidae;ursus;;ursus species"
URSIDAE_FAMILY = "ec1a70f4-41c0-4aba-9150-292fb2b7a324;mammalia;carnivora;ursidae;;;bear family"
SAND_CAT_FC = "mammalia;carnivora;felidae;felis;margarita"


def full_class_string(label):
    return ";".join(label.split(";")[1:6])


def unit_test_taxonomy():
    # The test's dict literal: BLANK_FC, VEHICLE_FC and ANIMAL_KINGDOM_FC are all ";;;;", the last wins.
    taxonomy = {}
    for label in [BLANK, HUMAN, VEHICLE, LION, PANTHERA_GENUS, FELIDAE_FAMILY, CARNIVORA_ORDER, MAMMALIA_CLASS, ANIMAL,
                  BROWN_BEAR, POLAR_BEAR, GIANT_PANDA, URSUS_GENUS, URSIDAE_FAMILY]:
        taxonomy[full_class_string(label)] = label
    return taxonomy


UNIT_TEST_GEOFENCE = {
    full_class_string(LION): {"allow": {"KEN": [], "TZA": []}},
    full_class_string(PANTHERA_GENUS): {"allow": {"KEN": [], "TZA": [], "USA": ["AK", "CA"]}},
    full_class_string(FELIDAE_FAMILY): {"allow": {"FRA": [], "KEN": [], "TZA": [], "USA": []}, "block": {"FRA": [], "USA": ["NY"]}},
    SAND_CAT_FC: {"block": {"AUS": []}},
    full_class_string(URSIDAE_FAMILY): {"block": {"GBR": []}},
}

MOCK_RESULTS = {
    "mock_geofence_fn": ("geofenced_label", 0.9, "geofence_source"),
    "mock_roll_up_fn": ("rollup_label", 0.8, "rollup_source"),
    "mock_roll_up_fn_return_none": None,
}


def mock_function(name):
    def function(*args, **kwargs):
        del args, kwargs
        return MOCK_RESULTS[name]
    return function


# (test name, classes, scores, detection label, detection confidence, geofence mock, roll-up mock),
# in the order of ensemble_prediction_combiner_test.py.
UNIT_TEST_CASES = [
    ("human_detections.high_confidence_human_detection", [LION], [0.1], "human", 0.8, "mock_geofence_fn", "mock_roll_up_fn"),
    ("human_detections.mid_human_detection_high_human_classification", [HUMAN], [0.7], "human", 0.3, "mock_geofence_fn", "mock_roll_up_fn"),
    ("human_detections.mid_human_detection_high_vehicle_classification", [VEHICLE], [0.7], "human", 0.3, "mock_geofence_fn", "mock_roll_up_fn"),
    ("vehicle_detections.mid_vehicle_detection_high_human_classification", [HUMAN], [0.7], "vehicle", 0.3, "mock_geofence_fn", "mock_roll_up_fn"),
    ("vehicle_detections.high_confidence_vehicle_detection", [LION], [0.1], "vehicle", 0.8, "mock_geofence_fn", "mock_roll_up_fn"),
    ("vehicle_detections.mid_vehicle_detection_high_vehicle_classification", [VEHICLE], [0.5], "vehicle", 0.3, "mock_geofence_fn", "mock_roll_up_fn"),
    ("blank_classifications.blank_detection_high_blank_classification", [BLANK], [0.7], "animal", 0.1, "mock_geofence_fn", "mock_roll_up_fn"),
    ("blank_classifications.extra_high_blank_classification", [BLANK], [0.995], "animal", 0.3, "mock_geofence_fn", "mock_roll_up_fn"),
    ("animal_classifications.extra_high_animal_classification", [LION], [0.9], "animal", 0.1, "mock_geofence_fn", "mock_roll_up_fn"),
    ("animal_classifications.high_animal_classification_mid_animal_detection", [LION], [0.7], "animal", 0.3, "mock_geofence_fn", "mock_roll_up_fn"),
    ("animal_rollups.high_confidence_rollup", [LION], [0.6], "animal", 0.1, "mock_geofence_fn", "mock_roll_up_fn"),
    ("animal_detections.mid_animal_detection", [LION], [0.1], "animal", 0.6, "mock_geofence_fn", "mock_roll_up_fn_return_none"),
    ("unknown.fallback_to_unknown", [LION], [0.1], "animal", 0.1, "mock_geofence_fn", "mock_roll_up_fn_return_none"),
]

# name, items [(classes, scores, detection label, confidence)], mocks, expected error.
UNIT_TEST_BATCH_CASES = [
    ("all_items", [([HUMAN], [0.7], "human", 0.95), ([LION], [0.9], "animal", 0.9), ([VEHICLE], [0.8], "vehicle", 0.85)],
     ("mock_geofence_fn", "mock_roll_up_fn_return_none"), None),
    ("preserves_input_order", [([HUMAN], [0.6], "human", 0.75), ([BLANK], [0.995], "animal", 0.05)],
     ("mock_geofence_fn", "mock_roll_up_fn_return_none"), None),
    ("empty_inputs", [], ("mock_geofence_fn", "mock_roll_up_fn_return_none"), None),
    ("mismatched_classification_count", [([HUMAN], [0.7], "human", 0.95), (None, None, "animal", 0.6)],
     ("mock_geofence_fn", "mock_roll_up_fn_return_none"), "ValueError"),
]
BATCH_BBOXES = {"all_items": [[0.1, 0.1, 0.2, 0.2], [0.5, 0.5, 0.6, 0.6], [0.8, 0.8, 0.9, 0.9]],
                "preserves_input_order": [[0.1, 0.1, 0.2, 0.2], [0.5, 0.5, 0.1, 0.1]],
                "mismatched_classification_count": [[0.1, 0.1, 0.2, 0.2], [0.5, 0.5, 0.6, 0.6]]}

# A label with no class (like blank or vehicle, but not one of the special classes) blocked by a geofence
# rule on ";;;;": the geofence roll-up finds no ancestor, the "classifier+geofence+rollup_failed" branch.
UNCLASSIFIED = "00000000-0000-4000-8000-00000000beef;;;;;;unclassified object"
BLOCK_UNCLASSIFIED = {";;;;": {"block": {"KEN": []}}}


def load_model_taxonomy():
    from speciesnet.ensemble import _load_taxonomy_from_file
    return _load_taxonomy_from_file(HERE / "model" / "taxonomy_release.txt")


def combine(items, country, admin1_region, taxonomy, geofence, enable_geofence, geofence_fn=None, roll_up_fn=None):
    from speciesnet.ensemble_prediction_combiner import combine_predictions
    from speciesnet.geofence_utils import geofence_animal_classification, roll_up_labels_to_first_matching_level
    classifications = [{"classes": classes, "scores": scores} for classes, scores, _, _ in items if classes is not None]
    detections = [{"label": label, "conf": conf} for _, _, label, conf in items]
    results = combine_predictions(classifications_list=classifications, detections=detections, country=country,
                                  admin1_region=admin1_region, taxonomy_map=taxonomy, geofence_map=geofence,
                                  enable_geofence=enable_geofence, geofence_fn=geofence_fn or geofence_animal_classification,
                                  roll_up_fn=roll_up_fn or roll_up_labels_to_first_matching_level)
    # Classification members are str subclasses: record plain strings.
    return [{"class": str(getattr(r["class"], "value", r["class"])), "score": r["score"], "source": r["source"]} for r in results]


def case_record(classes, scores, label, conf, country, admin1_region, enable_geofence, expected, **extra):
    record = {"classes": classes, "scores": scores, "detection_label": label, "detection_conf": conf, "country": country,
              "admin1_region": admin1_region, "enable_geofence": enable_geofence}
    record.update(extra)
    record["expected"] = expected
    return record


def unit_test_cases(taxonomy):
    cases = []
    for name, classes, scores, label, conf, geofence_mock, roll_up_mock in UNIT_TEST_CASES:
        items = [(classes, scores, label, conf)]
        real = combine(items, None, None, taxonomy, UNIT_TEST_GEOFENCE, True)[0]
        mocked = combine(items, None, None, taxonomy, UNIT_TEST_GEOFENCE, True, mock_function(geofence_mock), mock_function(roll_up_mock))[0]
        record = case_record(classes, scores, label, conf, None, None, True, real, name="combiner_test." + name,
                             taxonomy="unit_test", geofence="unit_test",
                             mocks={"geofence_fn": geofence_mock, "roll_up_fn": roll_up_mock})
        record["expected_with_mocks"] = mocked
        cases.append(record)
    # The same inputs with the countries the test's geofence speaks of, through the real functions.
    for country, region in [("KEN", None), ("USA", "CA"), ("USA", "NY"), ("GBR", None), ("FRA", None)]:
        for classes, scores, label, conf in [([LION, PANTHERA_GENUS, FELIDAE_FAMILY, BROWN_BEAR, URSIDAE_FAMILY], [0.85, 0.05, 0.04, 0.03, 0.02], "animal", 0.9),
                                             ([BROWN_BEAR, URSUS_GENUS, POLAR_BEAR, GIANT_PANDA, LION], [0.7, 0.1, 0.08, 0.05, 0.04], "animal", 0.6),
                                             ([URSIDAE_FAMILY, BROWN_BEAR, URSUS_GENUS, CARNIVORA_ORDER, MAMMALIA_CLASS], [0.5, 0.12, 0.1, 0.06, 0.05], "animal", 0.4)]:
            expected = combine([(classes, scores, label, conf)], country, region, taxonomy, UNIT_TEST_GEOFENCE, True)[0]
            cases.append(case_record(classes, scores, label, conf, country, region, True, expected,
                                     name=f"combiner_test.maps.{classes[0].split(';')[-1].replace(' ', '_')}_{country}_{region}",
                                     taxonomy="unit_test", geofence="unit_test"))
    return cases


def batch_cases(taxonomy):
    records = []
    for name, items, (geofence_mock, roll_up_mock), error in UNIT_TEST_BATCH_CASES:
        bboxes = BATCH_BBOXES.get(name, [])
        item_records = [{"classes": classes, "scores": scores, "detection_label": label, "detection_conf": conf,
                         "detection_bbox": bboxes[i]} for i, (classes, scores, label, conf) in enumerate(items)]
        for item in item_records:
            if item["classes"] is None:
                del item["classes"], item["scores"]  # a detection with no classification
        record = {"name": "combiner_test." + name, "items": item_records, "country": None, "admin1_region": None,
                  "enable_geofence": True, "taxonomy": "unit_test", "geofence": "unit_test",
                  "mocks": {"geofence_fn": geofence_mock, "roll_up_fn": roll_up_mock}}
        if error:
            try:
                combine(items, None, None, taxonomy, UNIT_TEST_GEOFENCE, True, mock_function(geofence_mock), mock_function(roll_up_mock))
            except ValueError:
                record["expected_error"] = error
            else:
                raise SystemExit(f"{name}: speciesnet did not raise {error}")
        else:
            record["expected"] = combine(items, None, None, taxonomy, UNIT_TEST_GEOFENCE, True)
            record["expected_with_mocks"] = combine(items, None, None, taxonomy, UNIT_TEST_GEOFENCE, True,
                                                    mock_function(geofence_mock), mock_function(roll_up_mock))
        records.append(record)
    return records


def branch_cases(model_taxonomy):
    cases = []
    for name, classes, scores, label, conf, country, geofence in [
            ("rollup_failed", [UNCLASSIFIED, BLANK, VEHICLE, ANIMAL, HUMAN], [0.9, 0.04, 0.03, 0.02, 0.01], "animal", 0.9, "KEN", "block_unclassified_in_KEN"),
            ("rollup_failed_low_detection", [UNCLASSIFIED, VEHICLE, BLANK, HUMAN, ANIMAL], [0.85, 0.05, 0.04, 0.03, 0.02], "vehicle", 0.1, "KEN", "block_unclassified_in_KEN"),
            ("unclassified_not_blocked", [UNCLASSIFIED, BLANK, VEHICLE, ANIMAL, HUMAN], [0.9, 0.04, 0.03, 0.02, 0.01], "animal", 0.9, "USA", "block_unclassified_in_KEN"),
            ("animal_label_blocked", [ANIMAL, BLANK, VEHICLE, HUMAN, UNCLASSIFIED], [0.9, 0.04, 0.03, 0.02, 0.01], "animal", 0.9, "KEN", "block_unclassified_in_KEN")]:
        expected = combine([(classes, scores, label, conf)], country, None, model_taxonomy, BLOCK_UNCLASSIFIED, True)[0]
        cases.append(case_record(classes, scores, label, conf, country, None, True, expected, name="branch." + name, geofence=geofence))
    return cases


def floor7(values):
    return [float(np.floor(v * 1e7) / 1e7) for v in values]


def random_cases(model_taxonomy, model_geofence, count=400):
    rng = np.random.default_rng(20261015)
    labels = [line.strip() for line in (HERE / "model" / "taxonomy_release.txt").read_text().splitlines() if line.strip()]
    pool = labels + EXTRA_LABELS
    animals = [label for label in pool if label not in (BLANK, HUMAN, VEHICLE)]
    fenced = [label for label in animals if full_class_string(label) in model_geofence]
    countries = [None, "USA", "GBR", "MEX", "CAN", "KEN"]

    def near(value):
        offsets = [0.0, 0.0, -1e-6, 1e-6, -0.01, 0.01, -0.05, 0.05]
        return round(value + offsets[rng.integers(len(offsets))], 7)

    def shared_levels(a, b):
        pa, pb = a.split(";")[1:4], b.split(";")[1:4]
        shared = 0
        for x, y in zip(pa, pb):
            if x and x == y:
                shared += 1
            else:
                break
        return shared

    cases = []
    for _ in range(count):
        label = ["animal", "human", "vehicle"][rng.integers(3)]
        conf = near([0.2, 0.5, 0.7][rng.integers(3)]) if rng.random() < 0.7 else round(float(rng.random()), 4)
        conf = min(max(conf, 0.0), 1.0)
        kind = rng.random()
        # Half the animal tops are the species the model geofence has rules for.
        top_class = (BLANK if kind < 0.15 else HUMAN if kind < 0.3 else VEHICLE if kind < 0.42
                     else fenced[rng.integers(len(fenced))] if kind < 0.71 else animals[rng.integers(len(animals))])
        top = near([0.4, 0.5, 0.65, 0.8, 0.99][rng.integers(5)]) if rng.random() < 0.7 else round(float(rng.uniform(0.2, 1.0)), 7)
        top = min(top, 1.0)
        rest = rng.dirichlet(np.ones(4)) * (1.0 - top) * rng.uniform(0.3, 1.0)
        rest = np.sort(rest)[::-1]
        if rest[0] > top:
            rest = rest * (top * rng.uniform(0.5, 0.999) / rest[0])
        scores = [top] + floor7(rest.tolist())
        assert sum(scores) <= 1.0 + 1e-12 and all(a >= b for a, b in zip(scores, scores[1:])), scores
        # The other classes lean towards the top class's relatives, so that roll-ups succeed.
        others = [candidate for candidate in pool if candidate != top_class]
        weights = np.array([1.0 + 3.0 * shared_levels(top_class, candidate) for candidate in others])
        chosen = rng.choice(len(others), size=4, replace=False, p=weights / weights.sum())
        classes = [top_class] + [others[i] for i in chosen]
        country = countries[rng.integers(len(countries))]
        if country == "USA":
            region = [None, "CA", "NV", "TX"][rng.integers(4)]
        else:
            region = [None, "CA", "NV"][rng.integers(3)] if rng.random() < 0.15 else None
        enable = bool(rng.random() < 0.85)
        expected = combine([(classes, scores, label, conf)], country, region, model_taxonomy, model_geofence, enable)[0]
        cases.append(case_record(classes, scores, label, conf, country, region, enable, expected))
    return cases


def record_ensemble():
    import speciesnet.ensemble_prediction_combiner as combiner
    model_taxonomy = load_model_taxonomy()
    model_geofence = json.loads((HERE / "model" / "geofence_release.json").read_text())
    taxonomy = unit_test_taxonomy()
    cases = unit_test_cases(taxonomy) + branch_cases(model_taxonomy) + random_cases(model_taxonomy, model_geofence)
    sources = {}
    for case in cases:
        sources[case["expected"]["source"]] = sources.get(case["expected"]["source"], 0) + 1
    document = {
        "generator": "Tests/Fixtures/speciesnet/generate_speciesnet_predictions.py",
        "versions": versions(),
        "function": "speciesnet.ensemble_prediction_combiner.combine_predictions with geofence_fn="
                    "speciesnet.geofence_utils.geofence_animal_classification, roll_up_fn="
                    "speciesnet.geofence_utils.roll_up_labels_to_first_matching_level",
        "combiner_source_md5": __import__("hashlib").md5(inspect.getsource(combiner).encode()).hexdigest(),
        "taxonomy_file": "model/taxonomy_release.txt",
        "geofence_file": "model/geofence_release.json",
        "model_taxonomy_map": model_taxonomy,
        "taxonomies": {"unit_test": taxonomy},
        "geofences": {"unit_test": UNIT_TEST_GEOFENCE, "block_unclassified_in_KEN": BLOCK_UNCLASSIFIED},
        "mock_functions": {name: (None if value is None else {"class": value[0], "score": value[1], "source": value[2]})
                           for name, value in MOCK_RESULTS.items()},
        "cases": cases,
        "batch_cases": batch_cases(taxonomy),
    }
    (HERE / "expected_ensemble.json").write_text(json.dumps(document, indent=1, ensure_ascii=False) + "\n")
    print("ensemble sources:", json.dumps(dict(sorted(sources.items())), indent=1))


PREDICTION_RUNS = [
    ("default", "always_crop", None, None),
    ("ken", "always_crop", "KEN", None),
    ("usa_ca", "always_crop", "USA", "CA"),
    ("full_image", "full_image", None, None),
]
UNREADABLE = "edge-cases/animl_error_img_zero_bytes.JPG"
# speciesnet crops each detection at or above the threshold with int(width * image width) columns and
# int(height * image height) rows; the test detector finds many boxes of zero width or height (some at
# 0.99), and speciesnet then stops the whole run (torchvision's resize refuses an empty crop). At the
# default 0.1 one photo alone has a classifiable detection and no empty crop; at 0.5, 21 of the 35
# camera-trap photos have no empty crop and 6 of them 14 classified detections between them. The
# always_crop runs classify at 0.5 and leave out the photos with an empty crop at or above it; the
# full_image run crops nothing and takes every photo.
DETECTION_THRESHOLD_FOR_CLASSIFICATION = 0.5


def photo_list(shared):
    images = shared / "images"
    photos = sorted(path for path in (images / "camera-traps").iterdir() if path.is_file())
    return [str(path) for path in photos] + [str(images / UNREADABLE)]


def make_model_folder(target, model_type):
    target.mkdir()
    for path in sorted((HERE / "model").iterdir()):
        shutil.copyfile(path, target / path.name)
    shutil.copyfile(HERE.parent / "detect" / "md_v5_tiny.pt", target / "md_v5_tiny.pt")
    info = json.loads((target / "info.json").read_text())
    info["detector"] = "md_v5_tiny.pt"
    info["type"] = model_type
    (target / "info.json").write_text(json.dumps(info, indent=1) + "\n")


def photos_with_empty_crops(folder, filepaths, threshold):
    """The photos for which speciesnet's always_crop preprocessing would crop a detection at or above
    `threshold` to zero rows or columns, found with speciesnet's own detector, image loading and
    detection selection: {filepath: [the offending detections]}."""
    from speciesnet.detector import SpeciesNetDetector
    from speciesnet.utils import load_rgb_image, select_detections_for_classification
    detector = SpeciesNetDetector(str(folder))
    empty = {}
    for filepath in filepaths:
        image = load_rgb_image(filepath)
        if image is None:
            continue
        detections = detector.predict(filepath, detector.preprocess(image)).get("detections") or []
        offending = [detections[i] for i in select_detections_for_classification(detections, threshold)
                     if int(detections[i]["bbox"][2] * image.width) == 0 or int(detections[i]["bbox"][3] * image.height) == 0]
        if offending:
            empty[filepath] = offending
    return empty


def record_predictions(shared):
    from speciesnet import SpeciesNet
    from speciesnet.constants import DEFAULT_MAX_CLASSIFICATIONS_PER_DETECTION
    all_photos = photo_list(shared)
    prefix = str(shared) + "/"
    calls = {}
    with tempfile.TemporaryDirectory(prefix="speciesnet-predictions-") as temporary:
        temporary = Path(temporary)
        screening = temporary / "model_screening"
        make_model_folder(screening, "always_crop")
        empty = photos_with_empty_crops(screening, all_photos, DETECTION_THRESHOLD_FOR_CLASSIFICATION)
        left_out = {path[len(prefix):]: f"{len(found)} detection{'s' if len(found) != 1 else ''} at or above {DETECTION_THRESHOLD_FOR_CLASSIFICATION} crop to an empty "
                    f"image (highest confidence {max(d['conf'] for d in found):.4f}); speciesnet would stop the run"
                    for path, found in empty.items()}
        for name, model_type, country, region in PREDICTION_RUNS:
            filepaths = all_photos if model_type == "full_image" else [path for path in all_photos if path not in empty]
            folder = temporary / f"model_{name}"
            make_model_folder(folder, model_type)
            output = temporary / f"predictions_{name}.json"
            model = SpeciesNet(str(folder), components="all", geofence=True, multiprocessing=False)
            arguments = dict(filepaths=filepaths, country=country, admin1_region=region, run_mode="single_thread", batch_size=1,
                             progress_bars=False, predictions_json=str(output),
                             detection_threshold_for_classification=DETECTION_THRESHOLD_FOR_CLASSIFICATION,
                             max_classifications_per_image=None,
                             max_classifications_per_detection=DEFAULT_MAX_CLASSIFICATIONS_PER_DETECTION)
            model.predict(**arguments)
            text = output.read_text(encoding="utf-8")
            assert str(temporary) not in text
            relative = text.replace(json.dumps(prefix)[1:-1], "")
            assert prefix not in relative and len(relative) < len(text)
            (HERE / f"expected_predictions_{name}.json").write_text(relative, encoding="utf-8")
            shown = {key: value for key, value in arguments.items() if key != "filepaths"}
            shown["predictions_json"] = f"expected_predictions_{name}.json"
            calls[name] = {"model_folder": {"copy_of": "model/", "detector": "../detect/md_v5_tiny.pt copied as md_v5_tiny.pt",
                                            "info_json_changes": {"detector": "md_v5_tiny.pt", "type": model_type}},
                           "constructor": "speciesnet.SpeciesNet(MODEL_FOLDER, components='all', geofence=True, multiprocessing=False)",
                           "predict_arguments": shown,
                           "files": [path[len(prefix):] for path in filepaths],
                           "equivalent_cli": " ".join(["python -m speciesnet.scripts.run_model --filepaths_txt FILES --model MODEL_FOLDER",
                                                       f"--predictions_json expected_predictions_{name}.json --noprogress_bars --batch_size 1",
                                                       f"--detection_threshold_for_classification {DETECTION_THRESHOLD_FOR_CLASSIFICATION}"]
                                                      + ([f"--country {country}"] if country else [])
                                                      + ([f"--admin1_region {region}"] if region else []))
                                               + " (run_model offers only --run_mode multi_thread / multi_process; these files come from run_mode='single_thread')"}
    return calls, left_out


def record_empty_crops(shared):
    """speciesnet's default pipeline (run_model, --run_mode multi_thread) on the photos the always_crop runs
    leave out: a detection at or above the default 0.1 that crops to an empty image makes torchvision's
    resize raise in the crop thread, which speciesnet logs; the photo is written with failures
    ["CLASSIFIER"] and its detections unclassified, and the run goes on."""
    all_photos = photo_list(shared)
    prefix = str(shared) + "/"
    with tempfile.TemporaryDirectory(prefix="speciesnet-empty-crops-") as temporary:
        temporary = Path(temporary)
        folder = temporary / "model"
        make_model_folder(folder, "always_crop")
        empty = sorted(photos_with_empty_crops(folder, all_photos, 0.1))
        files = temporary / "files.txt"
        files.write_text("\n".join(empty) + "\n")
        output = temporary / "predictions.json"
        command = [sys.executable, "-m", "speciesnet.scripts.run_model", "--filepaths_txt", str(files), "--model", str(folder),
                   "--predictions_json", str(output), "--noprogress_bars", "--bypass_prompts", "--country", "KEN"]
        subprocess.run(command, check=True, capture_output=True, text=True, timeout=1200)
        text = output.read_text(encoding="utf-8")
        relative = text.replace(json.dumps(prefix)[1:-1], "")
        assert prefix not in relative and str(temporary) not in relative
        (HERE / "expected_predictions_empty_crops.json").write_text(relative, encoding="utf-8")
        return {"command": "python -m speciesnet.scripts.run_model --filepaths_txt FILES --model MODEL_FOLDER "
                           "--predictions_json expected_predictions_empty_crops.json --noprogress_bars --bypass_prompts --country KEN",
                "run_mode": "multi_thread (run_model's default)", "detection_threshold_for_classification": 0.1,
                "files": [path[len(prefix):] for path in empty]}


def record_instances(shared, left_out):
    """An instances.json input: a location per photo (country, admin1 region, latitude and longitude in
    several combinations, three of them US photos whose state speciesnet looks up from latitude and
    longitude: Sacramento CA, Reno NV, Portland OR, each a state the model geofence names or not)."""
    from speciesnet import SpeciesNet
    prefix = str(shared) + "/"
    photos = [path for path in photo_list(shared) if path[len(prefix):] not in left_out]
    locations = [{"country": "GBR"}, {"country": "USA", "admin1_region": "CA"}, {"country": "KEN", "latitude": -1.2921, "longitude": 36.8219},
                 {}, {"country": "USA", "admin1_region": "TX", "latitude": 31.9686, "longitude": -99.9018}, {"admin1_region": "CA"},
                 {"country": "PRI", "latitude": 18.2208, "longitude": -66.5901}, {"country": "USA", "latitude": 38.5816, "longitude": -121.4944},
                 {"country": "USA", "latitude": 39.5296, "longitude": -119.8138}, {"country": "USA", "latitude": 45.5152, "longitude": -122.6784}]
    instances = {"instances": [{"filepath": path, **locations[index % len(locations)]} for index, path in enumerate(photos)]}
    with tempfile.TemporaryDirectory(prefix="speciesnet-instances-") as temporary:
        temporary = Path(temporary)
        folder = temporary / "model"
        make_model_folder(folder, "always_crop")
        output = temporary / "predictions.json"
        model = SpeciesNet(str(folder), components="all", geofence=True, multiprocessing=False)
        model.predict(instances_dict=instances, run_mode="single_thread", batch_size=1, progress_bars=False, predictions_json=str(output),
                      detection_threshold_for_classification=DETECTION_THRESHOLD_FOR_CLASSIFICATION)
        text = output.read_text(encoding="utf-8").replace(json.dumps(prefix)[1:-1], "")
        assert prefix not in text
        (HERE / "expected_predictions_instances.json").write_text(text, encoding="utf-8")
    relative = {"instances": [{**instance, "filepath": instance["filepath"][len(prefix):]} for instance in instances["instances"]]}
    (HERE / "instances.json").write_text(json.dumps(relative, indent=1) + "\n")
    return {"constructor": "speciesnet.SpeciesNet(MODEL_FOLDER, components='all', geofence=True, multiprocessing=False)",
            "predict_arguments": {"instances_dict": "instances.json (file paths under SHARED)", "run_mode": "single_thread", "batch_size": 1,
                                  "detection_threshold_for_classification": DETECTION_THRESHOLD_FOR_CLASSIFICATION}}


def versions():
    metadata = importlib.metadata
    return {"speciesnet": metadata.version("speciesnet"), "torch": metadata.version("torch"),
            "torchvision": metadata.version("torchvision"), "yolov5": metadata.version("yolov5"),
            "numpy": np.__version__, "pillow": metadata.version("pillow"), "python": sys.version.split()[0]}


def main():
    shared = Path(sys.argv[sys.argv.index("--shared") + 1]) if "--shared" in sys.argv else HERE.parents[3] / "shared"
    shared = shared.resolve()
    if "--instances-only" in sys.argv:
        # Rewrites expected_predictions_instances.json and instances.json and the manifest's "instances" run.
        manifest_path = HERE / "predictions_manifest.json"
        manifest = json.loads(manifest_path.read_text())
        manifest["runs"]["instances"] = record_instances(shared, manifest["left_out_of_always_crop_runs"])
        manifest["versions"] = versions()
        manifest_path.write_text(json.dumps(manifest, indent=1) + "\n")
        return
    if "--predictions-only" not in sys.argv:
        record_ensemble()
    if "--ensemble-only" in sys.argv:
        return
    from speciesnet.constants import DEFAULT_MAX_CLASSIFICATIONS_PER_DETECTION, FORMAT_VERSION
    calls, left_out = record_predictions(shared)
    calls["empty_crops"] = record_empty_crops(shared)
    calls["instances"] = record_instances(shared, left_out)
    (HERE / "predictions_manifest.json").write_text(json.dumps({
        "generator": "Tests/Fixtures/speciesnet/generate_speciesnet_predictions.py",
        "format_version": FORMAT_VERSION,
        "filepaths_relative_to": "the shared data folder (SHARED); speciesnet was given SHARED/<file> as absolute paths and "
                                 "the SHARED/ prefix was removed from its output text",
        "unreadable_files": [f"images/{UNREADABLE}"],
        "left_out_of_always_crop_runs": left_out,
        "detection_threshold_for_classification": DETECTION_THRESHOLD_FOR_CLASSIFICATION,
        "max_classifications_per_image": None,
        "max_classifications_per_detection": DEFAULT_MAX_CLASSIFICATIONS_PER_DETECTION,
        "device": "cpu",
        "runs": calls,
        "versions": versions()}, indent=1) + "\n")


if __name__ == "__main__":
    main()
