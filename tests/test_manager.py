"""The manager pipeline end to end: real tmux, real git, fake agents that are real executables."""

import json
import shutil
import os
import signal
import subprocess
import unittest
from pathlib import Path

from helpers import (leftover_worktree_dirs, run_dirs, CALC_OPS_FIXED, GOOD_SCRIPT, candidate, fake_env, fake_record, git, leftover_worktrees,
                     make_buggy_repo, mminions, run_cli, temp_dir, private_socket, wait_until, write_plan)
from parallel import load_tests  # noqa: F401  (the suite's classes run in a pool: tests/parallel.py)

CALC_OPS_FIXED_LOCALLY = CALC_OPS_FIXED + "\n# a local edit the user has not committed\n"

CHEAT = "import calc\nraise ZeroDivisionError('division by zero')\n"
NO_IMPORT = "x = 1 / 0\n"
WRONG = "from calc import mean\nmean(None)\n"
# every other run fails; the counter is claimed atomically, since verification runs side by side
FLAKY = ("import os\nfrom calc import mean\nn = 0\nwhile True:\n    try:\n"
         "        os.close(os.open(f'count.{n}', os.O_CREAT | os.O_EXCL)); break\n"
         "    except FileExistsError:\n        n += 1\nif n % 2 == 0:\n    mean([])\n")
BOTH_REFS = ("from calc import mean\n\nclass Empty:\n    def __bool__(self):\n        return True\n"
             "    def __iter__(self):\n        return iter(())\n    def __len__(self):\n        return 0\n\nmean(Empty())\n")


def out(*cands, notes=""):
    return {"output": {"candidates": list(cands), "notes": notes}}


class PipelineCase(unittest.TestCase):
    def setUp(self):
        self.root = temp_dir(self)
        self.repo, self.issue, self.fixed = make_buggy_repo(self.root)
        self.runs = self.root / "runs"
        self.socket = private_socket(self)
        self.wtroot = self.root / "worktrees"
        self.record = self.root / "record"

    def env(self, plan: dict | None = None, **extra):
        plan_path = write_plan(self.root / "plan.json", plan) if plan is not None else None
        return fake_env(plan_path, self.record, MMINIONS_WORKTREE_ROOT=str(self.wtroot), **extra)

    def mm(self, *args, plan=None, timeout=120, **env_extra):
        return run_cli(*args, "--runs-root", str(self.runs), "--tmux-socket", self.socket,
                       env=self.env(plan, **env_extra), timeout=timeout)

    def start(self, *extra, plan=None, agent="codex"):
        return self.mm("run", "--issue-file", str(self.issue), "--repo-path", str(self.repo),
                       "--agent", agent, "--verify-runs", "3", "--timeout-sec", "20", "--no-triage",
                       "--json", *extra, plan=plan)

    def run_dir(self) -> Path:
        dirs = run_dirs(self.runs)
        self.assertEqual(len(dirs), 1)
        return dirs[0]

    def sessions(self) -> list[str]:
        r = subprocess.run(["tmux", "-L", self.socket, "ls", "-F", "#{session_name}"], capture_output=True, text=True)
        return r.stdout.split()

    def assert_clean(self):
        self.assertTrue(wait_until(lambda: self.sessions() == [], 5), self.sessions())
        self.assertEqual(leftover_worktrees(self.repo), [])
        self.assertEqual(leftover_worktree_dirs(self.wtroot), [])


