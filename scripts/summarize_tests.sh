#!/usr/bin/env bash
# Reads a `swift test` log (Swift Testing's event lines) and prints how many tests passed, failed and
# were skipped, naming each skipped test or suite with its reason, and ends with the plain line
# "tests: N passed, N failed, N skipped". Parameterised tests count once (their cases are in the log).
# Usage: scripts/summarize_tests.sh LOG
set -euo pipefail
log="$1"
# Swift Testing prints one result line per test: "✔ Test name() passed after", "✘ Test name() failed
# after", "➜ Test name() skipped: reason" (and "➜ Suite Name skipped: reason" for whole suites);
# "Test run with ..." is the run's own line, not a test.
passed=$(grep -aE '^✔ Test .* passed after' "$log" | grep -avc '^✔ Test run with' || true)
failed=$(grep -aE '^✘ Test .* failed after' "$log" | grep -avc '^✘ Test run with' || true)
skipped_lines=$(grep -aE '^➜ (Test|Suite) .* skipped' "$log" || true)
skipped=0
[ -n "$skipped_lines" ] && skipped=$(printf '%s\n' "$skipped_lines" | wc -l)
xctest=$(grep -aoE 'Executed [0-9]+ tests?, with [0-9]+ failures?' "$log" | tail -1 || true)
echo "---- test summary ----"
if [ "$skipped" -gt 0 ]; then
  echo "skipped (not run, with the reason):"
  printf '%s\n' "$skipped_lines" | sed -E 's/^➜ /  /'
fi
[ -n "$xctest" ] && echo "XCTest: $xctest"
echo "tests: $passed passed, $failed failed, $skipped skipped"
