#!/usr/bin/env python3
"""Generates the video fixtures: short camera-trap clips made from ../shared/images photos (with
motion), in the containers and codecs traps write, a few broken files, a long clip for the
flat-memory test, and what the reference package's `process_video` and OpenCV make of them.

Run from the repository root with the reference environment (../shared/docs/reference-setup.md) plus
PyAV (`pip install av`, whose wheels carry libx264) to encode the clips:
    VENV/bin/python Tests/Fixtures/video/generate_video_fixtures.py [--shared ../shared]

Writes next to this script:
- clips/: deer_h264.mp4 (H.264 with B-frames, 30 fps), coyote_mjpeg.avi (MJPEG in AVI, full-range
  YUV 4:2:0, 20 fps), human_h264.mov (H.264 in QuickTime, 25 fps, odd-ish size), nested/rabbit_mpeg4.mkv
  (MPEG-4 part 2 in Matroska, which records no frame count, 15 fps), rotated_90_h264.mp4 (the deer clip
  with a 90-degree display matrix in its track header, as phones write: OpenCV turns its frames);
  broken ones: truncated_mjpeg.avi
  (the coyote clip cut at 55 % of its bytes: the reference keeps the frames before the cut),
  not_a_video.mp4 (random bytes), empty.mov (0 bytes).
- long/long_3000_frames.mp4: 3000 frames of 64x48 H.264 (100 s at 30 fps), for the memory test.
- expected_frame_sample_10.json: `process_video md_v5_tiny.pt clips --recursive --frame_sample 10`.
- expected_time_sample_0.3.json: the same with `--time_sample 0.3` instead.
- expected_frames.json: per clip, what cv2.VideoCapture reports (CAP_PROP_FPS, CAP_PROP_FRAME_COUNT)
  and the MD5 of every frame it reads, converted as the reference converts it (BGR2RGB), in the
  reference's read loop (first frame at open, stop at the frame count or the first failed read).
- manifest.json: versions and commands.
"""
import argparse
import hashlib
import json
import os
import struct
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import av
import cv2
import numpy as np
from PIL import Image

HERE = Path(__file__).resolve().parent
MODEL = HERE.parent / "detect" / "md_v5_tiny.pt"


def panning_frames(photo, width, height, count, zoom_end=1.0):
    """Frames of a window moving across the photo left to right (and zooming in when zoom_end > 1)."""
    source = Image.open(photo).convert("RGB")
    base_width = int(width * 1.6)
    base = source.resize((base_width, int(base_width * source.height / source.width)), Image.BILINEAR)
    frames = []
    for index in range(count):
        t = index / max(count - 1, 1)
        zoom = 1.0 + (zoom_end - 1.0) * t
        crop_width, crop_height = int(width / zoom), int(height / zoom)
        left = int((base.width - crop_width) * t)
        top = int((base.height - crop_height) * 0.5)
        window = base.crop((left, top, left + crop_width, top + crop_height)).resize((width, height), Image.BILINEAR)
        frames.append(np.asarray(window))
    return frames


