"""The .pyz: builds reproducibly and runs from anywhere."""

import subprocess
import unittest

from helpers import REPO_ROOT, temp_dir
from parallel import load_tests  # noqa: F401  (the suite's classes run in a pool: tests/parallel.py)


class BuildTests(unittest.TestCase):
    def test_two_builds_identical_and_runnable(self):
        out = temp_dir(self)
        for name in ("a.pyz", "b.pyz"):
            subprocess.run([str(REPO_ROOT / "build.sh"), str(out / name)], check=True,
                           capture_output=True)
        self.assertEqual((out / "a.pyz").read_bytes(), (out / "b.pyz").read_bytes())
        self.assertTrue((out / "a.pyz").read_bytes().startswith(b"#!/usr/bin/env python3\n"))
        import zipfile
        with zipfile.ZipFile(out / "a.pyz") as zf:  # compiled once at build time, not at every start
            self.assertEqual(sorted(zf.namelist()), ["__main__.py", "mminions.py", "mminions.pyc"])
        elsewhere = temp_dir(self)
        version = subprocess.run([str(out / "a.pyz"), "--version"], cwd=elsewhere,
                                 capture_output=True, text=True, check=True)
        self.assertRegex(version.stdout, r"^mminions \d+\.\d+\.\d+")
        subprocess.run([str(out / "a.pyz"), "--help"], cwd=elsewhere, capture_output=True, text=True, check=True)

    def test_the_source_file_runs_as_a_script_and_re_invokes_itself_from_its_bytecode(self):
        import sys
        from helpers import mminions
        elsewhere = temp_dir(self)
        version = subprocess.run([sys.executable, str(REPO_ROOT / "mminions.py"), "--version"], cwd=elsewhere,
                                 capture_output=True, text=True, check=True)
        self.assertRegex(version.stdout, r"^mminions \d+\.\d+\.\d+")
        argv = mminions.self_command()
        self.assertEqual((argv[1:4], argv[-1]), (["-I", "-S", "-c"], str(REPO_ROOT / "mminions.py")))
        again = subprocess.run([*argv, "--version"], cwd=elsewhere, capture_output=True, text=True, check=True)
        self.assertEqual(again.stdout, version.stdout)
        self.assertIn(str(REPO_ROOT / "__pycache__"), mminions.self_paths(argv))  # what a sandbox shows of it

    def test_the_seed_commands_exist(self):
        import argparse
        from helpers import mminions
        parser = mminions.build_parser()
        commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices
        self.assertLessEqual({"run", "manager", "status", "attach", "send", "stop", "serve"}, set(commands))
        self.assertFalse([c for c in commands if c.startswith("_")])  # the internal ones are not offered


if __name__ == "__main__":
    unittest.main()
