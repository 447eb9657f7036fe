#!/usr/bin/env python3
"""Grade mminions on a corpus of real bug reports, by the fail-to-pass rule, in parallel.

The same rule as ../shared/corpus/eval.py (the shared corpus' grader): mminions gets only the
report's title and body and a clone at buggy_commit; the minimal reproducer it writes must exit
non-zero at buggy_commit and 0 at fix_commit when the grader runs it itself (from a temp dir,
PYTHONPATH=<checkout>/<pythonpath>); for a regression, the culprit it names must be
introduced_commit.  "ok but not fail-to-pass" is a false reproducer.

  --given      a stand-in agent hands mminions the case's verified_repro (pipeline fidelity: 100%)
  default      the built-in agent, from the report alone
  --no-fixed-ref   the usual open-issue situation (no fix to check against)

Cases: bench/corpus/cases.json by default (its `half` field: tune or test; --half picks one);
mirrors: <--mirrors>/<owner>+<name>/repo (MIRRORS in the environment, else /work/.mirror).

usage: grade.py [--cases FILE] [--mirrors DIR] [--given] [--no-fixed-ref] [--half tune|test]
                [--only ID,ID] [--jobs 2] [--timeout 300] [--json OUT] [--keep]
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

HERE = os.path.dirname(os.path.realpath(__file__))
PROJECT = os.path.dirname(os.path.dirname(HERE))


def sh(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


def stand_in_agent(role, output_file):
    """What --given runs as the worker: the case's verified reproducer as the one candidate."""
    if role.upper().startswith("REPRO"):
        case = json.load(open(os.environ["CORPUS_CASE"]))
        sig = re.match(r"[\w.]+", case["expected_signature"]).group(0).rsplit(".", 1)[-1]
        doc = {"candidates": [{"candidate_id": "given", "script": case["verified_repro"], "setup_commands": [],
                               "oracle_command": "python3 {repro_file}", "claimed_failure_signature": sig,
                               "file_extension": "py"}], "notes": "the known-good reproducer"}
    else:
        doc = {"hypotheses": [], "notes": "none"}
    with open(output_file, "w") as fh:
        json.dump(doc, fh)


def grade_script(path, repo, pythonpath, commit):
    sh(["git", "-C", repo, "checkout", "-q", "-f", commit])
    sh(["git", "-C", repo, "clean", "-q", "-fdx"])
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(os.path.join(repo, p) for p in pythonpath.split(":")))
    env.pop("PYTHONHOME", None)
    try:
        with tempfile.TemporaryDirectory() as cwd:
            return sh([sys.executable, path], cwd=cwd, env=env, timeout=60).returncode
    except subprocess.TimeoutExpired:
        return "timeout"


def run_case(c, a, work):
    row = {"id": c["id"], "repo": c["repo"], "half": c.get("half", ""), "kind": c["kind"],
           "regression": bool(c.get("introduced_commit")), "exit": None, "status": "?", "f2p": "-",
           "culprit": "-", "seconds": 0.0}
    mirror = os.path.join(a.mirrors, c["repo"].replace("/", "+"), "repo")
    if not os.path.isdir(mirror):
        row["status"] = f"no mirror of {c['repo']}"
        return row
    d = os.path.join(work, c["id"])
    repo = os.path.join(d, "repo")
    os.makedirs(d)
    sh(["git", "clone", "-q", mirror, repo])
    sh(["git", "-C", repo, "checkout", "-q", "-B", "main", c["buggy_commit"]])
    if sh(["git", "-C", repo, "rev-parse", "HEAD"]).stdout.strip() != c["buggy_commit"]:
        row["status"] = "checkout failed (mirror incomplete?)"
        return row
    issue = os.path.join(d, "issue.md")
    with open(issue, "w") as f:
        f.write(f"# {c['report_title']}\n\n{c['report_body']}\n")
    runs = os.path.join(d, "runs")
    sock = f"grade-{os.getpid()}-{c['id']}"[:60]
    cmd = [sys.executable, os.path.join(a.project, "mminions.py"), "run", "--issue-file", issue,
           "--repo-path", repo, "--runs-root", runs, "--tmux-socket", sock] + a.extra.split()
    env = dict(os.environ, MMINIONS_WORKTREE_ROOT=os.path.join(d, "wt"))
    env.pop("TMUX", None)
    if a.given:
        case_file = os.path.join(d, "case.json")
        with open(case_file, "w") as f:
            json.dump(c, f)
        env["CORPUS_CASE"] = case_file
        cmd += ["--agent", "cmd", "--agent-cmd", f"{sys.executable} {os.path.realpath(__file__)} _agent {{role}} {{output_file}}"]
    else:
        cmd += ["--agent", a.agent]
    if not a.no_fixed_ref:
        cmd += ["--fixed-ref", c["fix_commit"]]
    if c.get("good_commit_for_bisect"):
        cmd += ["--good", c["good_commit_for_bisect"]]
    t0 = time.monotonic()
    try:
        row["exit"] = sh(cmd, env=env, timeout=a.timeout).returncode
    except subprocess.TimeoutExpired:
        row["exit"] = "timeout"
    finally:
        sh(["tmux", "-L", sock, "kill-server"])
    row["seconds"] = round(time.monotonic() - t0, 1)
    rd = sorted(x for x in os.listdir(runs) if x.startswith("run-")) if os.path.isdir(runs) else []
    if not rd:
        return row
    rdir = os.path.join(runs, rd[-1])
    try:
        dec = json.load(open(os.path.join(rdir, "decision.json")))
        row["status"] = dec.get("status", "?")
    except (OSError, ValueError) as e:
        row["status"] = f"no decision ({e.__class__.__name__})"
        return row
    repro_dir = os.path.join(rdir, "repro")
    mins = sorted(f for f in os.listdir(repro_dir) if f.startswith("minimal_repro.")) if os.path.isdir(repro_dir) else []
    if row["status"] == "ok" and mins:
        script = os.path.join(d, "graded_repro.py")
        shutil.copy(os.path.join(repro_dir, mins[0]), script)
        grade = os.path.join(d, "grade")
        sh(["git", "clone", "-q", repo, grade])
        bad = grade_script(script, grade, c["pythonpath"], c["buggy_commit"])
        good = grade_script(script, grade, c["pythonpath"], c["fix_commit"])
        row["f2p"] = "F2P" if (bad not in (0, "timeout") and good == 0) else f"no ({bad}->{good})"
    if row["regression"]:
        row["culprit"] = "right" if c["introduced_commit"][:7] in json.dumps(dec.get("culprit_commit")) else "wrong/none"
    row["rationale"] = dec.get("rationale", "")[:300]
    return row


