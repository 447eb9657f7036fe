"""Issue 29's benchmark: projects as they are.  Each scenario builds a generated repository,
runs `mminions run` on it (the built-in agent, or the fake model CLI for the JavaScript one),
and prints what came out and what it cost: verdict line, culprit right or not, its confidence,
oracle runs, seconds.  Run it against any copy of mminions to compare (--mminions PATH).

    python3 bench/projects.py [--mminions mminions.py] [--trials 10] [--only flaky,setup,js]
"""
import argparse
import contextlib
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
from helpers import (CALC_ISSUE, CALC_OPS_FIXED, FLAKY_OPS, JS_CANDIDATE, JS_ISSUE, cmd_agent,  # noqa: E402
                     make_built_history, make_history, make_js_history)



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


@contextlib.contextmanager
def scratch(name: str, issue: str):
    """A temp folder for one scenario, its report written as issue.md; removed after."""
    root = Path(tempfile.mkdtemp(prefix=f"bench-{name}-"))
    try:
        (root / "issue.md").write_text(issue)
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


def flaky(mm: str, trial: int) -> dict:
    with scratch("flaky", CALC_ISSUE) as root:
        marks = make_history(root / "repo", 32, 20, ops=(CALC_OPS_FIXED, FLAKY_OPS))
        out = run_mminions(mm, root, root / "repo", root / "issue.md", "--agent", "builtin", "--min-workers", "1",
                           "--good", marks[1])
        out["right"] = out["culprit"] == marks[20]
        return out


def setup(mm: str, trial: int) -> dict:
    with scratch("setup", CALC_ISSUE) as root:
        marks = make_built_history(root / "repo", 40, 27, range(8, 10))
        args = ("--agent", "builtin", "--min-workers", "1", "--good", marks[1])
        out = run_mminions(mm, root, root / "repo", root / "issue.md", *args, "--setup", "python3 build.py",
                           "--setup-inputs", "calc/ops.src,build.py")
        if out["exit"] == 2 and not out["status"]:  # a mminions without --setup: as it is
            shutil.rmtree(root / "runs", ignore_errors=True)
            out = dict(run_mminions(mm, root, root / "repo", root / "issue.md", *args), setup="not supported")
        out["right"] = out["culprit"] == marks[27]
        return out


def js(mm: str, trial: int) -> dict:
    with scratch("js", JS_ISSUE) as root:
        marks = make_js_history(root / "repo", 24, 15)
        agent = cmd_agent(root / "agent.py", [JS_CANDIDATE])
        out = run_mminions(mm, root, root / "repo", root / "issue.md", "--agent", "cmd", "--agent-cmd",
                           f"{sys.executable} {agent} {{output_file}}", "--min-workers", "1", "--max-workers", "1",
                           "--good", marks[1])
        out["right"] = out["culprit"] == marks[15]
        mini = out.get("minimize") or {}
        out["minimized"] = f"{mini.get('status')}: {(mini.get('before') or {}).get('lines')} -> " \
                           f"{(mini.get('after') or {}).get('lines')} lines, {mini.get('oracle_calls')} oracle calls; " \
                           f"{mini.get('reason', '')}"
        return out


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
