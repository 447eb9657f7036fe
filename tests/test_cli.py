"""Everyday use from the command line: runs by short id, hints that paste, verdicts a
script can use, one vocabulary, errors that say what to do."""

import argparse
import json
import os
import signal
import subprocess
import sys
import time
import unittest
from pathlib import Path

from helpers import (GOOD_SCRIPT, MMINIONS_PY, candidate, fake_env, make_buggy_repo, mminions, only_run, private_socket, run_cli,
                     run_dirs, temp_dir, wait_until, write_plan)
from parallel import load_tests  # noqa: F401  (the suite's classes run in a pool: tests/parallel.py)


def fake_runs(root: Path, names):
    for name in names:
        (root / name).mkdir(parents=True)
    return root


class RunRefTests(unittest.TestCase):
    def test_latest_prefix_tail_and_errors(self):
        root = fake_runs(temp_dir(self) / "runs", ["run-20260101000000-aaaa", "run-20260102000000-bbbb",
                                                   "run-20260102000001-bbcc"])
        resolve = mminions.resolve_run_ref
        self.assertEqual(resolve(root, None), "run-20260102000001-bbcc")           # the latest
        self.assertEqual(resolve(root, "run-20260101"), "run-20260101000000-aaaa")  # a prefix
        self.assertEqual(resolve(root, "20260101"), "run-20260101000000-aaaa")      # without run-
        self.assertEqual(resolve(root, "bbbb"), "run-20260102000000-bbbb")          # the tail
        self.assertEqual(resolve(root, "000001-bbcc"), "run-20260102000001-bbcc")
        with self.assertRaisesRegex(mminions.UsageError, "matches 2 runs"):
            resolve(root, "2026010200")
        with self.assertRaisesRegex(mminions.UsageError, "no run matches 'zzzz'"):
            resolve(root, "zzzz")
        with self.assertRaisesRegex(mminions.UsageError, "invalid run"):
            resolve(root, "../etc")
        with self.assertRaisesRegex(mminions.UsageError, "no runs under"):
            resolve(temp_dir(self), None)

    def test_a_run_just_made_lists_as_starting_not_orphaned(self):
        root = temp_dir(self) / "runs"
        run_id, run_dir = mminions.allocate_run_dir(root)
        (run_dir / "config.json").write_text(json.dumps({"started_ts": time.time()}))
        self.assertEqual(mminions.list_runs(root, live=set())[0]["state"], "starting")
        (run_dir / "sessions.json").write_text(json.dumps({"manager": {"pid": 12345}}))
        self.assertEqual(mminions.list_runs(root, live=set())[0]["state"], "orphaned")  # it came up, and is gone
        self.assertTrue(mminions.run_is_live(root, run_id, {f"mminions-{run_id}-manager"}))

    def test_hints_paste_as_invoked(self):
        self.assertEqual(mminions.invocation("./mminions.pyz"), "./mminions.pyz")
        self.assertEqual(mminions.invocation("dist/mminions.pyz"), "dist/mminions.pyz")
        self.assertEqual(mminions.invocation("mminions.pyz"), "./mminions.pyz")
        self.assertEqual(mminions.invocation("/x/mminions.py"), "python3 /x/mminions.py")
        self.assertEqual(mminions.invocation("/usr/local/bin/mminions"), "mminions")
        import argparse
        args = argparse.Namespace(runs_root="/srv/triage/runs", tmux_socket="sock1")
        hint = mminions.command_hint(args, "status", "run-x", "--watch")
        self.assertTrue(hint.endswith("status run-x --watch --runs-root /srv/triage/runs --tmux-socket sock1"), hint)


class ParserTests(unittest.TestCase):
    def test_typos(self):
        typo = run_cli("stauts")
        self.assertEqual(typo.returncode, 2)
        self.assertIn("did you mean 'status'?", typo.stderr)
        hidden = run_cli("_bui")
        self.assertNotIn("_builtin", hidden.stderr)
        self.assertNotIn("_builtin", run_cli("--help").stdout)
        flag = run_cli("status", "--bogus")
        self.assertEqual(flag.returncode, 2)
        self.assertEqual(flag.stderr.strip().splitlines(),
                         ["mminions status: error: unknown option '--bogus' (see: mminions status --help)"])

    def test_worker_state_agrees_with_its_exit_file(self):
        root = temp_dir(self)
        for code, want in (("0", "finished"), ("143", "stopped"), ("124", "timeout"), ("7", "failed")):
            wdir = root / f"w{code}"
            wdir.mkdir()
            (wdir / "exit_code").write_text(code + "\n")
            # the manager recorded "stopped 143": it stopped the worker as it was finishing
            record = {"worker_id": "w1", "role": "REPRO_BUILDER", "worker_dir": str(wdir), "status": "stopped",
                      "exit_code": 143}
            sessions = {"workers": [record]}
            exits = mminions.read_worker_exits(sessions)
            self.assertEqual(mminions._worker_status(record, exits), (want, int(code)), code)
        running = {"worker_id": "w2", "role": "REPRO_BUILDER", "worker_dir": str(root / "w-none"), "status": "running"}
        self.assertEqual(mminions.read_worker_exits({"workers": [running]}), {})
        self.assertEqual(mminions._worker_status(running, {}), ("running", None))


