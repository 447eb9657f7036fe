#!/usr/bin/env python3
"""mminions benchmarks (`make bench`): measured here, printed, never asserted as tests.

  pipeline   `mminions.pyz run` wall time with an instant fake agent (2 workers, verify-runs 5)
             vs the bare cost of every process it needs, each timed alone; subprocess counts
             ($BASELINE_PYZ: an older build timed on the same workload, side by side)
  minimize   mminions' AST reducer vs picire (line ddmin, from PyPI in a throwaway
             venv) on 5 bloated reproducers with the same oracle
  bisect     culprit search on a 1000-commit history vs plain `git bisect run`
  status     status latency with 6 live workers (p50/p99 over 500 requests, and one uncached build),
             requests/s with 8 clients, `list` with 10,000 runs, subprocesses per status
  sandbox    one oracle run (python3 reproducer in a checkout) plain vs in bubblewrap and in
             the unshare fallback, median of 40 each (target: bwrap <= 15 ms over plain)
  start      `./dist/mminions.pyz --help` against `python3 -c pass` (median of 20 each)
  corpus     the real-report corpus (../shared/corpus/eval.py, or $CORPUS): --given (does a
             correct reproducer stay fail-to-pass?) and the built-in agent; needs the
             projects' mirrors at $MIRRORS/<owner>+<name>/repo (`make bench MIRRORS=DIR`)

Usage: python3 tests/bench.py [start sandbox pipeline minimize bisect status corpus]
"""

from __future__ import annotations

import collections
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from helpers import (CALC_ISSUE, GOOD_SCRIPT, MMINIONS_PY, candidate, fake_env, make_buggy_repo, make_history,  # noqa: E402
                     make_repo, mminions, only_run, unique_socket, write_plan, kill_tmux_server, CALC_INIT, CALC_OPS)


def counting_runner(log: list):
    def runner(argv, **kw):
        result = mminions.run_cmd(argv, **kw)
        log.append((Path(argv[0]).name, result.duration))
        return result
    return runner


def median_wall(argv: list[str], n: int = 10, **kw) -> float:
    times = []
    for _ in range(n):
        start = time.perf_counter()
        subprocess.run(argv, capture_output=True, check=True, **kw)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def shipped_pyz() -> Path:
    pyz = MMINIONS_PY.parent / "dist" / "mminions.pyz"
    if not pyz.exists():
        subprocess.run([str(MMINIONS_PY.parent / "build.sh")], check=True, capture_output=True)
    return pyz