class EndToEndTests(PipelineCase):
    def test_good_candidate_ok_and_checkout_untouched(self):
        (self.repo / "scratch.txt").write_text("user's own work\n")
        (self.repo / "README.md").write_text("calc, edited but not committed\n")
        git(self.repo, "branch", "user-branch")
        before = mminions.checkout_fingerprint(self.repo)
        stash_before = git(self.repo, "stash", "list")
        result = self.start("--bisect-search", "10", plan={"default": out(candidate(GOOD_SCRIPT))})
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        info = json.loads(result.stdout)
        self.assertEqual((info["verdict"], info["run_state"]), ("reproduced", "finished"))
        rd = self.run_dir()
        for name in ("issue.json", "sessions.json", "events.jsonl",
                     "repro/minimal_repro.py", "decision.json", "final.md", "run_done.json"):
            self.assertTrue((rd / name).exists(), name)
        # two workers start at once; whichever verified first won (under load, w2 may)
        self.assertTrue(list((rd / "repro" / "candidates").glob("w*.json")))
        decision = json.loads((rd / "decision.json").read_text())
        self.assertEqual(decision["status"], "ok")
        self.assertEqual(decision["selected_candidate"]["verification"]["matched_runs"], 3)
        self.assertEqual(decision["selected_candidate"]["verification"]["origin"], "repo")
        self.assertEqual((rd / "repro/minimal_repro.py").read_text(), GOOD_SCRIPT)
        final = (rd / "final.md").read_text()
        self.assertIn("REPRODUCED", final)
        self.assertIn("from calc import mean", final)
        self.assertIn("python3 repro.py", final)
        done = json.loads((rd / "run_done.json").read_text())
        self.assertEqual(done["status"], "ok")
        sessions = json.loads((rd / "sessions.json").read_text())
        self.assertEqual([w["role"] for w in sessions["workers"]], ["REPRO_BUILDER", "REPRO_BUILDER"])
        self.assertEqual(mminions.fingerprint_diff(before, mminions.checkout_fingerprint(self.repo)), [])
        self.assertEqual(git(self.repo, "stash", "list"), stash_before)
        self.assertEqual((self.repo / "scratch.txt").read_text(), "user's own work\n")
        self.assert_clean()

    def test_state_lives_in_one_place_per_user(self):
        # run from inside the checkout with no --runs-root: nothing is written into the user's repo
        state = self.root / "state"
        result = run_cli("run", "--issue-file", str(self.issue), "--repo-path", ".", "--agent", "builtin",
                         "--min-workers", "1", "--verify-runs", "2", "--tmux-socket", self.socket, "--json",
                         cwd=self.repo, env={"MMINIONS_WORKTREE_ROOT": str(self.wtroot), "XDG_STATE_HOME": str(state),
                                             "MMINIONS_RUNS_ROOT": ""})
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertEqual(len(run_dirs(state / "mminions" / "runs")), 1)
        self.assertEqual(git(self.repo, "status", "--porcelain"), "")
        listed = run_cli("list", env={"XDG_STATE_HOME": str(state), "MMINIONS_RUNS_ROOT": ""}, cwd=self.root)
        self.assertIn(json.loads(result.stdout)["run_id"], listed.stdout)  # found from any directory

    def test_runs_root_inside_the_checkout(self):
        inside = self.repo / "runs"
        refused = run_cli("run", "--issue-file", str(self.issue), "--repo-path", str(self.repo), "--agent", "builtin",
                          "--runs-root", str(inside), "--tmux-socket", self.socket,
                          env={"MMINIONS_WORKTREE_ROOT": str(self.wtroot)})
        self.assertEqual(refused.returncode, 2)
        self.assertEqual(refused.stderr.count("\n"), 1, refused.stderr)
        self.assertIn("lies inside the repository", refused.stderr)
        self.assertFalse(inside.exists())
        (self.repo / ".git" / "info" / "exclude").write_text("runs/\n")  # ignored there: allowed, and no change
        result = run_cli("run", "--issue-file", str(self.issue), "--repo-path", str(self.repo), "--agent", "builtin",
                         "--min-workers", "1", "--verify-runs", "2", "--runs-root", str(inside),
                         "--tmux-socket", self.socket, "--json", env={"MMINIONS_WORKTREE_ROOT": str(self.wtroot)})
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        run_dir = run_dirs(inside)[0]
        self.assertNotIn("checkout changed", (run_dir / "final.md").read_text())
        self.assertEqual(json.loads((run_dir / "decision.json").read_text())["diagnostics"], [])

    def test_local_changes_are_said_up_front(self):
        (self.repo / "calc" / "ops.py").write_text(CALC_OPS_FIXED_LOCALLY)
        result = self.start("--no-bisect", plan={"default": out(candidate(GOOD_SCRIPT))})
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertIn("uncommitted change(s); the run reproduces at HEAD", result.stderr)
        self.assertIn("uncommitted change(s)", (self.run_dir() / "final.md").read_text())

    def test_rejections_and_escalation(self):
        plan = {"w1": out(candidate(CHEAT)), "w2": {"output": "Sorry, I could not reproduce it."},
                "w3": dict(out(candidate(GOOD_SCRIPT)), sleep=60), "w4": out(candidate(WRONG), candidate(NO_IMPORT)),
                # the good one answers last: the flaky one's 20 runs are over before it ends the search
                "w5": out(candidate(FLAKY)), "w6": dict(out(candidate(GOOD_SCRIPT)), sleep=4)}
        result = self.mm("run", "--issue-file", str(self.issue), "--repo-path", str(self.repo), "--agent", "codex",
                         "--verify-runs", "4", "--timeout-sec", "10", "--no-triage", "--no-bisect",
                         "--min-workers", "2", "--max-workers", "6", "--json", plan=plan)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        rd = self.run_dir()
        cands = {w: json.loads((rd / f"repro/candidates/{w}.json").read_text()) for w in ("w1", "w2", "w3", "w4", "w5", "w6")}
        cheat = cands["w1"]["candidates"][0]["verification"]
        # it fails every time, but by its own `raise`: with no commit to show it passes where the
        # bug is absent, that counts for nothing (and never stops the search)
        self.assertIn("raised by the script itself", cheat["reasons"][0])
        self.assertTrue(cheat["needs_reference"])
        self.assertEqual(cands["w2"]["rejections"], ["no JSON object found in the output"])
        self.assertEqual(cands["w3"]["worker_status"], "timeout")
        self.assertIn("exit code 124", cands["w3"]["diagnostic"])
        wrong, noimp = cands["w4"]["candidates"]
        self.assertIn("claims 'ZeroDivisionError' but fails with TypeError", wrong["verification"]["reasons"][0])
        self.assertTrue(wrong["verification"]["needs_reference"])
        self.assertIn("never imports the project", noimp["verification"]["reasons"][0])
        self.assertEqual(cands["w5"]["candidates"][0]["verification"]["status"], "flaky")
        flaky = cands["w5"]["candidates"][0]["verification"]
        # failing in some runs only: it is run FLAKY_ESTIMATE_RUNS times in all, and says its rate
        self.assertEqual(flaky["total_runs"], mminions.FLAKY_ESTIMATE_RUNS)
        self.assertTrue(0 < flaky["matched_runs"] < flaky["total_runs"], flaky)
        self.assertEqual(flaky["failure_rate"], round(flaky["matched_runs"] / flaky["total_runs"], 3))
        self.assertEqual(cands["w6"]["candidates"][0]["verification"]["status"], "reproduced")
        prompt3 = fake_record(self.record, self.runs, "w3.prompt.md")
        self.assertIn("raised by the script itself", prompt3)  # escalation tells what failed before
        decision = json.loads((rd / "decision.json").read_text())
        self.assertEqual(decision["selected_candidate"]["worker_id"], "w6")
        self.assertTrue(any("w3" in d and "timeout" in d for d in decision["diagnostics"]))
        final = (rd / "final.md").read_text()
        self.assertIn("raised by the script itself", final)
        self.assertIn("Diagnostics", final)
        self.assert_clean()

    def test_all_workers_broken_is_explained(self):
        result = self.start("--max-workers", "2", plan={"default": {"output": "", "exit": 7, "no_output": True,
                                                                   "stdout": "auth error: invalid api key"}})
        self.assertEqual(result.returncode, 3, result.stdout + result.stderr)
        decision = json.loads((self.run_dir() / "decision.json").read_text())
        self.assertEqual(decision["status"], "needs-human")
        self.assertIn("every repro worker failed", decision["rationale"])
        self.assertTrue(any("exit code 7" in d and "invalid api key" in d for d in decision["diagnostics"]))
        self.assert_clean()


