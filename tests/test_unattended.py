"""Unattended use: cron features, and faults injected into real runs. Nothing may be lost
or left behind: no session, no worktree, no lock, and always an honest run_done.json."""

import json
import os
import random
import shutil
import subprocess
import threading
import time
import unittest
import urllib.error
import urllib.request
from pathlib import Path

from helpers import (leftover_worktree_dirs, CALC_ISSUE, GOOD_SCRIPT, REPO_ROOT, candidate, fake_env, fake_record, git, processes_mentioning, leftover_worktrees, make_buggy_repo, make_history, mminions, only_run, private_socket,
                     run_cli, run_dirs, temp_dir, wait_until, write_plan)
from parallel import load_tests  # noqa: F401  (the suite's classes run in a pool: tests/parallel.py)

BLOATED_ISSUE = '''# mean() crashes on an empty list

```python
import os
from calc import mean
print("checking", os.getcwd())
values = [1, 2, 3]
print(mean(values))
empty = []
mean(empty)
```

```
Traceback (most recent call last):
  File "check.py", line 7, in <module>
  File "/site-packages/calc/ops.py", line 4, in mean
    return total / len(xs)
ZeroDivisionError: division by zero
```
'''
FAULTS = ["phase:repro", "workers:REPRO_BUILDER", "verification", "minimize", "bisect", "workers:TRIAGER"]


class UnattendedCase(unittest.TestCase):
    def setUp(self):
        self.root = temp_dir(self)
        self.runs = self.root / "runs"
        self.wt = self.root / "wt"
        self.socket = private_socket(self)

    def mm(self, *args, env=None, timeout=180):
        return run_cli(*args, "--runs-root", str(self.runs), "--tmux-socket", self.socket,
                       env=dict({"MMINIONS_WORKTREE_ROOT": str(self.wt)}, **(env or {})), timeout=timeout)

    def sessions(self):
        r = subprocess.run(["tmux", "-L", self.socket, "ls", "-F", "#{session_name}"], capture_output=True, text=True)
        return r.stdout.split()

    def assert_nothing_left(self, repo):
        self.assertTrue(wait_until(lambda: self.sessions() == [], 10), self.sessions())
        self.assertEqual(leftover_worktrees(repo), [])
        self.assertEqual(leftover_worktree_dirs(self.wt), [])
        self.assertEqual(list((self.runs / "locks").glob("*.lock")) if (self.runs / "locks").exists() else [], [])


class FaultCase(UnattendedCase):
    """A 40-commit history and a report, and a run killed with -9 at a named point."""

    def setUp(self):
        super().setUp()
        self.repo = self.root / "repo"
        self.marks = make_history(self.repo, 40, 20)
        self.issue = self.root / "issue.md"
        self.issue.write_text(BLOATED_ISSUE)

    def start(self, fault=None, detach=True):
        env = {"MMINIONS_FAULT": fault} if fault else {}
        return self.mm("run", "--issue-file", str(self.issue), "--repo-path", str(self.repo), "--agent", "builtin",
                       "--min-workers", "1", "--verify-runs", "2", "--minimize-budget-sec", "60", "--json",
                       *(["--detach"] if detach else []), env=env)

    def outcome(self, run_id):
        d = json.loads((self.runs / run_id / "decision.json").read_text())
        minimal = next((self.runs / run_id / "repro").glob("minimal_repro.*")).read_text()
        return d["status"], (d["culprit_commit"] or {}).get("sha"), minimal, d["next_fix_targets"][:1]

    def killed_run(self, fault):
        result = self.start(fault)
        self.assertEqual(result.returncode, 0, result.stderr)
        run_id = json.loads(result.stdout)["run_id"]
        run_dir = self.runs / run_id
        self.assertTrue(wait_until(lambda: (run_dir / ".fault-fired").exists(), 60), f"{fault} never fired")
        self.assertTrue(wait_until(lambda: f"mminions-{run_id}-manager" not in self.sessions(), 10))
        self.assertFalse((run_dir / "run_done.json").exists())
        return run_id


