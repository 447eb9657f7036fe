#!/usr/bin/env python3
"""Run the built-in agent on one corpus case, in-process, and show what it reads, tries and
proposes, and whether each candidate is fail-to-pass (a tuning aid: use it on the tuning half only).

usage: try_builtin.py ID [--cases FILE] [--mirrors DIR] [--show-report]"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))
import mminions  # noqa: E402


def clone_at(mirror: Path, sha: str, dest: Path) -> Path:
    if not dest.exists():
        subprocess.run(["git", "clone", "-q", str(mirror), str(dest)], check=True)
    subprocess.run(["git", "-C", str(dest), "checkout", "-q", "-f", sha], capture_output=True)
    subprocess.run(["git", "-C", str(dest), "clean", "-q", "-fdx"], capture_output=True)
    return dest


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("id")
    ap.add_argument("--cases", default=str(HERE / "cases.json"))
    ap.add_argument("--mirrors", default=os.environ.get("MIRRORS") or "/work/.mirror")
    ap.add_argument("--show-report", action="store_true")
    ap.add_argument("--work", default=os.path.join(tempfile.gettempdir(), "try-builtin"))
    a = ap.parse_args()
    case = next(c for c in json.load(open(a.cases)) if c["id"] == a.id)
    mirror = Path(a.mirrors) / case["repo"].replace("/", "+") / "repo"
    work = Path(a.work) / case["id"]
    work.mkdir(parents=True, exist_ok=True)
    repo = clone_at(mirror, case["buggy_commit"], work / "buggy")
    fixed = clone_at(mirror, case["fix_commit"], work / "fixed")
    issue = mminions.normalize_issue({"title": case["report_title"], "body": case["report_body"]}, [], "file", "x.md")
    if a.show_report:
        print(case["report_title"], "\n", case["report_body"], "\n", "=" * 60)
    sig = issue["signals"]
    print("errors:", [(e["type"], e["message"][:60]) for e in sig["errors"]][:6])
    print("expected/actual:", [(p["expected"][:50], p["actual"][:50]) for p in sig["expected_vs_actual"]][:4])
    print("blocks:", [(b["source"], b.get("form"), b["lang"], len(b["text"])) for b in sig["code_blocks"]])
    print("programs:", [p["label"] for p in mminions.collect_programs(issue, mminions.project_index(repo))])
    out = mminions.builtin_repro(issue, repo)
    print("NOTES:\n" + out["notes"])
    for cand in out["candidates"]:
        print("-" * 60, "\n", cand["candidate_id"], cand["claimed_failure_signature"], "\n", cand["script"])
        for label, tree in (("buggy", repo), ("fixed", fixed)):
            result, _ = mminions.run_oracle(cand, tree, 60)
            print(f"  at {label}: exit {result.returncode} {mminions.tail_lines(result.output, 2)!r}")
    shutil.rmtree(repo / ".mminions-builtin", ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