def bench_pipeline(root: Path) -> None:
    """Wall time of `mminions.pyz run` against the bare cost of every process it needs, each
    timed alone: the manager's git/tmux/bwrap calls (oracle runs included), two starts of
    mminions (the command and the manager) and one instant agent turn per worker."""
    pyz = shipped_pyz()
    repo, issue, _ = make_buggy_repo(root)
    plan = write_plan(root / "plan.json", {"default": {"output": {"candidates": [candidate(GOOD_SCRIPT)], "notes": ""}}})
    socket = unique_socket()
    env = dict(os.environ, **fake_env(plan, None, MMINIONS_WORKTREE_ROOT=str(root / "wt")))
    walls, base_walls = [], []
    baseline = os.environ.get("BASELINE_PYZ")  # an older mminions.pyz, timed on the same workload
    try:
        for tool, into in ((pyz, walls), *(((Path(baseline), base_walls),) if baseline else ())):
            for i in range(5):
                start = time.monotonic()
                r = subprocess.run([sys.executable, str(tool), "run", "--issue-file", str(issue), "--repo-path", str(repo),
                                    "--agent", "codex", "--min-workers", "2", "--verify-runs", "5", "--runs-root",
                                    str(root / f"runs-{len(into)}-{tool.stat().st_ino}"), "--tmux-socket", socket, "--json"],
                                   env=env, capture_output=True, text=True)
                into.append(time.monotonic() - start)
                assert r.returncode == 0, r.stderr
        # the manager's own calls, counted in-process with the same options
        calls: list = []
        run_id, _ = mminions.allocate_run_dir(root / "runs2")
        cfg = mminions.RunConfig(run_id=run_id, runs_root=str(root / "runs2"), repo_path=str(repo), issue_file=str(issue),
                                 agent="codex", min_workers=2, verify_runs=5, tmux_socket=socket,
                                 self_cmd=[sys.executable, str(pyz)])
        os.environ["MMINIONS_WORKTREE_ROOT"] = str(root / "wt")
        issue_doc, notes = mminions.check_run(cfg, env=env)
        run = mminions.prepare_run(cfg, issue_doc, notes, env=env)
        run.runner = counting_runner(calls)
        run.tmux = mminions.Tmux(socket, run.runner)
        run.log = lambda m: None
        start = time.monotonic()
        done = mminions.run_pipeline(run)
        inproc = time.monotonic() - start
        assert done["status"] == "ok"
        workers = len(mminions.load_sessions(run.paths)["workers"])
    finally:
        kill_tmux_server(socket)
    by_tool = collections.Counter(t for t, _ in calls)
    cost = collections.defaultdict(float)
    for tool, d in calls:
        cost[tool] += d
    start_cost = median_wall([sys.executable, str(pyz), "--version"])
    agent_cost = median_wall([sys.executable, str(MMINIONS_PY.parent / "tests" / "fakes" / "codex"), "--version"])
    bare = sum(cost.values()) + 2 * start_cost + workers * agent_cost
    wall = statistics.median(walls)
    print("## pipeline (`mminions.pyz run`, instant fake codex, 2 workers, verify-runs 5, default phases)")
    print(f"wall time: median {wall:.2f} s, min {min(walls):.2f} s, max {max(walls):.2f} s over {len(walls)} runs")
    print(f"manager pipeline in-process: {inproc:.2f} s; its subprocesses: {sum(by_tool.values())} "
          + ", ".join(f"{k} {v}" for k, v in by_tool.most_common()))
    print("bare cost, each process alone: " + ", ".join(f"{k} {cost[k]:.2f} s" for k in sorted(cost))
          + f", 2 mminions starts {2 * start_cost:.2f} s, {workers} agent turns {workers * agent_cost:.2f} s"
          f" = {bare:.2f} s")
    print(f"wall / bare cost: {wall / bare:.2f}x (target <= 1.5x); the manager's calls alone "
          f"{sum(cost.values()):.2f} s: {wall / sum(cost.values()):.2f}x")
    if base_walls:
        base = statistics.median(base_walls)
        print(f"baseline {baseline}: wall median {base:.2f} s, {base / bare:.2f}x the same bare cost")
    print()


BLOAT_NOISE = "value_{i} = {n} * 3\nprint('step', value_{i})\n"


def bloated_cases() -> list[tuple[str, str]]:
    noise = lambda n, tag="": "".join(BLOAT_NOISE.format(i=f"{tag}{i}", n=i) for i in range(n))
    helpers = "".join(f"def helper_{i}(x):\n    y = x + {i}\n    return y * 2\n\n" for i in range(25))
    classes = "".join(f"class Thing{i}:\n    size = {i}\n\n    def grow(self):\n        self.size += 1\n        return self.size\n\n" for i in range(12))
    return [
        ("40 statements, core of 2", noise(10) + "from calc import mean\n" + noise(10, "b") + "mean([])\n"),
        ("core nested in a function and a loop", "import os\nfrom calc import mean\n" + noise(12) +
         "def run(items):\n    total = 0\n    for i in range(3):\n        total += i\n        print(os.getcwd())\n"
         "        if i == 2:\n            mean(items)\n        else:\n            total -= 1\n    return total\n" + noise(12, "c") + "run([])\n"),
        ("25 unused helper functions", "from calc import mean, median\n" + helpers + "data = []\nprint(helper_3(2))\nmean(data)\n"),
        ("classes, literals, json", "import json\nfrom calc import mean\n" + classes + noise(30) +
         "CONFIG = {'a': [1, 2, 3], 'b': 'text' * 3}\nprint(json.dumps(CONFIG))\nvalues = []\nmean(values)\n" + noise(8, "d")),
        ("core of 3 spread out", noise(5) + "data = []\n" + noise(5, "e") + "from calc import mean\n" + noise(4, "f") + "mean(data)\n"),
    ]


