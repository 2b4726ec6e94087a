#!/usr/bin/env python3
"""Builds small MegaDetector + SpeciesNet-style results files and records what the reference's
classification post-processing (megadetector.postprocessing.classification_postprocessing) makes of
them, for the Swift port's tests. The rules these fixtures pin down are written out in the
classification post-processing spec handed over with them.

Run from the repository root with the reference environment (megadetector, pandas):
    VENV/bin/python Tests/Fixtures/postprocessing/generate_classification_postprocessing_fixtures.py

Everything is deterministic (random.Random(SEED) for boxes, confidences and runner-up
classifications; the scenarios themselves are written out below). Writes next to this script:

- classification_input.json: 42 images, format 1.6 (what run_md_and_speciesnet writes), detections
  with "classifications": [[id, score], ...] (top first, 1-3 entries, scores to 3 decimals), 24
  classification categories with SpeciesNet 7-token descriptions
  ("uuid;class;order;family;genus;species;common name"). GUIDs are SpeciesNet's where the repository's
  other fixtures already use them (blank, animal, vehicle, human, white-tailed deer, coyote, mammal,
  carnivorous mammal); the others are uuid5 values made up here.
  Scenario images (folder scenarios/) each exercise one smoothing rule; sequence images (folder
  sequences/) only change when smoothed per sequence.
- classification_input_no_descriptions.json: the same without classification_category_descriptions
  (the smoothing then runs without its taxonomic rules and writes no pre_smoothing_description).
- classification_input_restrict.json: the same with the one empty "classifications" list removed (the
  reference's restrict_to_taxa_list fails on it: IndexError in its counting).
- classification_sequences_cct.json: COCO Camera Traps sequence information (images with id,
  file_name, seq_id, seq_num_frames, frame_num, location, datetime) for the sequence images: listed
  out of time order and interleaved between sequences on purpose, one entry for a photo that is not in
  the results, one failed photo and one with no detections.
- classification_taxonomy.txt: a SpeciesNet-style taxonomy (7 tokens a line) with every input
  category, some parents left out on purpose (the reference makes them up as "<taxon> species").
- classification_taxa_list.csv: a custom taxa list (columns latin, common, original_common) with a
  capitalised name, padded cells, a duplicate latin name, an empty latin name, a non-ASCII original
  common name and two species given the same common name.
- expected_classification_*.json: the exact text the reference writes (write_json, indent 1,
  ensure_ascii) for each case in classification_manifest.json.
- classification_manifest.json: versions, seed, the exact call of every case (options as set), the
  MD5 of every expected file, and per smoothing case the detections whose top category changed
  ([file, detection index, id before, id after]).
"""
import copy
import hashlib
import json
import platform
import random
import tempfile
import uuid
from importlib.metadata import version
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
GENERATOR = Path(__file__).resolve().relative_to(ROOT).as_posix()
SEED = 20240611

