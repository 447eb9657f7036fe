#!/usr/bin/env python3
"""A quick tuning loop for the built-in agent (tuning half only): for each case, the agent's
candidates from the report alone, each run at buggy_commit and fix_commit; a case counts when
one candidate fails at the first and passes at the second.  Not the grade (no pipeline, no
minimizer, no sandbox): grade.py is.  Cached clones under --work.

usage: quick.py [--half tune] [--only ID,ID] [--jobs 2] [--json OUT]"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))


def clone_at(mirror: Path, sha: str, dest: Path) -> Path:
    if not dest.exists():
        subprocess.run(["git", "clone", "-q", "--no-checkout", str(mirror), str(dest)], check=True)
    subprocess.run(["git", "-C", str(dest), "checkout", "-q", "-f", sha], capture_output=True)
    subprocess.run(["git", "-C", str(dest), "clean", "-q", "-fdx"], capture_output=True)
    return dest


def one(args: tuple) -> dict:
    case, mirrors, work = args
    import mminions
    mirror = Path(mirrors) / case["repo"].replace("/", "+") / "repo"
    base = Path(work) / case["id"]
    base.mkdir(parents=True, exist_ok=True)
    try:
        repo = clone_at(mirror, case["buggy_commit"], base / "buggy")
        fixed = clone_at(mirror, case["fix_commit"], base / "fixed")
        issue = mminions.normalize_issue({"title": case["report_title"], "body": case["report_body"]}, [], "file", "x.md")
        out = mminions.builtin_repro(issue, repo)
    except Exception as exc:  # a tuning aid: say it and go on
        return {"id": case["id"], "f2p": False, "error": f"{type(exc).__name__}: {exc}"[:300]}
    found, tried = None, []
    for cand in out["candidates"]:
        at_bug, _ = mminions.run_oracle(cand, repo, 60)
        at_fix, _ = mminions.run_oracle(cand, fixed, 60)
        tried.append((cand["candidate_id"], at_bug.returncode, at_fix.returncode))
        if at_bug.returncode != 0 and at_fix.returncode == 0 and not found:
            found = cand["candidate_id"]
    return {"id": case["id"], "f2p": bool(found), "candidate": found, "tried": tried,
            "notes": out["notes"].splitlines()[:6]}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", default=str(HERE / "cases.json"))
    ap.add_argument("--mirrors", default=os.environ.get("MIRRORS") or "/work/.mirror")
    ap.add_argument("--half", default="tune")
    ap.add_argument("--only", default="")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--work", default=os.path.join(tempfile.gettempdir(), "quick-builtin"))
    ap.add_argument("--json")
    a = ap.parse_args()
    cases = [c for c in json.load(open(a.cases)) if (c["id"] in a.only.split(",") if a.only else c["half"] == a.half)]
    with ProcessPoolExecutor(max_workers=a.jobs) as pool:
        rows = list(pool.map(one, [(c, a.mirrors, a.work) for c in cases]))
    for r in rows:
        print(f"{'F2P ' if r['f2p'] else '--  '} {r['id']:22} {r.get('candidate') or r.get('error') or ''} {r.get('tried', '')}")
    print(f"{sum(r['f2p'] for r in rows)}/{len(rows)} with a fail-to-pass candidate")
    if a.json:
        Path(a.json).write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
