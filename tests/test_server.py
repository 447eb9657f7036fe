"""HTTP API: the seed's shapes exactly, safe by default; in-process WSGI and real sockets."""

import http.client
import io
import json
import os
import shutil
import socket
import subprocess
import threading
import time
import unittest
import urllib.request
from pathlib import Path
from wsgiref.util import setup_testing_defaults
from wsgiref.validate import validator

from helpers import (GOOD_SCRIPT, candidate, fake_env, make_buggy_repo, mminions, private_tmux, run_cli, temp_dir,
                     wait_until, write_plan)
from parallel import load_tests  # noqa: F401  (the suite's classes run in a pool: tests/parallel.py)

SEED_STATUS_KEYS = {"run_id", "run_state", "manager", "workers", "summary", "decision", "run_done"}
SEED_MANAGER_KEYS = {"session_name", "session_exists", "pane_tail", "issue_url"}
SEED_WORKER_KEYS = {"worker_id", "role", "status", "session_name", "session_exists", "worktree_path",
                    "output_path", "script_path", "pane_tail"}
SEED_SUMMARY_KEYS = {"total", "active", "finished", "failed", "timeout", "unknown"}


def call(app, method, path, body=None, headers=None, raw=None, host="127.0.0.1:8088", validate=True):
    environ = {}
    setup_testing_defaults(environ)
    path, _, query = path.partition("?")
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else b"")
    environ.update({"REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": query, "HTTP_HOST": host,
                    "wsgi.input": io.BytesIO(data), "CONTENT_LENGTH": str(len(data))})
    if body is not None or raw is not None:
        environ["CONTENT_TYPE"] = "application/json"
    for k, v in (headers or {}).items():
        key = k.upper().replace("-", "_")
        if v is None:
            environ.pop(key if key in ("CONTENT_TYPE", "CONTENT_LENGTH") else "HTTP_" + key, None)
        elif key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            environ[key] = v
        else:
            environ["HTTP_" + key] = v
    status = {}

    def start_response(s, h, exc_info=None):
        status["code"], status["headers"] = int(s.split()[0]), dict(h)
        return lambda b: None
    iterable = (validator(app) if validate else app)(environ, start_response)
    try:
        out = b"".join(iterable)
    finally:
        if hasattr(iterable, "close"):
            iterable.close()
    ctype = status["headers"].get("Content-Type", "")
    return status["code"], (json.loads(out) if ctype == "application/json" else out.decode())


class ServerCase(unittest.TestCase):
    def setUp(self):
        self.root = temp_dir(self)
        self.repo, self.issue, _ = make_buggy_repo(self.root)
        self.runs = self.root / "runs"
        self.tmux = private_tmux(self)
        self.wt = self.root / "wt"
        self.settings = mminions.ServerSettings(runs_root=self.runs, allowed_roots=[self.root],
                                                tmux_socket=self.tmux.socket, log=lambda line: None,
                                                env=dict(os.environ, MMINIONS_WORKTREE_ROOT=str(self.wt)))
        self.app = mminions.make_app(self.settings)

    def finished_run(self):
        result = run_cli("run", "--issue-file", str(self.issue), "--repo-path", str(self.repo), "--agent", "builtin",
                         "--min-workers", "1", "--verify-runs", "2", "--runs-root", str(self.runs),
                         "--tmux-socket", self.tmux.socket, "--json", env={"MMINIONS_WORKTREE_ROOT": str(self.wt)})
        self.assertEqual(result.returncode, 0, result.stderr)
        return json.loads(result.stdout)["run_id"]

    def live_run(self):
        """A run with a live worker whose pane shows known text (fake agent sleeping)."""
        plan = write_plan(self.root / "plan.json", {"default": {"output": {"candidates": [candidate(GOOD_SCRIPT)], "notes": ""},
                                                               "sleep": 60, "stdout": "FAKE-AGENT-IS-THINKING"}})
        result = run_cli("run", "--issue-file", str(self.issue), "--repo-path", str(self.repo), "--agent", "codex",
                         "--min-workers", "1", "--runs-root", str(self.runs), "--tmux-socket", self.tmux.socket,
                         "--detach", "--json", env=fake_env(plan, None, MMINIONS_WORKTREE_ROOT=str(self.wt)))
        self.assertEqual(result.returncode, 0, result.stderr)
        run_id = json.loads(result.stdout)["run_id"]
        self.addCleanup(run_cli, "stop", "--run-id", run_id, "--runs-root", str(self.runs), "--tmux-socket", self.tmux.socket)
        self.assertTrue(wait_until(lambda: "FAKE-AGENT-IS-THINKING" in json.dumps(
            mminions.status_document(self.runs, run_id, 20, self.tmux)), 20))
        return run_id