# (common name, class, order, family, genus, species, guid or None for a made-up one). The position
# in this list is the category id.
CATEGORIES = [
    ("white-tailed deer", "mammalia", "cetartiodactyla", "cervidae", "odocoileus", "virginianus",
     "5c7ce479-8a45-40b3-ae21-7c97dfae22f5"),
    ("mule deer", "mammalia", "cetartiodactyla", "cervidae", "odocoileus", "hemionus", None),
    ("odocoileus species", "mammalia", "cetartiodactyla", "cervidae", "odocoileus", "", None),
    ("elk", "mammalia", "cetartiodactyla", "cervidae", "cervus", "canadensis", None),
    ("deer family", "mammalia", "cetartiodactyla", "cervidae", "", "", None),
    ("coyote", "mammalia", "carnivora", "canidae", "canis", "latrans", "3184697f-51ad-4608-9a28-9edb5500159c"),
    ("gray wolf", "mammalia", "carnivora", "canidae", "canis", "lupus", None),
    ("canis species", "mammalia", "carnivora", "canidae", "canis", "", None),
    ("red fox", "mammalia", "carnivora", "canidae", "vulpes", "vulpes", None),
    ("gray fox", "mammalia", "carnivora", "canidae", "urocyon", "cinereoargenteus", None),
    ("dog family", "mammalia", "carnivora", "canidae", "", "", None),
    ("carnivorous mammal", "mammalia", "carnivora", "", "", "", "eeeb5d26-2a47-4d01-a3de-10b33ec0aee4"),
    ("bobcat", "mammalia", "carnivora", "felidae", "lynx", "rufus", None),
    ("puma", "mammalia", "carnivora", "felidae", "puma", "concolor", None),
    ("raccoon", "mammalia", "carnivora", "procyonidae", "procyon", "lotor", None),
    ("eastern gray squirrel", "mammalia", "rodentia", "sciuridae", "sciurus", "carolinensis", None),
    ("wild turkey", "aves", "galliformes", "phasianidae", "meleagris", "gallopavo", None),
    ("bird", "aves", "", "", "", "", None),
    ("mammal", "mammalia", "", "", "", "", "f2d233e3-80e3-433d-9687-e29ecc7a467a"),
    ("human", "mammalia", "primates", "hominidae", "homo", "sapiens", "990ae9dd-7a59-4344-afcb-1b7b21368000"),
    ("animal", "", "", "", "", "", "1f689929-883d-4dae-958c-3d57ab5b6c16"),
    ("blank", "", "", "", "", "", "f1856211-cfb7-4a5b-9158-c0f72fd09ee6"),
    ("vehicle", "", "", "", "", "", "e2895ed5-780b-48f6-8a11-9e27cb594511"),
    ("no cv result", "no cv result", "no cv result", "no cv result", "no cv result", "no cv result",
     "f2efdae9-efb8-48fb-8a91-eccf79ab4ffb"),
]
NAME_TO_ID = {c[0]: str(i) for i, c in enumerate(CATEGORIES)}
ANIMAL_LABELS = [c[0] for c in CATEGORIES if c[0] not in ("human", "animal", "blank", "vehicle", "no cv result")]


def description(category):
    name, cls, order, family, genus, species, guid = category
    guid = guid or str(uuid.uuid5(uuid.NAMESPACE_URL, "megadetector-swift-fixture/" + name))
    return ";".join([guid, cls, order, family, genus, species, name])


DESCRIPTIONS = {str(i): description(c) for i, c in enumerate(CATEGORIES)}

# Detection spec: (detection category name, detection conf or None for random, top classification name
# or None for no "classifications" key or "[]" for an empty list, top score or None for random). Images:
# (file, [detection specs]) or (file, "failure") or (file, "empty").
D = lambda label, conf=None, score=None, cat="animal": (cat, conf, label, score)  # noqa: E731

