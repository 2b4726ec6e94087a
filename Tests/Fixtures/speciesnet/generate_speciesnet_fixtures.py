#!/usr/bin/env python3
"""Generates the SpeciesNet loader fixtures: a small classifier with the structure SpeciesNet's
released PyTorch file has (an ONNX graph as tf2onnx writes a Keras EfficientNetV2: NHWC input and a
Transpose, explicit Pads, convolutions with BatchNorm folded, swish as Sigmoid x Mul, depthwise
convolutions, squeeze-excitation through GlobalAveragePool, a residual Add, the head's
GlobalAveragePool, Squeeze, Reshape and MatMul + Add), converted by onnx2torch to a
`torch.fx.GraphModule` and saved with `torch.save(model)`, as the released file was made; PyTorch's
logits on a fixed input; and crafted files whose generated code or globals go beyond what such files
hold (they must be refused, naming the problem, without running anything).

Run from the repository root with the reference environment plus onnx2torch:
    VENV/bin/python Tests/Fixtures/speciesnet/generate_speciesnet_fixtures.py

Writes next to this script:
- speciesnet_like_tiny.pt: the GraphModule (random weights, 64x64 NHWC input, 7 classes).
- speciesnet_like_tiny.onnx: the ONNX graph it was converted from (what a user's tf2onnx export is).
- expected_logits.json: the input (a fixed pseudo-random NHWC tensor in [0, 1]) and PyTorch's output,
  in float32 and float64 (the same module run in double precision).
- crafted_code_import.pt: the same file with `import os; os.system(...)` added to the forward code.
- crafted_code_call.pt: the forward code calling a builtin (`eval`) instead of a submodule.
- crafted_global.pt: a pickle naming `posix.system` beside the GraphModule.
- model/: a SpeciesNet model folder around speciesnet_like_tiny.pt as speciesnet's `ModelInfo` reads
  it (info.json, labels in speciesnet's `uuid;class;order;family;genus;species;common name` form).
- expected_crops.json: speciesnet 5.0.6's own `SpeciesNetClassifier` (always_crop) on shared photos
  and boxes (some reaching past the photo's edges): the MD5 of each 480x480 uint8 crop `preprocess`
  makes, `predict`'s top-5 classes and scores for it, and the network's logits on it in float32 and
  in float64 (the same module in double precision), to judge float32 noise.
- expected_geofence.json: speciesnet's `geofence_animal_classification` and
  `roll_up_labels_to_first_matching_level` on 300 seeded random cases (a 14-taxon taxonomy, allow and
  block rules by country and region, random top-5 labels and scores, countries and regions).
- model/taxonomy_release.txt, model/geofence_release.json: a taxonomy with the labels' ancestors and
  geofence rules (coyote allowed only in North America, deer blocked in Great Britain, ...).
- md_detections_camera_traps.json: the detection fixture's reference results
  (../detect/expected_shared.json) for the camera-trap photos, the input of the classification runs.
- expected_md_speciesnet_*.json: the reference's `run_md_and_speciesnet --detections_file` on them
  with this model folder: `default` (roll-up, no geofence), `usa_ca` (--country USA --admin1_region CA),
  `gbr_norollup_raw` (--country GBR --norollup --include_raw_classifications).
- expected_md_speciesnet_clips.json: the same on the video fixture's clips and the reference's
  process_video results (../video/expected_frame_sample_10.json), classifying detections >= 0.005 (the
  test detector's clip detections are all 0.005); `--clips-only` makes just this file.
- manifest.json: versions.
"""
import copy
import io
import json
import pickle
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import onnx
import onnx2torch
import torch
from onnx import TensorProto, helper, numpy_helper

HERE = Path(__file__).resolve().parent


