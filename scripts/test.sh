#!/usr/bin/env bash
# The test command: installs system packages if missing, builds, runs every test, and ends with a
# summary (passed, failed, skipped with reasons; also kept in .build/test-summary.txt).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-system-packages.sh --tests
swift build
mkdir -p .build
status=0
swift test 2>&1 | tee .build/test-output.log || status=$?
./scripts/summarize_tests.sh .build/test-output.log | tee .build/test-summary.txt
exit "$status"