SCENARIOS = [
    # Step 2: five deer and one elk -> the elk becomes a deer.
    ("scenarios/01_majority_flip.JPG", [D("white-tailed deer")] * 5 + [D("elk")]),
    # Step 2: two red foxes are too many to flip by default (max_detections_nondominant_class = 1).
    ("scenarios/02_two_secondary.JPG", [D("coyote")] * 5 + [D("red fox")] * 2),
    # Step 1: "animal" and "blank" (other categories) become the dominant coyote (2 >= 2).
    ("scenarios/03_other_overwrite.JPG", [D("coyote", 0.9), D("coyote", 0.8), D("animal", 0.7), D("blank", 0.6)]),
    # Step 0: "animal" is first in count order and tied with bobcat -> swapped, then animal -> bobcat.
    ("scenarios/04_other_tie_swap.JPG", [D("animal", 0.95), D("animal", 0.9), D("bobcat", 0.85), D("bobcat", 0.8)]),
    # "animal" dominates (3 vs 1): nothing changes.
    ("scenarios/05_other_dominant.JPG", [D("animal", 0.9), D("animal", 0.85), D("animal", 0.8), D("coyote", 0.7)]),
    # One category only: smoothing returns early.
    ("scenarios/06_single_category.JPG", [D("raccoon")] * 3),
    # Classification threshold: the elk at 0.45 is not counted or changed; the mule deer at exactly
    # 0.5 is (>=) and is flipped to the dominant deer.
    ("scenarios/07_low_classification.JPG",
     [D("white-tailed deer", 0.9), D("white-tailed deer", 0.85), D("white-tailed deer", 0.8),
      D("white-tailed deer", 0.75), D("elk", 0.7, 0.45), D("mule deer", 0.65, 0.5)]),
    # Detection threshold: gray fox at 0.12 is ignored; red fox at exactly 0.15 counts and flips.
    ("scenarios/08_detection_threshold.JPG",
     [D("coyote", 0.9), D("coyote", 0.8), D("coyote", 0.7), D("coyote", 0.6), D("red fox", 0.15),
      D("gray fox", 0.12), D("coyote", 0.1)]),
    # Step 3: order and family predictions go to the most specific child; coyote and red fox tie
    # (7 + 0.01), the first in count order wins.
    ("scenarios/09_taxonomy_tie.JPG",
     [D("carnivorous mammal", 0.95), D("carnivorous mammal", 0.9), D("red fox", 0.85), D("dog family", 0.8),
      D("coyote", 0.75)]),
    # Step 3: three genus predictions become the one species in the image.
    ("scenarios/10_genus_to_species.JPG",
     [D("odocoileus species", 0.95), D("odocoileus species", 0.9), D("odocoileus species", 0.85),
      D("white-tailed deer", 0.8)]),
    # Step 3: canis species -> coyote (7.02) rather than gray wolf (7.01).
    ("scenarios/11_genus_two_species.JPG",
     [D("canis species", 0.95), D("gray wolf", 0.9), D("coyote", 0.85), D("coyote", 0.8)]),
    # Step 3: deer family -> white-tailed deer (7.01) rather than odocoileus species (6.02) by default;
    # with count weight 1.0 and level weight 0.5 it goes to odocoileus species (5.0 vs 4.5).
    ("scenarios/12_family_genus_species.JPG",
     [D("deer family", 0.95), D("odocoileus species", 0.9), D("odocoileus species", 0.85),
      D("white-tailed deer", 0.8)]),
    # Step 4 (same family) is off by default (max_detections_nondominant_class_same_family = -1);
    # with it at 1, the mule deer becomes a white-tailed deer.
    ("scenarios/13_same_family.JPG",
     [D("white-tailed deer", 0.9), D("white-tailed deer", 0.85), D("white-tailed deer", 0.8),
      D("mule deer", 0.75)]),
    # Step 4 with propagation off: dominant odocoileus species (genus level); the elk (same family,
    # other genus) flips, the mule deer (a species in the same genus) does not.
    ("scenarios/14_same_family_genus_guard.JPG",
     [D("odocoileus species", 0.9), D("odocoileus species", 0.85), D("odocoileus species", 0.8),
      D("mule deer", 0.75), D("elk", 0.7)]),
    # Ties everywhere: nothing changes.
    ("scenarios/15_tie_no_dominant.JPG", [D("coyote", 0.9), D("bobcat", 0.85), D("coyote", 0.8), D("bobcat", 0.75)]),
    # A "human" classification on an animal detection is just another category: flipped.
    ("scenarios/16_human_on_animal.JPG", [D("coyote")] * 4 + [D("human", 0.5)]),
    # Person and vehicle detections are not smoothed by default (only detection category "animal");
    # with detection_category_names_to_smooth = None they are, and the person's "human" flips.
    ("scenarios/17_person_vehicle_detections.JPG",
     [D("white-tailed deer", 0.9), D("white-tailed deer", 0.88), D("white-tailed deer", 0.86),
      D("white-tailed deer", 0.84), D("human", 0.8, 0.9, "person"), D("vehicle", 0.7, 0.8, "vehicle")]),
    # Detections without classifications and with an empty list (the empty list is removed).
    ("scenarios/18_missing_classifications.JPG",
     [D("white-tailed deer", 0.9), D("white-tailed deer", 0.85), D("white-tailed deer", 0.8),
      D("white-tailed deer", 0.75), D("elk", 0.7), D(None, 0.65), D("[]", 0.6)]),
    # A failed photo and a photo without detections.
    ("scenarios/19_failure.JPG", "failure"),
    ("scenarios/20_no_detections.JPG", "empty"),
    # Class-level "bird" -> the species in the image.
    ("scenarios/21_bird_turkey.JPG", [D("bird", 0.9), D("wild turkey", 0.8)]),
    # "mammal" is an other category by name: -> raccoon.
    ("scenarios/22_mammal_other.JPG", [D("raccoon", 0.9), D("raccoon", 0.8), D("mammal", 0.7)]),
    # "no cv result" is an other category.
    ("scenarios/23_no_cv_result.JPG", [D("bobcat", 0.9), D("bobcat", 0.8), D("bobcat", 0.7), D("no cv result", 0.6)]),
    # Vehicle detections with a vehicle classification: counted only with all detection categories;
    # vehicle dominates then, and its empty taxonomy is a "parent" of everything, so step 2 keeps the coyote.
    ("scenarios/24_vehicle_dominant.JPG",
     [D("vehicle", 0.9, None, "vehicle"), D("vehicle", 0.85, None, "vehicle"), D("vehicle", 0.8, None, "vehicle"),
      D("vehicle", 0.75, None, "vehicle"), D("coyote", 0.7)]),
    # A crowd: animal -> coyote (step 1), the single foxes and canis species -> coyote (step 2), two
    # bobcats stay.
    ("scenarios/25_crowd.JPG",
     [D("coyote")] * 8 + [D("red fox"), D("gray fox"), D("bobcat"), D("bobcat"), D("canis species"), D("animal")]),
    # Dominant genus with a single species: step 2 does not flip the species (its parent dominates),
    # step 3 turns every genus prediction into the species.
    ("scenarios/26_dominant_parent.JPG", [D("canis species")] * 4 + [D("coyote")]),
    # Blank as the only other category next to one species (1 < 2: blank stays).
    ("scenarios/27_blank_single.JPG", [D("puma", 0.9), D("blank", 0.8)]),
    # Squirrel crowd with one bird: bird is not an ancestor of a squirrel, flipped in step 2.
    ("scenarios/28_squirrels.JPG", [D("eastern gray squirrel")] * 4 + [D("bird", 0.3)]),
    # Nothing relevant (a person, an animal below the detection threshold): the description is "".
    ("scenarios/29_nothing_relevant.JPG", [D("human", 0.9, 0.95, "person"), D("coyote", 0.05)]),
]