def build_graph(rng):
    initializers = []

    def weight(name, shape, scale):
        initializers.append(numpy_helper.from_array((rng.standard_normal(shape) * scale).astype(np.float32), name))
        return name

    def constant(name, values, dtype=np.int64):
        initializers.append(numpy_helper.from_array(np.array(values, dtype=dtype), name))
        return name

    nodes = []

    def node(op, inputs, output, name, **attributes):
        nodes.append(helper.make_node(op, inputs, [output], name=name, **attributes))
        return output

    x = node("Transpose", ["input_1"], "nchw", "efficientnetv2-m/transpose", perm=[0, 3, 1, 2])
    # Keras "same" padding with stride 2 is an explicit Pad before a VALID convolution in tf2onnx's output.
    x = node("Pad", [x, constant("stem_pads", [0, 0, 0, 0, 0, 0, 1, 1])], "stem_pad", "efficientnetv2-m/stem_conv_pad/Pad", mode="constant")
    x = node("Conv", [x, weight("stem_w", (16, 3, 3, 3), 0.4), weight("stem_b", (16,), 0.1)], "stem", "efficientnetv2-m/stem_conv/Conv2D",
             strides=[2, 2], kernel_shape=[3, 3])
    s = node("Sigmoid", [x], "stem_sig", "efficientnetv2-m/stem_activation/Sigmoid")
    stem = node("Mul", [x, s], "stem_act", "efficientnetv2-m/stem_activation/mul")
    # An MBConv block: expand 1x1, depthwise 3x3, squeeze-excitation, project 1x1, residual.
    x = node("Conv", [stem, weight("exp_w", (32, 16, 1, 1), 0.3), weight("exp_b", (32,), 0.1)], "exp", "efficientnetv2-m/block1a_expand_conv/Conv2D")
    x = node("Mul", [x, node("Sigmoid", [x], "exp_sig", "efficientnetv2-m/block1a_expand_activation/Sigmoid")], "exp_act",
             "efficientnetv2-m/block1a_expand_activation/mul")
    x = node("Conv", [x, weight("dw_w", (32, 1, 3, 3), 0.4), weight("dw_b", (32,), 0.1)], "dw", "efficientnetv2-m/block1a_dwconv/depthwise",
             group=32, pads=[1, 1, 1, 1], kernel_shape=[3, 3])
    dw = node("Mul", [x, node("Sigmoid", [x], "dw_sig", "efficientnetv2-m/block1a_activation/Sigmoid")], "dw_act",
              "efficientnetv2-m/block1a_activation/mul")
    se = node("GlobalAveragePool", [dw], "se_pool", "efficientnetv2-m/block1a_se_squeeze/Mean")
    se = node("Conv", [se, weight("se_r_w", (8, 32, 1, 1), 0.3), weight("se_r_b", (8,), 0.1)], "se_r", "efficientnetv2-m/block1a_se_reduce/Conv2D")
    se = node("Mul", [se, node("Sigmoid", [se], "se_r_sig", "efficientnetv2-m/block1a_se_reduce/Sigmoid")], "se_r_act",
              "efficientnetv2-m/block1a_se_reduce/mul")
    se = node("Conv", [se, weight("se_e_w", (32, 8, 1, 1), 0.3), weight("se_e_b", (32,), 0.1)], "se_e", "efficientnetv2-m/block1a_se_expand/Conv2D")
    se = node("Sigmoid", [se], "se_gate", "efficientnetv2-m/block1a_se_expand/Sigmoid")
    x = node("Mul", [dw, se], "se_out", "efficientnetv2-m/block1a_se_excite/mul")
    x = node("Conv", [x, weight("proj_w", (16, 32, 1, 1), 0.3), weight("proj_b", (16,), 0.1)], "proj", "efficientnetv2-m/block1a_project_conv/Conv2D")
    x = node("Add", [x, stem], "res", "efficientnetv2-m/block1a_add/add")
    x = node("Conv", [x, weight("top_w", (24, 16, 1, 1), 0.3), weight("top_b", (24,), 0.1)], "top", "efficientnetv2-m/top_conv/Conv2D")
    x = node("Mul", [x, node("Sigmoid", [x], "top_sig", "efficientnetv2-m/top_activation/Sigmoid")], "top_act",
             "efficientnetv2-m/top_activation/mul")
    x = node("GlobalAveragePool", [x], "pool", "efficientnetv2-m/avg_pool/Mean")
    x = node("Squeeze", [x, constant("squeeze_axes", [2, 3])], "squeezed", "efficientnetv2-m/avg_pool/Squeeze")
    x = node("Reshape", [x, constant("flat", [-1, 24])], "flat_out", "efficientnetv2-m/flatten/Reshape")
    x = node("MatMul", [x, weight("fc_w", (24, 7), 0.5)], "fc", "efficientnetv2-m/predictions/MatMul")
    node("Add", [x, weight("fc_b", (7,), 0.1)], "logits", "efficientnetv2-m/predictions/BiasAdd")
    graph = helper.make_graph(nodes, "efficientnetv2-m", [helper.make_tensor_value_info("input_1", TensorProto.FLOAT, [1, 64, 64, 3])],
                              [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 7])], initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="tf2onnx")
    onnx.checker.check_model(model)
    return model


