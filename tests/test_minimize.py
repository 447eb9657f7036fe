"""Minimization: known cores are found, the origin is kept, the budget and the cache hold;
and a reproducer that is fail-to-pass stays fail-to-pass, with a passing reference to
check every reduction against and without one (conservative: checks and their slice stay)."""

import time
import os
import unittest

from helpers import (CALC_INIT, CALC_OPS, CALC_OPS_FIXED, candidate, commit_files, git, make_repo, mminions,
                     only_run, private_socket, run_cli, run_py, temp_dir)
from parallel import load_tests  # noqa: F401  (the suite's classes run in a pool: tests/parallel.py)

NOISE = [f"value_{i} = {i} * 2\nprint('step', value_{i})" for i in range(19)]

# A small package with a bug in three places; FIXED is the same package fixed.
DEC_BUGGY = '''class DecodeError(ValueError):
    pass


def decode(text):
    """'n:payload' -> payload; a bad header must raise DecodeError."""
    head, _, rest = text.partition(":")
    if not head.isdigit():
        return rest[len(head) + 10]
    return rest[: int(head)]


def normalize(words):
    return " ".join(w for w in words.split(" ") if w != "the")


def is_known(name):
    return name in ("alpha", "beta")
'''
DEC_FIXED = DEC_BUGGY.replace("        return rest[len(head) + 10]\n", "        raise DecodeError(f'bad header {head!r}')\n") \
    .replace('if w != "the")', 'if w.lower() != "the")').replace('("alpha", "beta")', '("alpha", "beta", "gamma")')


class MinimizeCase(unittest.TestCase):
    def setUp(self):
        self.root = temp_dir(self)

    def failure_of(self, repo, cand):
        verified = mminions.verify_candidate(cand, repo, {}, runs=1, timeout=20)
        self.assertEqual(verified["status"], "reproduced", verified)
        return verified["failure"]

    def probe(self, repo, text, signature, ext="py", strict=False, references=()):
        cand = candidate(text, signature, file_extension=ext,
                         oracle_command="python3 {repro_file}" if ext == "py" else "sh {repro_file}")
        inner = mminions.make_probe(cand, repo, self.failure_of(repo, cand), 20, references=references, strict=strict)
        self.seen: list[str] = []

        def counted(text):
            self.seen.append(text)
            return inner(text)
        return counted

    def reduce(self, repo, text, signature="ZeroDivisionError", ext="py", budget=60, strict=False, references=(),
               conservative=False):
        probe = self.probe(repo, text, signature, ext, strict, references)
        self.assertTrue(probe(text), "the bloated script must reproduce to begin with")
        self.seen.clear()
        lines = self.failure_of(repo, candidate(text, signature))["script_lines"] if ext == "py" else []
        result, oracle = mminions.minimize_text(text, ext, probe, budget, conservative, lines)
        self.assertEqual(len(self.seen), len(set(self.seen)), "the cache must prevent repeated probes")
        self.assertEqual(oracle.calls, len(self.seen))
        self.assertTrue(probe(result), "a reduction must never return something that does not reproduce")
        return result, oracle


