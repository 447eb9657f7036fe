"""The real Codex CLI and Claude Code, through the whole pipeline, against a scripted model
on 127.0.0.1 (tests/model_server.py).  Installed by `make clients` (.ci/run does it) into
.clients/; skipped when absent, failed instead when MMINIONS_REQUIRE_CLIENTS=1."""

import json
import os
import subprocess
import unittest
from pathlib import Path

from helpers import (only_run, GOOD_SCRIPT, REPO_ROOT, candidate, leftover_worktrees, make_buggy_repo, mminions, run_cli,
                     temp_dir, private_socket)
from model_server import TOOL_MARKER, USAGE, ModelServer
from parallel import load_tests  # noqa: F401  (the suite's classes run in a pool: tests/parallel.py)

CLIENT_BIN = Path(os.environ.get("MMINIONS_CLIENTS_BIN") or REPO_ROOT / ".clients" / "node_modules" / ".bin")
HYPOTHESIS = {"hypothesis_id": "h1", "mechanism": "mean() divides by len(xs), which is 0 for an empty list",
              "evidence": [{"file": "calc/ops.py", "line": 4, "snippet": "return total / len(xs)"}],
              "confidence": 0.8, "disconfirming_checks": ["mean([1]) works"]}


def scripted_answer(role: str) -> str:
    if role == "TRIAGER":
        return json.dumps({"hypotheses": [HYPOTHESIS], "notes": "from the scripted model"})
    return json.dumps({"candidates": [candidate(GOOD_SCRIPT, candidate_id="model-c1")], "notes": "scripted"})


