"""Issue ingestion: URL forms, a loopback GitHub API, issue files, signal extraction."""

import io
import json
import threading
import time
import unittest
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from helpers import TESTS_DIR, mminions, run_cli, temp_dir
from parallel import load_tests  # noqa: F401  (the suite's classes run in a pool: tests/parallel.py)

REPORTS = TESTS_DIR / "reports"
TOKEN = "ghp_SECRETtoken1234567890"


def signals_of(name: str) -> dict:
    issue = mminions.load_issue(None, str(REPORTS / name), env={})
    return issue["signals"]


class FakeGitHub:
    """A GitHub-shaped REST API on 127.0.0.1, recording every request."""

    def __init__(self):
        self.requests: list[dict] = []
        self.flaky_left = 1
        self.comments = [{"user": {"login": f"u{i}"}, "created_at": "2026-01-01T00:00:00Z",
                          "body": f"comment {i}"} for i in range(1, 6)]
        self.comments[3]["body"] = "```\nTraceback (most recent call last):\n  File \"/r/pkg/a.py\", line 3, in f\n    1/0\nZeroDivisionError: division by zero\n```"
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                fake.requests.append({"path": self.path, "auth": self.headers.get("Authorization"),
                                      "accept": self.headers.get("Accept"),
                                      "version": self.headers.get("X-GitHub-Api-Version"),
                                      "ua": self.headers.get("User-Agent")})
                route = fake.route(self.path, self.server.server_address[1])
                if route is None:
                    return
                code, headers, body = route
                data = json.dumps(body).encode()
                self.send_response(code)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                try:
                    self.wfile.write(data)
                except BrokenPipeError:  # the client gave up (timeout test)
                    pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def route(self, path, port):
        issue = {"number": 7, "title": "Crash in f", "body": "It crashes, see comments.",
                 "state": "open", "user": {"login": "alice"}, "labels": [{"name": "bug"}],
                 "created_at": "2026-01-01T00:00:00Z", "comments": 5}
        if path == "/repos/o/r/issues/7":
            return 200, {}, issue
        if path.startswith("/repos/o/r/issues/7/comments"):
            if "page=2" in path:
                return 200, {}, self.comments[3:]
            link = f'<http://127.0.0.1:{port}/repos/o/r/issues/7/comments?per_page=100&page=2>; rel="next"'
            return 200, {"Link": link}, self.comments[:3]
        if path == "/repos/o/r/issues/404":
            return 404, {}, {"message": "Not Found"}
        if path == "/repos/o/r/issues/401":
            return 401, {}, {"message": "Bad credentials"}
        if path == "/repos/o/r/issues/403":
            return 403, {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1893456000"}, {"message": "rate"}
        if path.startswith("/repos/o/r/issues/502"):
            if path == "/repos/o/r/issues/502" and self.flaky_left:
                self.flaky_left -= 1
                return 502, {}, {"message": "bad gateway"}
            if path.endswith("/comments?per_page=100"):
                return 200, {}, []
            return 200, {}, dict(issue, number=502, comments=0)
        if path.startswith("/repos/o/r/issues/999"):
            time.sleep(3)
            return 200, {}, issue
        return 404, {}, {"message": "Not Found"}


class UrlTests(unittest.TestCase):
    def test_forms(self):
        for text, number in [("https://github.com/o/r/issues/5", 5), ("https://github.com/o/r/pull/6", 6),
                             ("https://github.com/o/r/issues/7#issuecomment-1", 7),
                             ("https://github.com/o/r/issues/8?q=1", 8), ("o/r#9", 9),
                             ("http://ghe.corp/o/r/issues/10/", 10)]:
            self.assertEqual(mminions.parse_issue_url(text).number, number, text)
        self.assertEqual(mminions.parse_issue_url("http://ghe.corp/o/r/issues/10").host, "ghe.corp")

    def test_bad_forms(self):
        for text in ["https://github.com/o/r", "https://github.com/o/r/issues/x", "o/r", "#5", "",
                     "https://github.com/o/r/issues/0", "file:///etc/passwd"]:
            with self.assertRaises(mminions.UsageError) as ctx:
                mminions.parse_issue_url(text)
            self.assertIn("OWNER/REPO#N", str(ctx.exception))


class GitHubFetchTests(unittest.TestCase):
    def setUp(self):
        self.gh = FakeGitHub()
        self.addCleanup(self.gh.close)
        self.env = {"GITHUB_API_URL": self.gh.url, "GITHUB_TOKEN": TOKEN}

    def load(self, number, env=None, timeout=5):
        return mminions.load_issue(f"https://github.com/o/r/issues/{number}", None,
                                   env=self.env if env is None else env, timeout=timeout)

    def test_issue_with_paginated_comments(self):
        issue = self.load(7)
        self.assertEqual(issue["title"], "Crash in f")
        self.assertEqual(issue["labels"], ["bug"])
        self.assertEqual(issue["author"], "alice")
        self.assertEqual(len(issue["comments"]), 5)
        self.assertEqual(issue["source"], "github")
        self.assertEqual(issue["repo_slug"], "o/r")
        self.assertEqual(issue["issue_number"], 7)
        self.assertIn("ZeroDivisionError", issue["signals"]["exception_types"])
        self.assertEqual(issue["signals"]["tracebacks"][0]["source"], "comment:4")
        self.assertEqual(issue["raw"]["issue"]["number"], 7)
        first = self.gh.requests[0]
        self.assertEqual(first["auth"], f"Bearer {TOKEN}")
        self.assertEqual(first["accept"], "application/vnd.github+json")
        self.assertTrue(first["version"] and first["ua"].startswith("mminions/"))
        self.assertEqual(len(self.gh.requests), 3)

    def test_gh_token_fallback_and_no_token(self):
        self.load(7, env={"GITHUB_API_URL": self.gh.url, "GH_TOKEN": "other"})
        self.assertEqual(self.gh.requests[-1]["auth"], "Bearer other")
        bindir = temp_dir(self)
        (bindir / "gh").write_text("#!/bin/sh\n[ \"$1 $2\" = 'auth token' ] && echo gho_from_gh_cli\n")
        (bindir / "gh").chmod(0o755)
        self.load(7, env={"GITHUB_API_URL": self.gh.url, "PATH": f"{bindir}:/usr/bin:/bin"})
        self.assertEqual(self.gh.requests[-1]["auth"], "Bearer gho_from_gh_cli")
        self.load(7, env={"GITHUB_API_URL": self.gh.url, "PATH": "/usr/bin:/bin"})
        self.assertIsNone(self.gh.requests[-1]["auth"])

    def assert_error(self, number, fragment, exit_code=2):
        with self.assertRaises(mminions.GitHubError) as ctx:
            self.load(number, timeout=1)
        self.assertIn(fragment, str(ctx.exception))
        self.assertNotIn(TOKEN, str(ctx.exception))
        self.assertEqual(ctx.exception.exit_code, exit_code)
        return str(ctx.exception)

    def test_errors(self):
        # what the user must fix is an input error (2); GitHub or the network failing is not (1)
        self.assert_error(404, "issue not found, or private: set GITHUB_TOKEN")
        self.assert_error(401, "401")
        msg = self.assert_error(403, "rate limited until 00:00 UTC")
        self.assertIn("set GITHUB_TOKEN", msg)
        self.assert_error(999, "timed out after 1 s talking to 127.0.0.1", exit_code=1)

    def test_retry_once_on_5xx(self):
        issue = mminions.load_issue("o/r#502", None, env=self.env, timeout=5)
        self.assertEqual(issue["raw"]["issue"]["number"], 502)
        self.assertEqual([r["path"] for r in self.gh.requests].count("/repos/o/r/issues/502"), 2)

    def test_unreachable_host(self):
        with self.assertRaises(mminions.GitHubUnavailable) as ctx:
            mminions.load_issue("o/r#1", None, env={"GITHUB_API_URL": "http://127.0.0.1:9"}, timeout=2)
        self.assertIn("cannot reach 127.0.0.1:9", str(ctx.exception))
        result = run_cli("issue", "--issue-url", "o/r#1", env={"GITHUB_API_URL": "http://127.0.0.1:9"})
        self.assertEqual(result.returncode, 1)
        self.assertEqual(result.stderr.count("\n"), 1, result.stderr)

    def test_cli_issue_command_never_prints_token(self):
        out = temp_dir(self) / "issue.json"
        result = run_cli("issue", "--issue-url", "o/r#7", "--out", str(out),
                         env={"GITHUB_API_URL": self.gh.url, "GITHUB_TOKEN": TOKEN})
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertNotIn(TOKEN, out.read_text() + result.stdout + result.stderr)
        self.assertEqual(json.loads(out.read_text())["title"], "Crash in f")
        bad = run_cli("issue", "--issue-url", "o/r#404",
                      env={"GITHUB_API_URL": self.gh.url, "GITHUB_TOKEN": TOKEN})
        self.assertEqual(bad.returncode, 2)
        self.assertEqual(bad.stderr.count("\n"), 1, bad.stderr)
        self.assertNotIn("Traceback", bad.stderr)


class IssueFileTests(unittest.TestCase):
    def test_markdown_and_json_shapes(self):
        root = temp_dir(self)
        md = mminions.load_issue(None, str(REPORTS / "pycon.md"), env={})
        self.assertEqual(md["title"], "mean() of empty list")
        self.assertEqual(md["source"], "file")
        (root / "a.json").write_text(json.dumps({"title": "T", "body": "B"}))
        (root / "gh.json").write_text(json.dumps({"number": 3, "title": "T2", "body": None,
                                                  "user": {"login": "bob"}, "comments": 0}))
        self.assertEqual(mminions.load_issue(None, str(root / "a.json"), env={})["body"], "B")
        gh = mminions.load_issue(None, str(root / "gh.json"), env={})
        self.assertEqual((gh["title"], gh["author"], gh["body"]), ("T2", "bob", ""))

    def test_stdin(self):
        stdin = io.TextIOWrapper(io.BytesIO(b"# From stdin\n\nValueError: x\n"))
        issue = mminions.load_issue(None, "-", env={}, stdin=stdin)
        self.assertEqual(issue["title"], "From stdin")
        self.assertEqual(issue["signals"]["exception_types"], ["ValueError"])

    def test_bad_files(self):
        root = temp_dir(self)
        (root / "empty.md").write_text("  \n")
        (root / "latin1.md").write_bytes("# caf\xe9\n".encode("latin-1"))
        (root / "nobody.json").write_text('{"name": "x"}')
        (root / "broken.json").write_text('{"title": ')
        cases = {"missing.md": "does not exist", "empty.md": "is empty", "latin1.md": "not UTF-8",
                 "nobody.json": "'title' and 'body'", "broken.json": "not valid"}
        for name, fragment in cases.items():
            with self.assertRaises(mminions.UsageError, msg=name) as ctx:
                mminions.load_issue(None, str(root / name), env={})
            self.assertIn(fragment, str(ctx.exception))
        with self.assertRaises(mminions.UsageError):
            mminions.load_issue(None, None, env={})
        with self.assertRaises(mminions.UsageError):
            mminions.load_issue("o/r#1", "x.md", env={})

    def test_cli_bad_file_one_line(self):
        result = run_cli("issue", "--issue-file", "/nonexistent/x.md")
        self.assertEqual(result.returncode, 2)
        self.assertEqual(result.stderr.strip().count("\n"), 0)
        self.assertIn("does not exist", result.stderr)


class ExtractionTests(unittest.TestCase):
    def test_chained_traceback(self):
        sig = signals_of("traceback_chained.md")
        self.assertEqual([t["exception_type"] for t in sig["tracebacks"]], ["IndexError", "ValueError"])
        self.assertEqual(sig["tracebacks"][1]["frames"][-1],
                         {"file": "/home/u/dateparse/core.py", "line": 15, "function": "parse_date",
                          "code": 'raise ValueError(f"bad date {text!r}") from None'})
        self.assertIn("bad date ''", sig["messages"])
        self.assertEqual(sig["reproducible_hint"], "both")
        self.assertIn({"name": "dateparse", "version": "1.4.0"}, sig["versions"])
        self.assertIn({"name": "python", "version": "3.11.7"}, sig["versions"])
        self.assertIn("/home/u/dateparse/core.py:12", sig["paths"])

    def test_pycon(self):
        sig = signals_of("pycon.md")
        self.assertEqual(sig["pycon"][0]["script"], "from stats import mean\nmean([1, 2, 3])\nmean([])")
        self.assertEqual(sig["pycon"][0]["outputs"][1]["output"], "2.0")
        self.assertIn("ZeroDivisionError", sig["pycon"][0]["outputs"][2]["output"])
        self.assertEqual(sig["exception_types"], ["ZeroDivisionError"])

    def test_console(self):
        sig = signals_of("console.md")
        cmds = [c["command"] for c in sig["shell_commands"]]
        self.assertEqual(cmds, ["python -c \"import tool; tool.run('ü.txt')\"", "python -m tool --version"])
        self.assertEqual(sig["exception_types"], ["UnicodeEncodeError"])

    def test_rust_panic(self):
        sig = signals_of("rust_panic.md")
        panic = [e for e in sig["errors"] if e["origin"] == "rust-panic"][0]
        self.assertEqual(panic["message"], "index out of bounds: the len is 0 but the index is 0")
        self.assertIn("error[E0308]", sig["exception_types"])

    def test_go_panic(self):
        sig = signals_of("go_panic.md")
        self.assertEqual(sig["errors"][0]["message"], "assignment to entry in nil map")
        self.assertIn("/tmp/x/main.go:5", sig["paths"])

    def test_comment_only(self):
        issue = mminions.load_issue(None, str(REPORTS / "comment_only.json"), env={})
        sig = issue["signals"]
        self.assertEqual(issue["comments"][0]["author"], "reporter")
        self.assertEqual(sig["exception_types"], ["KeyError"])
        self.assertEqual(sig["code_blocks"][0]["source"], "comment:1")

    def test_prose_only(self):
        sig = signals_of("prose_only.md")
        self.assertEqual(sig["reproducible_hint"], "neither")
        self.assertEqual(sig["code_blocks"], [])
        self.assertEqual(sig["exception_types"], [])

    def test_nested_and_tilde_fences(self):
        sig = signals_of("nested_fences.md")
        langs = [b["lang"] for b in sig["code_blocks"]]
        self.assertEqual(langs, ["markdown", "python"])
        self.assertIn("```python", sig["code_blocks"][0]["text"])
        self.assertEqual(sig["code_blocks"][1]["text"], "import docs_tool\ndocs_tool.render(None)")
        self.assertEqual(sig["messages"], ["expected str, got NoneType"])

    def test_crlf(self):
        sig = signals_of("crlf.md")
        self.assertEqual(sig["code_blocks"][0]["text"], "import crlfpkg\ncrlfpkg.go()")
        self.assertEqual(sig["errors"][0]["message"], "'missing'")

    def test_non_ascii(self):
        sig = signals_of("non_ascii.md")
        self.assertIn("✓", sig["code_blocks"][0]["text"])
        self.assertEqual(sig["exception_types"], ["ValueError"])
        self.assertTrue(sig["messages"][0].startswith("день вне диапазона"))

    def test_wrong_output(self):
        sig = signals_of("wrong_output.md")
        self.assertEqual(sig["expected_vs_actual"][0]["expected"], "3")
        self.assertEqual(sig["expected_vs_actual"][0]["actual"], "2")
        self.assertEqual(sig["reproducible_hint"], "both")

    def test_expected_actual_sections(self):
        text = "Expected output:\n\n```\n[1, 2]\n```\n\nActual output:\n\n```\n[2, 1]\n```\n"
        pairs = mminions.extract_expected_actual(text)
        self.assertEqual(pairs, [{"expected": "[1, 2]", "actual": "[2, 1]", "source": "body"}])

    def test_errors_named_in_prose(self):
        sig = mminions.extract_signals([("body", "Calling it raises ZeroDivisionError: division by zero.\n"
                                                 "Later I got a KeyError when saving.\nThe Error type is fine.")])
        self.assertEqual(sig["exception_types"], ["ZeroDivisionError", "KeyError"])
        self.assertEqual(sig["messages"], ["division by zero"])

    def test_large_body_is_fast(self):
        body = ("Some prose line with a path pkg/mod.py:12 and words.\n" * 4000
                + "```python\nimport x\nx.f()\n```\n" + "ValueError: big\n")
        self.assertGreater(len(body), 200_000)
        sig = mminions.extract_signals([("body", body)])
        self.assertEqual(sig["exception_types"], ["ValueError"])
        self.assertEqual(len(sig["code_blocks"]), 1)


if __name__ == "__main__":
    unittest.main()
