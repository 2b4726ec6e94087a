#!/usr/bin/env python3
"""MDv4-structure fixtures: exports a Faster R-CNN / InceptionResNetV2 frozen graph with the TF1 Object
Detection API exporter that wrote MegaDetector v2-v4 (random weights, MDv4's model config), then writes

  mdv4_skeleton.pb     the exported GraphDef with the contents of large constants removed (dtype and
                       shape kept): every node, op, input and attribute of the real export, 2-3 MB
                       instead of 240 MB; for the reader and the structure checks (it cannot run)
  mdv4_structure.json  TensorFlow's own view of the export: node count, op histogram, producer version,
                       inputs/outputs, the class count from the second-stage weights, a sample of nodes
  mdv4_thin.pb         the "thin" variant (feature-extractor convs 8x narrower except the residual
                       up-projections, RPN depth 64, resizer 120/200): node for node the same graph,
                       runnable, with class-predictor weights scaled so that scores spread out
  mdv4_thin_outputs.json + thin_*.f32  TensorFlow's outputs and named intermediates of the thin graph
                       for a few photos of ../shared/images, and the detections the reference package's
                       TFDetector makes of those outputs (threshold 0.005)

The full export is left in --scratch (for speed checks, not committed).

Environment (see ../shared/docs/mdv4-notes.md): Python 3.11, tensorflow-cpu==2.15.1 with numpy<2 and
protobuf<5, and the sdist of tf-models-research-object-detection==2.8.0.post1 unpacked (its object_detection
package installed without dependencies; its slim/ folder given as --slim); megadetector==10.0.28 installed
without dependencies (plus humanfriendly, jsonpickle, pytest) for the reference conversion.
    python make_mdv4_fixtures.py --slim /path/to/tf_models_research_object_detection-2.8.0.post1/slim \
        --photos ../../../../shared/images/camera-traps/animl_IMAG0004_cougar.JPG \
                 ../../../../shared/images/camera-traps/speciesnet_domestic_dog.jpg
"""
import argparse
import collections
import contextlib
import importlib.abc
import importlib.machinery
import json
import os
import shutil
import sys
import types

os.environ["PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION"] = "python"
import numpy as np  # noqa: E402

for alias, target in (("int", int), ("float", float), ("bool", bool), ("object", object)):
    if alias not in np.__dict__:
        setattr(np, alias, target)

# Training/evaluation-only imports of the OD API that have no installable package any more.
STUBBED = ("tensorflow.contrib", "lvis", "pycocotools", "apache_beam", "tensorflow_io")


class Stub(types.ModuleType):
    __path__ = []

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return Stub(self.__name__ + "." + name)


class StubFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, name, path, target=None):
        if any(name == p or name.startswith(p + ".") for p in STUBBED):
            return importlib.machinery.ModuleSpec(name, self, is_package=True)
        return None

    def create_module(self, spec):
        return Stub(spec.name)

    def exec_module(self, module):
        pass


