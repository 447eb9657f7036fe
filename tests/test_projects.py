"""Projects as they are (issue 29): a setup step in every checkout, reproducers in another
language, and bugs that show only in some runs.  Each runs `mminions run` end to end on a
generated repository: real git, tmux, bubblewrap and node."""

import json
import os
import shutil
import sys
import unittest

from helpers import (CALC_INIT, CALC_ISSUE, CALC_OPS, CALC_OPS_FIXED, FLAKY_OPS, JS_CANDIDATE, JS_ISSUE, cmd_agent,
                     commit_files, git, leftover_worktrees, make_built_history, make_history, make_js_history,
                     make_repo, mminions, only_run, private_socket, run_cli, temp_dir)
from parallel import load_tests  # noqa: F401  (the suite's classes run in a pool: tests/parallel.py)


def mean_candidate(**extra) -> dict:
    return dict({"candidate_id": "c1", "script": "from calc import mean\nmean([])\n", "setup_commands": [],
                 "oracle_command": "python3 {repro_file}", "claimed_failure_signature": "ZeroDivisionError",
                 "file_extension": "py"}, **extra)


class ProjectRun(unittest.TestCase):
    def mm(self, repo, issue_text, *args, candidates=None):
        root = self.root
        issue = root / "issue.md"
        issue.write_text(issue_text)
        agent = ("--agent", "builtin") if candidates is None else (
            "--agent", "cmd", "--agent-cmd", f"{sys.executable} {cmd_agent(root / 'agent.py', candidates)} {{output_file}}",
            "--max-workers", "1")
        result = run_cli("run", "--issue-file", str(issue), "--repo-path", str(repo), *agent, "--min-workers", "1",
                         "--no-triage", "--runs-root", str(root / "runs"), "--tmux-socket", private_socket(self), *args,
                         env={"MMINIONS_WORKTREE_ROOT": str(root / "wt")}, timeout=300)
        run_dir = only_run(root / "runs")
        self.assertEqual(leftover_worktrees(repo), [])
        decision = json.loads((run_dir / "decision.json").read_text())
        return result, run_dir, decision

    def setUp(self):
        self.root = temp_dir(self)


class SetupTests(ProjectRun):
    def test_a_build_step_runs_in_every_checkout_and_bisect_reuses_its_result(self):
        # the middle of the range cannot build: bisect must skip there and still name the culprit
        marks = make_built_history(self.root / "repo", 24, 20, range(9, 14))
        result, run_dir, decision = self.mm(self.root / "repo", CALC_ISSUE, "--good", marks[1],
                                            "--setup", "python3 build.py", "--setup-inputs", "calc/ops.src,build.py")
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertEqual((decision["status"], decision["culprit_commit"]["sha"]), ("ok", marks[20]))
        bisect = json.loads((run_dir / "triage" / "bisect.json").read_text())
        self.assertIn("skip", [s["result"] for s in bisect["steps"]])  # a commit whose build fails is skipped
        setups = [json.loads(line) for line in (run_dir / "setup" / "setups.jsonl").read_text().splitlines()]
        ran = [s for s in setups if not s["reused"]]
        self.assertTrue(any(not s["ok"] for s in setups))
        # three build inputs in the history (good, broken build, buggy): each built once at most
        self.assertLessEqual(len({s["key"] for s in ran}), 3)
        self.assertEqual(len(ran), len({s["key"] for s in ran}))
        self.assertGreater(len(setups), len(ran))
        for s in ran:  # its output kept
            self.assertIn("$ python3 build.py", (run_dir / "setup" / f"{s['key']}.log").read_text())
        self.assertEqual(decision["setup"]["summary"]["ran"], len(ran))
        self.assertIn("setup: ran", result.stdout)
        self.assertIn("set up first with `python3 build.py`", (run_dir / "final.md").read_text())
        status = json.loads(run_cli("status", run_dir.name, "--runs-root", str(self.root / "runs"), "--json",
                                    "--tmux-socket", private_socket(self)).stdout)
        self.assertEqual(status["setup"]["checkouts"], len(setups))
        self.assertFalse((self.root / "repo" / "calc" / "_built.py").exists())  # the user's checkout: untouched

    def test_a_setup_that_fails_at_the_target_ends_the_run_with_one_line(self):
        marks = make_built_history(self.root / "repo", 3, 2, range(3, 4))
        result, run_dir, decision = self.mm(self.root / "repo", CALC_ISSUE, "--good", marks[1],
                                            "--setup", "python3 build.py")
        self.assertEqual(decision["status"], "failed")
        self.assertIn("the setup command failed at", decision["rationale"])
        self.assertIn("build broken", decision["rationale"])
        self.assertNotIn("Traceback", result.stdout + result.stderr)

    def test_setup_is_a_run_option_everywhere(self):
        self.assertEqual(mminions.api_run_options({"setup": "make gen", "setup_inputs": "grammar,Makefile"}),
                         {"setup": "make gen", "setup_inputs": ["grammar", "Makefile"]})
        with self.assertRaises(ValueError):
            mminions.api_run_options({"setup": "make\ngen"})
        props = mminions.api_run_schema()["properties"]
        self.assertIn("setup", props)
        self.assertIn("setup_timeout", props)
        self.assertEqual(mminions.run_options_argv({"setup": "make", "setup_inputs": ["a", "b"]}),
                         ["--setup", "make", "--setup-inputs", "a,b"])


