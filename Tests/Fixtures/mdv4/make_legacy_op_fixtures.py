#!/usr/bin/env python3
"""Small hand-built TensorFlow graphs for what the MDv4 export made here does not show: the op spellings
TF 1.x exporters wrote in 2018-2020 (MegaDetector v2, v3 and v4.1 were exported with TF 1.x), CropAndResize
edge cases, NMS ties in every NonMaxSuppression version, and the TF1-era resizer (a tf.cond inside the
tf.map_fn while-loop). TensorFlow computes every expected number here; the Swift tests compare against them.

  legacy_convolutions.pb + .json  a convolutional block written with the TF 1.x spellings (FusedBatchNorm v1,
                    Add, Concat v1, an atrous SpaceToBatchND/Conv2D/BatchToSpaceND triple, Relu6, residual scale,
                    AvgPool, MaxPool, Mean + MatMul heads): its input and TF's named outputs
  crop_and_resize.json  CropAndResize on a small image with boxes inside, across the border, fully outside,
                    flipped and degenerate, crop sizes 5x4 and 1x1, extrapolation 0 and 0.5: TF's crops
  nms_ties.json     NonMaxSuppressionV2/V3/V4/V5 on tied scores, overlaps exactly at the threshold, flipped and
                    empty boxes, zero scores, limits: the indices TF selects
  legacy_resizer.pb + resizer_sizes.json  the TF1-era Object Detection API resizer (`_compute_new_dynamic_size`:
                    the short side to min_dimension unless the long side then exceeds max_dimension), built as
                    the exporter built it (Preprocessor/map/while/ResizeToRange, tf.cond), and the sizes it and
                    the TF2-era resizer (tf.image.resize with preserve_aspect_ratio inside a landscape/portrait
                    cond, as in object_detection 2.8) give for awkward photo sizes

Environment: Python 3.11 with tensorflow-cpu==2.15.1 and numpy<2 (the one make_mdv4_fixtures.py uses).
    python make_legacy_op_fixtures.py
"""
import json
import os

import numpy as np
import tensorflow as tf

tf.compat.v1.disable_v2_behavior()
v1 = tf.compat.v1
HERE = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(20261129)


def weight(name, shape, scale=0.3):
    """A float constant read through an Identity, as frozen variables are (`name` and `name/read`)."""
    value = (rng.standard_normal(shape) * scale).astype(np.float32)
    return tf.identity(tf.constant(value, name=name), name=name + "/read")


def conv_bn_relu(x, name, kernel, out, stride=1, padding="SAME"):
    """slim conv2d + fused batch norm (v1 op, no gamma: a constant 1 is fed) + Relu."""
    filters = weight(name + "/weights", [kernel[0], kernel[1], int(x.shape[-1]), out])
    y = tf.nn.conv2d(x, filters, strides=[1, stride, stride, 1], padding=padding, name=name + "/Conv2D")
    beta = weight(name + "/BatchNorm/beta", [out], 0.2)
    mean = weight(name + "/BatchNorm/moving_mean", [out], 0.2)
    variance = tf.identity(tf.constant(rng.uniform(0.5, 2.0, out).astype(np.float32), name=name + "/BatchNorm/moving_variance"),
                           name=name + "/BatchNorm/moving_variance/read")
    y = tf.raw_ops.FusedBatchNorm(x=y, scale=tf.constant(np.ones(out, np.float32), name=name + "/BatchNorm/Const"), offset=beta,
                                  mean=mean, variance=variance, epsilon=0.001, is_training=False,
                                  name=name + "/BatchNorm/FusedBatchNorm")[0]
    return tf.nn.relu(y, name=name + "/Relu")


