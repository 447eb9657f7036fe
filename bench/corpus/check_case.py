#!/usr/bin/env python3
"""Check corpus cases the way the grader will use them, from fresh clones of local mirrors.

For each case: its verified_repro must fail at buggy_commit (every run, with the first word of
expected_signature in its output) and pass at fix_commit (every run), each time importing the
project from the checkout (never an installed copy); for a regression, `git bisect run` from
good_commit_for_bisect to buggy_commit must name introduced_commit.

usage: check_case.py --mirrors DIR FILE.json [FILE.json ...] [--only ID,ID] [--runs 3] [--no-bisect]

FILE is a work file ({"repo", "cases": [...], "looked_at": [...]}) or a cases list.
Prints one line per case and exits 1 if any case fails its checks.
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

# Runs the reproducer as __main__ and, at exit, names every loaded module file under the checkout
# and every one of the same top-level packages loaded from elsewhere (an installed copy).
RUNNER = r"""
import atexit, os, runpy, sys
root, path = sys.argv[1], sys.argv[2]
def _report():
    inside, outside = set(), set()
    for name, mod in list(sys.modules.items()):
        f = getattr(mod, "__file__", None)
        if not f:
            continue
        f = os.path.realpath(f)
        (inside if f.startswith(root + os.sep) else outside).add((name.split(".")[0], f))
    tops = {t for t, _ in inside}
    sys.stderr.write("\nCHECK_INSIDE %d CHECK_SHADOWED %s\n" % (
        len(inside), sorted({f for t, f in outside if t in tops})[:3]))
    sys.stderr.flush()
atexit.register(_report)
sys.argv = [path]
runpy.run_path(path, run_name="__main__")
"""


def sh(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


def checkout(repo, commit):
    sh(["git", "-C", repo, "checkout", "-q", "-f", commit])
    sh(["git", "-C", repo, "clean", "-q", "-fdx"])
    return sh(["git", "-C", repo, "rev-parse", "HEAD"]).stdout.strip() == commit


def run_repro(script, repo, pythonpath, runner):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env["PYTHONPATH"] = os.pathsep.join(os.path.join(repo, p) for p in pythonpath.split(":"))
    with tempfile.TemporaryDirectory() as cwd:
        try:
            p = sh([sys.executable, runner, os.path.realpath(repo), script], cwd=cwd, env=env, timeout=60)
        except subprocess.TimeoutExpired:
            return "timeout", "", False
    out = p.stdout + p.stderr
    m = re.search(r"CHECK_INSIDE (\d+) CHECK_SHADOWED (.*)", out)
    from_checkout = bool(m and int(m.group(1)) > 0 and m.group(2).strip() == "[]")
    return p.returncode, out, from_checkout


def bisect(repo, good, bad, script, pythonpath, runner):
    sh(["git", "-C", repo, "bisect", "reset"])
    sh(["git", "-C", repo, "checkout", "-q", "-f", bad])
    r = sh(["git", "-C", repo, "bisect", "start", bad, good])
    if r.returncode:
        return None, r.stderr.strip()
    step = os.path.join(os.path.dirname(script), "bisect_step.sh")
    pp = os.pathsep.join(os.path.join(os.path.realpath(repo), p) for p in pythonpath.split(":"))
    with open(step, "w") as f:
        f.write(f"#!/bin/sh\ncd {shlex_quote(tempfile.gettempdir())} && PYTHONPATH={shlex_quote(pp)} "
                f"timeout 60 {shlex_quote(sys.executable)} {shlex_quote(script)} >/dev/null 2>&1\n"
                "rc=$?\n[ $rc -eq 0 ] && exit 0\n[ $rc -ge 124 ] && exit 125\nexit 1\n")
    os.chmod(step, 0o755)
    r = sh(["git", "-C", repo, "bisect", "run", step])
    m = re.search(r"^([0-9a-f]{40}) is the first bad commit", r.stdout, re.M)
    sh(["git", "-C", repo, "bisect", "reset"])
    return (m.group(1) if m else None), r.stdout[-600:]


def shlex_quote(s):
    import shlex
    return shlex.quote(s)


def check(case, mirrors, runs, do_bisect):
    problems = []
    mirror = os.path.join(mirrors, case["repo"].replace("/", "+"), "repo")
    if not os.path.isdir(mirror):
        return [f"no mirror at {mirror}"]
    for key in ("id", "repo", "issue_url", "buggy_commit", "fix_commit", "pythonpath", "report_title",
                "report_body", "kind", "expected_signature", "verified_repro"):
        if not case.get(key):
            problems.append(f"missing {key}")
    if case.get("kind") not in ("exception", "wrong-output", "prose-only"):
        problems.append(f"kind {case.get('kind')!r}")
    if problems:
        return problems
    sig = re.match(r"[\w.]+", case["expected_signature"])
    sig = sig.group(0).rsplit(".", 1)[-1] if sig else ""
    work = tempfile.mkdtemp(prefix="corpus-check-")
    try:
        repo = os.path.join(work, "repo")
        sh(["git", "clone", "-q", mirror, repo])
        script = os.path.join(work, "repro.py")
        with open(script, "w") as f:
            f.write(case["verified_repro"])
        runner = os.path.join(work, "runner.py")
        with open(runner, "w") as f:
            f.write(RUNNER)
        parent = sh(["git", "-C", repo, "rev-parse", case["fix_commit"] + "^1"]).stdout.strip()
        if parent != case["buggy_commit"]:
            problems.append(f"buggy_commit is not the fix's first parent ({parent[:10]})")
        for commit, want_fail in ((case["buggy_commit"], True), (case["fix_commit"], False)):
            if not checkout(repo, commit):
                problems.append(f"cannot check out {commit[:10]}")
                continue
            for i in range(runs):
                rc, out, inside = run_repro(script, repo, case["pythonpath"], runner)
                if not inside:
                    problems.append(f"at {commit[:10]} the project was not imported from the checkout")
                if want_fail and (rc == 0 or rc == "timeout"):
                    problems.append(f"passes at buggy {commit[:10]} (run {i + 1}: {rc})")
                if want_fail and rc not in (0, "timeout") and sig and sig not in out:
                    problems.append(f"at buggy the output lacks {sig!r}: {out.strip()[-300:]!r}")
                if not want_fail and rc != 0:
                    problems.append(f"fails at fix {commit[:10]} (run {i + 1}: {rc}): {out.strip()[-300:]!r}")
                if problems:
                    break
        if not problems and case.get("introduced_commit") and do_bisect:
            good = case.get("good_commit_for_bisect")
            if not good:
                problems.append("a regression without good_commit_for_bisect")
            else:
                found, log = bisect(repo, good, case["buggy_commit"], script, case["pythonpath"], runner)
                if not found or not found.startswith(case["introduced_commit"][:7]):
                    problems.append(f"bisect found {found} not {case['introduced_commit'][:10]}: {log!r}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return problems


def load(path):
    with open(path) as f:
        doc = json.load(f)
    return doc["cases"] if isinstance(doc, dict) else doc


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("files", nargs="+")
    ap.add_argument("--mirrors", default=os.environ.get("MIRRORS", "/work/.mirror"))
    ap.add_argument("--only", default="")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--no-bisect", action="store_true")
    a = ap.parse_args()
    bad = 0
    for path in a.files:
        for case in load(path):
            if a.only and case.get("id") not in a.only.split(","):
                continue
            problems = check(case, a.mirrors, a.runs, not a.no_bisect)
            bad += bool(problems)
            print(f"{case.get('id', '?'):<28} {'OK' if not problems else 'FAIL: ' + '; '.join(problems)}")
            sys.stdout.flush()
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