class MinimizeTests(MinimizeCase):
    def setUp(self):
        super().setUp()
        self.repo = make_repo(self.root / "calc", {"calc/__init__.py": CALC_INIT, "calc/ops.py": CALC_OPS})

    def test_two_of_forty_statements(self):
        body = NOISE[:10] + ["from calc import mean"] + NOISE[10:] + ["mean([])", "print('done')"]
        text = "\n".join(body) + "\n"
        self.assertGreaterEqual(mminions.size_of(text, "py")["statements"], 40)
        result, oracle = self.reduce(self.repo, text)
        self.assertEqual(result, "from calc import mean\nmean([])\n")
        self.assertLess(oracle.calls, 60)

    def test_nested_in_function_and_loop(self):
        text = ("import os\nfrom calc import mean\n\n\ndef helper(items):\n    total = 0\n    for i in range(3):\n"
                "        total += i\n        print(os.getcwd())\n        if i == 2:\n            mean(items)\n"
                "        else:\n            total -= 1\n    return total\n\n\n" + "\n".join(NOISE[:6]) + "\nhelper([])\n")
        result, _ = self.reduce(self.repo, text)
        self.assertLessEqual(mminions.size_of(result, "py")["statements"], 4, result)
        self.assertIn("mean(", result)
        self.assertNotIn("print", result)

    def test_removing_import_is_refused(self):
        text = "import calc\nn = 0\ncalc.mean([])\nprint(1 / n)\n"
        result, _ = self.reduce(self.repo, text)
        self.assertIn("calc.mean([])", result)
        self.assertIn("import calc", result)
        # the script's own ZeroDivisionError (1 / n) is not the project's: never accepted alone
        self.assertFalse(self.probe(self.repo, text, "ZeroDivisionError")("n = 0\nprint(1 / n)\n"))

    def test_shell_oracle_line_ddmin(self):
        lines = [f"echo noise {i}" for i in range(12)]
        lines.insert(7, "python3 -c 'from calc import mean; mean([])'")
        result, _ = self.reduce(self.repo, "set -e\n" + "\n".join(lines) + "\n", ext="sh")
        self.assertEqual(result, "python3 -c 'from calc import mean; mean([])'\n")

    def test_shell_script_is_kept_without_a_reference(self):
        text = "echo noise\npython3 -c 'from calc import mean; mean([])'\n"
        probe = self.probe(self.repo, text, "ZeroDivisionError", ext="sh")
        result, oracle = mminions.minimize_text(text, "sh", probe, 30, conservative=True)
        self.assertEqual((result, oracle.calls), (text, 0))

    def test_literals_shrink(self):
        text = "from calc import mean\ndata = [x for x in []]\nlabels = ['a', 'b', 'c', 'd']\nmean(data)\n"
        result, _ = self.reduce(self.repo, text)
        self.assertNotIn("labels", result)

    def test_emptied_body_does_not_spin(self):
        # an emptied loop body becomes `pass`; it once was "reduced" to `pass` again, forever
        text = ("from calc import mean\nfor year in (1996, 2000):\n    print(year, 'leap')\n"
                "print('noise')\nmean([])\n")
        result, oracle = self.reduce(self.repo, text, strict=True, conservative=True)
        self.assertEqual(result, "from calc import mean\nmean([])\n")
        self.assertLess(oracle.hits, 50)

    def test_budget_is_honoured(self):
        text = "\n".join(NOISE + ["from calc import mean", "mean([])"]) + "\n"
        slow_inner = self.probe(self.repo, text, "ZeroDivisionError")

        def slow(text):
            time.sleep(0.2)
            return slow_inner(text)
        start = time.monotonic()
        result, oracle = mminions.minimize_text(text, "py", slow, 1.0)
        self.assertTrue(oracle.expired)
        self.assertLess(time.monotonic() - start, 1.0 + 0.2 + 2.0)  # one probe may be in flight
        self.assertTrue(slow_inner(result))

    def test_ddmin_pure(self):
        items = list(range(30))
        calls = []
        kept = mminions.ddmin(items, lambda keep: calls.append(1) or {3, 17} <= set(keep))
        self.assertEqual(kept, [3, 17])