# Sequence images: (file, seq_id, frame, detection specs / "failure" / "empty"). Listed here in frame
# order; the CCT file lists them in CCT_ORDER.
SEQUENCE_IMAGES = [
    # Five deer and one elk across three photos: the elk flips per sequence, not per image.
    ("sequences/loc03/IMG_0101.JPG", "loc03_seq001", 0, [D("white-tailed deer", 0.9), D("white-tailed deer", 0.8)]),
    ("sequences/loc03/IMG_0102.JPG", "loc03_seq001", 1,
     [D("white-tailed deer", 0.9), D("white-tailed deer", 0.8), D("elk", 0.7)]),
    ("sequences/loc03/IMG_0103.JPG", "loc03_seq001", 2, [D("white-tailed deer", 0.9)]),
    # One "animal" and two coyotes in three photos.
    ("sequences/loc03/IMG_0201.JPG", "loc03_seq002", 0, [D("animal", 0.8)]),
    ("sequences/loc03/IMG_0202.JPG", "loc03_seq002", 1, [D("coyote", 0.85)]),
    ("sequences/loc03/IMG_0203.JPG", "loc03_seq002", 2, [D("coyote", 0.9)]),
    # canis species in one photo, coyote in another, a failed photo and an empty one in between.
    ("sequences/loc04/IMG_0301.JPG", "loc04_seq001", 0, [D("canis species", 0.8)]),
    ("sequences/loc04/IMG_0302.JPG", "loc04_seq001", 1, "failure"),
    ("sequences/loc04/IMG_0303.JPG", "loc04_seq001", 2, "empty"),
    ("sequences/loc04/IMG_0304.JPG", "loc04_seq001", 3, [D("coyote", 0.85), D(None, 0.3)]),
    # Two genus predictions, one mule deer, one white-tailed deer: a tie at 7.01 decided by the order
    # the CCT file lists the photos in (IMG_0403 first), not by time.
    ("sequences/loc04/IMG_0401.JPG", "loc04_seq002", 0, [D("odocoileus species", 0.9), D("odocoileus species", 0.8)]),
    ("sequences/loc04/IMG_0402.JPG", "loc04_seq002", 1, [D("mule deer", 0.85)]),
    ("sequences/loc04/IMG_0403.JPG", "loc04_seq002", 2, [D("white-tailed deer", 0.85)]),
]
CCT_ORDER = [0, 3, 1, 4, 2, 5, 12, 10, 11, 6, 7, 8, 9]
MISSING_FROM_RESULTS = ("sequences/loc04/IMG_0399.JPG", "loc04_seq001", 4)


