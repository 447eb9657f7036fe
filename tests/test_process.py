"""run_cmd: the one subprocess edge."""

import os
import time
import unittest

from helpers import mminions, temp_dir
from parallel import load_tests  # noqa: F401  (the suite's classes run in a pool: tests/parallel.py)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is dead for our purposes
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


class RunCmdTests(unittest.TestCase):
    def test_captures_output_and_code(self):
        r = mminions.run_cmd(["sh", "-c", "echo out; echo err >&2; exit 3"])
        self.assertEqual((r.returncode, r.stdout, r.stderr, r.timed_out), (3, "out\n", "err\n", False))
        self.assertFalse(r.ok)

    def test_input_env_cwd(self):
        root = temp_dir(self)
        r = mminions.run_cmd(["sh", "-c", 'cat; echo "$FOO"; pwd'], cwd=root,
                             env={"FOO": "bar", "PATH": os.environ["PATH"]}, input="in\n")
        self.assertEqual(r.stdout.splitlines(), ["in", "bar", str(root)])

    def test_timeout_kills_grandchild(self):
        root = temp_dir(self)
        pidfile = root / "pid"
        start = time.monotonic()
        r = mminions.run_cmd(["sh", "-c", f"sleep 300 & echo $! > {pidfile}; wait"], timeout=0.5)
        self.assertTrue(r.timed_out)
        self.assertEqual(r.returncode, 124)
        self.assertLess(time.monotonic() - start, 10)
        pid = int(pidfile.read_text())
        self.assertTrue(any(not _alive(pid) or time.sleep(0.05) for _ in range(100)))
        self.assertFalse(_alive(pid))

    def test_background_child_of_finished_command_is_reaped(self):
        root = temp_dir(self)
        pidfile = root / "pid"
        r = mminions.run_cmd(["sh", "-c", f"sleep 300 >/dev/null 2>&1 & echo $! > {pidfile}"])
        self.assertEqual(r.returncode, 0)
        pid = int(pidfile.read_text())
        self.assertTrue(any(not _alive(pid) or time.sleep(0.05) for _ in range(100)))

    def test_a_daemon_holding_the_pipes_does_not_hold_the_caller(self):
        root = temp_dir(self)
        pidfile = root / "pid"
        start = time.monotonic()
        r = mminions.run_cmd(["sh", "-c", f"setsid sleep 300 & echo $! > {pidfile}; echo done"], timeout=30)
        self.addCleanup(lambda: _alive(int(pidfile.read_text())) and os.kill(int(pidfile.read_text()), 9))
        self.assertEqual((r.returncode, r.stdout, r.timed_out), (0, "done\n", False))
        self.assertLess(time.monotonic() - start, 10)  # not the 30 s timeout

    def test_output_is_capped_in_memory(self):
        r = mminions.run_cmd(["sh", "-c", "head -c 3000000 /dev/zero | tr '\\0' a; echo END"], max_output=1000)
        self.assertEqual(len(r.stdout), 1000)
        self.assertTrue(r.stdout.endswith("aEND\n"))

    def test_missing_binary_is_clear(self):
        with self.assertRaises(mminions.ToolNotFound) as ctx:
            mminions.run_cmd(["definitely-not-a-tool-xyz"])
        self.assertIn("definitely-not-a-tool-xyz: command not found", str(ctx.exception))


class PidsCgroupTests(unittest.TestCase):
    def test_a_cgroup_gc_removed_is_made_again_with_its_cap(self):
        # `gc` removes an empty pids cgroup whose maker died; a worker of that (killed) manager's
        # run that is still going joins it again later: it must find it, capped as before
        cgroup = mminions.make_pids_cgroup(37)
        if not cgroup:
            self.skipTest("no writable pids cgroup here (root only)")
        self.addCleanup(mminions.remove_cgroup, cgroup)
        mminions.remove_cgroup(cgroup)
        self.assertFalse(os.path.exists(cgroup))
        argv = mminions.Limits(processes=37, cgroup=cgroup).prlimit_argv() + ["cat", "/proc/self/cgroup"]
        result = mminions.run_cmd(argv, timeout=20)
        self.assertTrue(result.ok, result.output)
        self.assertIn(os.path.basename(cgroup), result.stdout)
        with open(os.path.join(cgroup, "pids.max")) as f:
            self.assertEqual(f.read().strip(), "37")


if __name__ == "__main__":
    unittest.main()