class FaultInjectionTests(FaultCase):
    """kill -9 of the manager at each phase boundary, then --resume."""

    def test_kill_9_at_each_phase_then_resume(self):
        baseline = self.start(detach=False)
        self.assertEqual(baseline.returncode, 0, baseline.stdout + baseline.stderr)
        expected = self.outcome(json.loads(baseline.stdout)["run_id"])
        self.assertEqual(expected[0], "ok")
        self.assertEqual(expected[1], self.marks[20])
        self.assertLessEqual(len(expected[2].splitlines()), 3)  # minimized from 7 lines
        for fault in FAULTS:
            with self.subTest(fault=fault):
                run_id = self.killed_run(fault)
                resumed = self.mm("run", "--resume", run_id, "--json")
                self.assertEqual(resumed.returncode, 0, resumed.stdout + resumed.stderr)
                self.assertEqual(self.outcome(run_id), expected)
                events = mminions.read_events(self.runs / run_id)
                self.assertEqual(sum(1 for e in events if e["kind"] == "phase" and e.get("phase") == "issue"
                                     and e.get("status") == "done"), 1)
                self.assert_nothing_left(self.repo)



class OrphanedRunTests(FaultCase):
    """A manager killed, or the tmux server under it (a reboot): gc ends the run or resumes it.
    (Its own class, so the suite's pool runs it beside the long resume test.)"""

    def test_a_reboot_kills_the_tmux_server_and_gc_resumes_the_runs(self):
        plan = write_plan(self.root / "plan.json", {"default": {"output": {"candidates": [candidate(GOOD_SCRIPT)],
                                                                           "notes": ""}, "sleep": 6}})
        env = fake_env(plan)
        result = self.mm("run", "--issue-file", str(self.issue), "--repo-path", str(self.repo), "--agent", "codex",
                         "--min-workers", "1", "--verify-runs", "2", "--no-bisect", "--no-triage", "--json", "--detach",
                         env=env)
        self.assertEqual(result.returncode, 0, result.stderr)
        run_id = json.loads(result.stdout)["run_id"]
        self.assertTrue(wait_until(lambda: any("-w1" in name for name in self.sessions()), 60))
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True)  # what a reboot does
        listed = json.loads(self.mm("list", "--json").stdout)["runs"]
        self.assertEqual([(r["run_id"], r["state"]) for r in listed], [(run_id, "orphaned")])
        dry = self.mm("gc", "--resume-orphans", "--dry-run")
        self.assertIn(f"would resume orphaned run {run_id}", dry.stdout)
        gc = self.mm("gc", "--resume-orphans", env=env)
        self.assertEqual(gc.returncode, 0, gc.stderr)
        self.assertIn(f"resumed orphaned run {run_id} from its last finished phase", gc.stdout)
        waited = self.mm("wait", run_id, "--json")
        self.assertEqual(waited.returncode, 0, waited.stdout + waited.stderr)
        self.assertEqual(json.loads(waited.stdout)["verdict"], "reproduced")
        self.assert_nothing_left(self.repo)

    def test_kill_9_at_each_phase_then_gc(self):
        for fault in FAULTS:
            with self.subTest(fault=fault):
                run_id = self.killed_run(fault)
                gc = self.mm("gc")
                self.assertEqual(gc.returncode, 0, gc.stderr)
                self.assertEqual(json.loads((self.runs / run_id / "run_done.json").read_text())["status"], "failed")
                time.sleep(0.3)  # a worker may still be finishing its last write
                self.mm("gc")
                self.assert_nothing_left(self.repo)

    def test_tmux_server_killed_mid_run(self):
        repo, issue, _ = make_buggy_repo(self.root / "b")
        plan = write_plan(self.root / "plan.json", {"default": {"output": {"candidates": [], "notes": ""}, "sleep": 60}})
        result = self.mm("run", "--issue-file", str(issue), "--repo-path", str(repo), "--agent", "codex", "--detach",
                         "--json", env=fake_env(plan))
        run_id = json.loads(result.stdout)["run_id"]
        sessions_file = self.runs / run_id / "sessions.json"
        self.assertTrue(wait_until(lambda: sum(w.get("status") == "running" for w in
                                               json.loads(sessions_file.read_text()).get("workers", [])) == 2, 20))
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True)
        log = self.runs / run_id / "manager.log"
        # no verdict: what a reboot leaves can go on later (gc --resume-orphans), or be ended by gc
        self.assertTrue(wait_until(lambda: "went away mid-run: no verdict" in log.read_text(), 15), log.read_text())
        self.assertFalse((self.runs / run_id / "run_done.json").exists())
        self.assertEqual(json.loads(self.mm("status", run_id, "--json").stdout)["run_state"], "orphaned")
        self.assertEqual(leftover_worktrees(repo), [])
        self.assertEqual(self.mm("gc").returncode, 0)
        decision = json.loads((self.runs / run_id / "decision.json").read_text())
        self.assertEqual(decision["status"], "failed")


