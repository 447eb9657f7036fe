"""tmux layer on a private socket per test; the default server is never touched."""

import unittest

from helpers import mminions, private_tmux, temp_dir, wait_until
from parallel import load_tests  # noqa: F401  (the suite's classes run in a pool: tests/parallel.py)


class FormatTests(unittest.TestCase):
    def test_build_and_parse(self):
        fmt = mminions.build_format(["a", "b", "c"])
        self.assertEqual(fmt, "#{a}\x1f#{b}\x1f#{c}")
        rows = mminions.parse_rows("x|y\x1f1\x1f\nz\x1f2\n", ["a", "b", "c"])
        self.assertEqual(rows, [{"a": "x|y", "b": "1", "c": ""}, {"a": "z", "b": "2", "c": ""}])

    def test_socket_name(self):
        self.assertEqual(mminions.socket_name(None, {}), "mminions")
        self.assertEqual(mminions.socket_name(None, {"MMINIONS_TMUX_SOCKET": "s1"}), "s1")
        self.assertEqual(mminions.socket_name("x", {"MMINIONS_TMUX_SOCKET": "s1"}), "x")
        with self.assertRaises(mminions.UsageError):
            mminions.socket_name("a/b", {})

    def test_argv_always_names_socket(self):
        tmux = mminions.Tmux("sock1")
        self.assertEqual(tmux.argv("ls")[:3], ["tmux", "-L", "sock1"])
        self.assertEqual(tmux.attach_argv("s", read_only=True)[-3:], ["-r", "-t", "=s"])


class TmuxLiveTests(unittest.TestCase):
    def setUp(self):
        self.tmux = private_tmux(self)
        self.cwd = temp_dir(self)

    def test_lifecycle_and_list(self):
        self.assertEqual(self.tmux.list_sessions(), [])  # no server yet: empty, no error
        self.tmux.new_session("alpha", self.cwd, "cat")
        self.assertTrue(self.tmux.has_session("alpha"))
        rows = self.tmux.list_sessions()
        self.assertEqual([r["name"] for r in rows], ["alpha"])
        self.assertGreater(int(rows[0]["pane_pid"]), 0)
        self.assertFalse(rows[0]["dead"])
        self.assertTrue(self.tmux.kill_session("alpha"))
        self.assertFalse(self.tmux.has_session("alpha"))
        self.assertFalse(self.tmux.kill_session("alpha"))

    def test_send_literal_text_roundtrip(self):
        out = self.cwd / "typed.txt"
        self.tmux.new_session("s", self.cwd, f"cat > {out}")
        texts = ["hello world", "it's \"quoted\"", "a ; b", "ends with;", "$(rm -rf x) `id`",
                 "trailing backslash \\", "tab\there", "semis;;"]
        for text in texts:
            self.tmux.send_text("s", text)
        wait_until(lambda: out.exists() and len(out.read_text().splitlines()) == len(texts))
        self.assertEqual(out.read_text().splitlines(), texts)
        # the pane shows what was typed too
        self.assertIn("$(rm -rf x) `id`", self.tmux.capture("s", 50))

    def test_paste_multiline(self):
        out = self.cwd / "pasted.txt"
        self.tmux.new_session("p", self.cwd, f"cat > {out}")
        self.tmux.paste_text("p", "line one\nline two")
        wait_until(lambda: out.exists() and "line two" in out.read_text())
        self.assertEqual(out.read_text().splitlines()[:2], ["line one", "line two"])

    def test_capture_trims_and_limits(self):
        self.tmux.new_session("c", self.cwd, "for i in 1 2 3 4 5; do echo line$i; done; cat")
        wait_until(lambda: "line5" in self.tmux.capture("c", 10))
        self.assertEqual(self.tmux.capture("c", 2), "line4\nline5")

    def test_capture_many_in_one_call(self):
        calls = []

        def counting(argv, **kw):
            calls.append(argv)
            return mminions.run_cmd(argv, **kw)
        tmux = mminions.Tmux(self.tmux.socket, counting)
        for name in ("a", "b", "c"):
            tmux.new_session(name, self.cwd, f"echo pane-{name}; echo second-{name}; cat")
        wait_until(lambda: "second-c" in tmux.capture("c", 5))
        calls.clear()
        panes = tmux.capture_many(["a", "b", "c"], 5)
        self.assertEqual(len(calls), 1)
        self.assertEqual(panes, {n: f"pane-{n}\nsecond-{n}" for n in "abc"})
        panes = tmux.capture_many(["a", "gone", "c"], 5)  # falls back, skips the missing one
        self.assertEqual(sorted(panes), ["a", "c"])

    def test_exited_command_removes_session(self):
        self.tmux.new_session("keep", self.cwd, "cat")
        self.tmux.new_session("short", self.cwd, "true")
        self.assertTrue(wait_until(lambda: not self.tmux.has_session("short"), 5))
        self.assertTrue(self.tmux.has_session("keep"))

    def test_exact_targeting_w1_vs_w10(self):
        self.tmux.new_session("w10", self.cwd, "cat")
        self.assertFalse(self.tmux.has_session("w1"))
        self.assertFalse(self.tmux.kill_session("w1"))
        self.assertTrue(self.tmux.has_session("w10"))
        with self.assertRaises(mminions.TmuxError):
            self.tmux.send_text("w1", "x")

    def test_env_passed_to_session(self):
        out = self.cwd / "env.txt"
        self.tmux.new_session("e", self.cwd, "cat")  # server now running with its own env
        path = f"{self.cwd}/bin:/usr/bin:/bin"
        self.tmux.new_session("e2", self.cwd, f'echo "$MM_TEST_VAR|$PATH" > {out}; sleep 5',
                              env={"MM_TEST_VAR": "v a l", "PATH": path})
        wait_until(lambda: out.exists() and out.read_text().strip())
        self.assertEqual(out.read_text().strip(), f"v a l|{path}")

    def test_a_session_started_as_the_server_exits(self):
        # the server's only session ends just as a new one is asked for (a resumed run after
        # its manager died): the client that reaches the exiting server dies with it; the
        # new session must still start.  Timings around the end, so some land in the window.
        import subprocess
        import time
        for i in range(30):
            self.tmux.new_session("last", self.cwd, "sleep 0.05")
            time.sleep(0.035 + (i % 10) * 0.003)
            self.tmux.new_session("next", self.cwd, "cat")
            self.assertTrue(self.tmux.has_session("next"))
            subprocess.run(self.tmux.argv("kill-server"), capture_output=True)

    def test_errors_carry_tmux_message(self):
        with self.assertRaises(mminions.TmuxError) as ctx:
            self.tmux.capture("nope", 5)
        self.assertIn("capture-pane", str(ctx.exception))


if __name__ == "__main__":
    unittest.main()
