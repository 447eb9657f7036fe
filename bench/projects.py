"""Issue 29's benchmark: projects as they are.  Each scenario builds a generated repository,
runs `mminions run` on it (the built-in agent, or the fake model CLI for the JavaScript one),
and prints what came out and what it cost: verdict line, culprit right or not, its confidence,
oracle runs, seconds.  Run it against any copy of mminions to compare (--mminions PATH).

    python3 bench/projects.py [--mminions mminions.py] [--trials 10] [--only flaky,setup,js]
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))
import helpers  # noqa: E402
from helpers import CALC_ISSUE, CALC_OPS_FIXED, make_history  # noqa: E402

# mean([]) crashes in about half the runs from the culprit on
FLAKY_OPS = "import random\n\n\n" + CALC_OPS_FIXED.replace(
    "    if not xs:\n        return 0.0\n", "    if not xs and random.random() < 0.5:\n        return 0.0\n")


def run_mminions(mm: str, root: Path, repo: Path, issue: Path, *extra: str, env: dict | None = None) -> dict:
    socket = f"bench-{os.getpid()}-{root.name[-6:]}"
    start = time.monotonic()
    result = subprocess.run([sys.executable, mm, "run", "--issue-file", str(issue), "--repo-path", str(repo),
                             "--no-triage", "--runs-root", str(root / "runs"), "--tmux-socket", socket, *extra],
                            capture_output=True, text=True,
                            env=dict(os.environ, MMINIONS_WORKTREE_ROOT=str(root / "wt"), **(env or {})))
    seconds = time.monotonic() - start
    subprocess.run(["tmux", "-L", socket, "kill-server"], capture_output=True)
    run = next((root / "runs").glob("run-*"), None)
    decision = json.loads((run / "decision.json").read_text()) if run and (run / "decision.json").exists() else {}
    bisect = json.loads((run / "triage" / "bisect.json").read_text()) \
        if run and (run / "triage" / "bisect.json").exists() else {}
    lines = [l for l in result.stdout.splitlines() if l.startswith(("verdict:", "culprit:", "setup:"))]
    return {"seconds": round(seconds, 1), "exit": result.returncode, "status": decision.get("status"),
            "culprit": (decision.get("culprit_commit") or {}).get("sha"), "confidence": bisect.get("confidence"),
            "oracle_runs": bisect.get("oracle_runs"), "lines": lines, "bisect": bisect.get("summary"),
            "minimize": (json.loads((run / "repro" / "minimize.json").read_text())
                         if run and (run / "repro" / "minimize.json").exists() else {})}


def flaky(mm: str, trial: int) -> dict:
    root = Path(tempfile.mkdtemp(prefix="bench-flaky-"))
    try:
        marks = make_history(root / "repo", 32, 20, ops=(CALC_OPS_FIXED, FLAKY_OPS))
        (root / "issue.md").write_text(CALC_ISSUE)
        out = run_mminions(mm, root, root / "repo", root / "issue.md", "--agent", "builtin", "--min-workers", "1",
                           "--good", marks[1])
        out["right"] = out["culprit"] == marks[20]
        return out
    finally:
        shutil.rmtree(root, ignore_errors=True)


BUILD_PY = "import shutil\nshutil.copy('calc/ops.src', 'calc/_built.py')\n"


def make_built_history(path: Path, commits: int, culprit: int, broken_build: range) -> dict[int, str]:
    """calc's code is built by `python3 build.py` (calc/_built.py, git-ignored): no checkout can
    import it before the build.  The bug comes in at ``culprit``; ``broken_build`` commits cannot build."""
    marks = {}
    path.mkdir(parents=True)
    helpers.git(path, "init", "-q", "-b", "main")
    for n in range(1, commits + 1):
        files = {"build.py": "raise SystemExit('build broken')\n" if n in broken_build else BUILD_PY,
                 "calc/__init__.py": "from ._built import mean, median\n", ".gitignore": "calc/_built.py\n",
                 "calc/ops.src": helpers.CALC_OPS if n >= culprit else CALC_OPS_FIXED, "log.txt": f"{n}\n"}
        for rel, text in files.items():
            (path / rel).parent.mkdir(parents=True, exist_ok=True)
            (path / rel).write_text(text)
        helpers.git(path, "add", "-A")
        helpers.git(path, "commit", "-q", "-m", f"commit {n}" + (" - refactor mean" if n == culprit else ""),
                    date=f"2026-01-01T00:{n:02d}:00")
        marks[n] = helpers.git(path, "rev-parse", "HEAD").strip()
    return marks


def setup(mm: str, trial: int) -> dict:
    root = Path(tempfile.mkdtemp(prefix="bench-setup-"))
    try:
        marks = make_built_history(root / "repo", 40, 27, range(8, 10))
        (root / "issue.md").write_text(CALC_ISSUE)
        args = ("--agent", "builtin", "--min-workers", "1", "--good", marks[1])
        out = run_mminions(mm, root, root / "repo", root / "issue.md", *args, "--setup", "python3 build.py",
                           "--setup-inputs", "calc/ops.src,build.py")
        if out["exit"] == 2 and not out["status"]:  # a mminions without --setup: as it is
            shutil.rmtree(root / "runs", ignore_errors=True)
            out = dict(run_mminions(mm, root, root / "repo", root / "issue.md", *args), setup="not supported")
        out["right"] = out["culprit"] == marks[27]
        return out
    finally:
        shutil.rmtree(root, ignore_errors=True)


SUM_GOOD = "function total(xs) {\n  return xs.reduce((a, b) => a + b, 0);\n}\nmodule.exports = { total };\n"
SUM_BAD = "function total(xs) {\n  return xs.slice(1).reduce((a, b) => a + b, 0);\n}\nmodule.exports = { total };\n"
JS_REPRO = """const assert = require("assert");
const { total } = require("./lib/sum.js");
const doubled = [1, 2, 3].map((x) => x * 2);
console.log("checking total of", doubled.length, "numbers");
let noise = 0;
for (let i = 0; i < 3; i++) noise += i;
assert.strictEqual(total([1, 2, 3]), 6);
"""
JS_ISSUE = "# total() drops the first number\n\n`total([1, 2, 3])` gives 5; it should be 6.\n"


def make_js_history(path: Path, commits: int, culprit: int) -> dict[int, str]:
    marks = {}
    path.mkdir(parents=True)
    helpers.git(path, "init", "-q", "-b", "main")
    for n in range(1, commits + 1):
        files = {"package.json": '{"name": "sums", "version": "1.0.0", "scripts": {"test": "node --test"}}\n',
                 "lib/sum.js": SUM_BAD if n >= culprit else SUM_GOOD, "CHANGES.md": f"{n}\n"}
        for rel, text in files.items():
            (path / rel).parent.mkdir(parents=True, exist_ok=True)
            (path / rel).write_text(text)
        helpers.git(path, "add", "-A")
        helpers.git(path, "commit", "-q", "-m", f"commit {n}" + (" - simplify total" if n == culprit else ""),
                    date=f"2026-01-01T00:{n:02d}:00")
        marks[n] = helpers.git(path, "rev-parse", "HEAD").strip()
    return marks


def cmd_agent(path: Path, candidates: list[dict]) -> Path:
    """An --agent cmd worker that answers with these candidates."""
    path.write_text("import json, pathlib, sys\n"
                    f"pathlib.Path(sys.argv[1]).write_text(json.dumps({{'candidates': {candidates!r}, 'notes': ''}}))\n")
    return path


def js(mm: str, trial: int) -> dict:
    root = Path(tempfile.mkdtemp(prefix="bench-js-"))
    try:
        marks = make_js_history(root / "repo", 24, 15)
        (root / "issue.md").write_text(JS_ISSUE)
        agent = cmd_agent(root / "agent.py", [{"candidate_id": "c1", "script": JS_REPRO, "setup_commands": [],
                                               "oracle_command": "node {repro_file}",
                                               "claimed_failure_signature": "AssertionError", "file_extension": "js"}])
        out = run_mminions(mm, root, root / "repo", root / "issue.md", "--agent", "cmd", "--agent-cmd",
                           f"{sys.executable} {agent} {{output_file}}", "--min-workers", "1", "--max-workers", "1",
                           "--good", marks[1])
        out["right"] = out["culprit"] == marks[15]
        mini = out.get("minimize") or {}
        out["minimized"] = f"{mini.get('status')}: {(mini.get('before') or {}).get('lines')} -> " \
                           f"{(mini.get('after') or {}).get('lines')} lines, {mini.get('oracle_calls')} oracle calls; " \
                           f"{mini.get('reason', '')}"
        return out
    finally:
        shutil.rmtree(root, ignore_errors=True)


SCENARIOS = {"flaky": flaky, "setup": setup, "js": js}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mminions", default=str(HERE.parent / "mminions.py"))
    ap.add_argument("--trials", type=int, default=10)
    ap.add_argument("--only", default=",".join(SCENARIOS))
    args = ap.parse_args()
    for name in args.only.split(","):
        rows = [SCENARIOS[name](args.mminions, i) for i in range(args.trials if name == "flaky" else 1)]
        for row in rows:
            print(json.dumps({k: v for k, v in row.items() if k != "minimize"}))
            if row.get("minimized"):
                print(f"  minimized: {row['minimized']}")
        right = sum(bool(r.get("right")) for r in rows)
        print(f"{name}: culprit right {right}/{len(rows)}; seconds median {statistics.median(r['seconds'] for r in rows)}"
              f" max {max(r['seconds'] for r in rows)}; oracle runs median "
              f"{statistics.median(r['oracle_runs'] or 0 for r in rows)}; confidence "
              f"{[r['confidence'] for r in rows]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