TESTER = """#!/bin/sh
echo x >> "{counter}"
exec {python} -c '
import sys; sys.path.insert(0, "{tests}")
from helpers import mminions, candidate
from pathlib import Path
probe = mminions.make_probe(candidate("", "ZeroDivisionError"), Path("{repo}"), "repo", 20)
sys.exit(0 if probe(Path(sys.argv[1]).read_text()) else 1)
' "$1"
"""


def bench_minimize(root: Path) -> None:
    venv = root / "picire-venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "picire"], capture_output=True, text=True)
    have_picire = pip.returncode == 0
    print("## minimize (same oracle: fails with ZeroDivisionError from inside calc)")
    if not have_picire:
        print("picire could not be installed: " + pip.stderr.strip().splitlines()[-1])
    print("| case | lines before | mminions lines (non-blank) | mminions oracle calls | picire lines | picire oracle calls |")
    print("| --- | --- | --- | --- | --- | --- |")
    totals = [0, 0]
    for i, (name, text) in enumerate(bloated_cases()):
        repo = make_repo(root / f"calc{i}", {"calc/__init__.py": CALC_INIT, "calc/ops.py": CALC_OPS})
        verified = mminions.verify_candidate(candidate(text), repo, {}, runs=1)
        probe = mminions.make_probe(candidate("", "ZeroDivisionError"), repo, verified["failure"], 20)
        assert probe(text), name
        result, oracle = mminions.minimize_text(text, "py", probe, 300)
        assert probe(result)
        ours = (mminions.size_of(result, "py")["lines"], oracle.calls)
        theirs = ("-", "-")
        if have_picire:
            work = root / f"picire{i}"
            work.mkdir()
            (work / "input.py").write_text(text)
            counter = work / "calls"
            tester = work / "tester.sh"
            tester.write_text(TESTER.format(counter=counter, python=sys.executable, tests=Path(__file__).parent, repo=repo))
            tester.chmod(0o755)
            subprocess.run([str(venv / "bin" / "picire"), "-i", str(work / "input.py"), "--test", str(tester),
                            "-o", str(work / "out"), "-q"], check=True, capture_output=True)
            reduced = (work / "out" / "input.py").read_text()
            theirs = (len([l for l in reduced.splitlines() if l.strip()]), len(counter.read_text().splitlines()))
            totals[1] += theirs[1]
        totals[0] += ours[1]
        before = len(text.splitlines())
        print(f"| {name} | {before} | {ours[0]} | {ours[1]} | {theirs[0]} | {theirs[1]} |")
    if have_picire:
        print(f"total oracle calls: mminions {totals[0]}, picire {totals[1]} ({100 * totals[0] / max(totals[1], 1):.0f}%)")
    print()