def replace_code(path, target, edit):
    """A copy of a saved GraphModule whose pickled forward code is passed through `edit`."""
    with zipfile.ZipFile(path) as source:
        names = source.namelist()
        prefix = names[0].split("/")[0]
        data = source.read(f"{prefix}/data.pkl")
        code = json.loads(json.dumps(pickle_code(data)))
        edited = data.replace(code.encode(), edit(code).encode())
        assert edited != data
        # BINUNICODE carries its length: patch it too.
        old_length = len(code.encode()).to_bytes(4, "little")
        new_length = len(edit(code).encode()).to_bytes(4, "little")
        at = edited.find(edit(code).encode()) - 4
        assert edited[at:at + 4] == old_length
        edited = edited[:at] + new_length + edited[at + 4:]
        with zipfile.ZipFile(target, "w", zipfile.ZIP_STORED) as out:
            for name in names:
                out.writestr(name, edited if name.endswith("data.pkl") else source.read(name))


def pickle_code(data):
    marker = b"def forward("
    start = data.find(marker)
    length = int.from_bytes(data[start - 4 - 1:start - 1][::-1][::-1], "little") if False else None
    # The code string is a BINUNICODE whose text starts a few characters before "def forward".
    for back in range(1, 64):
        at = start - back
        if data[at - 5] == 0x58:  # 'X' BINUNICODE opcode
            size = int.from_bytes(data[at - 4:at], "little")
            text = data[at:at + size].decode()
            if "def forward(" in text:
                return text
    raise SystemExit("forward code not found in the pickle")


LABELS = [
    "f1856211-cfb7-4a5b-9158-c0f72fd09ee6;;;;;;blank",
    "990ae9dd-7a59-4344-afcb-1b7b21368000;mammalia;primates;hominidae;homo;sapiens;human",
    "5c7ce479-8a45-40b3-ae21-7c97dfae22f5;mammalia;cetartiodactyla;cervidae;odocoileus;virginianus;white-tailed deer",
    "3184697f-51ad-4608-9a28-9edb5500159c;mammalia;carnivora;canidae;canis;latrans;coyote",
    "dfa04e3b-2b2c-49a5-b4bb-ff7fd9a5d0ad;mammalia;lagomorpha;leporidae;sylvilagus;;sylvilagus species",
    "1f689929-883d-4dae-958c-3d57ab5b6c16;;;;;;animal",
    "e2895ed5-780b-48f6-8a11-9e27cb594511;;;;;;vehicle",
]