class MisbehavingWorkerTests(UnattendedCase):
    def setUp(self):
        super().setUp()
        self.repo, self.issue, _ = make_buggy_repo(self.root)
        self.record = self.root / "record"

    def run_plan(self, plan, *extra):
        env = fake_env(write_plan(self.root / "plan.json", plan), self.record)
        return self.mm("run", "--issue-file", str(self.issue), "--repo-path", str(self.repo), "--agent", "codex",
                       "--min-workers", "1", "--max-workers", "1", "--verify-runs", "2", "--no-bisect", "--json",
                       *extra, env=env)

    def test_worker_deletes_its_worktree(self):
        r = self.run_plan({"default": {"output": {"candidates": [candidate(GOOD_SCRIPT)], "notes": ""}, "rm_cwd": True}})
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assert_nothing_left(self.repo)

    def test_worker_writes_50_mb(self):
        r = self.run_plan({"default": {"output": {"candidates": [], "notes": ""}, "repeat_kb": 50 * 1024}})
        self.assertEqual(r.returncode, 3, r.stdout + r.stderr)
        rd = only_run(self.runs)
        w1 = json.loads((rd / "repro/candidates/w1.json").read_text())
        self.assertIn("over the 1000000 byte limit", w1["rejections"][0])
        self.assertIn("over the 1000000 byte limit", (rd / "final.md").read_text())
        self.assert_nothing_left(self.repo)

    def test_forked_daemon_is_killed(self):
        mark = "617.2718"  # the daemon's sleep: found by it in /proc, whatever PID namespace it is in
        # the daemon holds the CLI's stdout: its event stream must not keep the worker alive either
        for agent, sandbox in (("codex", "auto"), ("codex", "off"), ("claude", "auto")):
            with self.subTest(agent=agent, sandbox=sandbox):
                self.addCleanup(lambda: [os.kill(p, 9) for p in processes_mentioning(mark)])
                started = time.monotonic()
                r = self.run_plan({"default": {"output": {"candidates": [candidate(GOOD_SCRIPT)], "notes": ""},
                                               "daemon": mark}}, "--sandbox", sandbox, "--agent", agent)
                self.assertLess(time.monotonic() - started, 120)  # ended by the worker, not by its timeout
                self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
                fake_record(self.record, self.runs, "daemon.pid")  # it did start one
                self.assertTrue(wait_until(lambda: not processes_mentioning(mark), 5), "a daemon survived its worker")
                self.assert_nothing_left(self.repo)

    def test_worker_touching_the_users_checkout_is_reported(self):
        evil = self.repo / "EVIL.txt"
        plan = {"default": {"output": {"candidates": [candidate(GOOD_SCRIPT)], "notes": ""}, "touch": str(evil)}}
        if mminions.probe_sandbox("bwrap") is None:  # in the sandbox the checkout is not even there to touch
            r = self.run_plan(plan, "--sandbox", "require")
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            self.assertFalse(evil.exists())
            shutil.rmtree(self.runs)
        r = self.run_plan(plan, "--sandbox", "off")
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)  # never ok, whatever was reproduced
        final = (only_run(self.runs) / "final.md").read_text()
        self.assertIn("**Verdict: FAILED.** the user's checkout changed during the run", final)
        self.assertIn("status: + ?? EVIL.txt", final)  # the diff is in the report


