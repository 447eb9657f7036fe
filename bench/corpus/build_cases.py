#!/usr/bin/env python3
"""Merge the per-project work files (work/<owner>+<name>.json) into cases.json and skips.json,
each case tagged with its half by RULE.md's rule (projects sorted by the SHA-256 of their lower-case
owner/name; even positions tune, odd positions test)."""
import glob
import hashlib
import json
import os

HERE = os.path.dirname(os.path.realpath(__file__))


def halves() -> dict:
    rule = open(os.path.join(HERE, "RULE.md")).read()
    projects = rule.split("fixed here in advance:")[1].split("## Reports")[0].split()
    order = sorted(projects, key=lambda p: hashlib.sha256(p.lower().encode()).hexdigest())
    return {p: ("tune" if i % 2 == 0 else "test") for i, p in enumerate(order)}


def main() -> None:
    half = halves()
    cases, skips = [], []
    for path in sorted(glob.glob(os.path.join(HERE, "work", "*.json"))):
        doc = json.load(open(path))
        for case in doc["cases"]:
            cases.append(dict(case, half=half[doc["repo"]]))
        for item in doc["looked_at"]:
            if item.get("decision") != "kept":
                skips.append({"repo": doc["repo"], "half": half[doc["repo"]], **item})
    with open(os.path.join(HERE, "cases.json"), "w") as f:
        json.dump(cases, f, indent=1)
        f.write("\n")
    with open(os.path.join(HERE, "skips.json"), "w") as f:
        json.dump(skips, f, indent=1)
        f.write("\n")
    print(f"{len(cases)} cases ({sum(c['half'] == 'tune' for c in cases)} tune, "
          f"{sum(c['half'] == 'test' for c in cases)} test) from {len({c['repo'] for c in cases})} projects; "
          f"{len(skips)} skipped")


if __name__ == "__main__":
    main()