def bench_bisect(root: Path) -> None:
    repo = root / "hist"
    start = time.monotonic()
    marks = make_history(repo, 1000, 537)
    print("## bisect (1000-commit linear history, regression at commit 537)")
    print(f"history built in {time.monotonic() - start:.1f} s")
    issue = root / "issue.md"
    issue.write_text(CALC_ISSUE)
    socket = unique_socket()
    try:
        start = time.monotonic()
        r = subprocess.run([sys.executable, str(MMINIONS_PY), "run", "--issue-file", str(issue), "--repo-path", str(repo),
                            "--agent", "builtin", "--min-workers", "1", "--verify-runs", "2", "--no-triage",
                            "--runs-root", str(root / "runs"), "--tmux-socket", socket, "--json"],
                           capture_output=True, text=True, env=dict(os.environ, MMINIONS_WORKTREE_ROOT=str(root / "wt")))
        wall = time.monotonic() - start
    finally:
        kill_tmux_server(socket)
    assert r.returncode == 0, r.stderr
    doc = json.loads(only_run(root / "runs").joinpath("triage", "bisect.json").read_text())
    assert doc["first_bad"]["sha"] == marks[537], doc.get("summary")
    print(f"mminions: found {doc['first_bad']['sha'][:12]}; good-commit search {len(doc['searched'])} oracle runs "
          f"({', '.join(s['label'] + '=' + s['result'] for s in doc['searched'])}), bisect {len(doc['steps'])} oracle runs "
          f"over {doc['commits_in_range']} commits (bound ceil(log2)+3 = {doc['bound']}); bisect phase {doc['seconds']:.2f} s; "
          f"whole run {wall:.2f} s")
    # plain git bisect run, same oracle, told the good commit
    plain = root / "plain"
    subprocess.run(["git", "clone", "-q", str(repo), str(plain)], check=True)
    counter = root / "plain-calls"
    oracle = root / "oracle.sh"
    oracle.write_text(f"#!/bin/sh\necho x >> {counter}\ncd {plain}\nPYTHONPATH={plain} {sys.executable} -c "
                      "'from calc import mean; mean([])' >/dev/null 2>&1\n")
    oracle.chmod(0o755)
    start = time.monotonic()
    subprocess.run(["git", "-C", str(plain), "bisect", "start", "HEAD", doc["good"]], check=True, capture_output=True)
    out = subprocess.run(["git", "-C", str(plain), "bisect", "run", str(oracle)], capture_output=True, text=True)
    plain_wall = time.monotonic() - start
    found = marks[537] in out.stdout
    print(f"plain `git bisect run` (given the same good commit): {len(counter.read_text().splitlines())} oracle runs, "
          f"{plain_wall:.2f} s, found the culprit: {found}")
    print()


def make_finished_runs(runs_root: Path, count: int) -> None:
    """``count`` finished runs as the manager leaves them: sealed run_done.json, config.json,
    a line each in the runs index."""
    index = []
    for i in range(count):
        paths = mminions.RunPaths(runs_root, f"run-20260101{i:06d}-abcd")
        paths.run_dir.mkdir(parents=True)
        mminions.write_seal_key(paths)
        done = {"run_id": paths.run_id, "status": "ok", "exit_code": 0, "issue_url": f"o/r#{i}", "title": f"bug {i}",
                "finished_at": "2026-01-01T00:00:00Z"}
        paths.run_done_json.write_text(json.dumps(mminions.seal(paths, done)))
        paths.config_json.write_text(json.dumps({"run_id": paths.run_id, "issue_url": f"o/r#{i}"}))
        index.append(mminions.index_record(paths.run_id, f"github:o/r#{i}", "0" * 40, done))
    (runs_root / "index.jsonl").write_text("".join(json.dumps(r) + "\n" for r in index))