class VerdictCommandTests(unittest.TestCase):
    def setUp(self):
        self.root = temp_dir(self)
        self.repo, self.issue, _ = make_buggy_repo(self.root)
        self.runs = self.root / "runs"
        self.socket = private_socket(self)
        self.env = {"MMINIONS_WORKTREE_ROOT": str(self.root / "wt")}

    def mm(self, *args, env=None, **kw):
        return run_cli(*args, "--runs-root", str(self.runs), "--tmux-socket", self.socket,
                       env=dict(self.env, **(env or {})), **kw)

    def test_wait_status_list_and_one_line_json(self):
        # in the repository, as git and gh are used: no --repo-path needed
        started = self.mm("run", "--issue-file", str(self.issue), "--agent", "builtin",
                          "--min-workers", "1", "--verify-runs", "2", "--no-bisect", "--detach", cwd=self.repo)
        self.assertEqual(started.returncode, 0, started.stderr)
        self.assertIn("wait for it: python3 ", started.stdout)
        self.assertIn(f"--runs-root {self.runs}", started.stdout)  # the hint reaches the same runs
        waited = self.mm("wait", "--json")  # the latest run, by default
        self.assertEqual(waited.returncode, 0, waited.stderr)
        self.assertEqual(len(waited.stdout.strip().splitlines()), 1)  # a pipe gets one line
        doc = json.loads(waited.stdout)
        self.assertEqual((doc["run_state"], doc["verdict"]), ("finished", "reproduced"))
        pytest_file = Path(doc["run_dir"], "repro", "test_repro.py").read_text()  # the same check, for the suite
        self.assertIn("def test_reproduces_the_report():\n", pytest_file)
        status = self.mm("status", doc["run_id"][-4:], "--json")
        self.assertEqual(set(json.loads(status.stdout)) - {"manager"}, set(doc) - {"manager"})  # one document shape
        self.assertEqual(self.mm("status", "--exit-status").returncode, 0)
        listed = json.loads(self.mm("list", "--json").stdout)
        self.assertEqual(listed["count"], 1)
        item = listed["runs"][0]
        self.assertIn(item["state"], mminions.RUN_STATES)
        self.assertIn(item["verdict"], {mminions.verdict_word(v) for v in mminions.VERDICTS})
        self.assertEqual(item["title"], "mean() crashes on an empty list")
        table = self.mm("list").stdout
        self.assertIn("finished  reproduced", table)

    def test_notify_runs_once_after_the_verdict_and_its_failure_changes_nothing(self):
        hook = "cat > notified.json; echo \"$MMINIONS_VERDICT $MMINIONS_RUN_ID\" >> env.txt; exit 3"
        result = self.mm("run", "--issue-file", str(self.issue), "--repo-path", str(self.repo), "--agent", "builtin",
                         "--min-workers", "1", "--verify-runs", "2", "--no-bisect", "--no-triage", "--json",
                         "--notify", hook)
        self.assertEqual(result.returncode, 0, result.stderr)  # the hook failed; the verdict stands
        doc = json.loads(result.stdout)
        run_dir = Path(doc["run_dir"])
        sent = json.loads((run_dir / "notified.json").read_text())
        self.assertEqual((sent["run_id"], sent["verdict"], sent["exit_code"]), (doc["run_id"], "reproduced", 0))
        self.assertEqual((run_dir / "env.txt").read_text(), f"reproduced {doc['run_id']}\n")  # once
        self.assertEqual(json.loads((run_dir / "notify.json").read_text())["exit_code"], 3)
        self.assertIn("notify: the --notify command exited 3 (the verdict stands)", (run_dir / "manager.log").read_text())
        stopped = self.mm("stop", doc["run_id"])  # already finished: no second notification
        self.assertEqual(stopped.returncode, 0)
        self.assertEqual((run_dir / "env.txt").read_text(), f"reproduced {doc['run_id']}\n")

    def model_run(self, plan: dict, *extra: str) -> tuple[subprocess.CompletedProcess, Path]:
        """A whole run with the fake Claude Code (its usage as the real one reports it)."""
        env = dict(os.environ, **fake_env(write_plan(self.root / "plan.json", plan), None, **self.env))
        result = subprocess.run([sys.executable, str(MMINIONS_PY), "run", "--issue-file", str(self.issue), "--repo-path",
                                 str(self.repo), "--agent", "claude", "--triage-agent", "builtin", "--no-bisect",
                                 "--min-workers", "1", "--max-workers", "3", "--verify-runs", "2",
                                 "--runs-root", str(self.runs), "--tmux-socket", self.socket, *extra],
                                env=env, capture_output=True, text=True, timeout=240)
        return result, only_run(self.runs)

    def test_usage_per_worker_in_status_decision_final_md_and_notify(self):
        usage = {"input_tokens": 1200, "cached_input_tokens": 200, "output_tokens": 30, "cost_usd": 0.0123}
        result, run_dir = self.model_run({"REPRO_BUILDER": {"output": {"candidates": [candidate(GOOD_SCRIPT)], "notes": ""},
                                                            "usage": usage}},
                                         "--notify", "cat > notified.json")
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertIn("cost: 1,200 in (200 cached) / 30 out tokens, $0.0123", result.stdout)  # the run's short form
        decision = json.loads((run_dir / "decision.json").read_text())
        self.assertEqual(decision["usage"]["workers"]["w1"]["cost_usd"], 0.0123)
        self.assertEqual(decision["usage"]["workers"]["w2"]["cost_from"], "free")  # the built-in triager
        self.assertEqual((decision["usage"]["total"]["tokens"], decision["usage"]["total"]["cost_usd"]), (1230, 0.0123))
        final = (run_dir / "final.md").read_text()
        self.assertIn("## Cost\n\n- w1 (claude): 1,200 in (200 cached) / 30 out tokens, $0.0123\n"
                      "- w2 (builtin): no model: costs nothing\n"
                      "- **total: 1,200 in (200 cached) / 30 out tokens, $0.0123**", final)
        table = self.mm("status").stdout
        self.assertRegex(table, r"w1 +REPRO_BUILDER +claude +finished +0 +1,230 +\$0\.0123")
        self.assertRegex(table, r"total +1,230 +\$0\.0123")
        doc = json.loads(self.mm("status", "--json").stdout)
        self.assertEqual(doc["workers"][0]["usage"]["tokens"], 1230)
        self.assertEqual(json.loads((run_dir / "notified.json").read_text())["usage"]["cost_usd"], 0.0123)

    def test_a_spent_budget_ends_the_run_and_the_verdict_says_which(self):
        plan = {"REPRO_BUILDER": {"output": "{}", "sleep": 120, "usage_live": {"input_tokens": 4000, "output_tokens": 100},
                                  "usage": {"input_tokens": 4000, "output_tokens": 100}}}
        result, run_dir = self.model_run(plan, "--max-tokens", "3000")
        self.assertEqual(result.returncode, mminions.EXIT_NEEDS_HUMAN, result.stdout + result.stderr)
        decision = json.loads((run_dir / "decision.json").read_text())
        self.assertIn("the run's budget ended it before a reproducer was verified: the token budget "
                      "(--max-tokens 3,000) is spent: 4,100 tokens used", decision["rationale"])
        workers = json.loads(self.mm("status", "--json").stdout)["workers"]
        self.assertEqual([(w["worker_id"], w["status"]) for w in workers], [("w1", "over-budget")])  # no second one

    def test_ctrl_c_while_waiting_exits_130_and_the_run_goes_on(self):
        plan = write_plan(self.root / "plan.json", {"default": dict(
            {"output": {"candidates": [candidate(GOOD_SCRIPT)], "notes": ""}}, sleep=30)})
        env = dict(os.environ, **fake_env(plan, None, **self.env))
        started = subprocess.run([sys.executable, str(MMINIONS_PY), "run", "--issue-file", str(self.issue), "--repo-path",
                                  str(self.repo), "--agent", "codex", "--no-triage", "--no-bisect", "--detach", "--json",
                                  "--runs-root", str(self.runs), "--tmux-socket", self.socket],
                                 env=env, capture_output=True, text=True, timeout=60)
        run_id = json.loads(started.stdout)["run_id"]
        self.addCleanup(self.mm, "stop", run_id)
        # Ctrl-C as a terminal sends it; a suite started in the background (`make test &`) has
        # SIGINT ignored, and a child inherits that: give the waiter the terminal's default
        waiter = subprocess.Popen([sys.executable, str(MMINIONS_PY), "wait", run_id, "--runs-root", str(self.runs),
                                   "--tmux-socket", self.socket], env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True,
                                  preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        self.assertIn(run_id, waiter.stdout.readline())  # its first progress line: it is waiting now
        waiter.send_signal(signal.SIGINT)
        out, err = waiter.communicate(timeout=60)
        self.assertEqual(waiter.returncode, 130, err)
        self.assertIn(f"run {run_id} goes on", err)
        self.assertIn("stop it with", err)
        self.assertEqual(json.loads(self.mm("status", run_id, "--json").stdout)["run_state"], "running")
        self.assertEqual(self.mm("status", run_id, "--exit-status").returncode, mminions.EXIT_LIVE)  # not 0: not reproduced
        windows = subprocess.run(["tmux", "-L", self.socket, "list-windows", "-a", "-F", "#{window_name}"],
                                 capture_output=True, text=True).stdout.split()
        self.assertIn("manager", windows)  # windows are named by role, not `bash`
        self.assertTrue(any(w.startswith("w1-repro-") for w in windows), windows)
        attach = self.mm("attach", run_id)  # no terminal here, but the hint comes first
        self.assertIn("detach with Ctrl-b then d", attach.stderr)
        unknown = self.mm("logs", run_id, "w7")
        self.assertEqual(unknown.returncode, 2)
        self.assertIn("has no worker w7; it has: manager, w1", unknown.stderr)

    def test_send_refuses_control_characters(self):
        result = self.mm("send", "--text", "echo hi\x1b[A")
        self.assertEqual(result.returncode, 2)
        self.assertTrue("control characters" in result.stderr or "no runs under" in result.stderr, result.stderr)


class HelpAndUsageTests(unittest.TestCase):
    """What a new user meets first: help that teaches, and one-line errors."""

    def commands(self):
        parser = mminions.build_parser()
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        return sub.choices

    def test_a_mistyped_flag_gets_one_line_with_the_closest_flag(self):
        result = run_cli("run", "--repo-pth", "x")
        self.assertEqual(result.returncode, 2)
        self.assertEqual(result.stderr.strip().splitlines(),
                         ["mminions run: error: unknown option '--repo-pth'; did you mean --repo-path? "
                          "(see: mminions run --help)"])
        bad_choice = run_cli("run", "--agent", "codx")
        self.assertEqual(len(bad_choice.stderr.strip().splitlines()), 1, bad_choice.stderr)
        self.assertIn("invalid choice", bad_choice.stderr)

    def test_every_option_has_help_and_every_command_examples(self):
        for name, parser in self.commands().items():
            with self.subTest(name):
                undocumented = [a.option_strings for a in parser._actions if a.option_strings and not a.help]
                self.assertEqual(undocumented, [])
                text = parser.format_help()
                if name != "manager":
                    self.assertIn("examples:\n  mminions " + name.split()[0], text)
        text = self.commands()["run"].format_help()
        self.assertIn("--agent {auto,codex,claude,cmd,builtin}", text)  # choices shown
        for title in mminions.RUN_OPTION_GROUPS.values():
            self.assertIn(f"\n{title}:\n", text)
        self.assertIn("(default 300)", text)  # defaults shown, from RunConfig
        self.assertLess(len(text.split("\n\n")[0].splitlines()), 3)  # a usage line, not twenty

    def test_outside_a_repository_run_says_so_in_one_line(self):
        root = temp_dir(self)
        (root / "bug.md").write_text("# t\n\nbody\n")
        result = run_cli("run", "--issue-file", "bug.md", "--runs-root", str(root / "runs"), cwd=root,
                         env={"GIT_CEILING_DIRECTORIES": str(root.parent)})
        self.assertEqual(result.returncode, 2)
        self.assertIn("not in a git repository", result.stderr)
        self.assertEqual(len(result.stderr.strip().splitlines()), 1, result.stderr)

    def test_doctor_json(self):
        result = run_cli("doctor", "--agent", "builtin", "--json", "--runs-root", str(temp_dir(self) / "runs"))
        doc = json.loads(result.stdout)
        self.assertEqual(doc["agent"], "builtin")
        self.assertEqual(result.returncode, 0 if doc["ready"] else 2)
        self.assertIn("git", [c["what"] for c in doc["checks"]])
        self.assertTrue(all(set(c) == {"what", "finding", "ok"} for c in doc["checks"]))

    def test_issue_prints_a_summary_and_json_on_request(self):
        root = temp_dir(self)
        _, issue, _ = make_buggy_repo(root)
        summary = run_cli("issue", "--issue-file", str(issue))
        self.assertEqual(summary.returncode, 0, summary.stderr)
        self.assertIn("title:    mean() crashes on an empty list", summary.stdout)
        self.assertIn("errors:   ZeroDivisionError", summary.stdout)
        self.assertIn("missing:  nothing", summary.stdout)
        whole = json.loads(run_cli("issue", "--issue-file", str(issue), "--json").stdout)
        self.assertEqual(whole["title"], "mean() crashes on an empty list")
        (root / "prose.md").write_text("# it is slow\n\nSometimes things get slow after a while.\n")
        self.assertIn("missing:  no code to run and no failure shown", run_cli("issue", "--issue-file",
                                                                               str(root / "prose.md")).stdout)


class ApiRunTests(unittest.TestCase):
    """POST /api/runs gets the options, defaults and checks of `run` (one table)."""

    def setUp(self):
        self.root = temp_dir(self)
        self.repo, self.issue, _ = make_buggy_repo(self.root)
        self.settings = mminions.ServerSettings(runs_root=self.root / "runs", allowed_roots=[self.root],
                                                tmux_socket=private_socket(self),
                                                env=dict(os.environ, MMINIONS_WORKTREE_ROOT=str(self.root / "wt"),
                                                         GITHUB_API_URL="http://127.0.0.1:9"))

    def test_api_run_has_the_cli_defaults_and_a_deadline(self):
        doc = mminions.api_start_run({"issue_text": self.issue.read_text(), "repo_path": str(self.repo),
                                      "agent": "builtin", "bisect": False, "verify_runs": 2}, self.settings)
        run_dir = self.settings.runs_root / doc["run_id"]
        cfg = json.loads((run_dir / "config.json").read_text())
        defaults = {o.field: o.default for o in mminions.RUN_OPTIONS}
        # the same derived default as the CLI's
        self.assertEqual(cfg["max_runtime"], 3 * defaults["timeout_sec"] + defaults["minimize_budget_sec"] + 600)
        self.assertEqual((cfg["bisect"], cfg["verify_runs"], cfg["min_workers"]), (False, 2, 2))
        self.assertTrue(wait_until(lambda: (run_dir / "run_done.json").exists(), 60))

    def test_api_errors(self):
        with self.assertRaisesRegex(mminions.HTTPError, "unknown field 'agent_cmd'") as ctx:
            mminions.api_start_run({"issue_url": "o/r#1", "repo_path": str(self.repo), "agent_cmd": "sh"}, self.settings)
        with self.assertRaises(mminions.HTTPError) as ctx:
            mminions.api_start_run({"issue_url": "o/r#1", "repo_path": str(self.repo)}, self.settings)
        self.assertEqual(ctx.exception.code, 502)  # GitHub unreachable: not the caller's fault
        self.assertEqual(run_dirs(self.settings.runs_root), [])  # a refused POST makes no run directory
        schema = mminions.OPENAPI["paths"]["/api/runs"]["post"]["requestBody"]["content"]["application/json"]["schema"]
        self.assertEqual(set(schema["properties"]) - set(mminions.API_RUN_FIELDS),
                         {o.field for o in mminions.RUN_OPTIONS if o.api})
        self.assertTrue(all(p.get("description") for p in schema["properties"].values()))  # every field documented
        self.assertIn("false: skip the culprit search", schema["properties"]["bisect"]["description"])

    def test_issue_text_is_text_and_a_path_is_refused(self):
        for path in ("/home/me/issue.md", "./bug.md", "~/reports/42.txt", "issue.md"):
            with self.subTest(path), self.assertRaises(mminions.HTTPError) as ctx:
                mminions.api_start_run({"issue_text": path, "repo_path": str(self.repo)}, self.settings)
            self.assertEqual(ctx.exception.code, 400)
            self.assertIn("not a path", str(ctx.exception))
        with self.assertRaises(mminions.HTTPError) as ctx:  # both names at once: which one was meant?
            mminions.api_start_run({"issue_text": "# t\nx", "issue_file": "# t\nx", "repo_path": str(self.repo)},
                                   self.settings)
        self.assertEqual(ctx.exception.code, 400)
        self.assertEqual(run_dirs(self.settings.runs_root), [])


if __name__ == "__main__":
    unittest.main()
