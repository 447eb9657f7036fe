"""Triage: evidence is checked against the real files; agreement outranks lone confidence."""

import json
import unittest

from helpers import (only_run, CALC_INIT, CALC_OPS, GOOD_SCRIPT, fake_env, make_buggy_repo, make_repo, mminions, run_cli,
                     temp_dir, private_socket, write_plan)
from parallel import load_tests  # noqa: F401  (the suite's classes run in a pool: tests/parallel.py)


def hyp(hid, wid, evidence, confidence=0.5, mechanism="m"):
    return {"hypothesis_id": hid, "worker_id": wid, "mechanism": mechanism, "confidence": confidence,
            "disconfirming_checks": [], "evidence": evidence}


class EvidenceTests(unittest.TestCase):
    def setUp(self):
        self.repo = make_repo(temp_dir(self) / "r", {"calc/__init__.py": CALC_INIT, "calc/ops.py": CALC_OPS})

    def test_fabricated_evidence_dropped(self):
        rows = [{"file": "calc/ops.py", "line": 4, "snippet": "return total / len(xs)"},
                {"file": "calc/ops.py", "line": 6, "snippet": "return   total/len(xs)"},  # drift + spacing: kept
                {"file": "calc/ops.py", "line": 40, "snippet": "return total / len(xs)"},
                {"file": "calc/nope.py", "line": 1, "snippet": "x"},
                {"file": "../../etc/passwd", "line": 1, "snippet": "root"},
                {"file": "calc/ops.py", "line": 8, "snippet": "import os"}]
        kept, dropped = mminions.checked_evidence(rows, self.repo)
        self.assertEqual([(k["file"], k["line"]) for k in kept], [("calc/ops.py", 4), ("calc/ops.py", 4)])
        self.assertEqual([d["reason"].split(" ")[0] for d in dropped], ["line", "file", "path", "snippet"])

    def test_agreement_outranks_lone_confidence(self):
        at4 = [{"file": "calc/ops.py", "line": 4, "snippet": "return total / len(xs)"}]
        at8 = [{"file": "calc/ops.py", "line": 8, "snippet": "s = sorted(xs)"}]
        ranked = mminions.rank_hypotheses([hyp("a1", "w1", at8, 0.99), hyp("b1", "w2", at4, 0.4),
                                           hyp("c1", "w3", at4, 0.3)], frames=[], culprit_files=[])
        self.assertEqual([h["hypothesis_id"] for h in ranked][:2], ["b1", "c1"])
        self.assertEqual(ranked[0]["agreeing_workers"], ["w3"])

    def test_report_never_lists_a_hypothesis_twice(self):
        at4 = [{"file": "calc/ops.py", "line": 4, "snippet": "return total / len(xs)"}]
        ranked = mminions.dedupe_hypotheses(mminions.rank_hypotheses(
            [hyp("a", "w1", at4), hyp("b", "w2", at4)], [], []))
        self.assertEqual(len(ranked), 1)


class TriagePipelineTests(unittest.TestCase):
    def test_model_triage_workers_checked_and_ranked(self):
        root = temp_dir(self)
        repo, issue, _ = make_buggy_repo(root)
        at4 = [{"file": "calc/ops.py", "line": 4, "snippet": "return total / len(xs)"}]
        fake = [{"file": "calc/ops.py", "line": 99, "snippet": "made up"}]
        plan = {"REPRO_BUILDER": {"output": {"candidates": [{"candidate_id": "c", "script": GOOD_SCRIPT,
                                                             "setup_commands": [], "oracle_command": "python3 {repro_file}",
                                                             "claimed_failure_signature": "ZeroDivisionError",
                                                             "file_extension": "py"}], "notes": ""}},
                "w2": {"output": {"hypotheses": [hyp("w2-h", "w2", at4, 0.5, "len(xs) is 0 for an empty list")], "notes": ""}},
                "w3": {"output": {"hypotheses": [hyp("w3-h", "w3", at4, 0.4, "empty input divides by zero"),
                                                 hyp("w3-f", "w3", fake, 0.99, "fabricated")], "notes": ""}}}
        for h in plan["w2"]["output"]["hypotheses"] + plan["w3"]["output"]["hypotheses"]:
            h.pop("worker_id")
        socket = private_socket(self)
        result = run_cli("run", "--issue-file", str(issue), "--repo-path", str(repo), "--agent", "codex",
                         "--min-workers", "1", "--verify-runs", "2", "--no-bisect", "--triage-workers", "2",
                         "--runs-root", str(root / "runs"), "--tmux-socket", socket, "--json",
                         env=fake_env(write_plan(root / "plan.json", plan), None, MMINIONS_WORKTREE_ROOT=str(root / "wt")))
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        run_dir = only_run(root / "runs")
        doc = json.loads((run_dir / "triage" / "hypotheses.json").read_text())
        self.assertEqual([h["hypothesis_id"] for h in doc["hypotheses"]], ["w2-h"])  # w3-h duplicates it
        self.assertEqual(doc["hypotheses"][0]["agreeing_workers"], ["w3"])
        self.assertTrue(any(d["hypothesis_id"] == "w3-f" for d in doc["dropped"]))
        decision = json.loads((run_dir / "decision.json").read_text())
        self.assertEqual(decision["next_fix_targets"], ["calc/ops.py:4"])
        final = (run_dir / "final.md").read_text()
        self.assertIn("Top hypotheses", final)
        self.assertNotIn("fabricated", final)
        self.assertEqual(final.count("len(xs) is 0"), 1)


if __name__ == "__main__":
    unittest.main()