class FailToPassTests(MinimizeCase):
    """Each shape a fail-to-pass reproducer takes: minimized, it still fails on the buggy
    package and passes on the fixed one, guarded by the fix and without any reference."""

    def setUp(self):
        super().setUp()
        self.repo = make_repo(self.root / "dec", {"dec/__init__.py": "from .core import *\n",
                                                  "dec/core.py": DEC_BUGGY})
        self.fixed = make_repo(self.root / "dec-fixed", {"dec/__init__.py": "from .core import *\n",
                                                        "dec/core.py": DEC_FIXED})

    def assert_fail_to_pass(self, script):
        for repo, want in ((self.repo, False), (self.fixed, True)):
            result = run_py(script, repo)
            self.assertEqual(result.returncode == 0, want, f"{repo.name}: {result.stdout}{result.stderr}\n{script}")

    def both_modes(self, text, signature):
        self.assert_fail_to_pass(text)
        guarded, _ = self.reduce(self.repo, text, signature, references=[self.fixed])
        self.assert_fail_to_pass(guarded)
        alone, _ = self.reduce(self.repo, text, signature, strict=True, conservative=True)
        self.assert_fail_to_pass(alone)
        return guarded, alone

    def test_try_except_guard(self):
        text = ("import dec\nprint('dec from', dec.__file__)\nnoise = [1, 2, 3]\ntry:\n    dec.decode('x:abc')\n"
                "except dec.DecodeError:\n    print('ok')\n")
        guarded, alone = self.both_modes(text, "IndexError")
        self.assertNotIn("noise", alone)
        self.assertIn("except dec.DecodeError", alone)

    def test_mutated_then_asserted_value(self):
        text = ("import dec\nwords = []\nfor w in ['a', 'The', 'b']:\n    words.append(w)\nunused = 'x' * 3\n"
                "out = dec.normalize(' '.join(words))\nassert out == 'a b', f'expected a b, got {out!r}'\n")
        _, alone = self.both_modes(text, "AssertionError")
        self.assertIn("words.append(w)", alone)
        self.assertNotIn("unused", alone)

    def test_literal_that_flows_into_an_assert(self):
        text = ("import dec\nsentence = 'keep The words of this sentence'\nprint('checking')\n"
                "assert dec.normalize(sentence) == 'keep words of this sentence', dec.normalize(sentence)\n")
        _, alone = self.both_modes(text, "AssertionError")
        self.assertIn("'keep The words of this sentence'", alone)

    def test_conditional_raise(self):
        text = ("import dec\nout = str(dec.is_known('gamma'))\nprint(out)\nif out == 'False':\n"
                "    raise AssertionError('gamma should be known, got ' + out)\n")
        _, alone = self.both_modes(text, "AssertionError")
        self.assertIn("if out == 'False'", alone)

    def test_name_read_only_where_the_bug_is_fixed_stays_imported(self):
        # `and` short-circuits at HEAD, so `Path` is read only once the bug is fixed
        text = ("import dec\nfrom pathlib import Path, PurePath\nprint('checking')\nout = dec.is_known('gamma')\n"
                "assert out and isinstance(Path('x'), PurePath), out\n")
        _, alone = self.both_modes(text, "AssertionError")
        self.assertIn("Path, PurePath", alone)

    def test_assert_message_is_never_shrunk(self):
        message = "expected gamma to be a known name, but is_known said no"
        text = f"import dec\nassert dec.is_known('gamma'), {message!r}\n"
        guarded, alone = self.both_modes(text, "AssertionError")
        self.assertIn(message, guarded)
        self.assertIn(message, alone)


class MinimizeTimeTests(unittest.TestCase):
    """What one probe and the whole minimizer may take, from how long the reproducer runs."""

    def selected(self, head: float, fix: float | None = None) -> dict:
        return {"verification": {"runs": [{"duration": head}, {"duration": head / 2}]},
                "fixed_ref": {"runs": [{"duration": fix}]} if fix is not None else None}

    def test_a_probe_runs_three_times_the_longest_verified_run(self):
        self.assertEqual(mminions.probe_timeout(self.selected(0.1), 60), mminions.PROBE_MIN_SEC)
        self.assertAlmostEqual(mminions.probe_timeout(self.selected(3.0, fix=4.0), 60), 12.0)
        self.assertEqual(mminions.probe_timeout(self.selected(30.0), 60), 60)  # never past --verify-timeout
        self.assertEqual(mminions.probe_timeout({"verification": {}}, 60), 60)  # nothing known: as verification

    def test_the_default_budget_leaves_the_run_near_a_minute(self):
        cfg = mminions.RunConfig(run_id="run-x", runs_root="/r", repo_path="/p")
        self.assertEqual(mminions.minimize_budget(cfg, self.selected(0.1), 1, elapsed=5), 30)
        late = mminions.minimize_budget(cfg, self.selected(3.0), 1, elapsed=36)  # its confirmation costs 15 s
        self.assertAlmostEqual(late, mminions.MINIMIZE_MIN_SEC)
        self.assertAlmostEqual(mminions.minimize_budget(cfg, self.selected(1.0), 1, elapsed=20), 25)
        # a generated check is then written plainly and checked again: that is paid for too
        generated = dict(self.selected(1.0), candidate={"script": GENERATED_CHECK})
        self.assertAlmostEqual(mminions.minimize_budget(cfg, generated, 1, elapsed=20), 22)
        cfg.minimize_budget_sec = 120  # a budget the user chose is theirs
        self.assertEqual(mminions.minimize_budget(cfg, self.selected(3.0), 1, elapsed=36), 120)