class VersionStandInTests(ProjectRun):
    """A hatch-vcs project: its version file is written at install time, so no clone has it."""

    def test_a_model_workers_reproducer_without_a_stand_in_runs_with_mminions_one(self):
        init = "from ._version import __version__\n" + CALC_INIT
        repo = make_repo(self.root / "repo", {
            "pyproject.toml": '[build-system]\nrequires = ["hatchling", "hatch-vcs"]\n\n'
                              '[tool.hatch.build.hooks.vcs]\nversion-file = "calc/_version.py"\n',
            ".gitignore": "calc/_version.py\n", "calc/__init__.py": init, "calc/ops.py": CALC_OPS_FIXED}, "c0")
        marks = [git(repo, "rev-parse", "HEAD").strip()]
        for n in range(1, 8):
            commit_files(repo, {"calc/ops.py": CALC_OPS if n >= 5 else CALC_OPS_FIXED, "log.txt": f"{n}\n"}, f"c{n}", n)
            marks.append(git(repo, "rev-parse", "HEAD").strip())
        result, run_dir, decision = self.mm(repo, CALC_ISSUE, "--good", marks[0], "--verify-runs", "2",
                                            candidates=[mean_candidate()])
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertEqual((decision["status"], decision["culprit_commit"]["sha"]), ("ok", marks[5]))
        self.assertEqual(decision["setup"]["stand_ins"], ["calc/_version.py"])
        self.assertIn("Each checkout got a stand-in for `calc/_version.py`", (run_dir / "final.md").read_text())
        self.assertFalse((repo / "calc" / "_version.py").exists())


@unittest.skipUnless(shutil.which("node") or os.environ.get("MMINIONS_REQUIRE_NODE"), "node is not installed")
class OtherLanguageTests(ProjectRun):
    def test_a_javascript_reproducer_is_reduced_against_good_and_bisected(self):
        marks = make_js_history(self.root / "repo", 16, 11)
        result, run_dir, decision = self.mm(self.root / "repo", JS_ISSUE, "--good", marks[1], "--verify-runs", "2",
                                            candidates=[JS_CANDIDATE])
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertEqual((decision["status"], decision["culprit_commit"]["sha"]), ("ok", marks[11]))
        mini = json.loads((run_dir / "repro" / "minimize.json").read_text())
        self.assertEqual((mini["status"], mini["mode"]), ("minimized", "reference"))
        reduced = (run_dir / "repro" / "minimal_repro.js").read_text()
        self.assertLess(mini["after"]["lines"], mini["before"]["lines"])
        self.assertNotIn("noise", reduced)  # the dead lines went
        self.assertIn("assert.strictEqual(total([1, 2, 3]), 6);", reduced)  # the check stayed as it was written
        self.assertEqual(decision["verification"][0]["kind"], "checks behaviour")
        self.assertNotIn("only crashes", decision["rationale"])

    def test_the_prompt_names_the_language_and_its_test_runner(self):
        marks = make_js_history(self.root / "repo", 1, 2)
        self.assertTrue(marks)
        hint = mminions.layout_hint(self.root / "repo")
        self.assertIn("JavaScript/TypeScript (Node.js) project", hint)
        self.assertIn("npm test (node --test)", hint)

    def test_check_kind_of_other_languages(self):
        kind = mminions.candidate_check_kind
        self.assertIs(kind({"script": "assert.strictEqual(f(), 2)", "file_extension": "js"}), mminions.CHECKS_BEHAVIOUR)
        self.assertIs(kind({"script": "if [ \"$(f)\" != 2 ]; then\n  exit 1\nfi", "file_extension": "sh"}),
                      mminions.CHECKS_BEHAVIOUR)
        self.assertIs(kind({"script": "f();", "file_extension": "js"}), mminions.ONLY_CRASHES)
        self.assertIs(kind({"script": "f();", "file_extension": "js"},
                           {"failure": {"type": "AssertionError [ERR_ASSERTION]"}}), mminions.CHECKS_BEHAVIOUR)


