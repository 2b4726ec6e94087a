#!/usr/bin/env bash
# The build without oneDNN (`--disable-default-traits`: every op on the plain reference kernels, the
# fallback where oneDNN is absent) must keep compiling and give the same detections as the oneDNN build.
# Run after ./scripts/test.sh (it uses the debug build that left).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
swift build --disable-default-traits --build-path .build-noonednn
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
for photo in portrait_600x900.jpg tiny_64x48.jpg odd_size_1001x667.jpg; do
  echo "$PWD/Tests/Fixtures/detect/synthetic/$photo"
done > "$scratch/photos.txt"
.build-noonednn/debug/megadetector detect Tests/Fixtures/detect/md_v5_tiny.pt "$scratch/photos.txt" "$scratch/reference-kernels.json" --quiet
.build/debug/megadetector detect Tests/Fixtures/detect/md_v5_tiny.pt "$scratch/photos.txt" "$scratch/onednn.json" --quiet
.build/debug/megadetector compare "$scratch/reference-kernels.json" "$scratch/onednn.json"
