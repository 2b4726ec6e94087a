#!/usr/bin/env bash
# The test command: installs system packages if missing, builds, runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-system-packages.sh --tests
swift build
swift test
