"""The verdict and its reports are pure functions of a run's facts: tested from plain dicts."""

import unittest

from helpers import mminions
from parallel import load_tests  # noqa: F401  (the suite's classes run in a pool: tests/parallel.py)

CANDIDATE = {"candidate_id": "w1-c1", "script": "from calc import mean\nmean([])\n", "setup_commands": ["true"],
             "oracle_command": "python3 {repro_file}", "claimed_failure_signature": "ZeroDivisionError",
             "file_extension": "py"}
VERIFIED = {"status": "reproduced", "matched_runs": 5, "total_runs": 5, "origin": "repo", "reasons": [],
            "pythonpath": ["src", "."], "report_match": {"matches": True, "how": "fails as the report shows"}}


def facts(**over):
    base = dict(run_id="run-20260101000000-abcd", target_sha="a" * 40, repo_path="/src/calc",
                issue={"title": "mean crashes", "source": "github", "repo_slug": "o/calc", "issue_url": "https://x"},
                selected={"candidate": CANDIDATE, "verification": VERIFIED,
                          "fixed_ref": {"ref": "fix", "sha": "b" * 40, "passes": True}},
                hypotheses={"hypotheses": [{"hypothesis_id": "h1", "mechanism": "divides by len", "score": 4.5,
                                            "confidence": 0.6, "evidence": [{"file": "calc/ops.py", "line": 4,
                                                                             "snippet": "return total / len(xs)"}]}]},
                candidate_files=[{"worker_id": "w1", "backend": "codex", "candidates": [
                    {"candidate": CANDIDATE, "verification": VERIFIED}]}],
                workers=[{"worker_id": "w1", "role": "REPRO_BUILDER", "backend": "codex", "status": "finished"}])
    base.update(over)
    return mminions.RunFacts(**base)


class RenderingTests(unittest.TestCase):
    def test_final_md_and_comment_show_the_same_command(self):
        f = facts()
        status, rationale, diagnostics = mminions.verdict_of(f)
        self.assertEqual(status, "ok")
        decision = mminions.build_decision(f, status, rationale, diagnostics, decided_at="now")
        final = mminions.render_final_md(f, decision)
        comment = mminions.render_issue_comment(f, decision)
        for line in mminions.how_to_run(CANDIDATE, VERIFIED["pythonpath"]):
            self.assertIn(line, final)
            self.assertIn(line, comment)
        self.assertIn("PYTHONPATH=src:. python3 repro.py", comment)
        self.assertIn("true  # setup", comment)  # setup commands in both, too
        self.assertTrue(decision["fail_to_pass"])
        self.assertIn("https://github.com/o/calc/blob/" + "a" * 40 + "/calc/ops.py#L4", comment)
        self.assertNotIn("/src/calc", comment)  # no local path in what goes public

    def test_verdicts(self):
        self.assertEqual(mminions.verdict_of(facts(), ["status: + ?? x"])[0], "failed")
        unspecific = facts(selected={"candidate": CANDIDATE, "verification": VERIFIED,
                                     "fixed_ref": {"ref": "fix", "sha": "b" * 40, "passes": False}})
        status, rationale, _ = mminions.verdict_of(unspecific)
        self.assertEqual(status, "not-specific")
        self.assertIn("not specific to this bug", rationale)
        nothing = facts(selected=None, candidate_files=[{"worker_id": "w1", "notes": "Next step: ask for a snippet."}],
                        workers=[{"worker_id": "w1", "role": "REPRO_BUILDER", "backend": "builtin", "status": "finished"}])
        status, rationale, _ = mminions.verdict_of(nothing)
        self.assertEqual(status, "needs-human")
        self.assertTrue(rationale.startswith("Next step: ask for a snippet."))

    def test_hypotheses_listed_in_rank_order_without_internal_numbers(self):
        f = facts()
        final = mminions.render_final_md(f, mminions.build_decision(f, "ok", "r", decided_at="now"))
        self.assertIn("1. divides by len\n", final)
        self.assertNotIn("rank score", final)  # hypotheses.json keeps the numbers; the maintainer's text does not

    def test_the_script_is_shown_once_and_offered_as_a_pytest_test(self):
        f = facts()
        final = mminions.render_final_md(f, mminions.build_decision(f, "ok", "r", decided_at="now"))
        script = f.minimal_script or CANDIDATE["script"]
        self.assertEqual(final.count(script.strip().splitlines()[-1]), 1)
        self.assertIn("repro/test_repro.py", final)
        test = mminions.as_pytest(script)
        compile(test, "test_repro.py", "exec")  # valid Python
        self.assertEqual(test, "from calc import mean\n\n\ndef test_reproduces_the_report():\n    mean([])\n")
        for unsafe in ("if __name__ == '__main__':\n    f()\n", 'x = """a\nb"""\nassert x\n',
                       "import os\nfrom m import *\n", "global x\nx = 1\n"):
            self.assertIsNone(mminions.as_pytest(unsafe), unsafe)

    def test_the_failure_label_says_what_came_out(self):
        cand = dict(CANDIDATE, claimed_failure_signature="AssertionError")
        verification = {"failure": {"type": "AssertionError", "message": "expected 25.0, got 30"}, "claim_matched": True}
        self.assertEqual(mminions.failure_label(cand, verification), "AssertionError: expected 25.0, got 30")
        said = dict(CANDIDATE, claimed_failure_signature="ZeroDivisionError: division by zero")
        self.assertEqual(mminions.failure_label(said, {"failure": {"type": "ZeroDivisionError", "message": "division by zero"},
                                                       "claim_matched": True}), "ZeroDivisionError: division by zero")


if __name__ == "__main__":
    unittest.main()