def legacy_convolutions():
    graph = tf.Graph()
    with graph.as_default():
        x = v1.placeholder(tf.float32, [1, 13, 17, 6], name="input")
        a = conv_bn_relu(x, "stem", (3, 3), 8, stride=2)  # 7x9: SAME puts the odd pixel bottom/right
        # Atrous 3x3, rate 2, the way slim writes it: SpaceToBatchND -> Conv2D(VALID) -> BatchToSpaceND.
        atrous_filter = weight("atrous/weights", [3, 3, 8, 8])
        b = v1.nn.convolution(a, atrous_filter, padding="SAME", dilation_rate=[2, 2], name="atrous/convolution")
        b = tf.nn.relu6(tf.nn.bias_add(b, weight("atrous/biases", [8], 0.2), name="atrous/BiasAdd"), name="atrous/Relu6")
        # Residual block with the TF 1.x spellings: Concat (v1, axis first), Add, scale by Mul.
        branch0 = conv_bn_relu(b, "block/Branch_0", (1, 1), 4)
        branch1 = conv_bn_relu(conv_bn_relu(b, "block/Branch_1/a", (1, 3), 4), "block/Branch_1/b", (3, 1), 4)
        mixed = tf.raw_ops.Concat(concat_dim=tf.constant(3, name="block/concat/axis"), values=[branch0, branch1], name="block/concat")
        up = tf.nn.conv2d(mixed, weight("block/Conv2d_1x1/weights", [1, 1, 8, 8]), strides=[1, 1, 1, 1], padding="SAME",
                          name="block/Conv2d_1x1/Conv2D")
        up = tf.nn.bias_add(up, weight("block/Conv2d_1x1/biases", [8], 0.2), name="block/Conv2d_1x1/BiasAdd")
        scaled = tf.multiply(tf.constant(0.17, name="block/mul/x"), up, name="block/mul")
        c = tf.nn.relu(tf.raw_ops.Add(x=b, y=scaled, name="block/add"), name="block/Relu")
        pooled = tf.nn.avg_pool2d(c, ksize=3, strides=1, padding="SAME", name="AvgPool")
        maxed = tf.nn.max_pool2d(pooled, ksize=3, strides=2, padding="VALID", name="MaxPool")
        mean = tf.reduce_mean(maxed, axis=[1, 2], keepdims=True, name="Mean")
        flat = tf.reshape(mean, [1, 8], name="Flatten")
        logits = tf.nn.bias_add(tf.matmul(flat, weight("logits/weights", [8, 5])), weight("logits/biases", [5], 0.2), name="logits")
        names = ["stem/Relu", "atrous/Relu6", "block/Relu", "AvgPool", "MaxPool", "logits"]
        value = rng.standard_normal([1, 13, 17, 6]).astype(np.float32)
        with v1.Session(graph=graph) as session:
            outputs = session.run([graph.get_tensor_by_name(n + ":0") for n in names], {x: value})
    ops = sorted({node.op for node in graph.as_graph_def().node})
    for required in ("FusedBatchNorm", "Add", "Concat", "SpaceToBatchND", "BatchToSpaceND", "Relu6", "AvgPool", "MatMul"):
        assert required in ops, f"{required} missing from {ops}"
    with open(os.path.join(HERE, "legacy_convolutions.pb"), "wb") as f:
        f.write(graph.as_graph_def().SerializeToString())
    record = {"ops": ops, "input": {"shape": list(value.shape), "values": value.ravel().tolist()},
              "outputs": {n: {"shape": list(o.shape), "values": o.ravel().tolist()} for n, o in zip(names, outputs)}}
    with open(os.path.join(HERE, "legacy_convolutions.json"), "w") as f:
        json.dump(record, f)