class FlakyTests(ProjectRun):
    def test_a_bug_in_half_the_runs_gets_its_culprit_with_a_confidence(self):
        marks = make_history(self.root / "repo", 24, 14, ops=(CALC_OPS_FIXED, FLAKY_OPS))
        result, run_dir, decision = self.mm(self.root / "repo", CALC_ISSUE, "--good", marks[1], "--verify-runs", "10",
                                            candidates=[mean_candidate()])
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        verification = decision["selected_candidate"]["verification"]
        self.assertEqual(verification["status"], "flaky")
        self.assertEqual(verification["total_runs"], mminions.FLAKY_ESTIMATE_RUNS)
        self.assertTrue(0 < verification["failure_rate"] < 1)
        bisect = json.loads((run_dir / "triage" / "bisect.json").read_text())
        self.assertEqual(decision["culprit_commit"]["sha"], marks[14])
        self.assertGreaterEqual(bisect["confidence"], 0.95)
        self.assertGreater(bisect["tries_per_step"], 1)
        self.assertGreater(bisect["oracle_runs"], len(bisect["steps"]))
        self.assertIn("confidence", result.stdout)
        self.assertIn("runs only", json.loads((run_dir / "repro" / "minimize.json").read_text())["reason"])


class FlakeModelTests(unittest.TestCase):
    def test_a_deterministic_reproducer_costs_one_run_per_step(self):
        model = mminions.flake_model({"status": "reproduced", "matched_runs": 5, "total_runs": 5})
        self.assertEqual((model.tries(10), mminions.culprit_confidence(model, [1, 1, 1])), (1, 1.0))

    def test_a_half_flaky_one_reruns_passing_steps_until_the_culprit_holds(self):
        model = mminions.flake_model({"status": "flaky", "matched_runs": 10, "total_runs": 20})
        self.assertLess(model.rate_low, 0.5)  # what it counts on is below what it saw
        tries = model.tries(6)
        self.assertGreaterEqual(tries, 7)
        self.assertGreaterEqual(mminions.culprit_confidence(model, [tries] * 6), 0.95)
        self.assertLess(mminions.culprit_confidence(model, [1] * 6), 0.5)  # one pass each proves little

    def test_runs_side_by_side_that_ended_otherwise_count_for_bisect(self):
        # five fails in five runs alone, after side-by-side runs of which two passed: not deterministic
        lucky = {"status": "reproduced", "matched_runs": 5, "total_runs": 5, "uneven_runs": {"total": 4, "unlike_first": 2}}
        model = mminions.flake_model(lucky)
        self.assertFalse(model.deterministic)
        self.assertEqual((model.matched, model.total), (7, 9))
        self.assertGreater(model.tries(6), 1)

    def test_another_candidate_that_failed_the_same_way_in_some_runs_makes_it_flaky(self):
        failure = {"type": "ZeroDivisionError"}
        lucky = {"status": "reproduced", "matched_runs": 5, "total_runs": 5, "failure": failure, "origin": "repo"}
        other = {"status": "flaky", "matched_runs": 2, "total_runs": 5, "failure": failure, "origin": "repo"}
        unrelated = {"status": "flaky", "matched_runs": 1, "total_runs": 5, "failure": {"type": "KeyError"}, "origin": "repo"}
        self.assertEqual(mminions.flake_model(lucky, [lucky, other]).rate, 0.7)
        self.assertTrue(mminions.flake_model(lucky, [lucky, unrelated]).deterministic)


if __name__ == "__main__":
    unittest.main()
