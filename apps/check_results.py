#!/usr/bin/env python3
"""Check an app's results.json against its expected.json ranges.

    python3 apps/check_results.py OUTPUTS_DIR/results.json apps/linear_regression/expected.json

expected.json maps a key of results.json to [low, high] (inclusive). Exits 1 listing every key
that is missing or out of range, 0 when all are inside.
"""
import json
import sys


def check(results, expected):
    problems = []
    for key, (low, high) in expected.items():
        value = results.get(key)
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            problems.append(f"{key}: missing or not a number ({value!r})")
        elif not low <= value <= high:
            problems.append(f"{key}: {value} outside [{low}, {high}]")
    return problems


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    with open(sys.argv[1]) as f:
        results = json.load(f)
    with open(sys.argv[2]) as f:
        expected = json.load(f)
    problems = check(results, expected)
    for p in problems:
        print(f"FAIL {p}")
    print("OK" if not problems else f"{len(problems)} metric(s) out of range")
    sys.exit(1 if problems else 0)