def crop_and_resize():
    image = rng.standard_normal([1, 7, 9, 3]).astype(np.float32)
    boxes = np.array([
        [0.1, 0.2, 0.8, 0.9],      # inside
        [-0.3, 0.5, 0.6, 1.4],     # across the top and right borders
        [1.2, -0.8, 1.9, -0.1],    # fully outside
        [0.9, 0.8, 0.2, 0.1],      # flipped: sampled backwards
        [0.4, 0.3, 0.4, 0.7],      # zero height
        [0.0, 0.0, 1.0, 1.0],      # the whole image
        [-1.0, -1.0, 2.0, 2.0],    # larger than the image
    ], np.float32)
    cases = []
    graph = tf.Graph()
    with graph.as_default(), v1.Session(graph=graph) as session:
        for crop, extrapolation in (((5, 4), 0.0), ((1, 1), 0.0), ((3, 3), 0.5)):
            crops = tf.image.crop_and_resize(image, boxes, np.zeros(len(boxes), np.int32), crop, extrapolation_value=extrapolation)
            value = session.run(crops)
            cases.append({"crop": list(crop), "extrapolation": extrapolation, "shape": list(value.shape), "values": value.ravel().tolist()})
    with open(os.path.join(HERE, "crop_and_resize.json"), "w") as f:
        json.dump({"image": {"shape": list(image.shape), "values": image.ravel().tolist()}, "boxes": boxes.tolist(), "cases": cases}, f)


def nms_ties():
    boxes = np.array([
        [0, 0, 1, 1], [0, 0, 1, 1],      # identical, tied scores: the lower index wins
        [0, 0, 1, 2],                    # IoU exactly 0.5 with the first two: kept at threshold 0.5
        [2, 2, 3, 3], [3, 3, 2, 2],      # the same box flipped: IoU 1
        [5, 5, 5, 6],                    # empty: overlaps nothing
        [0, 0.5, 1, 1.5],                # IoU 1/3 with the first
        [10, 10, 11, 11],                # score 0: below a zero score threshold
        [2, 2.2, 3, 3.2],                # IoU 0.8/1.2 with box 3
    ], np.float32)
    scores = np.array([0.9, 0.9, 0.9, 0.7, 0.7, 0.6, 0.9, 0.0, 0.7], np.float32)
    cases = []
    graph = tf.Graph()
    with graph.as_default(), v1.Session(graph=graph) as session:
        for iou in (0.5, 0.3, 0.7):
            for limit in (9, 3):
                selected = {
                    "NonMaxSuppressionV2": tf.raw_ops.NonMaxSuppressionV2(boxes=boxes, scores=scores, max_output_size=limit, iou_threshold=iou),
                    "NonMaxSuppressionV3": tf.raw_ops.NonMaxSuppressionV3(boxes=boxes, scores=scores, max_output_size=limit, iou_threshold=iou,
                                                                          score_threshold=0.0),
                    "NonMaxSuppressionV4": tf.raw_ops.NonMaxSuppressionV4(boxes=boxes, scores=scores, max_output_size=limit, iou_threshold=iou,
                                                                          score_threshold=0.0, pad_to_max_output_size=False)[0],
                    "NonMaxSuppressionV5": tf.raw_ops.NonMaxSuppressionV5(boxes=boxes, scores=scores, max_output_size=limit, iou_threshold=iou,
                                                                          score_threshold=0.0, soft_nms_sigma=0.0)[0],
                }
                values = session.run(selected)
                cases.append({"iou": iou, "limit": limit, "selected": {k: v.tolist() for k, v in values.items()}})
    with open(os.path.join(HERE, "nms_ties.json"), "w") as f:
        json.dump({"boxes": boxes.tolist(), "scores": scores.tolist(), "cases": cases}, f, indent=1)