class VerificationRunsTests(unittest.TestCase):
    def test_runs_side_by_side_never_make_a_reproducer_flaky(self):
        # it fails whenever it runs alone and passes when another copy holds its lock: side
        # by side some copies pass, and each of those must be run again alone
        root = temp_dir(self)
        repo = make_repo(root / "r", {"calc/__init__.py": CALC_INIT, "calc/ops.py": CALC_OPS})
        script = ("import os, time\nfrom calc import mean\n"
                  "try:\n    fd = os.open('busy.lock', os.O_CREAT | os.O_EXCL)\nexcept FileExistsError:\n    raise SystemExit(0)\n"
                  "try:\n    time.sleep(0.3)\n    mean([])\nfinally:\n    os.remove('busy.lock')\n")
        calls = []

        def runner(argv, **kw):
            calls.append(argv)
            return mminions.run_cmd(argv, **kw)
        verified = mminions.verify_candidate(candidate(script), repo, {}, runs=5, timeout=30, runner=runner)
        self.assertEqual((verified["status"], verified["matched_runs"], verified["total_runs"]), ("reproduced", 5, 5), verified)
        if (os.cpu_count() or 1) > 1:
            self.assertGreater(len(calls), 5)  # some ran side by side, passed, and were run again alone

    def test_a_flaky_reproducer_is_still_flaky(self):
        root = temp_dir(self)
        repo = make_repo(root / "r", {"calc/__init__.py": CALC_INIT, "calc/ops.py": CALC_OPS})
        script = ("import os, itertools\nfrom calc import mean\n"  # the k-th run fails when k is even, alone or not
                  "for k in itertools.count():\n    try:\n        os.close(os.open(f'run-{k}', os.O_CREAT | os.O_EXCL))\n"
                  "        break\n    except FileExistsError:\n        continue\n"
                  "if k % 2 == 0:\n    mean([])\n")
        verified = mminions.verify_candidate(candidate(script), repo, {}, runs=4, timeout=30)
        self.assertEqual(verified["status"], "flaky", verified)


class FailureShapeTests(unittest.TestCase):
    def test_protected_statements(self):
        import ast
        tree = ast.parse("import a\nimport b\nx = a.f()\nprint(x)\nn = 1\nassert x == 2, x\n")
        mminions.mark_protected(tree, [])
        kept = [ast.unparse(s) for s in tree.body if mminions._kept(s)]
        self.assertEqual(kept, ["import a", "x = a.f()", "assert x == 2, x"])

    def test_same_failure(self):
        want = {"type": "IndexError", "message": "string index out of range", "origin": "repo",
                "frame": "dec/core.py:decode", "script_line": 5, "message_stable": True}
        self.assertTrue(mminions.same_failure(dict(want, script_line=3), want, strict=True))
        self.assertFalse(mminions.same_failure(dict(want, frame="dec/core.py:other"), want, strict=True))
        self.assertTrue(mminions.same_failure(dict(want, frame="dec/core.py:other"), want, strict=False))
        self.assertFalse(mminions.same_failure(dict(want, script_line=3), want, strict=False, same_line=True))
        # a failure in the script's own frame (a lookup on what the project returned) keeps its meaning too
        self.assertTrue(mminions.same_failure(dict(want, origin="script"), dict(want, origin="script"), strict=False))
        self.assertFalse(mminions.same_failure(dict(want, origin="script"), want, strict=False))