def make_detection(rng, spec):
    cat, conf, label, score = spec
    if conf is None:
        conf = round(rng.uniform(0.3, 0.98), 3)
    bbox = [round(rng.uniform(0.0, 0.8), 4), round(rng.uniform(0.0, 0.8), 4),
            round(rng.uniform(0.05, 0.2), 4), round(rng.uniform(0.05, 0.2), 4)]
    det = {"category": {"animal": "1", "person": "2", "vehicle": "3"}[cat], "conf": conf, "bbox": bbox}
    if label is None:
        return det
    if label == "[]":
        det["classifications"] = []
        return det
    if score is None:
        score = round(rng.uniform(0.55, 0.99), 3)
    classifications = [[NAME_TO_ID[label], score]]
    # Runner-ups, as SpeciesNet's top-5 would give them (the smoothing keeps only the first).
    remaining = round(1.0 - score, 3)
    for _ in range(rng.randint(0, 2)):
        other = rng.choice([n for n in ANIMAL_LABELS if n != label and
                            NAME_TO_ID[n] not in [c[0] for c in classifications]])
        s = round(rng.uniform(0.0, min(remaining, classifications[-1][1])), 3)
        remaining = round(remaining - s, 3)
        classifications.append([NAME_TO_ID[other], s])
    det["classifications"] = classifications
    return det


def make_image(rng, file, specs):
    if specs == "failure":
        return {"file": file, "failure": "Failure image access", "detections": None}
    if specs == "empty":
        return {"file": file, "detections": []}
    detections = [make_detection(rng, spec) for spec in specs]
    # MegaDetector lists detections by confidence, highest first (stable for equal values).
    detections.sort(key=lambda d: d["conf"], reverse=True)
    return {"file": file, "detections": detections}


def build_inputs():
    rng = random.Random(SEED)
    images = [make_image(rng, file, specs) for file, specs in SCENARIOS]
    images += [make_image(rng, file, specs) for file, _, _, specs in SEQUENCE_IMAGES]
    results = {
        "images": images,
        "detection_categories": {"1": "animal", "2": "person", "3": "vehicle"},
        "info": {"detection_completion_time": "2024-06-11 10:00:00", "format_version": "1.6",
                 "detector": "md_v5a.0.1.pt",
                 "detector_metadata": {"megadetector_version": "v5a.0.1", "typical_detection_threshold": 0.2,
                                       "conservative_detection_threshold": 0.05},
                 "classifier": "speciesnet (synthetic fixture)",
                 "classification_completion_time": "2024-06-11 10:05:00"},
        "classification_categories": {str(i): c[0] for i, c in enumerate(CATEGORIES)},
        "classification_category_descriptions": DESCRIPTIONS,
    }
    (HERE / "classification_input.json").write_text(json.dumps(results, indent=1) + "\n")
    no_descriptions = copy.deepcopy(results)
    del no_descriptions["classification_category_descriptions"]
    (HERE / "classification_input_no_descriptions.json").write_text(json.dumps(no_descriptions, indent=1) + "\n")
    # restrict_to_taxa_list fails (IndexError) on an empty "classifications" list that it counts, and
    # its category combining on any empty list: its input has the empty list removed.
    for_restrict = copy.deepcopy(results)
    for image in for_restrict["images"]:
        for det in image.get("detections") or []:
            if det.get("classifications") == []:
                del det["classifications"]
    (HERE / "classification_input_restrict.json").write_text(json.dumps(for_restrict, indent=1) + "\n")

    cct_images = []
    for i in CCT_ORDER:
        file, seq, frame, _ = SEQUENCE_IMAGES[i]
        n_frames = sum(1 for s in SEQUENCE_IMAGES if s[1] == seq) + (1 if seq == MISSING_FROM_RESULTS[1] else 0)
        cct_images.append({"id": Path(file).stem, "file_name": file, "seq_id": seq, "seq_num_frames": n_frames,
                           "frame_num": frame, "location": seq.split("_")[0],
                           "datetime": "2024-05-{:02d} 06:{:02d}:{:02d}".format(3 if seq.startswith("loc03") else 4,
                                                                               int(seq[-1]) * 10, frame * 2)})
    file, seq, frame = MISSING_FROM_RESULTS
    cct_images.insert(9, {"id": Path(file).stem, "file_name": file, "seq_id": seq, "seq_num_frames": 5,
                          "frame_num": frame, "location": "loc04", "datetime": "2024-05-04 06:10:08"})
    cct = {"info": {"version": "1.0", "description": "sequence information for the classification fixtures"},
           "images": cct_images, "annotations": [], "categories": [{"id": 0, "name": "empty"}]}
    (HERE / "classification_sequences_cct.json").write_text(json.dumps(cct, indent=1) + "\n")

    # Taxonomy: every category except some parents (odocoileus genus kept, felidae / procyonidae /
    # procyon / rodentia / sciuridae / sciurus / galliformes / phasianidae / meleagris / primates /
    # hominidae / homo / cervus / vulpes / urocyon / lynx / puma left out on purpose), plus a blank,
    # a vehicle and an animal line, one taxon the inputs do not use, and a blank line.
    lines = [d for d in DESCRIPTIONS.values() if "no cv result" not in d]
    lines.insert(5, str(uuid.uuid5(uuid.NAMESPACE_URL, "megadetector-swift-fixture/moose")) +
                 ";mammalia;cetartiodactyla;cervidae;alces;alces;moose")
    lines.insert(12, "")
    (HERE / "classification_taxonomy.txt").write_text("\n".join(lines) + "\n")

    taxa = [
        "latin,common,original_common",
        "Odocoileus virginianus,deer,",
        "odocoileus hemionus,deer,",
        "cervus canadensis,wapiti,",
        "  canis latrans , coyote ,",
        "vulpes vulpes,red fox,",
        "lynx rufus,bobcat,Bobcat (Lynx)",
        "meleagris gallopavo,wild turkey,",
        "sciurus,tree squirrel,\u00c9cureuil",
        "homo sapiens,human,",
        "canis latrans,prairie wolf,",
        ",no latin name,",
    ]
    (HERE / "classification_taxa_list.csv").write_text("\n".join(taxa) + "\n", encoding="utf-8")