def tf1_resize_to_range(image, min_dimension, max_dimension):
    """The TF1-era OD API resize_to_range for a dynamic shape, op for op as it builds the graph."""
    with tf.name_scope("ResizeToRange"):
        image_shape = tf.shape(image)
        orig_height = tf.cast(image_shape[0], tf.float32)
        orig_width = tf.cast(image_shape[1], tf.float32)
        num_channels = image_shape[2]
        orig_min_dim = tf.minimum(orig_height, orig_width)
        min_dim = tf.constant(min_dimension, dtype=tf.float32)
        large_scale_factor = min_dim / orig_min_dim
        large_size = tf.stack([tf.cast(tf.round(orig_height * large_scale_factor), tf.int32),
                               tf.cast(tf.round(orig_width * large_scale_factor), tf.int32)])
        orig_max_dim = tf.maximum(orig_height, orig_width)
        max_dim = tf.constant(max_dimension, dtype=tf.float32)
        small_scale_factor = max_dim / orig_max_dim
        small_size = tf.stack([tf.cast(tf.round(orig_height * small_scale_factor), tf.int32),
                               tf.cast(tf.round(orig_width * small_scale_factor), tf.int32)])
        new_size = v1.cond(tf.cast(tf.reduce_max(large_size), tf.float32) > max_dim, lambda: small_size, lambda: large_size)
        new_size = tf.stack(tf.unstack(new_size) + [num_channels])
        resized = v1.image.resize_images(image, new_size[:-1], align_corners=False)
        return resized, new_size


def tf2_resize_to_range(image, min_dimension, max_dimension):
    """object_detection 2.8's resize_to_range: a landscape/portrait cond around preserve_aspect_ratio resizing."""
    with tf.name_scope("ResizeToRange"):
        def landscape():
            return v1.image.resize_images(image, tf.stack([min_dimension, max_dimension]), preserve_aspect_ratio=True)

        def portrait():
            return v1.image.resize_images(image, tf.stack([max_dimension, min_dimension]), preserve_aspect_ratio=True)

        shape = tf.shape(image)
        resized = v1.cond(tf.less(shape[0], shape[1]), landscape, portrait)
        return resized, tf.shape(resized)


def resizers():
    sizes = [(1536, 2048), (2160, 3840), (2048, 1536), (600, 800), (600, 1024), (601, 1025), (599, 1023), (1, 1), (3, 1000),
             (1000, 3), (937, 1249), (1125, 1500), (1944, 2592), (3000, 4000), (480, 640), (720, 1280), (1200, 1600),
             (2448, 3264), (1080, 1920), (1234, 2057), (2057, 1234), (700, 1195), (700, 1196), (1024, 1024), (333, 555)]
    # And sizes near the branch point of the two rules (long side * 600 / short side close to 1024), plus random ones.
    sizes += [(short, int(short * 1024 / 600) + delta) for short in (900, 1000, 1500, 2999) for delta in (-1, 0, 1, 2)]
    sizes += [tuple(int(v) for v in rng.integers(1, 6000, 2)) for _ in range(60)]
    results = {}
    for label, resizer in (("tf1", tf1_resize_to_range), ("tf2", tf2_resize_to_range)):
        graph = tf.Graph()
        with graph.as_default():
            images = v1.placeholder(tf.uint8, [None, None, None, 3], name="image_tensor")
            with tf.name_scope("Preprocessor"):
                def one(image):
                    resized, _ = resizer(tf.cast(image, tf.float32), 600, 1024)
                    return tf.shape(resized)
                shapes = tf.map_fn(one, images, dtype=tf.int32, name="map")
            with v1.Session(graph=graph) as session:
                results[label] = [session.run(shapes, {images: np.zeros([1, h, w, 3], np.uint8)})[0][:2].tolist() for h, w in sizes]
            if label == "tf1":
                ops = {node.op for node in graph.as_graph_def().node}
                assert {"Enter", "Exit", "Merge", "Switch", "LoopCond", "TensorArrayV3"} <= ops, ops
                with open(os.path.join(HERE, "legacy_resizer.pb"), "wb") as f:
                    f.write(graph.as_graph_def().SerializeToString())
    with open(os.path.join(HERE, "resizer_sizes.json"), "w") as f:
        json.dump({"min_dimension": 600, "max_dimension": 1024, "photo_sizes": [list(s) for s in sizes], "resized": results}, f, indent=1)


if __name__ == "__main__":
    legacy_convolutions()
    crop_and_resize()
    nms_ties()
    resizers()
    print("written to", HERE)
