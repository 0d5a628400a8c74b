"""Fail CI when tests were skipped or the PostgreSQL / Redis tests did not run."""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET


def main(path: str) -> int:
    cases = list(ET.parse(path).getroot().iter("testcase"))
    names = [f"{case.get('classname')}::{case.get('name')}" for case in cases]
    skipped = [name for case, name in zip(cases, names, strict=True) if case.find("skipped") is not None]
    postgres = [name for name in names if "postgres" in name]
    redis = [name for name in names if "redis" in name.lower()]
    print(f"{len(cases)} tests, {len(postgres)} on PostgreSQL, {len(redis)} on Redis, {len(skipped)} skipped")
    problems = []
    if skipped:
        problems.append("skipped tests:\n  " + "\n  ".join(skipped[:50]))
    if not postgres:
        problems.append("no test ran on PostgreSQL (is TEST_DATABASE_URL set?)")
    if not redis:
        problems.append("no test ran on Redis (is TEST_REDIS_URL set?)")
    for problem in problems:
        print(f"CI check failed: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