class ImportRootTests(unittest.TestCase):
    """The project's code is found where it declares it, at every commit."""

    def test_layouts(self):
        root = temp_dir(self)
        cases = {
            "flat": ({"pkg/__init__.py": ""}, ["."]),
            "src": ({"src/pkg/__init__.py": ""}, ["src", "."]),
            "lib": ({"lib/pkg/__init__.py": ""}, ["lib", "."]),
            "setup-cfg": ({"setup.cfg": "[options]\npackage_dir =\n    =code\n", "code/pkg/__init__.py": ""},
                          ["code", "."]),
            "setup-py": ({"setup.py": "setup(package_dir={'': 'python'})\n", "python/pkg/__init__.py": ""},
                         ["python", "."]),
            "pyproject": ({"pyproject.toml": '[tool.setuptools.packages.find]\nwhere = ["pylib"]\n',
                           "pylib/pkg/__init__.py": ""}, ["pylib", "."]),
            "hatch": ({"pyproject.toml": '[tool.hatch.build.targets.wheel]\npackages = ["source/pkg"]\n',
                       "source/pkg/__init__.py": ""}, ["source", "."]),
            "module": ({"single.py": "X = 1\n"}, ["."]),
        }
        for name, (files, want) in cases.items():
            with self.subTest(name):
                repo = make_repo(root / name, files)
                got = [str(p.relative_to(repo)) for p in mminions.import_roots(repo)]
                self.assertEqual(got, want)
                self.assertEqual(mminions.python_packages(repo), ["single"] if name == "module" else ["pkg"])

    def test_lib_layout_candidate_is_verified(self):
        root = temp_dir(self)
        repo = make_repo(root / "r", {"lib/calc/__init__.py": CALC_INIT, "lib/calc/ops.py": CALC_OPS})
        verified = mminions.verify_candidate(candidate("from calc import mean\nmean([])\n"), repo, {}, runs=2)
        self.assertEqual(verified["status"], "reproduced", verified)
        self.assertEqual(verified["pythonpath"], ["lib", "."])

    def test_worktree_ahead_of_an_installed_copy(self):
        root = temp_dir(self)
        site = root / "site"
        (site / "calc").mkdir(parents=True)
        (site / "calc" / "__init__.py").write_text("def mean(xs):\n    return 0.0\n")  # an installed, fixed copy
        repo = make_repo(root / "r", {"src/calc/__init__.py": CALC_INIT, "src/calc/ops.py": CALC_OPS})
        cand = candidate("from calc import mean\nmean([])\n")
        verified = mminions.verify_candidate(cand, repo, {}, runs=1, runner=lambda argv, **kw: mminions.run_cmd(
            argv, **dict(kw, env=dict(kw["env"], PYTHONPATH=kw["env"]["PYTHONPATH"] + ":" + str(site)))))
        self.assertEqual(verified["status"], "reproduced", verified)

    def test_layout_moves_between_commits(self):
        root = temp_dir(self)
        repo = make_repo(root / "r", {"calc/__init__.py": CALC_INIT, "calc/ops.py": CALC_OPS_FIXED})
        old = git(repo, "rev-parse", "HEAD").strip()
        git(repo, "mv", "calc", "src")
        (repo / "src" / "calc").mkdir()
        for name in ("__init__.py", "ops.py"):
            git(repo, "mv", f"src/{name}", f"src/calc/{name}")
        commit_files(repo, {"src/calc/ops.py": CALC_OPS}, "move to src/ and break mean", 1)
        self.assertEqual([p.name for p in mminions.import_roots(repo)], ["src", "r"])
        git(repo, "checkout", "-q", old)
        self.assertEqual([p.name for p in mminions.import_roots(repo)], ["r"])


if __name__ == "__main__":
    unittest.main()


MEDIAN_UPPER = CALC_OPS  # median of an even list: the upper middle value
MEDIAN_MIDPOINT = CALC_OPS.replace("    return s[len(s) // 2]",
                                   "    if len(s) % 2:\n        return s[len(s) // 2]\n"
                                   "    return (s[len(s) // 2 - 1] + s[len(s) // 2]) / 2")