MODEL_CONFIG = """
model {
  faster_rcnn {
    num_classes: 3
    image_resizer { keep_aspect_ratio_resizer { min_dimension: 600 max_dimension: 1024 } }
    feature_extractor { type: 'faster_rcnn_inception_resnet_v2' first_stage_features_stride: 8 }
    first_stage_anchor_generator {
      grid_anchor_generator { scales: [0.25, 0.5, 1.0, 2.0] aspect_ratios: [0.5, 1.0, 2.0] height_stride: 8 width_stride: 8 }
    }
    first_stage_atrous_rate: 2
    first_stage_box_predictor_conv_hyperparams {
      op: CONV
      regularizer { l2_regularizer { weight: 0.0 } }
      initializer { truncated_normal_initializer { stddev: 0.01 } }
    }
    first_stage_nms_score_threshold: 0.0
    first_stage_nms_iou_threshold: 0.7
    first_stage_max_proposals: 300
    first_stage_localization_loss_weight: 2.0
    first_stage_objectness_loss_weight: 1.0
    initial_crop_size: 17
    maxpool_kernel_size: 1
    maxpool_stride: 1
    second_stage_box_predictor {
      mask_rcnn_box_predictor {
        use_dropout: false
        dropout_keep_probability: 1.0
        fc_hyperparams {
          op: FC
          regularizer { l2_regularizer { weight: 0.0 } }
          initializer { variance_scaling_initializer { factor: 1.0 uniform: true mode: FAN_AVG } }
        }
      }
    }
    second_stage_post_processing {
      batch_non_max_suppression { score_threshold: 0.0 iou_threshold: 0.6 max_detections_per_class: 100 max_total_detections: 100 }
      score_converter: SOFTMAX
    }
    second_stage_localization_loss_weight: 2.0
    second_stage_classification_loss_weight: 1.0
  }
}
"""


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--slim", required=True)
    parser.add_argument("--scratch", default="/tmp/mdv4-export")
    parser.add_argument("--keep-bytes", type=int, default=64, help="constants up to this size keep their contents")
    parser.add_argument("--photos", nargs="*", default=[], help="photos to record the thin graph's TensorFlow outputs for")
    args = parser.parse_args()
    sys.meta_path.insert(0, StubFinder())
    sys.path.insert(0, args.slim)
    # TF 2.15's tf.compat.v1.layers look for Keras 2's legacy layers under the name tf_keras.
    import keras
    import keras.src.legacy_tf_layers as legacy_layers
    import keras.src.legacy_tf_layers.normalization  # noqa: F401
    sys.modules.setdefault("tf_keras", keras)
    sys.modules.setdefault("tf_keras.legacy_tf_layers", legacy_layers)
    sys.modules.setdefault("tf_keras.legacy_tf_layers.normalization", legacy_layers.normalization)
    import tensorflow as tf
    tf.compat.v1.disable_v2_behavior()
    from object_detection import exporter

    exporter.profile_inference_graph = lambda graph: None
    here = os.path.dirname(os.path.abspath(__file__))
    frozen = export_graph(tf, exporter, MODEL_CONFIG, os.path.join(args.scratch, "full"))
    write_skeleton(tf, frozen, here, args.keep_bytes)
    thin_config = MODEL_CONFIG.replace("min_dimension: 600 max_dimension: 1024", "min_dimension: 120 max_dimension: 200").replace(
        "first_stage_atrous_rate: 2", "first_stage_atrous_rate: 2\n    first_stage_box_predictor_depth: 64")
    with narrow_backbone(tf):
        thin = export_graph(tf, exporter, thin_config, os.path.join(args.scratch, "thin"))
    write_thin(tf, thin, here, args.photos)