class CronTests(UnattendedCase):
    def setUp(self):
        super().setUp()
        self.repo, self.issue, _ = make_buggy_repo(self.root)

    def run_issue(self, *extra, issue=None):
        return self.mm("run", "--issue-file", str(issue or self.issue), "--repo-path", str(self.repo), "--agent",
                       "builtin", "--min-workers", "1", "--verify-runs", "2", "--json", *extra)

    def test_skip_if_done(self):
        first = self.run_issue("--skip-if-done")
        self.assertEqual(first.returncode, 0, first.stderr)
        second = self.run_issue("--skip-if-done")
        self.assertEqual(second.returncode, 0)
        skipped = json.loads(second.stdout)
        self.assertEqual((skipped["run_id"], skipped["skipped"]), (json.loads(first.stdout)["run_id"], "already-done"))
        plain = run_cli("run", "--issue-file", str(self.issue), "--repo-path", str(self.repo), "--runs-root",
                        str(self.runs), "--tmux-socket", self.socket, "--skip-if-done")
        self.assertIn("already done: " + skipped["run_id"], plain.stdout)
        self.assertEqual(len(run_dirs(self.runs)), 1)
        index = [json.loads(l) for l in (self.runs / "index.jsonl").read_text().splitlines()]
        self.assertEqual([i["status"] for i in index], ["ok"])
        git(self.repo, "commit", "--allow-empty", "-qm", "new commit")  # another commit: runs again
        third = self.run_issue("--skip-if-done")
        self.assertEqual(third.returncode, 0)
        self.assertEqual(len(run_dirs(self.runs)), 2)

    def test_same_issue_twice_at_once(self):
        plan = write_plan(self.root / "plan.json", {"default": {"output": {"candidates": [candidate(GOOD_SCRIPT)],
                                                                           "notes": ""}, "sleep": 3}})
        env = fake_env(plan)
        first = self.mm("run", "--issue-file", str(self.issue), "--repo-path", str(self.repo), "--agent", "codex",
                        "--detach", "--json", "--no-bisect", "--no-triage", env=env)
        run_id = json.loads(first.stdout)["run_id"]
        second = self.mm("run", "--issue-file", str(self.issue), "--repo-path", str(self.repo), "--agent", "codex",
                         env=env)
        self.assertEqual(second.returncode, 0)
        self.assertTrue(second.stdout.startswith(f"already running: {run_id} (watch it: "), second.stdout)
        self.assertEqual(len(run_dirs(self.runs)), 1)
        waited = self.mm("run", "--issue-file", str(self.issue), "--repo-path", str(self.repo), "--agent", "codex",
                         "--json", "--no-bisect", "--no-triage", "--wait-lock", env=env)
        self.assertEqual(waited.returncode, 0, waited.stderr)
        self.assertTrue((self.runs / run_id / "run_done.json").exists())
        self.assertEqual(len(run_dirs(self.runs)), 2)
        self.assert_nothing_left(self.repo)

    def test_max_runtime_stops_the_run(self):
        plan = write_plan(self.root / "plan.json", {"default": {"output": {"candidates": [], "notes": ""}, "sleep": 120}})
        start = time.monotonic()
        r = self.mm("run", "--issue-file", str(self.issue), "--repo-path", str(self.repo), "--agent", "codex",
                    "--max-runtime", "3", "--json", env=fake_env(plan))
        self.assertEqual(r.returncode, 4, r.stdout + r.stderr)
        self.assertLess(time.monotonic() - start, 60)
        decision = json.loads((only_run(self.runs) / "decision.json").read_text())
        self.assertEqual(decision["status"], "stopped")
        self.assertIn("max-runtime", decision["rationale"])
        self.assert_nothing_left(self.repo)

    def test_gc_older_than_never_touches_live_runs(self):
        done = self.run_issue()
        old_id = json.loads(done.stdout)["run_id"]
        old_done = self.runs / old_id / "run_done.json"
        os.utime(old_done, (time.time() - 40 * 86400,) * 2)
        plan = write_plan(self.root / "plan.json", {"default": {"output": {"candidates": [], "notes": ""}, "sleep": 30}})
        other = self.root / "other.md"
        other.write_text(CALC_ISSUE.replace("# mean()", "# live: mean()"))
        live = self.mm("run", "--issue-file", str(other), "--repo-path", str(self.repo), "--agent", "codex",
                       "--detach", "--json", env=fake_env(plan))
        live_id = json.loads(live.stdout)["run_id"]
        self.assertTrue(wait_until(lambda: len(self.sessions()) >= 2, 20))
        gc = self.mm("gc", "--older-than", "30d")
        self.assertEqual(gc.returncode, 0, gc.stderr)
        self.assertIn(f"deleted old run directory {old_id}", gc.stdout)
        self.assertFalse((self.runs / old_id).exists())
        self.assertTrue((self.runs / live_id).exists())
        self.assertIn(f"mminions-{live_id}-manager", self.sessions())
        self.assertIn(f"mminions-{live_id}-w1", self.sessions())
        self.mm("stop", "--run-id", live_id)
        self.assert_nothing_left(self.repo)
        bad = self.mm("gc", "--older-than", "soon")
        self.assertEqual(bad.returncode, 2)

    def test_ten_runs_at_once(self):
        issues = []
        for i in range(10):
            path = self.root / f"issue{i}.md"
            path.write_text(CALC_ISSUE.replace("# mean() crashes", f"# report {i}: mean() crashes"))
            issues.append(path)
        env = dict(os.environ, MMINIONS_WORKTREE_ROOT=str(self.wt))
        procs = [subprocess.Popen([os.sys.executable, str(REPO_ROOT / "mminions.py"), "run", "--issue-file", str(p),
                                   "--repo-path", str(self.repo), "--agent", "builtin", "--min-workers", "1",
                                   "--verify-runs", "2", "--no-bisect", "--no-triage", "--json", "--runs-root", str(self.runs),
                                   "--tmux-socket", self.socket], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True, env=env) for p in issues]
        outs = [p.communicate(timeout=240) for p in procs]
        self.assertEqual([p.returncode for p in procs], [0] * 10, [o[0][-600:] + o[1][-300:] for o in outs])
        ids = [json.loads(o[0])["run_id"] for o in outs]
        self.assertEqual(len(set(ids)), 10)
        index = [json.loads(l) for l in (self.runs / "index.jsonl").read_text().splitlines()]
        self.assertEqual(sorted(i["run_id"] for i in index), sorted(ids))
        self.assertEqual(len({i["issue_key"] for i in index}), 10)
        self.assert_nothing_left(self.repo)