# Photos and normalised [xmin, ymin, width, height] boxes; the last ones reach past the edges, where
# torchvision's crop fills with zeros.
CROPS = [
    ("camera-traps/animl_2021-05-28_SYFR0041_deer.JPG", [0.31, 0.42, 0.22, 0.3]),
    ("camera-traps/animl_2021-07-24_SYFR0655_coyote.JPG", [0.05, 0.5, 0.4, 0.35]),
    ("camera-traps/animl_B012_2021-05-27_human.jpg", [0.6, 0.1, 0.15, 0.8]),
    ("camera-traps/animl_BUOW_IMG_0708.JPG", [0.0123, 0.0456, 0.0311, 0.0290]),
    ("camera-traps/animl_2021-12-07_12080069_rabbit.JPG", [0.85, 0.7, 0.3, 0.4]),
    ("camera-traps/44158432go.jpg", [-0.05, -0.1, 0.5, 0.5]),
]


def make_model_folder(tiny):
    folder = HERE / "model"
    folder.mkdir(exist_ok=True)
    (folder / "speciesnet_like_tiny.pt").write_bytes(tiny.read_bytes())
    (folder / "labels.txt").write_text("\n".join(LABELS) + "\n")
    (folder / "info.json").write_text(json.dumps({
        "version": "4.0.3a-test", "type": "always_crop", "classifier": "speciesnet_like_tiny.pt",
        "classifier_labels": "labels.txt", "detector": "md_v5a.0.1.pt", "taxonomy": "taxonomy_release.txt",
        "geofence": "geofence_release.json"}, indent=1) + "\n")


def record_crops(shared):
    from PIL import Image  # noqa: F401
    from speciesnet.classifier import SpeciesNetClassifier
    from speciesnet.utils import BBox, load_rgb_image
    classifier = SpeciesNetClassifier(str(HERE / "model"), device="cpu")
    records = []
    for name, box in CROPS:
        image = load_rgb_image(str(shared / "images" / name))
        crops = classifier.preprocess(image, bboxes=[BBox(*box)])
        prediction = classifier.predict(name, crops)
        import hashlib
        batch = torch.from_numpy(np.stack([crops[0].arr / 255.0], axis=0).astype(np.float32))
        with torch.no_grad():
            logits32 = classifier.model(batch)[0].numpy().tolist()
            logits64 = copy.deepcopy(classifier.model).double()(batch.double())[0].numpy().tolist()
        records.append({"photo": name, "bbox": box, "crop_md5": hashlib.md5(crops[0].arr.tobytes()).hexdigest(),
                        "crop_shape": list(crops[0].arr.shape),
                        "classes": prediction["classifications_list"][0]["classes"],
                        "scores": prediction["classifications_list"][0]["scores"],
                        "logits_float32": logits32, "logits_float64": logits64})
    (HERE / "expected_crops.json").write_text(json.dumps(records, indent=1) + "\n")