class ContractTests(ServerCase):
    def test_health_runs_status_shapes(self):
        run_id = self.finished_run()
        self.assertEqual(call(self.app, "GET", "/health"), (200, {"ok": True}))
        code, runs = call(self.app, "GET", "/api/runs")
        self.assertEqual(code, 200)
        self.assertEqual(([r["run_id"] for r in runs["runs"]], runs["count"]), ([run_id], 1))
        self.assertEqual(runs["items"], runs["runs"])  # the old name, for one release
        cli = json.loads(run_cli("list", "--json", "--runs-root", str(self.settings.runs_root)).stdout)
        self.assertEqual(set(cli["runs"][0]), set(runs["runs"][0]))  # one shape for the CLI and the API
        for short in (run_id[-4:], run_id[4:12]):  # a tail and a prefix, as the CLI takes them
            self.assertEqual(call(self.app, "GET", f"/api/runs/{short}/status")[1]["run_id"], run_id)
        self.assertEqual(call(self.app, "GET", "/api/runs/zzzz/status")[0], 404)
        code, status = call(self.app, "GET", f"/api/runs/{run_id}/status?lines=20")
        self.assertEqual(code, 200)
        self.assertLessEqual(SEED_STATUS_KEYS, set(status))
        self.assertEqual(set(status["manager"]), SEED_MANAGER_KEYS)
        self.assertEqual(set(status["summary"]), SEED_SUMMARY_KEYS)
        for worker in status["workers"]:
            self.assertLessEqual(SEED_WORKER_KEYS, set(worker))
            self.assertIsInstance(worker["session_exists"], bool)
            self.assertIn(worker["role"], ("REPRO_BUILDER", "TRIAGER"))
        self.assertEqual(status["run_state"], "finished")
        self.assertIn(status["run_state"], mminions.RUN_STATES)
        self.assertEqual(status["decision"]["status"], "ok")
        self.assertEqual(status["run_done"]["status"], "ok")
        self.assertTrue(all(isinstance(v, int) for v in status["summary"].values()))
        code, final = call(self.app, "GET", f"/api/runs/{run_id}/artifacts/final.md")
        self.assertEqual(code, 200)
        self.assertIn("REPRODUCED", final)
        self.assertEqual(call(self.app, "GET", f"/api/runs/{run_id}/artifacts/minimal_repro")[0], 200)
        code, spec = call(self.app, "GET", "/openapi.json")
        self.assertEqual((code, spec["openapi"]), (200, "3.0.3"))
        code, page = call(self.app, "GET", "/")
        self.assertIn("<title>mminions</title>", page)

    def test_post_run_stop_send(self):
        code, started = call(self.app, "POST", "/api/runs", {"issue_text": self.issue.read_text(), "repo_path": str(self.repo),
                                                            "min_workers": 1, "max_workers": 1, "timeout_sec": 60,
                                                            "agent": "builtin"})
        self.assertEqual(code, 201, started)
        self.assertEqual(set(started), {"run_id", "run_done", "manager_session"})
        self.assertTrue(wait_until(lambda: Path(started["run_done"]).exists(), 30))
        self.assertEqual(json.loads(Path(started["run_done"]).read_text())["status"], "ok")
        live_id = self.live_run()
        code, again = call(self.app, "POST", "/api/runs", {"issue_text": self.issue.read_text(), "repo_path": str(self.repo),
                                                          "agent": "builtin"})
        self.assertEqual((code, again["error"]), (409, f"already running: {live_id}"))
        run_id = live_id
        code, sent = call(self.app, "POST", f"/api/runs/{run_id}/send", {"worker": "w1", "text": "hello"})
        self.assertEqual((code, sent), (200, {"run_id": run_id, "worker": "w1", "sent": True}))
        code, stopped = call(self.app, "POST", f"/api/runs/{run_id}/stop", {})
        self.assertEqual((code, stopped), (200, {"run_id": run_id, "status": "stopped"}))
        stopped_doc = mminions.status_document(self.runs, run_id, 0, self.tmux)
        self.assertEqual((stopped_doc["run_state"], stopped_doc["verdict"]), ("finished", "stopped"))

    def test_concurrent_posts_never_pass_the_cap_together(self):
        self.settings.max_live_runs = 2
        answers = []

        def post(i):  # each a different issue (one live run per issue is another rule)
            text = f"# slow {i}\n\n```python\nimport time\nfrom calc import mean\ntime.sleep(20)\nmean([])\n```\n"
            answers.append(call(self.app, "POST", "/api/runs", {"issue_text": text, "repo_path": str(self.repo),
                                                                "agent": "builtin", "min_workers": 1, "max_workers": 1}))
        threads = [threading.Thread(target=post, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        started = [body for code, body in answers if code == 201]
        for body in started:
            self.addCleanup(run_cli, "stop", "--run-id", body["run_id"], "--runs-root", str(self.runs),
                            "--tmux-socket", self.tmux.socket)
        self.assertEqual(len(answers), 8)
        self.assertEqual(len(started), 2, answers)
        self.assertEqual(sorted(code for code, _ in answers), [201, 201] + [429] * 6)

    def test_the_api_asks_for_a_box_share_not_all_of_it(self):
        for field, value in (("max_memory_mb", 100_000), ("max_runtime", 10 * 86400 // 10), ("timeout_sec", 86400)):
            code, body = call(self.app, "POST", "/api/runs", {"issue_file": "# t", "repo_path": str(self.repo), field: value})
            self.assertEqual(code, 400, body)
            self.assertIn("more only from the command line", body["error"])
        code, spec = call(self.app, "GET", "/openapi.json")
        props = spec["paths"]["/api/runs"]["post"]["requestBody"]["content"]["application/json"]["schema"]["properties"]
        self.assertEqual(props["max_memory_mb"]["maximum"], 8192)

    def test_live_status_has_pane_tail(self):
        run_id = self.live_run()
        code, status = call(self.app, "GET", f"/api/runs/{run_id}/status?lines=50")
        self.assertEqual(status["run_state"], "running")
        w1 = status["workers"][0]
        self.assertTrue(w1["session_exists"])
        self.assertIn("FAKE-AGENT-IS-THINKING", w1["pane_tail"])
        self.assertEqual(status["summary"]["active"], 1)
        self.assertEqual(status["decision"], {"status": "running"})


class BudgetOptionTests(unittest.TestCase):
    def test_the_api_takes_budgets_as_numbers(self):
        self.assertEqual(mminions.api_run_options({"max_tokens": 5000, "max_cost": 0.5}), {"max_tokens": 5000, "max_cost": 0.5})
        for bad in ({"max_cost": "0.5"}, {"max_cost": True}, {"max_cost": 0}, {"max_tokens": 1.5}, {"prices": ["*=1/1/1"]}):
            with self.assertRaises(ValueError):
                mminions.api_run_options(bad)
        props = mminions.api_run_schema()["properties"]
        self.assertEqual((props["max_cost"]["type"], props["max_tokens"]["type"]), ("number", "integer"))


class StatusCacheTests(unittest.TestCase):
    def test_concurrent_requests_share_one_build(self):
        cache = mminions.StatusCache()
        builds, gate = [], threading.Event()

        def build():
            builds.append(1)
            gate.wait(5)  # the first build is slow: the others must wait for it, not start their own
            return {"run_state": "running", "n": len(builds)}
        bodies = []
        threads = [threading.Thread(target=lambda: bodies.append(cache.get("run-x", 40, (), build))) for _ in range(8)]
        for t in threads:
            t.start()
        self.assertTrue(wait_until(lambda: builds, 5))
        gate.set()
        for t in threads:
            t.join(10)
        self.assertEqual((len(builds), len(bodies), len(set(bodies))), (1, 8, 1))

    def test_live_runs_are_rebuilt_when_stale_and_finished_ones_when_their_files_change(self):
        now = [100.0]
        cache = mminions.StatusCache(clock=lambda: now[0])
        count = [0]

        def build(state):
            def inner():
                count[0] += 1
                return {"run_state": state, "n": count[0], "manager": {"session_exists": False}, "workers": []}
            return inner
        first = cache.get("run-a", 40, ("f1",), build("running"))
        self.assertEqual(cache.get("run-a", 40, ("f1",), build("running")), first)  # fresh: shared
        self.assertNotEqual(cache.get("run-a", 41, ("f1",), build("running")), first)  # other lines: its own
        now[0] += mminions.STATUS_FRESH_SEC + 0.01
        second = cache.get("run-a", 40, ("f1",), build("finished"))
        self.assertNotEqual(second, first)
        now[0] += 3600  # finished: kept however old, while its files stay the same
        self.assertEqual(cache.get("run-a", 40, ("f1",), build("finished")), second)
        self.assertNotEqual(cache.get("run-a", 40, ("f2",), build("finished")), second)

    def test_a_finished_run_with_a_live_session_is_not_frozen(self):
        now = [0.0]
        cache = mminions.StatusCache(clock=lambda: now[0])
        docs = iter([{"run_state": "finished", "manager": {"session_exists": True}, "workers": []},
                     {"run_state": "finished", "manager": {"session_exists": False}, "workers": []}])
        first = cache.get("run-b", 40, ("f",), lambda: next(docs))
        now[0] += 1
        self.assertNotEqual(cache.get("run-b", 40, ("f",), lambda: next(docs)), first)


class SecurityTests(ServerCase):
    def assert_error(self, expected, method, path, body=None, **kw):
        code, payload = call(self.app, method, path, body, **kw)
        self.assertEqual(code, expected, payload)
        self.assertEqual(set(payload), {"error", "code"})
        self.assertEqual(payload["code"], expected)
        self.assertNotIn("Traceback", payload["error"])
        return payload

    def test_path_traversal(self):
        run_id = self.finished_run()
        for path in ["/api/runs/../etc/status", "/api/runs/run-..%2f..%2fx/status", "/api/runs/%2e%2e/status",
                     "/api/runs/run-x/../../status", f"/api/runs/{run_id}/artifacts/..%2fconfig.json",
                     f"/api/runs/{run_id}/artifacts/config.json", f"/api/runs/{run_id}/artifacts/../../../etc/passwd",
                     "/api/runs/run-does-not-exist/status", "/api/runs/./status"]:
            code, _ = call(self.app, "GET", path)
            self.assertEqual(code, 404, path)

    def test_bad_bodies(self):
        self.assert_error(400, "POST", "/api/runs", raw=b"{not json")
        self.assert_error(415, "POST", "/api/runs", {"x": 1}, headers={"Content-Type": "text/plain"})
        self.assert_error(413, "POST", "/api/runs", raw=b"{" + b" " * (70 * 1024) + b"}")
        self.assert_error(411, "POST", "/api/runs", {"x": 1}, headers={"Content-Length": None})
        self.assert_error(400, "POST", "/api/runs", {"x": 1}, headers={"Content-Length": "-5"}, validate=False)
        self.assert_error(400, "POST", "/api/runs", {"x": 1}, headers={"Content-Length": "lots"}, validate=False)
        self.assert_error(400, "POST", "/api/runs", raw=b"[1, 2]")
        self.assert_error(400, "POST", "/api/runs", {"repo_path": str(self.repo)})
        self.assert_error(400, "POST", "/api/runs", {"repo_path": str(self.repo), "issue_file": "x", "min_workers": "two"})
        self.assert_error(405, "DELETE", "/api/runs")

    def test_repo_path_outside_roots_and_symlink(self):
        outside = temp_dir(self)
        link = self.root / "sneaky"
        os.symlink(outside, link)
        for repo in (str(outside), str(link), "/", str(self.root / ".." / "..")):
            self.assert_error(403, "POST", "/api/runs", {"repo_path": repo, "issue_file": "# t\nb"})

    def test_token_required_when_set(self):
        self.settings.token = "s3cret"
        run_id = self.finished_run()
        self.assert_error(401, "POST", f"/api/runs/{run_id}/stop", {})
        self.assert_error(401, "POST", f"/api/runs/{run_id}/stop", {}, headers={"Authorization": "Bearer wrong"})
        code, _ = call(self.app, "POST", f"/api/runs/{run_id}/stop", {}, headers={"Authorization": "Bearer s3cret"})
        self.assertEqual(code, 200)
        self.assertEqual(call(self.app, "GET", "/api/runs")[0], 200)  # reads need no token

    def test_foreign_host_and_origin(self):
        self.assert_error(421, "GET", "/api/runs", host="evil.example:8088")
        self.assert_error(403, "POST", "/api/runs", {}, headers={"Origin": "http://evil.example"})
        self.assert_error(403, "GET", "/api/runs", headers={"Origin": "null"})
        code, _ = call(self.app, "GET", "/api/runs", headers={"Origin": "http://127.0.0.1:8088"})
        self.assertEqual(code, 200)
        self.assertEqual(call(self.app, "GET", "/health", host="localhost:8088")[0], 200)

    def test_send_control_chars_and_size(self):
        run_id = self.live_run()
        self.assert_error(400, "POST", f"/api/runs/{run_id}/send", {"worker": "w1", "text": "\x1b[A"})
        self.assert_error(400, "POST", f"/api/runs/{run_id}/send", {"worker": "w1", "text": "x" * 5000})
        self.assert_error(400, "POST", f"/api/runs/{run_id}/send", {"worker": "../w1", "text": "x"})
        self.assert_error(409, "POST", f"/api/runs/{run_id}/send", {"worker": "w9", "text": "x"})

    def test_refuses_public_bind_without_token(self):
        with self.assertRaises(mminions.UsageError):
            mminions.make_server(mminions.ServerSettings(runs_root=self.runs, host="0.0.0.0", port=0))


class SocketCase(ServerCase):
    """The server on a real socket of 127.0.0.1, a port of its own."""

    def setUp(self):
        super().setUp()
        self.settings.port = 0
        self.server = mminions.make_server(self.settings)
        self.port = self.server.server_address[1]
        self.settings.port = self.port
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
        self.thread.start()
        self.addCleanup(self.server.server_close)
        self.addCleanup(self.server.shutdown)


class RealSocketTests(SocketCase):
    def test_idle_client_does_not_block_others(self):
        idle = socket.create_connection(("127.0.0.1", self.port))
        idle.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # never finishes its headers
        self.addCleanup(idle.close)
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/health", timeout=5) as r:
            self.assertEqual(json.loads(r.read()), {"ok": True})

    def test_errors_are_json_over_the_wire(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        conn.request("POST", "/api/runs", body=b"{", headers={"Content-Type": "application/json"})
        r = conn.getresponse()
        self.assertEqual(r.status, 400)
        self.assertEqual(json.loads(r.read())["code"], 400)
        conn.close()

    def test_serve_command_sigterm(self):
        port_sock = socket.socket()
        port_sock.bind(("127.0.0.1", 0))
        port = port_sock.getsockname()[1]
        port_sock.close()
        proc = subprocess.Popen([os.sys.executable, str(Path(mminions.__file__)), "serve", "--runs-root", str(self.runs),
                                 "--port", str(port), "--tmux-socket", self.tmux.socket], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        self.addCleanup(proc.kill)
        ok = wait_until(lambda: _get(port) == {"ok": True}, 10)
        self.assertTrue(ok)
        proc.terminate()
        self.assertEqual(proc.wait(10), 0)
        self.assertIn("GET /health", proc.stderr.read())
        proc.stdout.close()
        proc.stderr.close()


class EventStreamTests(SocketCase):
    """GET /api/events: Server-Sent Events over a real socket, one per run that ends."""

    def open_stream(self, query: str = "", headers: dict | None = None):
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=60)
        self.addCleanup(sock.close)
        extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
        sock.sendall(f"GET /api/events{query} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n{extra}\r\n".encode())
        return sock.makefile("rb")

    @staticmethod
    def next_event(stream) -> dict:
        """The next event's fields (comments and the retry line skipped)."""
        fields: dict = {}
        while True:
            line = stream.readline()
            if not line:
                return fields
            text = line.decode().rstrip("\r\n")
            if not text:
                if "event" in fields:
                    return fields
                continue
            if text.startswith(":"):
                continue
            key, _, value = text.partition(": ")
            fields[key] = value

    def test_a_run_that_ends_is_streamed_and_a_client_resumes_after_its_last_event(self):
        self.settings.request_deadline = self.server.request_deadline = 2.0  # a stream outlives the slow-request deadline
        stream = self.open_stream()
        self.assertEqual(stream.readline(), b"HTTP/1.0 200 OK\r\n")
        time.sleep(3)
        run_id = self.finished_run()
        event = self.next_event(stream)
        self.assertEqual(event["event"], "run-end")
        doc = json.loads(event["data"])
        self.assertEqual((doc["run_id"], doc["verdict"], doc["exit_code"]), (run_id, "reproduced", 0))
        self.assertEqual(doc["usage"]["cost_from"], "free")
        self.assertTrue(event["id"].endswith(" " + run_id))
        # a script that waits for one run: its event, at once when it has ended, then the end of the stream
        once = self.open_stream(f"?run_id={run_id[-6:]}")
        self.assertEqual(json.loads(self.next_event(once)["data"])["run_id"], run_id)
        self.assertEqual(once.read(), b"")
        # a client back after its last event: nothing it saw again
        again = self.open_stream(headers={"Last-Event-ID": event["id"]})
        second = self.finished_run()
        self.assertEqual(json.loads(self.next_event(again)["data"])["run_id"], second)

    def test_streams_are_few_and_a_bad_run_is_404(self):
        streams = [self.open_stream() for _ in range(mminions.MAX_STREAMS)]
        for stream in streams:
            self.assertEqual(stream.readline(), b"HTTP/1.0 200 OK\r\n")
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        conn.request("GET", "/api/events")
        r = conn.getresponse()
        self.assertEqual((r.status, json.loads(r.read())["code"]), (503, 503))
        conn.request("GET", "/api/events?run_id=run-nope")
        r = conn.getresponse()
        self.assertEqual(r.status, 404)
        r.read()
        conn.close()
        self.assertIn("/api/events", mminions.OPENAPI["paths"])


def _get(port):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as r:
            return json.loads(r.read())
    except OSError:
        return None


def png_colours(path):
    """How many distinct pixel values a PNG screenshot has (a blank page has one or two)."""
    import struct
    import zlib
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width = 8, b"", 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, _, depth, colour = struct.unpack(">IIBB", chunk[:10])
            channels = {2: 3, 6: 4}.get(colour, 1)
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * channels + 1
    pixels = {raw[i:i + channels] for row in range(0, len(raw), stride) for i in range(row + 1, row + stride, channels * 7)}
    return len(pixels)


class DashboardBrowserTests(ServerCase):
    def test_dashboard_in_headless_chromium(self):
        browser = shutil.which("chromium") or shutil.which("chromium-browser")
        if not browser:
            if os.environ.get("MMINIONS_REQUIRE_BROWSER") == "1":
                self.fail("chromium is not installed but MMINIONS_REQUIRE_BROWSER=1")
            self.skipTest("chromium not installed (apt-get install chromium)")
        finished = self.finished_run()
        # what a stranger can get into final.md: a link in a code span, a link in a code block
        # holding a shorter fence; the page must show both as text
        hostile = "\n".join(["", "Signature: " + mminions.md_code("E: [session expired](https://attacker.example/a)"),
                              *mminions.md_fence("x = 1\n```\n[click](https://attacker.example/b)"), ""])
        with open(self.runs / finished / "final.md", "a", encoding="utf-8") as f:
            f.write(hostile)
        live = self.live_run()
        self.settings.port = 0
        server = mminions.make_server(self.settings)
        self.settings.port = server.server_address[1]
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True).start()
        self.addCleanup(server.server_close)
        self.addCleanup(server.shutdown)
        shots = temp_dir(self)
        for run_id, needle in ((finished, "REPRODUCED"), (live, "FAKE-AGENT-IS-THINKING")):
            url = f"http://127.0.0.1:{self.settings.port}/#{run_id}"
            argv = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    f"--user-data-dir={shots / ('profile-' + run_id)}", "--enable-logging=stderr", "--v=0",
                    "--virtual-time-budget=4000", "--dump-dom", url]
            result = subprocess.run(argv, capture_output=True, text=True, timeout=90)
            dom = result.stdout.split("<script>")[0]  # what the page shows, not its code
            self.assertIn(run_id, dom)
            self.assertIn("mean() crashes on an empty list", dom)  # titles, not file paths
            self.assertIn('id="newform"', dom)
            if needle == "REPRODUCED":
                self.assertIn('class="badge reproduced"', dom)
                self.assertIn("<h1>mminions report: mean() crashes on an empty list</h1>", dom)  # final.md rendered
                self.assertNotIn("# mminions report", dom)
                self.assertNotIn('id="stop"', dom)  # no Stop/Send on an ended run
                self.assertIn("w1.log (last lines)", dom)  # the worker's output stays readable
                self.assertIn('<td class="usage">no model</td>', dom)  # the built-in agent's cost
                self.assertIn('id="run-usage">run total: no model<', dom)
                self.assertIn("phase repro", dom)  # the manager's log, inline
                self.assertIn('href="/api/runs/' + run_id + '/artifacts/final.md"', dom)
                self.assertNotIn("/artifacts/w3.log", dom)  # links only to artifacts that exist
                self.assertRegex(dom, r'<span class="done">triage</span>')
                self.assertNotIn('href="https://attacker.example', dom)
                self.assertIn("<code>E: [session expired](https://attacker.example/a)</code>", dom)
                self.assertIn("[click](https://attacker.example/b)</pre>", dom)
            else:
                self.assertIn(needle, dom)
                self.assertIn('id="stop"', dom)
                self.assertRegex(dom, r'<span class="current">repro</span>')
            console = [l for l in result.stderr.splitlines() if "CONSOLE" in l or "Uncaught" in l]
            self.assertEqual(console, [], "\n".join(console))
            subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                            "--disable-background-networking", f"--user-data-dir={shots / ('shot-' + run_id)}",
                            "--virtual-time-budget=4000", "--window-size=1280,800",
                            f"--screenshot={shots / (run_id + '.png')}", url], capture_output=True, timeout=90)
            self.assertGreater(png_colours(shots / (run_id + ".png")), 8, "the screenshot is blank")
            if os.environ.get("MMINIONS_KEEP_SCREENSHOTS"):
                shutil.copy(shots / (run_id + ".png"), os.environ["MMINIONS_KEEP_SCREENSHOTS"])


if __name__ == "__main__":
    unittest.main()