def bench_status(root: Path) -> None:
    socket = unique_socket()
    tmux = mminions.Tmux(socket)
    runs = root / "runs"
    run_id, run_dir = mminions.allocate_run_dir(runs)
    cfg = {"run_id": run_id, "runs_root": str(runs), "repo_path": str(root), "tmux_socket": socket, "prefix": "mminions",
           "issue_file": "bench.md", "started_ts": time.time()}
    mminions.atomic_write_json(run_dir / "config.json", cfg)
    workers = []
    try:
        tmux.new_session(f"mminions-{run_id}-manager", root, "for i in $(seq 1 60); do echo manager line $i; done; cat")
        for i in range(1, 7):
            name = f"mminions-{run_id}-w{i}"
            tmux.new_session(name, root, f"for i in $(seq 1 80); do echo worker {i} output line $i; done; cat")
            wdir = run_dir / "workers" / f"w{i}"
            wdir.mkdir(parents=True)
            workers.append({"worker_id": f"w{i}", "role": "REPRO_BUILDER", "status": "running", "session_name": name,
                            "worker_dir": str(wdir), "worktree_path": str(root), "output_path": "", "script_path": ""})
        mminions.atomic_write_json(run_dir / "sessions.json", {"run_id": run_id, "phase": "repro", "workers": workers,
                                                               "manager": {"session_name": f"mminions-{run_id}-manager",
                                                                           "status": "running"}})
        time.sleep(0.5)
        calls: list = []
        doc = mminions.status_document(runs, run_id, 40, mminions.Tmux(socket, counting_runner(calls)))
        builds = []
        for _ in range(100):
            start = time.perf_counter()
            mminions.status_document(runs, run_id, 40, mminions.Tmux(socket))
            builds.append((time.perf_counter() - start) * 1000)
        builds.sort()
        assert sum(w["session_exists"] for w in doc["workers"]) == 6 and "output line 80" in doc["workers"][0]["pane_tail"]
        import socket as socketlib
        probe_sock = socketlib.socket()
        probe_sock.bind(("127.0.0.1", 0))
        port = probe_sock.getsockname()[1]
        probe_sock.close()
        server = subprocess.Popen([sys.executable, str(MMINIONS_PY), "serve", "--runs-root", str(runs), "--port", str(port),
                                   "--tmux-socket", socket], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        url = f"http://127.0.0.1:{port}/api/runs/{run_id}/status?lines=40"
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1).read()
                break
            except OSError:
                time.sleep(0.05)
        lat = []
        for _ in range(500):
            start = time.perf_counter()
            with urllib.request.urlopen(url, timeout=10) as r:
                r.read()
            lat.append((time.perf_counter() - start) * 1000)
        lat.sort()
        done = [0]
        stop_at = time.monotonic() + 5

        def client():
            while time.monotonic() < stop_at:
                with urllib.request.urlopen(url, timeout=10) as r:
                    r.read()
                done[0] += 1
        threads = [threading.Thread(target=client) for _ in range(8)]
        start = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        rps = done[0] / (time.monotonic() - start)
        server.terminate()
        server.wait(10)
    finally:
        kill_tmux_server(socket)
    print("## status (6 live workers + manager, 40 lines each)")
    print(f"latency over 500 sequential requests: p50 {lat[len(lat) // 2]:.1f} ms, p99 {lat[int(len(lat) * 0.99)]:.1f} ms")
    print(f"throughput with 8 concurrent clients (threads of the benchmark process) for 5 s: {rps:.0f} requests/s"
          " against `mminions serve` in its own process")
    print(f"one uncached status build (in-process, files + tmux): p50 {builds[50]:.1f} ms; the server rebuilds a live "
          f"run's status at most every {mminions.STATUS_FRESH_SEC * 1000:.0f} ms, once for all concurrent clients")
    print(f"subprocesses per status build: {len(calls)} ({', '.join(c[0] for c in calls)}): "
          "1 list-sessions + 1 chained capture of every live pane")
    print("targets: p50 <= 5 ms, >= 800 requests/s, list of 10,000 runs <= 300 ms (baseline c81f6bc: p50 9.4 ms, "
          "176 requests/s, list 1.06 s)")
    many = root / "many"
    many.mkdir()
    make_finished_runs(many, 10000)
    start = time.monotonic()
    items = mminions.list_runs(many)
    list_ms = (time.monotonic() - start) * 1000
    start = time.monotonic()
    r = subprocess.run([sys.executable, str(MMINIONS_PY), "list", "--runs-root", str(many), "--tmux-socket", unique_socket()],
                       capture_output=True, text=True)
    cli_ms = (time.monotonic() - start) * 1000
    assert len(items) == 10000 and r.returncode == 0
    print(f"list of 10,000 runs: {list_ms:.0f} ms in-process; `mminions list` command {cli_ms:.0f} ms end to end")
    print()