TAXA = [
    "f1856211-cfb7-4a5b-9158-c0f72fd09ee6;;;;;;blank",
    "990ae9dd-7a59-4344-afcb-1b7b21368000;mammalia;primates;hominidae;homo;sapiens;human",
    "e2895ed5-780b-48f6-8a11-9e27cb594511;;;;;;vehicle",
    "ddf59264-185a-4d35-b647-2785792bdf54;mammalia;carnivora;felidae;panthera;leo;lion",
    "fbb23d07-6677-43db-b650-f99ac452c50f;mammalia;carnivora;felidae;panthera;;panthera species",
    "df8514b0-10a5-411f-8ed6-0f415e8153a3;mammalia;carnivora;felidae;;;cat family",
    "eeeb5d26-2a47-4d01-a3de-10b33ec0aee4;mammalia;carnivora;;;;carnivorous mammal",
    "f2d233e3-80e3-433d-9687-e29ecc7a467a;mammalia;;;;;mammal",
    "1f689929-883d-4dae-958c-3d57ab5b6c16;;;;;;animal",
    "330bb1e9-84d6-4e41-afa9-938aee17ea29;mammalia;carnivora;ursidae;ursus;arctos;brown bear",
    "e7f83bf6-df2c-4ce0-97fc-2f233df23ec4;mammalia;carnivora;ursidae;ursus;maritimus;polar bear",
    "85662682-67c1-4ecb-ba05-ba12e2df6b65;mammalia;carnivora;ursidae;ailuropoda;melanoleuca;giant panda",
    "5a0f5e3f-c634-4b86-910a-b105cb526a24;mammalia;carnivora;ursidae;ursus;;ursus species",
    "ec1a70f4-41c0-4aba-9150-292fb2b7a324;mammalia;carnivora;ursidae;;;bear family",
]
# Outside the taxonomy: labels whose ancestors are partly missing from it.
EXTRA_LABELS = [
    "9c564562-9429-405c-8529-04cff7752282;mammalia;carnivora;felidae;puma;concolor;puma",
    "e588253d-d61d-4149-a96c-8c245927a80f;mammalia;carnivora;felidae;felis;margarita;sand cat",
]
GEOFENCE = {
    "mammalia;carnivora;felidae;panthera;leo": {"allow": {"KEN": [], "TZA": [], "ZAF": []}},
    "mammalia;carnivora;ursidae;ursus;maritimus": {"allow": {"CAN": [], "USA": ["AK"], "GRL": []}},
    "mammalia;carnivora;ursidae;ursus;arctos": {"block": {"GBR": [], "USA": ["FL", "TX"]}},
    "mammalia;carnivora;ursidae;ailuropoda;melanoleuca": {"allow": {"CHN": []}, "block": {"CHN": ["HK"]}},
    "mammalia;carnivora;felidae;panthera;": {"block": {"AUS": []}},
    "mammalia;carnivora;ursidae;;": {"block": {"AUS": [], "NZL": []}},
    "mammalia;carnivora;felidae;puma;concolor": {"allow": {"USA": ["CA", "CO", "AZ"], "MEX": []}},
}


TAXONOMY_EXTRA = [
    "5c7ce479-8a45-40b3-ae21-7c97dfae22f5;mammalia;cetartiodactyla;cervidae;odocoileus;virginianus;white-tailed deer",
    "6e2f1a7c-0000-4000-8000-000000000001;mammalia;cetartiodactyla;cervidae;odocoileus;;odocoileus species",
    "6e2f1a7c-0000-4000-8000-000000000002;mammalia;cetartiodactyla;cervidae;;;deer family",
    "6e2f1a7c-0000-4000-8000-000000000003;mammalia;cetartiodactyla;;;;even-toed ungulate",
    "3184697f-51ad-4608-9a28-9edb5500159c;mammalia;carnivora;canidae;canis;latrans;coyote",
    "6e2f1a7c-0000-4000-8000-000000000004;mammalia;carnivora;canidae;canis;;canis species",
    "6e2f1a7c-0000-4000-8000-000000000005;mammalia;carnivora;canidae;;;dog family",
    "eeeb5d26-2a47-4d01-a3de-10b33ec0aee4;mammalia;carnivora;;;;carnivorous mammal",
    "dfa04e3b-2b2c-49a5-b4bb-ff7fd9a5d0ad;mammalia;lagomorpha;leporidae;sylvilagus;;sylvilagus species",
    "6e2f1a7c-0000-4000-8000-000000000006;mammalia;lagomorpha;leporidae;;;rabbit family",
    "6e2f1a7c-0000-4000-8000-000000000007;mammalia;lagomorpha;;;;lagomorph",
    "f2d233e3-80e3-433d-9687-e29ecc7a467a;mammalia;;;;;mammal",
    "990ae9dd-7a59-4344-afcb-1b7b21368000;mammalia;primates;hominidae;homo;sapiens;human",
    "f1856211-cfb7-4a5b-9158-c0f72fd09ee6;;;;;;blank",
    "e2895ed5-780b-48f6-8a11-9e27cb594511;;;;;;vehicle",
    "1f689929-883d-4dae-958c-3d57ab5b6c16;;;;;;animal",
]
MODEL_GEOFENCE = {
    "mammalia;carnivora;canidae;canis;latrans": {"allow": {"USA": [], "CAN": [], "MEX": []}},
    "mammalia;cetartiodactyla;cervidae;odocoileus;virginianus": {"block": {"GBR": [], "USA": ["CA"]}},
    "mammalia;lagomorpha;leporidae;sylvilagus;": {"allow": {"USA": ["CA", "NV"], "MEX": []}},
}