GENERATED_CHECK = """from calc import median
import ast as _mm_ast


def _mm_norm(text):
    return repr(_mm_ast.literal_eval(text.strip()))


x = [10, 20, 30, 40]  # the report's list
_mm_got = str(' '.join(map(str, (median(x),))))
_mm_want = '25.0'
assert _mm_norm(_mm_got) == _mm_norm(_mm_want), 'expected %r, got %r' % (_mm_want, _mm_got)
"""


class PlainCheckTests(unittest.TestCase):
    """A generated check shown as a maintainer would write it, adopted only where its runs show
    it means the same (issue 27)."""

    def test_the_generated_names_go_and_the_rest_stays_as_written(self):
        plain = mminions.plain_check(GENERATED_CHECK)
        self.assertEqual(plain, "from calc import median\n\n\nx = [10, 20, 30, 40]  # the report's list\n"
                                "got = median(x)\nassert got == 25.0, 'median(x) gave %r, expected 25.0' % (got,)\n")
        text = mminions.plain_check(GENERATED_CHECK.replace("'25.0'", "'50% done'"))  # not a literal: compared as text
        self.assertIn("got = str(median(x))\nassert got == '50% done', ", text)
        with self.assertRaises(AssertionError) as caught:
            exec(compile(text.replace("from calc import median\n", ""), "repro.py", "exec"), {"median": lambda xs: 30})  # noqa: S102
        self.assertEqual(str(caught.exception), "str(median(x)) gave '30', expected '50% done'")
        self.assertIsNone(mminions.plain_check("from calc import mean\nmean([])\n"))
        namespace: dict = {"median": lambda xs: 30}
        with self.assertRaises(AssertionError) as caught:
            exec(compile(plain.replace("from calc import median\n", ""), "repro.py", "exec"), namespace)  # noqa: S102
        self.assertEqual(str(caught.exception), "median(x) gave 30, expected 25.0")

    def run_median(self, *args):
        root = temp_dir(self)
        repo = make_repo(root / "repo", {"calc/__init__.py": CALC_INIT, "calc/ops.py": MEDIAN_UPPER})
        git(repo, "checkout", "-q", "-b", "fix")
        commit_files(repo, {"calc/ops.py": MEDIAN_MIDPOINT}, "fix median", 3)
        git(repo, "checkout", "-q", "main")
        issue = root / "issue.md"
        issue.write_text("# median of an even list is wrong\n\n```python\nfrom calc import median\n"
                         "print(median([10, 20, 30, 40]))\n```\n\nIt prints `30`; expected `25.0`.\n")
        result = run_cli("run", "--issue-file", str(issue), "--repo-path", str(repo), "--agent", "builtin",
                         "--min-workers", "1", "--no-triage", "--runs-root", str(root / "runs"),
                         "--tmux-socket", private_socket(self), *args, env={"MMINIONS_WORKTREE_ROOT": str(root / "wt")})
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        run_dir = only_run(root / "runs")
        return result, run_dir, (run_dir / "repro" / "minimal_repro.py").read_text(), repo

    def test_with_the_fix_the_reproducer_is_plain_and_says_what_came_out(self):
        result, run_dir, script, repo = self.run_median("--fixed-ref", "fix", "--no-bisect")
        self.assertNotIn("_mm_", script)
        self.assertIn("got = median([10, 20, 30, 40])\nassert got == 25.0", script)
        self.assertIn("median([10, 20, 30, 40]) gave 30, expected 25.0", result.stdout)  # the verdict says it
        self.assertIn("it passes at the fix fix", result.stdout)
        self.assertEqual(run_py(script, repo).returncode, 1)
        final = (run_dir / "final.md").read_text()
        self.assertIn("Its check is written plainly", final)
        self.assertNotIn("_mm_", (run_dir / "repro" / "test_repro.py").read_text())

    def test_without_a_reference_the_generated_check_stays(self):
        _, run_dir, script, _ = self.run_median("--no-bisect")
        self.assertIn("_mm_norm", script)  # nothing showed a plain form would mean the same
        self.assertNotIn("plain", __import__("json").loads((run_dir / "repro" / "minimize.json").read_text()))
