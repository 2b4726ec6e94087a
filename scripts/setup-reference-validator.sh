#!/usr/bin/env bash
# Makes a small Python virtual environment with the reference `megadetector` package, enough to run
# its results validator (scripts/validate_with_reference.py), not its detectors: the package without
# dependencies (torch and friends are ~6 GB) plus the modules the validator's imports need.
# Usage: scripts/setup-reference-validator.sh VENV   (then MEGADETECTOR_REFERENCE_PYTHON=VENV/bin/python)
set -euo pipefail
venv="$1"
if [ ! -x "$venv/bin/python" ]; then python3 -m venv "$venv"; fi
"$venv/bin/pip" install --quiet --no-deps megadetector==10.0.28
"$venv/bin/pip" install --quiet --no-warn-conflicts numpy pillow opencv-python-headless requests jsonpickle tqdm humanfriendly \
  python-dateutil send2trash pytest "setuptools<82"
"$venv/bin/python" -c "from megadetector.postprocessing.validate_batch_results import validate_batch_results"