def record_md_speciesnet(shared):
    folder = HERE / "model"
    (folder / "taxonomy_release.txt").write_text("\n".join(TAXONOMY_EXTRA) + "\n")
    (folder / "geofence_release.json").write_text(json.dumps(MODEL_GEOFENCE, indent=1) + "\n")
    detections = json.loads((HERE.parent / "detect" / "expected_shared.json").read_text())
    detections["images"] = [image for image in detections["images"] if image["file"].startswith("camera-traps/")]
    source = HERE / "md_detections_camera_traps.json"
    source.write_text(json.dumps(detections, indent=1) + "\n")
    commands = {}
    for name, extra in [("default", []), ("usa_ca", ["--country", "USA", "--admin1_region", "CA"]),
                        ("gbr_norollup_raw", ["--country", "GBR", "--norollup", "--include_raw_classifications"])]:
        output = HERE / f"expected_md_speciesnet_{name}.json"
        command = [sys.executable, "-m", "megadetector.detection.run_md_and_speciesnet", str(shared / "images"), str(output),
                   "--detections_file", str(source), "--classification_model", str(folder), "--loader_workers", "1"] + extra
        subprocess.run(command, check=True, capture_output=True, text=True)
        without_repository_root(output)
        commands[name] = " ".join(["run_md_and_speciesnet", "IMAGES", output.name, "--detections_file", source.name,
                                   "--classification_model", "model"] + extra)
    return commands


def record_clips():
    output = HERE / "expected_md_speciesnet_clips.json"
    command = [sys.executable, "-m", "megadetector.detection.run_md_and_speciesnet", str(HERE.parent / "video" / "clips"), str(output),
               "--detections_file", str(HERE.parent / "video" / "expected_frame_sample_10.json"), "--classification_model",
               str(HERE / "model"), "--loader_workers", "1", "--detection_confidence_threshold_for_classification", "0.005"]
    subprocess.run(command, check=True, capture_output=True, text=True)
    without_repository_root(output)


def without_repository_root(path):
    """The reference records the classifier folder and failed clips by absolute path; the committed
    files name them relative to the repository root (the tests do not compare these texts)."""
    root = str(HERE.parents[2]) + "/"
    path.write_text(path.read_text().replace(root, ""))


