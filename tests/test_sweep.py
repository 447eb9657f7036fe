"""`mminions sweep` and `--report comment` against a GitHub-shaped API on 127.0.0.1."""

import json
import os
import re
import subprocess
import threading
import time
import unittest
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from helpers import (CALC_ISSUE, REPO_ROOT, fake_env, leftover_worktrees, write_plan, make_buggy_repo, mminions, private_socket, run_cli,
                     run_dirs, temp_dir)

TOKEN = "ghs_sweep_SECRET_0123456789"
WORKFLOW = REPO_ROOT / "tests" / "sweep-workflow.yml"


class FakeTracker:
    """Issues, comments and labels of one repo (o/r), with pagination and request log."""

    def __init__(self, issues):
        self.issues = issues  # number -> dict
        self.comments: dict[int, list[dict]] = {n: [] for n in issues}
        self.requests: list[tuple[str, str, dict | None, str | None]] = []
        self.forbid_posting = False
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
            comment = {"id": self.next_comment, "body": body["body"], "user": {"login": "mminions-bot"},
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
                         [(6, "ok"), (5, "needs-human"), (4, "ok")])
        self.assertEqual(len(run_dirs(self.runs)), 3)
        start = time.monotonic()
        second = self.sweep("--json", "--max-issues", "3")
        self.assertEqual(second.returncode, 0)
        self.assertEqual({r.get("skipped") for r in json.loads(second.stdout)["issues"]}, {"already-done"})
        self.assertEqual(len(run_dirs(self.runs)), 3)  # nothing new started
        self.assertLess(time.monotonic() - start, 30)
        last = self.sweep("--dry-run", "--since", "last")
        self.assertIn("0 issue(s) would be run", last.stdout)
        self.assertEqual(leftover_worktrees(self.repo), [])

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


if __name__ == "__main__":
    unittest.main()