def encode(path, frames, codec, rate, pix_fmt, options=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream(codec, rate=rate)
        stream.width, stream.height = frames[0].shape[1], frames[0].shape[0]
        stream.pix_fmt = pix_fmt
        if options:
            stream.options = options
        for array in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(array, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def make_clips(shared):
    clips = HERE / "clips"
    photos = shared / "images" / "camera-traps"
    encode(clips / "deer_h264.mp4", panning_frames(photos / "animl_2021-05-28_SYFR0041_deer.JPG", 480, 360, 30),
           "libx264", 30, "yuv420p", {"crf": "26", "bf": "2", "threads": "1"})
    # Rotated 90 degrees clockwise for display: a = 0, b = 1, c = -1, d = 0 in the 16.16 matrix.
    with_rotation(clips / "deer_h264.mp4", clips / "rotated_90_h264.mp4", [0, 65536, 0, -65536, 0, 0, 0, 0, 0x40000000])
    coyote = clips / "coyote_mjpeg.avi"
    encode(coyote, panning_frames(photos / "animl_2021-07-24_SYFR0655_coyote.JPG", 320, 240, 24), "mjpeg", 20,
           "yuvj420p", {"q:v": "5"})
    encode(clips / "human_h264.mov", panning_frames(photos / "animl_B012_2021-05-27_human.jpg", 400, 226, 26, 1.3),
           "libx264", 25, "yuv420p", {"crf": "28", "threads": "1"})
    encode(clips / "nested" / "rabbit_mpeg4.mkv", panning_frames(photos / "animl_2021-12-07_12080069_rabbit.JPG", 352, 264, 18),
           "mpeg4", 15, "yuv420p", {"qscale": "6"})
    data = coyote.read_bytes()
    (clips / "truncated_mjpeg.avi").write_bytes(data[: int(len(data) * 0.55)])
    (clips / "not_a_video.mp4").write_bytes(np.random.default_rng(7).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    (clips / "empty.mov").write_bytes(b"")
    # Long and cheap: a slow drift over one small picture, so H.264 keeps it to a few kilobytes a second.
    frames = panning_frames(photos / "animl_BUOW_IMG_0708.JPG", 64, 48, 3000)
    encode(HERE / "long" / "long_3000_frames.mp4", frames, "libx264", 30, "yuv420p", {"crf": "35", "threads": "1"})
    return clips


def with_rotation(source, target, matrix):
    """A copy of an MP4 whose first track header (`tkhd`, version 0) carries `matrix` (9 fixed-point
    values), the display matrix phones use to say a clip is rotated."""
    data = bytearray(source.read_bytes())
    box = data.find(b"tkhd") - 4
    assert data[box + 8] == 0, "expected a version 0 tkhd"
    offset = box + 8 + 4 + 4 + 4 + 4 + 4 + 4 + 8 + 2 + 2 + 2 + 2
    data[offset:offset + 36] = struct.pack(">9i", *matrix)
    target.write_bytes(bytes(data))


def opencv_frames(path):
    """cv2.VideoCapture as the reference's run_callback_on_frames reads it, every frame kept."""
    capture = cv2.VideoCapture(str(path))
    entry = {"opened": bool(capture.isOpened())}
    if not capture.isOpened():
        return entry
    success, image = capture.read()
    entry["first_frame_read"] = bool(success)
    if not success:
        return entry
    entry["frame_rate"] = capture.get(cv2.CAP_PROP_FPS)
    entry["orientation"] = capture.get(cv2.CAP_PROP_ORIENTATION_META)
    entry["frame_count"] = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    digests = []
    entry["width"], entry["height"] = image.shape[1], image.shape[0]
    for number in range(entry["frame_count"]):
        if number != 0:
            success, image = capture.read()
            if not success:
                break
        rgb = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
        digests.append(hashlib.md5(np.ascontiguousarray(rgb).tobytes()).hexdigest())
    entry["frame_md5"] = digests
    capture.release()
    return entry


def without_repository_root(path):
    """The reference names failed clips by absolute path; the committed file names them relative to the
    repository root, so it holds nothing of the machine that made it (the tests compare the text after
    the path, which they rebuild from their own checkout)."""
    root = str(HERE.parents[2]) + "/"
    path.write_text(path.read_text().replace(root, ""))


def run_reference(clips, output, sampling):
    command = [sys.executable, "-m", "megadetector.detection.process_video", str(MODEL), str(clips), "--recursive",
               "--output_json_file", str(output)] + sampling
    subprocess.run(command, check=True, capture_output=True, text=True)
    without_repository_root(output)
    return " ".join(["megadetector.detection.process_video", "md_v5_tiny.pt", "clips", "--recursive",
                     "--output_json_file", output.name] + sampling)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--shared", type=Path, default=Path("../shared"))
    args = parser.parse_args()
    clips = make_clips(args.shared.resolve())
    frames = {}
    for path in sorted(list(clips.rglob("*.*")) + list((HERE / "long").glob("*.mp4"))):
        frames[str(path.relative_to(HERE))] = opencv_frames(path)
    (HERE / "expected_frames.json").write_text(json.dumps(frames, indent=1) + "\n")
    commands = [run_reference(clips, HERE / "expected_frame_sample_10.json", ["--frame_sample", "10"]),
                run_reference(clips, HERE / "expected_time_sample_0.3.json", ["--time_sample", "0.3"])]
    manifest = {
        "generator": "Tests/Fixtures/video/generate_video_fixtures.py",
        "commands": commands,
        "versions": {"megadetector": version("megadetector"), "opencv": cv2.__version__,
                     "opencv_ffmpeg": cv2.getBuildInformation().split("avcodec:")[1].split("\n")[0].strip(),
                     "pyav": av.__version__, "pyav_libavcodec": ".".join(map(str, av.library_versions["libavcodec"])),
                     "numpy": np.__version__, "python": sys.version.split()[0]},
    }
    (HERE / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")


if __name__ == "__main__":
    main()