def summary(rows):
    snippet = [r for r in rows if r["kind"] != "prose-only"]
    f2p = sum(r["f2p"] == "F2P" for r in rows)
    false = sum(r["status"] == "ok" and r["f2p"] != "F2P" for r in rows)
    reproduced_regs = [r for r in rows if r["regression"] and r["f2p"] == "F2P"]
    secs = sorted(r["seconds"] for r in rows)
    return {"cases": len(rows), "f2p": f2p, "snippet": len(snippet), "snippet_f2p": sum(r["f2p"] == "F2P" for r in snippet),
            "false_reproducers": false, "regressions": sum(r["regression"] for r in rows),
            "culprit_right_of_reproduced": f"{sum(r['culprit'] == 'right' for r in reproduced_regs)}/{len(reproduced_regs)}",
            "culprit_right": sum(r["culprit"] == "right" for r in rows),
            "median_s": secs[len(secs) // 2] if secs else 0, "max_s": secs[-1] if secs else 0,
            "over_60s": sum(s > 60 for s in secs)}


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "_agent":
        return stand_in_agent(sys.argv[2], sys.argv[3])
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cases", default=os.path.join(HERE, "cases.json"))
    ap.add_argument("--mirrors", default=os.environ.get("MIRRORS") or "/work/.mirror")
    ap.add_argument("--project", default=PROJECT, help="the mminions checkout (default: this one)")
    ap.add_argument("--agent", default="builtin")
    ap.add_argument("--given", action="store_true")
    ap.add_argument("--no-fixed-ref", action="store_true")
    ap.add_argument("--half", choices=("tune", "test"))
    ap.add_argument("--only", default="")
    ap.add_argument("--jobs", type=int, default=max(1, (os.cpu_count() or 2)))
    ap.add_argument("--timeout", type=int, default=300)
    ap.add_argument("--extra", default="")
    ap.add_argument("--json", default="")
    ap.add_argument("--keep", action="store_true")
    a = ap.parse_args()
    a.project = os.path.abspath(a.project)
    if not os.path.isdir(a.mirrors):
        print(f"no mirrors at {a.mirrors}: fetch the corpus projects first (see bench/corpus/README.md)")
        return 2
    cases = json.load(open(a.cases))
    if a.half:
        cases = [c for c in cases if c.get("half") == a.half]
    if a.only:
        cases = [c for c in cases if c["id"] in a.only.split(",")]
    work = tempfile.mkdtemp(prefix="corpus-grade-")
    # the tool as it is now: edits made while the grade runs must not mix versions in one grade
    os.makedirs(os.path.join(work, "tool"))
    shutil.copy2(os.path.join(a.project, "mminions.py"), os.path.join(work, "tool", "mminions.py"))
    a.project = os.path.join(work, "tool")
    try:
        with ThreadPoolExecutor(max_workers=a.jobs) as pool:
            futures = [pool.submit(run_case, c, a, work) for c in cases]
            rows = []
            for fut in futures:
                row = fut.result()
                rows.append(row)
                print(f"{row['id']:<26} {row['half']:4} {row['kind']:<12} exit {str(row['exit']):<7} {row['status']:<12} "
                      f"{row['f2p']:<12} culprit {row['culprit']:<10} {row['seconds']:.0f}s", flush=True)
    finally:
        if a.keep:
            print(f"kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    halves = sorted({r["half"] for r in rows})
    out = {"mode": "given" if a.given else a.agent, "fixed_ref": not a.no_fixed_ref, "rows": rows,
           "all": summary(rows), **{h or "-": summary([r for r in rows if r["half"] == h]) for h in halves}}
    for name in ["all"] + [h or "-" for h in halves]:
        s = out[name]
        print(f"{name:5} F2P {s['f2p']}/{s['cases']} (snippet reports {s['snippet_f2p']}/{s['snippet']}), "
              f"false reproducers {s['false_reproducers']}, culprit right {s['culprit_right_of_reproduced']} of reproduced "
              f"regressions ({s['culprit_right']}/{s['regressions']} all), median {s['median_s']}s, max {s['max_s']}s, "
              f"over 60 s {s['over_60s']}")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(out, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