SMOOTHING_OPTION_SETS = {
    "default": {},
    "custom_strict": {
        "min_detections_to_overwrite_secondary": 3,
        "max_detections_nondominant_class": 2,
        "min_detections_to_overwrite_secondary_same_family": 2,
        "max_detections_nondominant_class_same_family": 1,
        "min_detections_to_overwrite_other": 3,
        "other_category_names": ["animal", "blank", "unknown"],
        "classification_confidence_threshold": 0.6,
        "detection_confidence_threshold": 0.2,
        "propagate_classifications_through_taxonomy": False,
        "add_pre_smoothing_description": False,
        "detection_category_names_to_smooth": None,
    },
    "custom_weights": {
        "taxonomy_propagation_level_weight": 0.5,
        "taxonomy_propagation_count_weight": 1.0,
        "max_detections_nondominant_class_same_family": 1,
    },
}

# (case name, input file, option set)
IMAGE_CASES = [
    ("image_default", "classification_input.json", "default"),
    ("image_custom_strict", "classification_input.json", "custom_strict"),
    ("image_custom_weights", "classification_input.json", "custom_weights"),
    ("image_no_descriptions", "classification_input_no_descriptions.json", "default"),
]
SEQUENCE_CASES = [
    ("sequence_default", "classification_input.json", "default"),
    ("sequence_custom_strict", "classification_input.json", "custom_strict"),
]
RESTRICT_CASES = [
    ("restrict_default", {}),
    ("restrict_walk_down_protected", {"allow_walk_down": True, "protected_common_names": ["gray fox", "raccoon"],
                                      "use_original_common_names_if_available": False,
                                      "classification_threshold": 0.3}),
    ("restrict_no_combine", {"combine_redundant_categories": False, "add_pre_filtering_description": False}),
]


def changes(input_file, output_text):
    """[file, detection index, top id before, top id after] for every detection whose top
    classification changed."""
    before = json.loads((HERE / input_file).read_text())
    after = json.loads(output_text)
    out = []
    for a, b in zip(before["images"], after["images"]):
        assert a["file"] == b["file"]
        for i, (da, db) in enumerate(zip(a.get("detections") or [], b.get("detections") or [])):
            if da.get("classifications") and da["classifications"][0][0] != db["classifications"][0][0]:
                out.append([a["file"], i, da["classifications"][0][0], db["classifications"][0][0]])
    return out


