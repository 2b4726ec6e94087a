#!/usr/bin/env python3
"""Runs the reference package's own validator (megadetector.postprocessing.validate_batch_results) on
results files: prints one line per file and exits 1 when any has errors or warnings.

Usage (a Python with the `megadetector` package, see ../shared/docs/reference-setup.md):
    VENV/bin/python scripts/validate_with_reference.py results.json [more.json ...]
"""
import sys

from megadetector.postprocessing.validate_batch_results import ValidateBatchResultsOptions, validate_batch_results


def main():
    failed = False
    for path in sys.argv[1:]:
        options = ValidateBatchResultsOptions()
        options.raise_errors = False
        options.check_image_existence = False
        report = validate_batch_results(path, options)["validation_results"]
        print(f"{path}: {len(report['errors'])} errors, {len(report['warnings'])} warnings {report['errors'][:2]} {report['warnings'][:2]}")
        failed = failed or bool(report["errors"]) or bool(report["warnings"])
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