def record_geofence():
    from speciesnet.geofence_utils import geofence_animal_classification, roll_up_labels_to_first_matching_level
    from speciesnet.taxonomy_utils import get_full_class_string
    taxonomy = {get_full_class_string(label): label for label in TAXA}
    rng = np.random.default_rng(15)
    countries = [None, "KEN", "USA", "CAN", "CHN", "AUS", "GBR", "NZL", "MEX", "GRL", "BRA"]
    regions = [None, "AK", "CA", "FL", "TX", "HK", "CO"]
    labels_pool = TAXA + EXTRA_LABELS
    cases = []
    for _ in range(300):
        labels = [labels_pool[i] for i in rng.choice(len(labels_pool), size=5, replace=False)]
        raw = rng.random(5) ** 3
        scores = sorted((raw / raw.sum() * rng.uniform(0.5, 1.0)).tolist(), reverse=True)
        country = countries[rng.integers(len(countries))]
        region = regions[rng.integers(len(regions))] if country == "USA" or country == "CHN" else None
        enabled = bool(rng.random() < 0.9)
        label, score, source = geofence_animal_classification(labels=labels, scores=scores, country=country, admin1_region=region,
                                                              taxonomy_map=taxonomy, geofence_map=GEOFENCE, enable_geofence=enabled)
        levels = ["species", "genus", "family", "order", "class", "kingdom"]
        rollup = roll_up_labels_to_first_matching_level(labels=labels, scores=scores, country=country, admin1_region=region,
                                                        target_taxonomy_levels=levels, non_blank_threshold=0.65, taxonomy_map=taxonomy,
                                                        geofence_map=GEOFENCE, enable_geofence=enabled)
        cases.append({"labels": labels, "scores": scores, "country": country, "admin1_region": region, "enabled": enabled,
                      "geofenced": [label, score, source], "rollup_065": list(rollup) if rollup else None})
    (HERE / "expected_geofence.json").write_text(json.dumps({"taxonomy": TAXA, "geofence": GEOFENCE, "cases": cases}, indent=1) + "\n")


def main():
    if "--clips-only" in sys.argv:
        record_clips()
        return
    rng = np.random.default_rng(20261207)
    model = build_graph(rng)
    onnx.save(model, HERE / "speciesnet_like_tiny.onnx")
    module = onnx2torch.convert(model).eval()
    torch.save(module, HERE / "speciesnet_like_tiny.pt")
    sample = rng.random((1, 64, 64, 3), dtype=np.float32)
    with torch.no_grad():
        logits = module(torch.from_numpy(sample)).numpy()
        logits64 = module.double()(torch.from_numpy(sample).double()).numpy()
    (HERE / "expected_logits.json").write_text(json.dumps({
        "input_shape": list(sample.shape), "input": sample.ravel().tolist(),
        "logits_float32": logits.ravel().tolist(), "logits_float64": logits64.ravel().tolist()}) + "\n")
    tiny = HERE / "speciesnet_like_tiny.pt"
    replace_code(tiny, HERE / "crafted_code_import.pt", lambda code: code.replace("def forward(", "import os\nos.system('touch /tmp/md-crafted-pwned')\ndef forward(", 1))
    replace_code(tiny, HERE / "crafted_code_call.pt", lambda code: code.replace('getattr(self, "efficientnetv2-m/transpose")', "eval", 1))
    # A GraphModule pickle with a second, forbidden global before it.
    with zipfile.ZipFile(tiny) as source:
        names = source.namelist()
        prefix = names[0].split("/")[0]
        data = source.read(f"{prefix}/data.pkl")
        evil = b"\x80\x02cposix\nsystem\nX\x1d\x00\x00\x00touch /tmp/md-crafted-pwned-2\x85R0" + data[2:]
        with zipfile.ZipFile(HERE / "crafted_global.pt", "w", zipfile.ZIP_STORED) as out:
            for name in names:
                out.writestr(name, evil if name.endswith("data.pkl") else source.read(name))
    make_model_folder(tiny)
    record_geofence()
    shared = Path(sys.argv[sys.argv.index("--shared") + 1]) if "--shared" in sys.argv else HERE.parents[3] / "shared"
    md_speciesnet_commands = record_md_speciesnet(shared.resolve())
    record_clips()
    record_crops(shared)
    (HERE / "manifest.json").write_text(json.dumps({
        "generator": "Tests/Fixtures/speciesnet/generate_speciesnet_fixtures.py",
        "md_speciesnet_commands": md_speciesnet_commands,
        "versions": {"torch": torch.__version__, "onnx": onnx.__version__, "onnx2torch": __import__("importlib.metadata").metadata.version("onnx2torch"),
                     "speciesnet": __import__("importlib.metadata").metadata.version("speciesnet"),
                     "numpy": np.__version__, "python": sys.version.split()[0]}}, indent=1) + "\n")


if __name__ == "__main__":
    main()