@contextlib.contextmanager
def narrow_backbone(tf):
    """Every convolution of the two feature extractors 8x narrower, except the residual up-projections
    (which follow the narrower residual stream by themselves): node for node the same graph, 30x smaller."""
    import tf_slim
    original = tf_slim.conv2d

    @tf_slim.add_arg_scope
    def narrow(inputs, num_outputs, *args, **kwargs):
        in_extractor = "FeatureExtractor" in tf.compat.v1.get_variable_scope().name
        up_projection = kwargs.get("scope") == "Conv2d_1x1" and "activation_fn" in kwargs and kwargs["activation_fn"] is None
        if in_extractor and not up_projection:
            num_outputs = max(1, int(num_outputs) // 8)
        return original(inputs, num_outputs, *args, **kwargs)

    tf_slim.conv2d = narrow
    try:
        yield
    finally:
        tf_slim.conv2d = original


def export_graph(tf, exporter, model_config, folder):
    """A frozen graph exported by the TF1 exporter from freshly initialised (random) variables."""
    from google.protobuf import text_format
    from object_detection.builders import model_builder
    from object_detection.protos import pipeline_pb2
    config = pipeline_pb2.TrainEvalPipelineConfig()
    text_format.Merge(model_config, config)
    shutil.rmtree(folder, ignore_errors=True)  # the exporter refuses an existing SavedModel folder
    os.makedirs(folder, exist_ok=True)
    export = os.path.join(folder, "export")
    # Freeze from freshly initialised variables (no training checkpoint exists): build, save, export.
    graph = tf.Graph()
    with graph.as_default():
        tf.compat.v1.set_random_seed(4)
        model = model_builder.build(config.model, is_training=False)
        exporter.build_detection_graph(input_type="image_tensor", detection_model=model, input_shape=None,
                                        output_collection_name="inference_op", graph_hook_fn=None)
        saver = tf.compat.v1.train.Saver()
        with tf.compat.v1.Session() as session:
            session.run(tf.compat.v1.global_variables_initializer())
            checkpoint = saver.save(session, os.path.join(folder, "random", "model.ckpt"))
    tf.compat.v1.reset_default_graph()
    exporter.export_inference_graph("image_tensor", config, checkpoint, export)
    return os.path.join(export, "frozen_inference_graph.pb")


def read_graph(tf, path):
    graph_def = tf.compat.v1.GraphDef()
    with open(path, "rb") as handle:
        graph_def.ParseFromString(handle.read())
    return graph_def


def write_skeleton(tf, frozen, here, keep_bytes):
    graph_def = read_graph(tf, frozen)
    ops = collections.Counter(node.op for node in graph_def.node)
    by_name = {node.name: node for node in graph_def.node}

    def shape_of(node):
        return [d.size for d in node.attr["value"].tensor.tensor_shape.dim]

    class_weights = [n for n in by_name if n.endswith("SecondStageBoxPredictor/ClassPredictor/weights")]
    box_weights = [n for n in by_name if n.endswith("SecondStageBoxPredictor/BoxEncodingPredictor/weights")]
    sample = [n.name for n in graph_def.node[:: max(1, len(graph_def.node) // 40)]]
    structure = {
        "generator": f"tensorflow {tf.__version__}, object_detection 2.8.0.post1 (TF1 exporter)",
        "node_count": len(graph_def.node),
        "producer": graph_def.versions.producer,
        "ops": dict(sorted(ops.items())),
        "class_predictor_weights": {"name": class_weights[0], "shape": shape_of(by_name[class_weights[0]])},
        "box_predictor_weights": {"name": box_weights[0], "shape": shape_of(by_name[box_weights[0]])},
        "placeholders": {n.name: n.attr["dtype"].type for n in graph_def.node if n.op == "Placeholder"},
        "outputs": {name: by_name[name].op for name in ("detection_boxes", "detection_scores", "detection_classes", "num_detections")},
        "sample_nodes": {name: {"op": by_name[name].op, "inputs": list(by_name[name].input)} for name in sample},
        "full_export_bytes": os.path.getsize(frozen),
    }
    for node in graph_def.node:
        if node.op == "Const" and len(node.attr["value"].tensor.tensor_content) > keep_bytes:
            node.attr["value"].tensor.tensor_content = b""
    with open(os.path.join(here, "mdv4_skeleton.pb"), "wb") as handle:
        handle.write(graph_def.SerializeToString())
    with open(os.path.join(here, "mdv4_structure.json"), "w") as handle:
        json.dump(structure, handle, indent=1, sort_keys=True)
        handle.write("\n")
    print(f"{len(graph_def.node)} nodes, {len(ops)} op types, full export {structure['full_export_bytes']} bytes")


# Tensors recorded for each photo (":0" outputs), besides the four detection outputs.
INTERMEDIATES = {
    "block17_20": "FirstStageFeatureExtractor/InceptionResnetV2/InceptionResnetV2/Repeat_1/block17_20/Relu",
    "rpn_box_encodings": "FirstStageBoxPredictor/BoxEncodingPredictor/BiasAdd",
    "rpn_objectness": "FirstStageBoxPredictor/ClassPredictor/BiasAdd",
    "second_stage_features": "SecondStageFeatureExtractor/InceptionResnetV2/Conv2d_7b_1x1/Relu",
    "second_stage_box_encodings": "SecondStageBoxPredictor/BoxEncodingPredictor/BiasAdd",
    "second_stage_class_logits": "SecondStageBoxPredictor/ClassPredictor/BiasAdd",
}
# Random weights give near-tied scores; scaling the class predictors spreads them out.
SPREAD = {"SecondStageBoxPredictor/ClassPredictor/weights": 400.0, "FirstStageBoxPredictor/ClassPredictor/weights": 2000.0}


def reference_detections(fetched, threshold=0.005):
    """The detections the reference package's TFDetector (megadetector 10.0.28) writes for these graph
    outputs: its own conversion code, fed TensorFlow's outputs through a stand-in session."""
    from megadetector.detection.tf_detector import TFDetector

    class RecordedSession:
        def run(self, tensors, feed_dict):
            return fetched["detection_boxes"], fetched["detection_scores"], fetched["detection_classes"]

    detector = TFDetector.__new__(TFDetector)
    detector.tf_session = RecordedSession()
    detector.image_tensor = detector.box_tensor = detector.score_tensor = detector.class_tensor = None
    result = detector.generate_detections_one_image(np.zeros((1, 1, 3), np.uint8), "photo", detection_threshold=threshold)
    assert "failure" not in result, result
    return result["detections"]


def write_thin(tf, frozen, here, photos):
    """mdv4_thin.pb (the narrow graph with spread scores) and, per photo, TensorFlow's outputs and
    intermediates as raw little-endian float32 files listed in mdv4_thin_outputs.json."""
    from PIL import Image
    graph_def = read_graph(tf, frozen)
    for node in graph_def.node:
        if node.name in SPREAD:
            tensor = node.attr["value"].tensor
            values = tf.make_ndarray(tensor) * SPREAD[node.name]
            tensor.CopyFrom(tf.make_tensor_proto(values.astype(np.float32)))
    thin_path = os.path.join(here, "mdv4_thin.pb")
    with open(thin_path, "wb") as handle:
        handle.write(graph_def.SerializeToString())
    by_name = {node.name: node for node in graph_def.node}
    first_conv = "FirstStageFeatureExtractor/InceptionResnetV2/InceptionResnetV2/Conv2d_1a_3x3/Conv2D"
    crop = next(node.name for node in graph_def.node if node.op == "CropAndResize")
    tensors = dict(INTERMEDIATES, preprocessed=by_name[first_conv].input[0].split(":")[0], crop_and_resize=crop,
                   proposal_boxes=by_name[crop].input[1].split(":")[0])
    for output in ("detection_boxes", "detection_scores", "detection_classes", "num_detections"):
        tensors[output] = output
    manifest = {"graph": "mdv4_thin.pb", "tensors": tensors, "spread": SPREAD, "photos": []}
    graph = tf.Graph()
    with graph.as_default():
        tf.compat.v1.import_graph_def(graph_def, name="")
    with tf.compat.v1.Session(graph=graph) as session:
        for photo in photos:
            image = np.asarray(Image.open(photo).convert("RGB"))[np.newaxis]
            fetched = session.run({key: name + ":0" for key, name in tensors.items()}, feed_dict={"image_tensor:0": image})
            stem = os.path.splitext(os.path.basename(photo))[0]
            entry = {"photo": os.path.relpath(os.path.abspath(photo), os.path.abspath(os.path.join(here, "../../../../shared"))),
                     "arrays": {}}
            for key, value in fetched.items():
                value = np.asarray(value, dtype=np.float32)
                if key in ("crop_and_resize", "second_stage_features"):
                    value = value[:4]  # the first four of 300 proposals: enough to check, 1% of the bytes
                file = f"thin_{stem}_{key}.f32"
                value.tofile(os.path.join(here, file))
                entry["arrays"][key] = {"file": file, "shape": list(value.shape)}
            entry["reference_detections"] = reference_detections(fetched)
            manifest["photos"].append(entry)
    with open(os.path.join(here, "mdv4_thin_outputs.json"), "w") as handle:
        json.dump(manifest, handle, indent=1)
        handle.write("\n")
    print(f"thin graph {os.path.getsize(thin_path)} bytes, {len(photos)} photos recorded")


if __name__ == "__main__":
    main()