class ReferenceTests(PipelineCase):
    """Runs with a fix or a good commit to check against (their own class: the pool runs it beside EndToEndTests)."""

    def test_fixed_ref(self):
        result = self.start("--fixed-ref", "fix", "--no-bisect", plan={"default": out(candidate(GOOD_SCRIPT))})
        self.assertEqual(result.returncode, 0, result.stderr)
        sel = json.loads((self.run_dir() / "repro/selected_candidate.json").read_text())
        self.assertEqual(sel["fixed_ref"]["verdict"], "fail-to-pass")
        self.assert_clean()

    def test_fixed_ref_flags_unspecific_repro(self):
        result = self.start("--fixed-ref", "fix", "--no-bisect", plan={"default": out(candidate(BOTH_REFS))})
        self.assertEqual(result.returncode, 5, result.stderr)
        rd = self.run_dir()
        sel = json.loads((rd / "repro/selected_candidate.json").read_text())
        self.assertFalse(sel["fixed_ref"]["passes"])
        decision = json.loads((rd / "decision.json").read_text())
        self.assertEqual((decision["status"], decision["fail_to_pass"]), ("not-specific", False))
        self.assertEqual(decision["reference"]["sha"], self.fixed)
        self.assertIn("not specific to this bug", decision["rationale"])
        self.assertIn("NOT SPECIFIC", (rd / "final.md").read_text())

    def test_fail_to_pass_candidate_ranks_first(self):
        # w1 proposes the unspecific script first; the specific one must be chosen, and the decision says why
        plan = {"default": out(dict(candidate(BOTH_REFS), candidate_id="both"), dict(candidate(GOOD_SCRIPT + "print(1)\n"),
                                                                                 candidate_id="specific"))}
        result = self.start("--fixed-ref", "fix", "--no-bisect", "--max-workers", "2", plan=plan)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        decision = json.loads((self.run_dir() / "decision.json").read_text())
        self.assertEqual(decision["selected_candidate"]["candidate"]["candidate_id"], "specific")
        self.assertIs(decision["fail_to_pass"], True)
        self.assertIn("fail-to-pass", decision["rationale"])

    def test_report_read_as_evidence_not_veto(self):
        # the report names ZeroDivisionError; a candidate that fails in calc with a TypeError is kept,
        # verified but different, and said so; one that fails as the report says ranks above it
        differs = "from calc import mean\nmean(None)\n"
        result = self.start("--no-bisect", "--max-workers", "2",
                            plan={"w1": out(candidate(differs, "TypeError")), "w2": out(candidate(differs, "TypeError"))})
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        decision = json.loads((self.run_dir() / "decision.json").read_text())
        self.assertIs(decision["matches_report"], False)
        self.assertIn("verified but different", decision["rationale"])
        self.assertIn("Verified but different from the report", (self.run_dir() / "final.md").read_text())

    def test_input_errors_exit_2_and_leave_no_run(self):
        not_repo = temp_dir(self)
        result = self.mm("run", "--issue-file", str(self.issue), "--repo-path", str(not_repo), "--agent", "builtin")
        self.assertEqual(result.returncode, 2)
        self.assertEqual(result.stderr.count("\n"), 1, result.stderr)
        self.assertIn("is not a git repository", result.stderr)
        self.assertEqual(run_dirs(self.runs), [])  # an input error is not a run: nothing fills `list`
        both = self.mm("run", "--issue-file", str(self.issue), "--issue-url", "o/r#1", "--repo-path", str(self.repo))
        self.assertEqual(both.returncode, 2)
        self.assertIn("exactly one of --issue-url or --issue-file", both.stderr)
        self.assertEqual(run_dirs(self.runs), [])
        missing = run_cli("run", "--issue-file", str(self.issue), "--repo-path", str(self.repo), "--agent", "claude",
                          "--runs-root", str(self.runs), "--tmux-socket", self.socket,
                          env={"PATH": "/usr/bin:/bin", "MMINIONS_WORKTREE_ROOT": str(self.wtroot)})
        self.assertEqual(missing.returncode, 2)
        self.assertIn("'claude' is not on PATH", missing.stderr)
        bad = self.mm("run", "--issue-file", str(self.issue), "--repo-path", str(self.repo), "--min-workers", "3",
                      "--max-workers", "2")
        self.assertEqual(bad.returncode, 2)
        self.assertIn("--min-workers (3) is more than --max-workers (2)", bad.stderr)
        self.assertEqual(self.sessions(), [])