def bench_start(root: Path) -> None:
    pyz = shipped_pyz()
    bare, ours, source = (median_wall(argv, 20, cwd=root) for argv in (
        [sys.executable, "-c", "pass"], [str(pyz), "--help"], [sys.executable, "-B", str(MMINIONS_PY), "--help"]))
    print("## start (median of 20)")
    print(f"`python3 -c pass` {bare * 1000:.0f} ms; `mminions.pyz --help` {ours * 1000:.0f} ms ({ours / bare:.1f}x; "
          f"target <= 3x); `python3 -B mminions.py --help` (compiling the source) {source * 1000:.0f} ms\n")


def bench_sandbox(root: Path) -> None:
    repo, _, _ = make_buggy_repo(root)
    script = repo / "mminions_repro.py"
    script.write_text(GOOD_SCRIPT)
    home = os.path.realpath(os.path.expanduser("~"))
    visible = [sys.prefix, sys.base_prefix, os.path.dirname(os.path.realpath(sys.executable))]
    argv = [sys.executable, str(script)]
    env = mminions.clean_env(dict(os.environ), mminions.CLEAN_ENV_NAMES, "bench")

    def once_ms(runner) -> float:
        start = time.perf_counter()
        result = runner(argv, cwd=repo, timeout=60, env=dict(env))
        assert "ZeroDivisionError" in result.stderr, result.stderr[-500:]
        return (time.perf_counter() - start) * 1000
    runners = {"plain": mminions.run_cmd}
    for kind in ("bwrap", "unshare"):
        why = mminions.probe_sandbox(kind)
        if why:
            print(f"{kind}: not measured ({why})")
            continue
        sb = mminions.Sandbox(kind=kind, marker="bench", hidden=(home,) if home != "/" else (),
                              visible=tuple(visible), writable=(str(repo),),
                              limits=mminions.Limits(2048, 256, 256, 600, 1024))  # a run's defaults
        runners[kind] = mminions.sandboxed(mminions.run_cmd, sb)
    # interleaved, so a busy neighbour slows every kind alike; the overhead is the median of
    # the per-round differences, not a difference of medians taken at different moments
    n = 60
    times: dict[str, list[float]] = {k: [] for k in runners}
    for _ in range(n):
        for kind, runner in runners.items():
            times[kind].append(once_ms(runner))
    print(f"## sandbox (one oracle run: python3 reproducer in a checkout; {n} interleaved rounds)")
    print(f"plain {statistics.median(times['plain']):.1f} ms")
    for kind in runners:
        if kind == "plain":
            continue
        extra = statistics.median(b - a for a, b in zip(times["plain"], times[kind]))
        note = "; target <= 15 ms" if kind == "bwrap" else " (no file isolation)"
        print(f"{kind} {statistics.median(times[kind]):.1f} ms: +{extra:.1f} ms over plain (median of round differences){note}")
    print()