class RunsRootFaultTests(UnattendedCase):
    def mount_tmpfs(self, name: str, options: str) -> tuple[Path, bool]:
        """A small tmpfs of this test's own (unmounted at the end); False when not allowed."""
        mount = self.root / name
        mount.mkdir()
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(mount)], capture_output=True)
        if r.returncode == 0:
            self.addCleanup(subprocess.run, ["umount", "-l", str(mount)], capture_output=True)
        return mount, r.returncode == 0

    def test_full_filesystem(self):
        repo, issue, _ = make_buggy_repo(self.root)
        mount, mounted = self.mount_tmpfs("tiny", "size=64k")
        if not mounted:
            self.skipTest("cannot mount a small tmpfs here (needs root)")
        with open(mount / "filler", "wb") as fh:
            try:
                fh.write(b"x" * 1024 * 1024)
            except OSError:
                pass
        result = run_cli("run", "--issue-file", str(issue), "--repo-path", str(repo), "--agent", "builtin",
                         "--runs-root", str(mount / "runs"), "--tmux-socket", self.socket)
        self.assertEqual(result.returncode, 2, result.stdout + result.stderr)
        self.assertEqual(result.stderr.count("\n"), 1, result.stderr)
        self.assertIn("No space left on device", result.stderr)
        self.assertNotIn("Traceback", result.stderr)
        listed = run_cli("list", "--runs-root", str(mount / "runs"), "--json", "--tmux-socket", self.socket)
        self.assertEqual(json.loads(listed.stdout)["count"], 0)  # nothing half-made for the server to show

    def test_read_only_runs_root(self):
        repo, issue, _ = make_buggy_repo(self.root)
        mount, mounted = self.mount_tmpfs("ro", "ro,size=64k")
        if not mounted:
            if os.geteuid() == 0:
                self.skipTest("cannot mount a read-only tmpfs here")
            mount.chmod(0o555)
        result = run_cli("run", "--issue-file", str(issue), "--repo-path", str(repo), "--agent", "builtin",
                         "--runs-root", str(mount / "runs"), "--tmux-socket", self.socket)
        self.assertEqual(result.returncode, 2)
        self.assertIn("cannot create runs root", result.stderr)
        self.assertEqual(result.stderr.count("\n"), 1, result.stderr)