class StopResumeTests(PipelineCase):
    def detach(self, plan, *extra):
        result = self.mm("run", "--issue-file", str(self.issue), "--repo-path", str(self.repo), "--agent", "codex",
                         "--verify-runs", "2", "--timeout-sec", "30", "--no-triage", "--no-bisect", "--detach",
                         "--json", *extra, plan=plan)
        self.assertEqual(result.returncode, 0, result.stderr)
        info = json.loads(result.stdout)
        # the same run document as `status --json`, plus the manager's session
        self.assertLessEqual({"run_id", "run_state", "manager", "workers", "decision", "verdict", "manager_session"},
                             set(info))
        return info

    def wait_workers_running(self, run_id, n=1):
        path = self.runs / run_id / "sessions.json"
        # running, and its session is up (its pane's pid is recorded once tmux started it)
        ok = wait_until(lambda: path.exists() and sum(w.get("status") == "running" and bool(w.get("pane_pid")) for w in
                                                      json.loads(path.read_text()).get("workers", [])) >= n, 20)
        self.assertTrue(ok)

    def test_stop_mid_run_twice(self):
        info = self.detach({"default": dict(out(candidate(GOOD_SCRIPT)), sleep=60)})
        self.wait_workers_running(info["run_id"], 2)
        first = self.mm("stop", "--run-id", info["run_id"])
        self.assertEqual(first.returncode, 0, first.stderr)
        self.assertEqual(json.loads(first.stdout)["status"], "stopped")
        done = json.loads(Path(info["run_dir"], "run_done.json").read_text())
        self.assertEqual(done["status"], "stopped")
        self.assert_clean()
        again = self.mm("stop", "--run-id", info["run_id"])
        self.assertEqual(again.returncode, 0, again.stderr)
        self.assertEqual(json.loads(Path(info["run_dir"], "run_done.json").read_text())["finished_at"], done["finished_at"])

    def test_status_typed_into_manager_pane(self):
        info = self.detach({"default": dict(out(candidate(GOOD_SCRIPT)), sleep=30)})
        self.wait_workers_running(info["run_id"], 2)
        sent = self.mm("send", info["run_id"], "manager", "status")  # the text as the last argument
        self.assertEqual(json.loads(sent.stdout), {"run_id": info["run_id"], "worker": "manager", "sent": True})

        def pane():
            doc = json.loads(self.mm("status", "--run-id", info["run_id"], "--json", "--lines", "60").stdout)
            return doc["manager"]["pane_tail"]
        self.assertTrue(wait_until(lambda: "REPRO_BUILDER" in pane() and "phase: repro" in pane(), 10), pane())
        table = self.mm("status", "--run-id", info["run_id"])
        self.assertIn("state: running", table.stdout)
        self.assertIn("w1", table.stdout)
        listed = self.mm("list")
        self.assertIn(info["run_id"], listed.stdout)
        self.assertIn("running", listed.stdout)
        logs = self.mm("logs", "--run-id", info["run_id"], "--worker", "w1")
        self.assertIn("[mminions] worker w1", logs.stdout)
        gone = self.mm("attach", "--run-id", info["run_id"], "--worker", "w9")
        self.assertEqual(gone.returncode, 2)
        self.assertIn("has no worker w9; it has: manager, w1 (REPRO_BUILDER", gone.stderr)
        ended = self.mm("logs", info["run_id"][-4:], "w1")  # a run by the tail of its id, the worker positional
        self.assertIn("[mminions] worker w1", ended.stdout)
        self.mm("stop", "--run-id", info["run_id"])
        self.assert_clean()

    def kill_manager(self, run_id):
        sessions = json.loads((self.runs / run_id / "sessions.json").read_text())
        os.kill(sessions["manager"]["pid"], signal.SIGKILL)
        self.assertTrue(wait_until(lambda: f"mminions-{run_id}-manager" not in self.sessions(), 5))

    def test_kill_9_manager_then_resume(self):
        info = self.detach({"default": dict(out(candidate(GOOD_SCRIPT)), sleep=2)}, "--min-workers", "1")
        self.wait_workers_running(info["run_id"], 1)
        self.kill_manager(info["run_id"])
        self.assertFalse(Path(info["run_dir"], "run_done.json").exists())
        status = self.mm("status", "--run-id", info["run_id"], "--json")
        self.assertEqual(json.loads(status.stdout)["run_state"], "orphaned")
        resumed = self.mm("run", "--resume", info["run_id"], "--json")
        self.assertEqual(resumed.returncode, 0, resumed.stdout + resumed.stderr)
        decision = json.loads((self.runs / info["run_id"] / "decision.json").read_text())
        self.assertEqual(decision["status"], "ok")
        self.assertEqual(decision["selected_candidate"]["worker_id"], "w1")  # adopted, not redone
        events = [json.loads(l) for l in (self.runs / info["run_id"] / "events.jsonl").read_text().splitlines()]
        workers = json.loads((self.runs / info["run_id"] / "sessions.json").read_text())["workers"]
        self.assertEqual([w["worker_id"] for w in workers if w["role"] == "REPRO_BUILDER"], ["w1"])
        self.assertEqual(sum(1 for e in events if e["kind"] == "phase" and e["phase"] == "issue" and e["status"] == "done"), 1)
        self.assert_clean()

    def test_gc_after_killed_manager(self):
        info = self.detach({"default": dict(out(candidate(GOOD_SCRIPT)), sleep=60)})
        self.wait_workers_running(info["run_id"], 2)
        self.kill_manager(info["run_id"])
        dry = self.mm("gc", "--dry-run")
        self.assertIn("would kill session", dry.stdout)
        self.assertTrue(self.sessions())
        gc = self.mm("gc")
        self.assertEqual(gc.returncode, 0, gc.stderr)
        self.assert_clean()
        self.assertEqual(json.loads(Path(info["run_dir"], "run_done.json").read_text())["status"], "failed")

    def test_two_runs_at_once(self):
        plan = write_plan(self.root / "plan.json", {"default": dict(out(candidate(GOOD_SCRIPT)), sleep=0.5)})
        other = self.root / "other-issue.md"
        other.write_text(self.issue.read_text().replace("# mean() crashes", "# mean() of [] crashes"))
        procs = [subprocess.Popen([os.sys.executable, str(Path(mminions.__file__)), "run", "--issue-file", str(issue),
                                   "--repo-path", str(self.repo), "--agent", "codex", "--verify-runs", "2",
                                   "--no-triage", "--no-bisect", "--json", "--runs-root", str(self.runs),
                                   "--tmux-socket", self.socket], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True, env=dict(os.environ, **fake_env(plan, None, MMINIONS_WORKTREE_ROOT=str(self.wtroot))))
                 for issue in (self.issue, other)]
        outs = [p.communicate(timeout=120) for p in procs]
        self.assertEqual([p.returncode for p in procs], [0, 0], outs)
        ids = {json.loads(o[0])["run_id"] for o in outs}
        self.assertEqual(len(ids), 2)
        self.assert_clean()