def bench_parse(root: Path) -> None:
    """Reading hostile reports: every extractor over 1 MB adversarial bodies (the part GitHub's
    limit allows is what is read), and POST /api/runs with a 64 KB one while /health is asked."""
    import threading
    import urllib.request
    print("## parsing 1 MB adversarial bodies (extract_signals + collect_programs; target well under 1 s)")
    repo, _, _ = make_buggy_repo(root)
    index = mminions.project_index(repo)
    shapes = {"long word": "a" * (1 << 20), "long spaces": "x" + " " * (1 << 20) + "y",
              "deep brackets": "(" * (1 << 19) + ")" * (1 << 19), "many fences": "```\n" * (1 << 18),
              "one line of words": "foo bar " * (1 << 17), "error words": "ValueError" * (1 << 17),
              "expected/got": "expected `a` got `b` " * 50000, "blank lines": "\n" * (1 << 20),
              "frames": 'File "x.py", line 1, in f\n' * 40000, "prompts": ">>> f(\n" * 150000,
              "python lines": "x = f(1)\n" * 110000}
    worst = 0.0
    for name, body in shapes.items():
        start = time.perf_counter()
        issue = mminions.normalize_issue({"title": body[:200], "body": body}, [], "file", "x.md")
        mminions.collect_programs(issue, index)
        took = time.perf_counter() - start
        worst = max(worst, took)
        print(f"{name:18} {took * 1000:7.0f} ms")
    print(f"worst {worst * 1000:.0f} ms")
    socket = f"mmbench-{os.getpid()}"  # the run the POST starts lives on a socket of its own
    settings = mminions.ServerSettings(runs_root=root / "runs", port=0, allowed_roots=[root], tmux_socket=socket)
    server = mminions.make_server(settings)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True).start()
    port = server.server_address[1]
    body = json.dumps({"repo_path": str(repo), "issue_file": "ValueError" * 6000}).encode()
    req = urllib.request.Request(f"http://127.0.0.1:{port}/api/runs", data=body, method="POST",
                                 headers={"Content-Type": "application/json"})
    def send() -> None:
        try:
            urllib.request.urlopen(req, timeout=60).read()
        except Exception:  # noqa: BLE001 - a 4xx answer is an answer; only the timing counts here
            pass
    post = threading.Thread(target=send)
    post.start()
    time.sleep(0.05)
    start = time.perf_counter()
    urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=10).read()
    print(f"/health during a 64 KB POST /api/runs: {(time.perf_counter() - start) * 1000:.0f} ms")
    post.join(60)
    server.shutdown()
    server.server_close()
    subprocess.run(["tmux", "-L", socket, "kill-server"], capture_output=True)
    print()


def bench_corpus(root: Path) -> None:
    corpus = Path(os.environ.get("CORPUS") or Path(__file__).resolve().parents[2] / "shared" / "corpus")
    mirrors = os.environ.get("MIRRORS", "")
    print("## corpus (real bug reports, graded fail-to-pass by ../shared/corpus/eval.py)")
    if not (corpus / "eval.py").is_file():
        print(f"no corpus at {corpus}: set CORPUS=<folder with eval.py and cases.json>\n")
        return
    if not mirrors or not Path(mirrors).is_dir():
        repos = sorted({c["repo"] for c in json.loads((corpus / "cases.json").read_text())})
        print("no mirrors: clone each project with its full history to <DIR>/<owner>+<name>/repo, then "
              "`make bench MIRRORS=DIR`; projects: " + ", ".join(repos) + "\n")
        return
    for title, extra in (("--given (a correct reproducer goes in)", ["--given"]),
                         ("--given --no-fixed-ref", ["--given", "--no-fixed-ref"]),
                         ("built-in agent, from the report alone", [])):
        out = root / f"rows-{len(extra)}.json"
        start = time.monotonic()
        r = subprocess.run([sys.executable, str(corpus / "eval.py"), "--mirrors", mirrors, "--project",
                            str(MMINIONS_PY.parent), "--json", str(out), *extra], capture_output=True, text=True)
        rows = json.loads(out.read_text()) if out.exists() else []
        secs = sorted(r_["seconds"] for r_ in rows) or [0]
        print(f"### {title}: {time.monotonic() - start:.0f} s in all, per case median {statistics.median(secs):.1f} s, "
              f"max {secs[-1]:.1f} s")
        print(r.stdout.rstrip() or r.stderr.strip()[-2000:])
        print()


def main(argv: list[str]) -> int:
    chosen = argv or ["start", "sandbox", "parse", "pipeline", "minimize", "bisect", "status", "corpus"]
    print(f"mminions {mminions.VERSION} benchmarks on {os.cpu_count()} cores, Python {sys.version.split()[0]}, "
          f"{subprocess.run(['tmux', '-V'], capture_output=True, text=True).stdout.strip()}\n")
    for name in chosen:
        root = Path(tempfile.mkdtemp(prefix=f"mmbench-{name}-"))
        try:
            {"start": bench_start, "sandbox": bench_sandbox, "parse": bench_parse, "pipeline": bench_pipeline,
             "minimize": bench_minimize, "bisect": bench_bisect,
             "status": bench_status, "corpus": bench_corpus}[name](root)
        finally:
            shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