def options_object(settings):
    from megadetector.postprocessing.classification_postprocessing import ClassificationSmoothingOptions
    options = ClassificationSmoothingOptions()
    for key, value in settings.items():
        assert hasattr(options, key), key
        setattr(options, key, value)
    return options


def record(name, text, manifest_case):
    path = HERE / "expected_classification_{}.json".format(name)
    path.write_text(text)
    manifest_case["expected"] = path.name
    manifest_case["md5"] = hashlib.md5(text.encode()).hexdigest()
    manifest_case["bytes"] = len(text.encode())


def main():
    from megadetector.postprocessing import classification_postprocessing as cp
    build_inputs()
    manifest = {
        "generator": GENERATOR,
        "seed": SEED,
        "versions": {"megadetector": version("megadetector"), "pandas": version("pandas"),
                     "numpy": version("numpy"), "python": platform.python_version()},
        "inputs": {"results": "classification_input.json",
                   "results_no_descriptions": "classification_input_no_descriptions.json",
                   "results_for_restrict": "classification_input_restrict.json",
                   "cct_sequences": "classification_sequences_cct.json",
                   "taxonomy": "classification_taxonomy.txt", "taxa_list": "classification_taxa_list.csv"},
        "smoothing_option_sets": SMOOTHING_OPTION_SETS,
        "cases": {},
    }
    with tempfile.TemporaryDirectory() as scratch:
        for name, input_file, option_set in IMAGE_CASES:
            output = Path(scratch) / (name + ".json")
            cp.smooth_classification_results_image_level(str(HERE / input_file), str(output),
                                                         options_object(SMOOTHING_OPTION_SETS[option_set]))
            text = output.read_text()
            case = {"call": "smooth_classification_results_image_level(input_file=INPUT, output_file=OUTPUT, "
                            "options=ClassificationSmoothingOptions() with option set '{}')".format(option_set),
                    "input": input_file, "option_set": option_set}
            record(name, text, case)
            case["changes"] = changes(input_file, text)
            manifest["cases"][name] = case
        for name, input_file, option_set in SEQUENCE_CASES:
            output = Path(scratch) / (name + ".json")
            cp.smooth_classification_results_sequence_level(str(HERE / input_file),
                                                            str(HERE / "classification_sequences_cct.json"),
                                                            str(output),
                                                            options_object(SMOOTHING_OPTION_SETS[option_set]))
            text = output.read_text()
            case = {"call": "smooth_classification_results_sequence_level(input_file=INPUT, "
                            "cct_sequence_information=CCT, output_file=OUTPUT, options=ClassificationSmoothingOptions() "
                            "with option set '{}')".format(option_set),
                    "input": input_file, "cct_sequence_information": "classification_sequences_cct.json",
                    "option_set": option_set}
            record(name, text, case)
            case["changes"] = changes(input_file, text)
            manifest["cases"][name] = case
        for name, kwargs in RESTRICT_CASES:
            output = Path(scratch) / (name + ".json")
            cp.restrict_to_taxa_list(taxa_list=str(HERE / "classification_taxa_list.csv"),
                                     speciesnet_taxonomy_file=str(HERE / "classification_taxonomy.txt"),
                                     input_file=str(HERE / "classification_input_restrict.json"),
                                     output_file=str(output), verbose=False, **kwargs)
            text = output.read_text()
            case = {"call": "restrict_to_taxa_list(taxa_list=TAXA_LIST, speciesnet_taxonomy_file=TAXONOMY, "
                            "input_file=INPUT, output_file=OUTPUT, verbose=False{})".format(
                                "".join(", {}={!r}".format(k, v) for k, v in kwargs.items())),
                    "input": "classification_input_restrict.json", "taxa_list": "classification_taxa_list.csv",
                    "taxonomy": "classification_taxonomy.txt", "keyword_arguments": kwargs}
            record(name, text, case)
            manifest["cases"][name] = case
    (HERE / "classification_manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    for name, case in manifest["cases"].items():
        print(name, case["bytes"], "bytes", len(case.get("changes", [])), "changes")


if __name__ == "__main__":
    main()