if __name__ == "__main__":
    unittest.main()


# the project: a lookup that loses a key, a function that hangs, a helper with a dead `raise`
NOVETO_OPS = '''def settings():
    return {"name": "x"}  # bug: "size" went missing


def wait_ready(n):
    while n:  # bug: never counts down
        pass
    return True


def parse(text):
    return int(text, base=None)  # bug: base=None raises TypeError
'''
NOVETO_FIXED = NOVETO_OPS.replace('{"name": "x"}', '{"name": "x", "size": 3}').replace(
    "    while n:  # bug: never counts down\n        pass\n", "    while n:\n        n -= 1\n").replace(
    "int(text, base=None)", "int(text)")


class NoVetoTests(PipelineCase):
    """Where a passing reference exists, fail-to-pass is the evidence: how a script looks
    never vetoes a candidate that imports the project and passes at the fix (issue 26)."""

    def setUp(self):
        super().setUp()
        from helpers import make_repo, commit_files
        self.repo = make_repo(self.root / "noveto", {"app/__init__.py": "", "app/ops.py": NOVETO_OPS})
        git(self.repo, "checkout", "-q", "-b", "fix")
        self.fixed = commit_files(self.repo, {"app/ops.py": NOVETO_FIXED}, "fix the three bugs", 3)
        git(self.repo, "checkout", "-q", "main")
        self.issue = self.root / "noveto.md"
        self.issue.write_text("# settings lose size, wait_ready hangs, parse raises\n\nSee the title.\n")

    def verify(self, script, signature, *extra):
        shutil.rmtree(self.runs, ignore_errors=True)
        plan = {"default": out(dict(candidate(script), claimed_failure_signature=signature))}
        result = self.mm("run", "--issue-file", str(self.issue), "--repo-path", str(self.repo), "--agent", "codex",
                         "--verify-runs", "2", "--no-triage", "--no-bisect", "--min-workers", "1", "--max-workers", "1",
                         "--minimize-budget-sec", "5", "--json", *extra, plan=plan, timeout=180)
        decision = json.loads((self.run_dir() / "decision.json").read_text())
        return result, decision

    def test_failures_read_from_how_the_script_really_fails(self):
        cases = {
            # a helper class holds a `raise TypeError` that never runs; the TypeError is the project's
            "dead raise": ("from app.ops import parse\nclass Check:\n    def fail(self):\n        raise TypeError('x')\n"
                           "parse('12')\n", "TypeError", "repo"),
            # the project returns a mapping without the key: the KeyError shows in the caller's frame
            "caller's lookup": ("from app.ops import settings\nprint(settings()['size'])\n", "KeyError: 'size'", "script"),
        }
        for name, (script, signature, origin) in cases.items():
            with self.subTest(name):
                for extra in ((), ("--fixed-ref", self.fixed)):
                    result, decision = self.verify(script, signature, *extra)
                    self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
                    self.assertEqual(decision["selected_candidate"]["verification"]["origin"], origin)
                    self.assertEqual(decision["fail_to_pass"], True if extra else None)

    def test_a_self_made_verdict_counts_only_fail_to_pass(self):
        hang = ("import sys, threading\nfrom app.ops import wait_ready\nt = threading.Thread(target=wait_ready, args=(3,), "
                "daemon=True)\nt.start()\nt.join(1)\nif t.is_alive():\n    print('Wrong output: wait_ready(3) still running "
                "after 1 s')\n    sys.exit(1)\n")
        mislabelled = "from app.ops import settings\nassert settings().get('size') == 3, settings()\n"
        for name, script, signature in (("hang detected by the script", hang, "Wrong output: wait_ready(3) still running"),
                                        ("a claim that is not what happens", mislabelled, "Wrong output")):
            with self.subTest(name):
                result, decision = self.verify(script, signature)  # no reference: nothing shows it is the bug
                self.assertEqual(result.returncode, 3, result.stdout + result.stderr)
                self.assertIn("counts only where it passes" if "hang" in name else "but fails with AssertionError",
                              json.dumps(decision["verification"]))
                result, decision = self.verify(script, signature, "--fixed-ref", self.fixed)
                self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
                self.assertTrue(decision["fail_to_pass"])
