#!/usr/bin/env python3
"""MDv4-structure fixtures: exports a Faster R-CNN / InceptionResNetV2 frozen graph with the TF1 Object
Detection API exporter that wrote MegaDetector v2-v4 (random weights, MDv4's model config), then writes

  mdv4_skeleton.pb     the exported GraphDef with the contents of large constants removed (dtype and
                       shape kept): every node, op, input and attribute of the real export, 2-3 MB
                       instead of 240 MB; for the reader and the structure checks (it cannot run)
  mdv4_structure.json  TensorFlow's own view of the export: node count, op histogram, producer version,
                       inputs/outputs, the class count from the second-stage weights, a sample of nodes

The full export is left in --scratch (for speed checks, not committed).

Environment (see ../shared/docs/mdv4-notes.md): Python 3.11, tensorflow-cpu==2.15.1 with numpy<2 and
protobuf<5, and the sdist of tf-models-research-object-detection==2.8.0.post1 unpacked (its object_detection
package installed without dependencies; its slim/ folder given as --slim).
    python make_mdv4_fixtures.py --slim /path/to/tf_models_research_object_detection-2.8.0.post1/slim
"""
import argparse
import collections
import importlib.abc
import importlib.machinery
import json
import os
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
    from google.protobuf import text_format
    from object_detection import exporter
    from object_detection.protos import pipeline_pb2

    exporter.profile_inference_graph = lambda graph: None
    config = pipeline_pb2.TrainEvalPipelineConfig()
    text_format.Merge(MODEL_CONFIG, config)
    os.makedirs(args.scratch, exist_ok=True)
    export = os.path.join(args.scratch, "export")
    # Freeze from freshly initialised variables (no training checkpoint exists): build, save, export.
    from object_detection.builders import model_builder
    graph = tf.Graph()
    with graph.as_default():
        tf.compat.v1.set_random_seed(4)
        model = model_builder.build(config.model, is_training=False)
        exporter.build_detection_graph(input_type="image_tensor", detection_model=model, input_shape=None,
                                        output_collection_name="inference_op", graph_hook_fn=None)
        saver = tf.compat.v1.train.Saver()
        with tf.compat.v1.Session() as session:
            session.run(tf.compat.v1.global_variables_initializer())
            checkpoint = saver.save(session, os.path.join(args.scratch, "random", "model.ckpt"))
    tf.compat.v1.reset_default_graph()
    exporter.export_inference_graph("image_tensor", config, checkpoint, export)
    frozen = os.path.join(export, "frozen_inference_graph.pb")
    graph_def = tf.compat.v1.GraphDef()
    with open(frozen, "rb") as handle:
        graph_def.ParseFromString(handle.read())

    here = os.path.dirname(os.path.abspath(__file__))
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
        if node.op == "Const" and len(node.attr["value"].tensor.tensor_content) > args.keep_bytes:
            node.attr["value"].tensor.tensor_content = b""
    with open(os.path.join(here, "mdv4_skeleton.pb"), "wb") as handle:
        handle.write(graph_def.SerializeToString())
    with open(os.path.join(here, "mdv4_structure.json"), "w") as handle:
        json.dump(structure, handle, indent=1, sort_keys=True)
        handle.write("\n")
    print(f"{len(graph_def.node)} nodes, {len(ops)} op types, full export {structure['full_export_bytes']} bytes")


if __name__ == "__main__":
    main()