class RealClientTests(unittest.TestCase):
    def client(self, name: str) -> Path:
        path = CLIENT_BIN / name
        if not path.exists():
            if os.environ.get("MMINIONS_REQUIRE_CLIENTS") == "1":
                self.fail(f"{path} is missing but MMINIONS_REQUIRE_CLIENTS=1 (run `make clients`)")
            self.skipTest(f"{name} is not installed in {CLIENT_BIN} (run `make clients`)")
        return path

    def run_agent(self, agent: str, env_for, *extra: str) -> tuple[Path, ModelServer, Path]:
        self.client(agent)
        root = temp_dir(self)
        repo, issue, _ = make_buggy_repo(root)
        before = mminions.checkout_fingerprint(repo)
        home = root / "home"
        home.mkdir()
        socket = private_socket(self)
        server = ModelServer(scripted_answer, tool_first=True)
        server.__enter__()
        self.addCleanup(server.__exit__)
        env = {"PATH": f"{CLIENT_BIN}{os.pathsep}{os.environ['PATH']}", "HOME": str(home),
               "MMINIONS_WORKTREE_ROOT": str(root / "wt"), **env_for(server, root)}
        result = run_cli("run", "--issue-file", str(issue), "--repo-path", str(repo), "--agent", agent,
                         "--min-workers", "1", "--max-workers", "1", "--verify-runs", "2", "--no-bisect",
                         "--timeout-sec", "120", "--runs-root", str(root / "runs"), "--tmux-socket", socket,
                         "--json", *extra, env=env, timeout=300)
        run_dir = only_run(root / "runs")
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr + "\n"
                         + "\n".join(p.read_text(errors="replace")[-2000:] for p in run_dir.glob("workers/*/agent.log")))
        self.assertEqual(mminions.fingerprint_diff(before, mminions.checkout_fingerprint(repo)), [])
        self.assertEqual(leftover_worktrees(repo), [])
        r = subprocess.run(["tmux", "-L", socket, "ls"], capture_output=True)
        self.assertNotEqual(r.returncode, 0)  # no session left (the server exits with its last one)
        return run_dir, server, repo

    def assert_pipeline_result(self, run_dir: Path, server: ModelServer, backend: str) -> None:
        decision = json.loads((run_dir / "decision.json").read_text())
        self.assertEqual(decision["status"], "ok")
        selected = decision["selected_candidate"]
        self.assertEqual(selected["candidate"]["candidate_id"], "model-c1")
        self.assertEqual(selected["candidate"]["script"], GOOD_SCRIPT)
        w1 = json.loads((run_dir / "repro/candidates/w1.json").read_text())
        self.assertEqual(w1["backend"], backend)
        self.assertEqual(w1["worker_status"], "finished")
        prompts = json.dumps([r["body"] for r in server.requests])
        self.assertIn("mean() crashes on an empty list", prompts)  # mminions' prompt reached the model
        self.assertIn("a TRIAGER for mminions", prompts)
        self.assertTrue(all(r["has_auth"] for r in server.requests))
        self.assertTrue(any(TOOL_MARKER in out for out in server.tool_outputs), server.tool_outputs)
        self.assertTrue(any("/wt/" in out or "mminions-worktrees" in out for out in server.tool_outputs))
        # usage: every answer of the model server counted once, over both workers (and Claude's helper calls)
        total = json.loads((run_dir / "decision.json").read_text())["usage"]["total"]
        calls = server.model_calls
        self.assertEqual((total["input_tokens"], total["cached_input_tokens"], total["output_tokens"]),
                         (calls * USAGE["input_tokens"], calls * USAGE["cached_input_tokens"], calls * USAGE["output_tokens"]))
        self.assertIn("## Cost", (run_dir / "final.md").read_text())
        hyps = json.loads((run_dir / "triage/hypotheses.json").read_text())
        self.assertEqual([h["hypothesis_id"] for h in hyps["hypotheses"]], ["h1"])
        self.assertEqual(hyps["hypotheses"][0]["evidence"][0]["line"], 4)
        self.assertEqual(decision["next_fix_targets"], ["calc/ops.py:4"])

    def codex_env(self, server, root, tmpdir: bool) -> dict:
        codex_home = root / "codex-home"
        codex_home.mkdir()
        (codex_home / "config.toml").write_text(
            'model = "mock-model"\nmodel_provider = "local"\n\n[model_providers.local]\nname = "local"\n'
            f'base_url = "{server.url}/v1"\nenv_key = "OPENAI_API_KEY"\nwire_api = "responses"\n')
        env = {"CODEX_HOME": str(codex_home), "OPENAI_API_KEY": "sk-test-not-real"}
        if tmpdir:  # a box whose temp dir is elsewhere: Codex accepts this CODEX_HOME for its sandbox helper
            (root / "tmp").mkdir()
            env["TMPDIR"] = str(root / "tmp")
        return env

    def require_bwrap(self):
        if mminions.probe_sandbox("bwrap") is not None:
            if os.environ.get("MMINIONS_REQUIRE_SANDBOX") == "1":
                self.fail("bubblewrap does not work here but MMINIONS_REQUIRE_SANDBOX=1")
            self.skipTest("needs bubblewrap (.ci/run installs it)")

    def test_codex(self):
        """With bubblewrap, Codex runs inside mminions' sandbox (its own off: they do not nest),
        on a private copy of its config and login; the user's CODEX_HOME is never written."""
        self.require_bwrap()
        homes = []

        def env_for(server, root):
            env = self.codex_env(server, root, tmpdir=False)
            homes.append(Path(env["CODEX_HOME"]))
            return env
        run_dir, server, _ = self.run_agent("codex", env_for, "--price", "mock-model=2/0.5/8")
        self.assert_pipeline_result(run_dir, server, "codex")
        total = json.loads((run_dir / "decision.json").read_text())["usage"]["total"]
        per_call = ((USAGE["input_tokens"] - USAGE["cached_input_tokens"]) * 2 + USAGE["cached_input_tokens"] * 0.5
                    + USAGE["output_tokens"] * 8) / 1e6
        self.assertAlmostEqual(total["cost_usd"], round(server.model_calls * per_call, 6))  # Codex gives no cost: --price does
        self.assertEqual((total["cost_from"], total["models"]), ("price table", ["mock-model"]))
        self.assertTrue(all(r["path"].startswith("/v1/responses") for r in server.requests))
        self.assertIn("--dangerously-bypass-approvals-and-sandbox", (run_dir / "workers/w1/agent.sh").read_text())
        worker_sh = (run_dir / "workers/w1/worker.sh").read_text()
        self.assertIn("bwrap", worker_sh)
        self.assertNotIn("--share-net", worker_sh)  # a network of its own: its API through the proxy only
        self.assertIn("HTTPS_PROXY", worker_sh)
        self.assertNotIn("sk-test-not-real", worker_sh)  # the key stays in the session's environment
        self.assertEqual(sorted(p.name for p in homes[0].iterdir()), ["config.toml"])  # nothing Codex wrote
        self.assertFalse((run_dir / "workers/w1/out/home").exists())  # the private copy is gone

    def test_codex_in_its_own_sandbox(self):
        """Without mminions' sandbox (--sandbox off), Codex sandboxes its own tools where its
        self-test passes here (a CODEX_HOME out of the temp dir)."""
        run_dir, server, _ = self.run_agent("codex", lambda server, root: self.codex_env(server, root, tmpdir=True),
                                            "--sandbox", "off")
        self.assert_pipeline_result(run_dir, server, "codex")
        agent_sh = (run_dir / "workers/w1/agent.sh").read_text()
        self.assertIn("-s workspace-write", agent_sh)
        self.assertNotIn("bwrap", (run_dir / "workers/w1/worker.sh").read_text())

    def test_codex_with_no_sandbox_at_all_is_refused(self):
        """CODEX_HOME under the temp dir: Codex will not create its helper there, and with
        --sandbox off there is no other sandbox to run it in: one line, exit 2."""
        self.client("codex")
        root = temp_dir(self)
        repo, issue, _ = make_buggy_repo(root)
        with ModelServer(scripted_answer) as server:
            env = {"PATH": f"{CLIENT_BIN}{os.pathsep}{os.environ['PATH']}", "HOME": str(root),
                   **self.codex_env(server, root, tmpdir=False)}
            result = run_cli("run", "--issue-file", str(issue), "--repo-path", str(repo), "--agent", "codex",
                             "--sandbox", "off", "--runs-root", str(root / "runs"), env=env, timeout=120)
        self.assertEqual(result.returncode, 2, result.stdout + result.stderr)
        self.assertIn("codex sandbox self-test failed", result.stderr)
        self.assertEqual(result.stderr.strip().count("\n"), 0, result.stderr)

    def test_claude(self):
        def env_for(server, root):
            return {"ANTHROPIC_BASE_URL": server.url, "ANTHROPIC_AUTH_TOKEN": "test-token-not-real",
                    "DISABLE_AUTOUPDATER": "1", "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
                    "DISABLE_TELEMETRY": "1"}
        run_dir, server, _ = self.run_agent("claude", env_for)
        self.assert_pipeline_result(run_dir, server, "claude")
        self.assertTrue(any(r["path"].startswith("/v1/messages") for r in server.requests))
        events = [json.loads(l) for l in (run_dir / "workers/w1/out/claude.jsonl").read_text().splitlines() if l.strip()]
        self.assertEqual(events[-1]["type"], "result")
        # the cost is the one Claude Code computed, summed over both workers
        results = [json.loads([l for l in (run_dir / f"workers/{w}/out/claude.jsonl").read_text().splitlines() if l.strip()][-1])
                   for w in ("w1", "w2")]
        total = json.loads((run_dir / "decision.json").read_text())["usage"]["total"]
        self.assertAlmostEqual(total["cost_usd"], round(sum(r["total_cost_usd"] for r in results), 6))
        self.assertGreater(total["cost_usd"], 0)
        self.assertEqual(total["cost_from"], "client")
        if mminions.probe_sandbox("bwrap") is None:  # Claude Code runs in mminions' sandbox too
            self.assertIn("bwrap", (run_dir / "workers/w1/worker.sh").read_text())
        self.assertIn("[claude] success", (run_dir / "workers/w1/agent.log").read_text())  # the pane showed progress


if __name__ == "__main__":
    unittest.main()