class ServerCase(unittest.TestCase):
    """A real server on 127.0.0.1 over a runs root, with a folder outside it that must stay untouched."""

    def setUp(self):
        self.root = temp_dir(self)
        self.runs = self.root / "runs"
        self.allowed = self.root / "allowed"
        self.allowed.mkdir()
        self.outside = self.root / "outside-sentinel"
        self.outside.mkdir()
        (self.outside / "keep.txt").write_text("untouched")
        socket = private_socket(self)
        self.settings = mminions.ServerSettings(runs_root=self.runs, allowed_roots=[self.allowed], port=0,
                                                tmux_socket=socket, log=lambda line: None,
                                                env=dict(os.environ, MMINIONS_WORKTREE_ROOT=str(self.root / "wt")))
        self.server = mminions.make_server(self.settings)
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True).start()
        self.addCleanup(self.server.server_close)
        self.addCleanup(self.server.shutdown)
        self.base = f"http://127.0.0.1:{self.settings.port}"

    def snapshot(self):
        return sorted(str(p.relative_to(self.root)) for p in self.root.rglob("*")
                      if not str(p.relative_to(self.root)).startswith(("runs", "wt")))

    def request(self, method, path, body=None, headers=None):
        req = urllib.request.Request(self.base + path, data=body, method=method, headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status
        except urllib.error.HTTPError as exc:
            exc.read()
            exc.close()
            return exc.code



class ServerFuzzTests(ServerCase):
    def test_random_fuzz_never_5xx(self):
        before = self.snapshot()
        rng = random.Random(1234)
        pieces = ["api", "runs", "run-x", "..", "%2e%2e", "status", "stop", "send", "artifacts", "final.md",
                  "%00", "run-20260101000000-abcd", "openapi.json", "health", "%C3%A9", "%ff", "", ".", "run-" + "a" * 70]
        bodies = [b"", b"{", b"[]", b"null", b'{"repo_path": "/"}', b'{"worker": "w1", "text": "\\u001b"}',
                  json.dumps({"repo_path": str(self.allowed), "issue_file": "# t\nbody"}).encode(),
                  json.dumps({"issue_url": "o/r#1", "repo_path": str(self.outside)}).encode(), os.urandom(64)]
        for _ in range(400):
            path = "/" + "/".join(rng.choice(pieces) for _ in range(rng.randint(0, 5)))
            if rng.random() < 0.3:
                path += "?lines=" + rng.choice(["1", "-1", "x", "99999", "40"])
            method = rng.choice(["GET", "POST", "PUT", "DELETE"])
            body = rng.choice(bodies) if method in ("POST", "PUT") else None
            ctype = rng.choice(["application/json", "text/plain", "application/json; charset=utf-8"])
            status = self.request(method, path, body, {"Content-Type": ctype} if body is not None else {})
            self.assertLess(status, 500, (method, path, body))
        self.assertEqual(self.snapshot(), before)
        self.assertEqual((self.outside / "keep.txt").read_text(), "untouched")

    def test_twenty_concurrent_clients_for_ten_seconds(self):
        errors, count = [], [0]
        stop_at = time.monotonic() + 10
        paths = ["/health", "/api/runs", "/openapi.json", "/", "/api/runs/run-nope/status"]

        def client(n):
            rng = random.Random(n)
            while time.monotonic() < stop_at:
                status = self.request("GET", rng.choice(paths))
                count[0] += 1
                if status >= 500:
                    errors.append(status)
        threads = [threading.Thread(target=client, args=(n,)) for n in range(20)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        self.assertEqual(errors, [])
        self.assertGreater(count[0], 100)



class SchemaFuzzTests(ServerCase):
    """schemathesis over the OpenAPI document: the suite's longest class, so the pool starts it first."""

    def test_schemathesis_against_openapi(self):
        st = Path(os.environ.get("MMINIONS_SCHEMATHESIS") or REPO_ROOT / ".venv-dev" / "bin" / "schemathesis")
        if not st.exists():
            if os.environ.get("MMINIONS_REQUIRE_FUZZ") == "1":
                self.fail(f"{st} missing but MMINIONS_REQUIRE_FUZZ=1")
            self.skipTest("schemathesis is not installed (.ci/run installs it into .venv-dev)")
        before = self.snapshot()
        r = subprocess.run([str(st), "run", f"{self.base}/openapi.json", "--checks", "not_a_server_error",
                            "--max-examples", "25", "--request-timeout", "10", "--generation-deterministic"],
                           capture_output=True, text=True, timeout=300, env=dict(os.environ, NO_COLOR="1"),
                           cwd=temp_dir(self))  # its .schemathesis cache goes there, not into the checkout
        self.assertEqual(r.returncode, 0, r.stdout[-3000:] + r.stderr[-2000:])
        self.assertEqual(self.snapshot(), before)


if __name__ == "__main__":
    unittest.main()
