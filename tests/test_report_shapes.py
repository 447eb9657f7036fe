"""The built-in agent on the shapes real reports take (texts written here, in those shapes):
where the code is, how the failure is shown, what the reporter expected.  Each case runs on
a generated package with a bug and checks the candidate is verified there; each check of
behaviour is also run on the fixed package, where it must pass (fail-to-pass)."""

import unittest

from helpers import make_repo, mminions, run_py
from parallel import load_tests  # noqa: F401  (the suite's classes run in a pool: tests/parallel.py)

CORE = '''import datetime

__all__ = ["mean", "Span", "render", "split_words", "label", "parse_level", "describe", "stamp", "settle", "loads",
           "announce"]

LEVELS = {"low": 1, "high": 2}


def mean(xs):
    total = sum(xs)
    return total / len(xs)


class Span:
    """Like range(), for the reports that compare the two."""

    def __init__(self, start, stop, step=1):
        self.start, self.stop, self.step = start, stop, step

    def __iter__(self):
        return iter(range(self.start, self.stop, self.step))

    def __eq__(self, other):
        return (self.start, self.stop, self.step) == (other.start, other.stop, other.step)

    def __repr__(self):
        return f"Span({self.start}, {self.stop}, {self.step})"


def render(items):
    out = ["<ul>"]
    for item in items:
        if item.startswith("<!--"):
            break
        out.append(f"<li>{item}</li>")
    out.append("</ul>")
    return "\\n".join(out)


def split_words(text):
    return text.split(" ")


def label(code):
    return code[0].upper()


def parse_level(text):
    if not text:
        raise KeyError("unknown level among the "
                       "levels known here")
    return LEVELS[text.strip().lower()]


def describe(args):
    return "args: " + ",".join(args)


class Stamp:
    def __init__(self, moment):
        self.moment = moment

    def __repr__(self):
        return f"<Stamp [{self.moment.isoformat()}]>"


def stamp(offset=0):
    now = datetime.datetime.now(datetime.timezone.utc)
    return Stamp(now)


def settle(n):
    while n > 0:
        n = n - 0
    return n


def loads(text):
    return text.replace("\\r\\n", "\\n")


def announce(items):
    import sys
    for item in items[:-1]:
        print("item:", item, file=sys.stderr)
'''
FIXES = [("    total = sum(xs)\n", "    if not xs:\n        return 0.0\n    total = sum(xs)\n"),
         ("return (self.start, self.stop, self.step) == (other.start, other.stop, other.step)",
          "return list(self) == list(other)"),
         ("            break\n", "            continue\n"),
         ('return text.split(" ")', "return text.split()"),
         ("    return code[0].upper()", "    if not code:\n        raise TallyError('empty code')\n    return code[0].upper()"),
         ("    return LEVELS[text.strip().lower()]",
          "    if text.strip().lower() not in LEVELS:\n        raise LevelError(f'unknown level {text!r}')\n"
          "    return LEVELS[text.strip().lower()]"),
         ('",".join(args)', '", ".join(args)'),
         ("    return Stamp(now)", "    return Stamp(now.astimezone(datetime.timezone(datetime.timedelta(hours=offset))))"),
         ("        n = n - 0\n", "        n = n - 1\n"),
         ("    return text.replace(", "    if not isinstance(text, str):\n"
          "        raise TypeError(f'Expected str object, not {type(text).__name__!r}')\n    return text.replace("),
         ("items[:-1]", "items")]
FILES = {"tally/__init__.py": "from .core import *\nfrom .errors import TallyError, LevelError\n",
         "tally/errors.py": "class TallyError(ValueError):\n    pass\n\n\nclass LevelError(TallyError):\n    pass\n",
         "tally/core.py": "from .errors import LevelError, TallyError\n" + CORE}
TB = ('Traceback (most recent call last):\n  File "t.py", line 2, in <module>\n'
      '  File "/venv/lib/python3.11/site-packages/tally/core.py", line 9, in mean\n    return total / len(xs)\n'
      '           ~~~~~~^~~~~~~~~\nZeroDivisionError: division by zero\n')


def fixed_files():
    files = dict(FILES)
    for old, new in FIXES:
        assert old in files["tally/core.py"], old
        files["tally/core.py"] = files["tally/core.py"].replace(old, new)
    return files


class ShapeCase(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        import shutil
        import tempfile
        from pathlib import Path
        cls.root = Path(tempfile.mkdtemp(prefix="mmt-shapes-"))
        cls.addClassCleanup(shutil.rmtree, cls.root, True)
        cls.buggy = make_repo(cls.root / "buggy", FILES)
        cls.fixed = make_repo(cls.root / "fixed", fixed_files())

    def report(self, markdown, comments=()):
        title, body = mminions.parse_markdown_issue(markdown)
        raw = [{"user": {"login": "r"}, "body": c} for c in comments]
        self.issue = mminions.normalize_issue({"title": title, "body": body}, raw, "file", "test.md")
        self.result = mminions.builtin_repro(self.issue, self.buggy, "w1", timeout=20)
        return self.result

    def verified(self):
        """Every candidate, verified by mminions on the buggy package."""
        self.assertTrue(self.result["candidates"], self.result["notes"])
        out = []
        for cand in self.result["candidates"]:
            self.assertEqual(mminions.validate_schema({"candidates": [cand], "notes": ""}, mminions.REPRO_SCHEMA), [])
            v = mminions.verify_candidate(cand, self.buggy, self.issue["signals"], runs=2, timeout=20)
            self.assertEqual(v["status"], "reproduced", (cand["script"], v))
            out.append(cand)
        return out

    def fail_to_pass(self):
        """The candidates that pass on the fixed package (at least one must)."""
        good = [c for c in self.verified() if run_py(c["script"], self.fixed).returncode == 0]
        self.assertTrue(good, [c["script"] for c in self.result["candidates"]])
        return good


class WhereTheCodeIs(ShapeCase):
    def test_indented_code_block(self):
        self.report(f"# mean fails on empty input\n\nI ran:\n\n    from tally import mean\n    mean([])\n\nand got\n\n```\n{TB}```\n")
        self.fail_to_pass()

    def test_bare_code_lines_in_prose(self):
        self.report("# mean of nothing\n\nThis line\nfrom tally import mean; mean([])\nfails with ZeroDivisionError.\n")
        self.fail_to_pass()

    def test_inline_one_liner(self):
        self.report("# mean crashes\n\nCalling `tally.mean([])` gives\n\nZeroDivisionError: division by zero\n")
        self.fail_to_pass()

    def test_code_in_a_later_comment(self):
        self.report("# mean crashes\n\nSee below.", [f"Here it is:\n\n```py\nimport tally\ntally.mean([])\n```\n\n```\n{TB}```"])
        self.fail_to_pass()

    def test_single_prompt_console(self):
        self.report(f"# mean\n\n```\n> import tally\n> tally.mean([])\n{TB}```\n")
        self.fail_to_pass()

    def test_ipython_session_and_traceback(self):
        self.report("# mean\n\n```ipython\nIn [1]: import tally\n\nIn [2]: tally.mean([])\n"
                    "---------------------------------------------------------------------------\n"
                    "ZeroDivisionError                         Traceback (most recent call last)\n"
                    "Cell In[2], line 1\n----> 1 tally.mean([])\n\n"
                    "File ~/venv/lib/python3.11/site-packages/tally/core.py:9, in mean(xs)\n"
                    "      7 def mean(xs):\n      8     total = sum(xs)\n----> 9     return total / len(xs)\n\n"
                    "ZeroDivisionError: division by zero\n```\n")
        self.assertEqual(self.issue["signals"]["exception_types"], ["ZeroDivisionError"])
        self.fail_to_pass()

    def test_python_ic_alias(self):
        self.report('# mean\n\n```console\n$ python -ic "import tally as t"\n>>> t.mean([])\n' + TB + "```\n")
        cand = self.fail_to_pass()[0]
        self.assertIn("import tally as t", cand["script"])

    def test_function_body_fragment(self):
        self.report("# level\n\n```python\ncode = ''\nreturn {'first': label(code)}\n```\n\nIt raises `IndexError`; "
                    "in 1.0 it raised the library's own error: the exception type changed from `tally.TallyError` "
                    "to `IndexError`.\n")
        self.assertEqual(self.issue["signals"]["expected_errors"], ["tally.TallyError"])
        good = self.fail_to_pass()
        self.assertIn("except (tally.TallyError,)", good[0]["script"])


class HowTheFailureIsShown(ShapeCase):
    def test_pytest_e_lines(self):
        self.report("# CI fails\n\n```python\nfrom tally import mean\nmean([])\n```\n\n```\n"
                    "tests/test_x.py:3: in test_mean\n    mean([])\nE   ZeroDivisionError: division by zero\n```\n")
        self.assertEqual(self.issue["signals"]["exception_types"], ["ZeroDivisionError"])
        self.fail_to_pass()

    def test_traceback_without_its_header(self):
        self.report('# mean\n\n```python\nimport tally\ntally.mean([])\n```\n\n```\n'
                    '  File "/srv/app/stats.py", line 40, in summary\n    return tally.mean(values)\n'
                    '  File "/venv/site-packages/tally/core.py", line 9, in mean\n    return total / len(xs)\n'
                    'ZeroDivisionError: division by zero\n```\n')
        self.assertEqual(len(self.issue["signals"]["tracebacks"]), 1)
        self.assertEqual(self.issue["signals"]["tracebacks"][0]["frames"][-1]["function"], "mean")
        self.fail_to_pass()

    def test_message_cut_off_by_the_reporter(self):
        self.report("# mean\n\n```python\nimport tally\ntally.mean([])\n```\n\n```\nZeroDivisionError: division by ze...\n```\n")
        self.assertEqual(self.verified()[0]["claimed_failure_signature"], "ZeroDivisionError: division by zero")

    def test_exception_named_in_words_only(self):
        self.report("# mean\n\n```python\nimport tally\ntally.mean([])\n```\n\nIt fails with a `ZeroDivisionError` "
                    "when the list is empty.\n")
        self.fail_to_pass()

    def test_chained_traceback_matches_the_first_exception(self):
        self.report("# level\n\n```python\nimport tally\ntally.parse_level('medium')\n```\n\n```\n"
                    "Traceback (most recent call last):\n  File \"a.py\", line 2, in <module>\nKeyError: 'medium'\n\n"
                    "During handling of the above exception, another exception occurred:\n\n"
                    "Traceback (most recent call last):\n  File \"app.py\", line 9, in load\n"
                    "app.errors.ConfigProblem: bad level\n```\n")
        self.assertIn("app.errors.ConfigProblem", self.issue["signals"]["exception_types"])
        self.assertEqual(self.verified()[-1]["claimed_failure_signature"], "KeyError: 'medium'")

    def test_dotted_name_without_error_suffix(self):
        signals = mminions.extract_signals([("body", "It ends with\n\n    decimal.InvalidOperation: [<class 'x'>]\n")])
        self.assertEqual(signals["exception_types"], ["decimal.InvalidOperation"])


class WhatTheReporterExpected(ShapeCase):
    def check_candidates(self):
        checks = [c for c in self.fail_to_pass() if c["candidate_id"].endswith("-check")]
        self.assertTrue(checks, self.result["notes"])
        return checks

    def test_names_used_but_never_imported(self):
        self.report("# equal spans\n\n```pycon\n>>> json.dumps(Span(2, 3, 1) == Span(2, 3, 5))\n'false'\n```\n\n"
                    "Both hold [2], so this should be `true`.\n")
        script = self.result["candidates"][0]["script"] if self.result["candidates"] else ""
        self.assertIn("from tally import Span", script + self.result["notes"])
        self.assertIn("import json", script + self.result["notes"])

    def test_compared_with_the_builtin_it_imitates(self):
        self.report("# Span equality differs from range\n\n```pycon\n>>> range(2, 3, 1) == range(2, 3, 5)\nTrue\n"
                    ">>> from tally import Span\n>>> Span(2, 3, 1) == Span(2, 3, 5)\nFalse\n```\n")
        self.check_candidates()

    def test_expected_and_actual_html_under_bold_labels(self):
        self.report("# comments cut the list\n\n```python\nimport tally\ntally.render(['a', '<!-- x -->', 'b'])\n```\n\n"
                    "**Expected:**\n```html\n<ul>\n<li>a</li>\n<li>b</li>\n</ul>\n```\n\n**Actual:**\n```html\n<ul>\n"
                    "<li>a</li>\n</ul>\n```\n")
        self.check_candidates()

    def test_returns_x_but_should_return_y(self):
        self.report("# split\n\n```python\nimport tally\nprint(tally.split_words('a  b'))\n```\n\n"
                    "It returns `['a', '', 'b']` but should return `['a', 'b']`.\n")
        self.check_candidates()

    def test_expected_and_actual_on_two_lines(self):
        self.report("# split\n\n```python\nimport tally\nprint(tally.split_words('x  y'))\n```\n\n"
                    "Expected: `['x', 'y']`\nActual: `['x', '', 'y']`\n")
        self.check_candidates()

    def test_outputs_of_two_versions_in_comments(self):
        self.report("# split changed\n\n```python\nfrom tally import split_words\n"
                    "# tally 1.0 -> ['a', 'b']\n# tally 1.1 -> ['a', '', 'b']\nprint(split_words('a  b'))\n```\n")
        self.check_candidates()

    def test_console_sessions_of_two_versions(self):
        self.report("# describe output changed\n\n```python\nimport sys\nimport tally\n\nif __name__ == '__main__':\n"
                    "    print(tally.describe(sys.argv[1:]))\n```\n\n```console\n$ pip install tally==1.1\n"
                    "$ python show.py a b\nargs: a,b\n\n$ pip install tally==1.0\n$ python show.py a b\nargs: a, b\n```\n")
        check = self.check_candidates()[0]
        self.assertIn("show.py", check["script"])

    def unlike_candidates(self):
        """Checks that only the output the report calls wrong is gone: fail-to-pass, and said so."""
        unlike = [c for c in self.fail_to_pass() if c["candidate_id"].endswith("-unlike")]
        self.assertTrue(unlike, self.result["notes"])
        for cand in unlike:
            self.assertEqual(mminions.check_kind(cand["script"]).name, "checks the reported output is gone")
        self.assertIn("only check that the output the report calls wrong is gone", self.result["notes"])
        return unlike

    def test_only_the_wrong_output_is_shown_in_a_comment(self):
        self.report("# split\n\n```python\nfrom tally import split_words\nprint(split_words('a  b'))\n"
                    "# Output:\n# ['a', '', 'b']\n```\n\nThe empty string should not be there.\n")
        self.unlike_candidates()

    def test_only_the_wrong_output_is_shown_in_the_next_block(self):
        self.report("# comments cut the list\n\n```\nimport tally\nprint(tally.render(['a', '<!-- x -->', 'b']))\n```\n"
                    "```\n<ul>\n<li>a</li>\n</ul>\n```\n\nThe items after the comment are lost.\n")
        script = self.unlike_candidates()[0]["script"]
        self.assertIn("redirect_stdout", script)

    def test_a_wrong_value_shown_with_the_moment_it_ran(self):
        # the reporter's moment differs from this run's; the offset it shows is the bug
        self.report("# stamp ignores offset\n\n```pycon\n>>> import tally\n>>> tally.stamp(offset=2)\n"
                    "<Stamp [2019-08-01T18:30:24.799081+00:00]>\n```\n\nThe offset is silently dropped.\n")
        script = self.unlike_candidates()[0]["script"]
        self.assertIn("<moment>", script)

    def test_output_this_commit_does_not_print_is_not_called_wrong(self):
        # what the report shows is not what this code prints: no evidence of the bug here
        self.report("# split\n\n```python\nfrom tally import split_words\nprint(split_words('a  b'))\n```\n"
                    "```\n['a', 'b', 'c']\n```\n")
        self.assertEqual(self.result["candidates"], [])
        self.assertIn("does not reproduce at this commit", self.result["notes"])

    def test_should_raise_instead(self):
        self.report("# label('')\n\n```pycon\n>>> import tally\n>>> tally.label('')\nTraceback (most recent call last):\n"
                    "  File \"<stdin>\", line 1, in <module>\nIndexError: string index out of range\n```\n\n"
                    "It should raise `TallyError` instead of `IndexError`.\n")
        checks = self.check_candidates()
        self.assertIn("TallyError", checks[0]["script"])
        crash = [c for c in self.result["candidates"] if c["candidate_id"].endswith("-crash")]
        self.assertNotEqual(run_py(crash[0]["script"], self.fixed).returncode, 0)  # only the check passes there

    def test_builtin_error_escaping_a_library_with_its_own(self):
        self.report("# KeyError from parse_level\n\n```pycon\n>>> import tally\n>>> tally.parse_level('medium')\n"
                    "Traceback (most recent call last):\n  File \"<stdin>\", line 1, in <module>\nKeyError: 'medium'\n```\n")
        self.check_candidates()

    def test_fuzz_script_that_prints_its_crashes(self):
        self.report("# crashes found by fuzzing\n\n```python\nimport tally\n\nfor data in ([1, 2], [], [3]):\n"
                    "    try:\n        print(tally.mean(data))\n    except Exception as e:\n"
                    "        print('Crash confirmed!', repr(e))\n```\n\nSome inputs crash the library.\n")
        self.check_candidates()


PLUG_INIT = '''import importlib
import importlib.metadata


def load(name):
    """A format by its entry-point name (an installed copy declares them) or a dotted path."""
    for ep in importlib.metadata.entry_points(group="plug.formats"):
        if ep.name == name:
            return ep.load()
    return importlib.import_module(name)


def render(value, *formats):
    for fmt in formats:
        value = load(fmt)().render(value)
    return value
'''
PLUG_FORMATS = "class Upper:\n    def render(self, v):\n        return v.upper()\n\n\n" \
               "class Shout:\n    def render(self, v):\n        return render(v, 'upper') + '!'[5]\n\n\n" \
               "from plug import render\n"
PLUG_PYPROJECT = ('[project]\nname = "plug"\nversion = "1.0"\n\n[project.entry-points."plug.formats"]\n'
                  'upper = "plug.formats:Upper"\nshout = "plug.formats:Shout"\n')


class ShapesSeenOnUnseenReports(ShapeCase):
    """Shapes found on the tuning half of bench/corpus (issue 26), each as a class."""

    def test_a_block_ending_in_its_own_error_line(self):
        self.report("# mean\n\n    from tally import mean\n    print(mean([1]))\n    mean([])\n\n"
                    "    ZeroDivisionError: division by zero\n")
        self.fail_to_pass()

    def test_python_2_print_and_names_never_imported(self):
        self.report("# split\n\n```python\nfrom tally import split_words\nprint split_words(unicode('a  b'))\n"
                    "# Output: ['a', '', 'b']\n```\n\nThe empty string should not be there.\n")
        script = self.fail_to_pass()[0]["script"]
        self.assertIn("unicode = str", script)

    def test_a_test_it_never_calls_with_nose_asserts(self):
        self.report("# split\n\n```python\nfrom nose.tools import assert_equal\nimport tally\n\n"
                    "def test_split():\n    assert_equal(tally.split_words('a  b'), ['a', 'b'])\n```\n")
        self.fail_to_pass()
        self.assertIn("called test_split", self.result["notes"])

    def test_its_own_assert_fails(self):
        self.report("# split\n\n```python\nimport tally\nwords = tally.split_words('a  b')\n"
                    "assert words == ['a', 'b'], words  # <-- this fails\n```\n")
        self.fail_to_pass()
        self.assertIn("the report's own check fails", self.result["notes"])

    def test_a_transcript_traceback_cut_before_its_error_line(self):
        self.report("# mean\n\nOn an empty list something is raised:\n\n```pycon\n>>> import tally\n>>> tally.mean([])\n"
                    "Traceback (most recent call last):\n  File \"<stdin>\", line 1, in <module>\n"
                    "  File \"venv/lib/python3.8/site-packages/tally/core.py\", line 12, in mean\n```\n")
        self.fail_to_pass()

    def test_an_error_said_in_the_passive(self):
        self.report("# mean\n\n```python\nimport tally\ntally.mean([])\n```\n\nThen a `ZeroDivisionError` is raised.\n")
        self.fail_to_pass()
        self.assertEqual(self.issue["signals"]["exception_types"], ["ZeroDivisionError"])

    def test_the_same_error_with_a_wrong_message(self):
        self.report("# Incorrect error message\n\n```\n>>> import tally\n>>> tally.loads(b'x')\n"
                    "TypeError: a bytes-like object is required, not 'str'\n```\n\nI passed bytes; the message says "
                    "the opposite of what the function wants.\n")
        good = self.fail_to_pass()
        self.assertTrue(all("not in str(_mm_error)" in c["script"] for c in good), good)

    def test_a_hang(self):
        self.report("# settle never returns\n\n```python\nimport tally\ntally.settle(3)\n```\n\nIt hangs forever.\n")
        good = self.fail_to_pass()
        self.assertIn("still running after", good[0]["claimed_failure_signature"])

    def test_an_output_block_the_words_before_it_name(self):
        # the shown output happens to parse as Python; "result" before it says what it is
        self.report("# render\n\n```python\nimport tally\nprint(tally.render(['a', '<!-- x -->', 'b']))\n```\n"
                    "result\n```\n<ul>\n<li>a</li>\n</ul>\n```\n\nThe items after the comment are lost.\n")
        self.unlike_candidates()

    def test_an_output_laid_out_another_way(self):
        # a pretty printer's layout over lines: the same value as Python reads it
        self.report("# split\n\n```python\nimport tally\nfrom rich import print\nprint(tally.split_words('a  b'))\n```\n"
                    "Output:\n```python\n[\n    'a',\n    '',\n    'b'\n]\n```\n\nThe empty string is wrong.\n")
        self.unlike_candidates()

    def test_expected_and_actual_output_on_stderr(self):
        self.report("# announce drops one\n\n```python\nimport tally\ntally.announce(['a', 'b'])\n```\n\n"
                    "**Expected output**\n```\nitem: a\nitem: b\n```\n\n**Actual output**\n```\nitem: a\n```\n")
        self.check_candidates()

    check_candidates = WhatTheReporterExpected.check_candidates
    unlike_candidates = WhatTheReporterExpected.unlike_candidates


class AsInstalled(unittest.TestCase):
    """A project that reads its own version from package metadata, or from a module its
    build writes: a checkout has neither."""

    def test_metadata_and_a_build_written_version_module(self):
        import shutil
        import tempfile
        from pathlib import Path
        root = Path(tempfile.mkdtemp(prefix="mmt-inst-"))
        self.addCleanup(shutil.rmtree, root, True)
        for how, init in (("metadata", "from importlib.metadata import version\n__version__ = version('vers')\n"),
                          ("module", "from ._version import version as __version__\n")):
            with self.subTest(how):
                files = {"pyproject.toml": "[project]\nname = 'vers'\nversion = '1.2.3'\n",
                         "vers/__init__.py": init + "from .ops import half\n", "vers/ops.py": "def half(x):\n    return x // 2\n"}
                buggy = make_repo(root / how / "buggy", files)
                fixed = make_repo(root / how / "fixed", dict(files, **{"vers/ops.py": "def half(x):\n    return x / 2\n"}))
                title, body = mminions.parse_markdown_issue("# half\n\n```python\nimport vers\nprint(vers.half(3))\n```\n\n"
                                                            "Expected: `1.5`, got: `1`\n")
                issue = mminions.normalize_issue({"title": title, "body": body}, [], "file", "test.md")
                result = mminions.builtin_repro(issue, buggy, "w1", timeout=20)
                self.assertTrue(result["candidates"], result["notes"])
                self.assertIn("the project expects to be installed", result["notes"])
                script = result["candidates"][0]["script"]
                self.assertNotEqual(run_py(script, buggy).returncode, 0)
                self.assertEqual(run_py(script, fixed).returncode, 0, run_py(script, fixed).stderr)


LINT_CLI = '''import sys


def main():
    found = 0
    for path in sys.argv[1:]:
        with open(path) as fh:
            for n, line in enumerate(fh, 1):
                if len(line) > 10:
                    print(f"{path}:{n}:{len(line)}: line too long ({len(line)} > 10)")
                    found += 1
    return 1 if found else 0
'''


class TheProjectsToolOnAnInput(unittest.TestCase):
    """A linter's report: the code it is run on, and what it says (flake8's rule code on top)."""

    def test_warnings_shown_and_a_false_positive_in_words(self):
        import shutil
        import tempfile
        from pathlib import Path
        root = Path(tempfile.mkdtemp(prefix="mmt-lint-"))
        self.addCleanup(shutil.rmtree, root, True)
        files = {"pyproject.toml": "[project]\nname = 'lint'\nversion = '1.0'\n[project.scripts]\nlint = 'lint.cli:main'\n",
                 "lint/__init__.py": "", "lint/cli.py": LINT_CLI}
        buggy = make_repo(root / "buggy", files)
        fixed = make_repo(root / "fixed", dict(files, **{"lint/cli.py": LINT_CLI.replace("len(line) > 10",
                                                                                         "len(line.rstrip()) > 10")}))
        reports = ("# E501 on a line of ten\n\n```python\nx = 1\nabcde = 12\n```\n\n"
                   "```\n$ flake8 ten.py\nten.py:2:11: E501 line too long (11 > 10)\n```\n\nThe newline is counted.\n",
                   "# lint flags a line of ten\n\nRunning `lint` on\n\n```python\nabcde = 12\n```\n\n"
                   "incorrectly says the line is too long.\n")
        for report in reports:
            with self.subTest(report[:30]):
                title, body = mminions.parse_markdown_issue(report)
                issue = mminions.normalize_issue({"title": title, "body": body}, [], "file", "test.md")
                result = mminions.builtin_repro(issue, buggy, "w1", timeout=20)
                self.assertTrue(result["candidates"], result["notes"])
                self.assertIn("the project's `lint` on the report's body block 1", result["notes"])
                script = result["candidates"][0]["script"]
                self.assertNotEqual(run_py(script, buggy).returncode, 0)
                self.assertEqual(run_py(script, fixed).returncode, 0, run_py(script, fixed).stderr)


class PluginsByEntryPoint(unittest.TestCase):
    """A project that finds its plugins through entry points, which a checkout lacks."""

    def test_plugin_named_by_its_entry_point(self):
        import shutil
        import tempfile
        from pathlib import Path
        root = Path(tempfile.mkdtemp(prefix="mmt-plug-"))
        self.addCleanup(shutil.rmtree, root, True)
        files = {"pyproject.toml": PLUG_PYPROJECT, "plug/__init__.py": PLUG_INIT, "plug/formats.py": PLUG_FORMATS}
        buggy = make_repo(root / "buggy", files)
        fixed = make_repo(root / "fixed", dict(files, **{"plug/formats.py": PLUG_FORMATS.replace("'!'[5]", "'!'")}))
        self.assertEqual(mminions.project_index(buggy).plugins,
                         {"plug.formats": {"upper": "plug.formats:Upper", "shout": "plug.formats:Shout"}})
        title, body = mminions.parse_markdown_issue(
            "# shout crashes\n\n```python\nimport plug\nprint(plug.render('hi', 'shout'))\n```\n\n"
            "IndexError: string index out of range\n")
        issue = mminions.normalize_issue({"title": title, "body": body}, [], "file", "test.md")
        result = mminions.builtin_repro(issue, buggy, "w1", timeout=20)
        self.assertTrue(result["candidates"], result["notes"])
        self.assertIn("through entry points", result["notes"])
        cand = result["candidates"][0]
        self.assertEqual(cand["claimed_failure_signature"].split(":")[0], "IndexError")
        v = mminions.verify_candidate(cand, buggy, issue["signals"], runs=2, timeout=20)
        self.assertEqual(v["status"], "reproduced", v)
        broken = run_py(cand["script"], buggy)  # the same, run as the grader runs it: from a plain checkout
        self.assertIn("IndexError", broken.stderr)
        self.assertEqual(run_py(cand["script"], fixed).returncode, 0, run_py(cand["script"], fixed).stderr)
        prompt = mminions.build_prompt(mminions.ROLE_REPRO, issue, "w2", buggy, {})
        self.assertIn("the entry points it declares for its plugins (plug.formats) are not registered", prompt)


    def test_entry_points_from_each_kind_of_project_file(self):
        import shutil
        import tempfile
        from pathlib import Path
        root = Path(tempfile.mkdtemp(prefix="mmt-eps-"))
        self.addCleanup(shutil.rmtree, root, True)
        want = {"plug.formats": {"upper": "plug.formats:Upper", "raw": "plug.raw"}, "console_scripts": {"plug": "plug.cli:main"}}
        layouts = {
            "pyproject": {"pyproject.toml": '[project]\nname = "plug"\n[project.scripts]\nplug = "plug.cli:main"\n'
                                            '[project.entry-points."plug.formats"]\nupper = "plug.formats:Upper"\nraw = "plug.raw"\n'},
            "setup.cfg": {"setup.cfg": "[metadata]\nname = plug\n\n[options.entry_points]\nconsole_scripts =\n"
                                       "    plug = plug.cli:main\nplug.formats =\n    upper = plug.formats:Upper\n    raw = plug.raw\n"},
            "setup.py": {"setup.py": "from setuptools import setup\nsetup(name='plug', entry_points={\n"
                                     "    'console_scripts': ['plug = plug.cli:main'],\n"
                                     "    'plug.formats': ['upper = plug.formats:Upper', 'raw = plug.raw'],\n})\n"},
            "setup.py, INI text": {"setup.py": "from setuptools import setup\nsetup(name='plug', entry_points=\'\'\'\n"
                                               "    [console_scripts]\n    plug=plug.cli:main\n    [plug.formats]\n"
                                               "    upper = plug.formats:Upper\n    raw = plug.raw\n\'\'\')\n"},
        }
        for name, files in layouts.items():
            with self.subTest(name):
                (root / name).mkdir()
                for rel, text in files.items():
                    (root / name / rel).write_text(text)
                self.assertEqual(mminions.project_entry_points(root / name), want)
                self.assertEqual(mminions.project_index(root / name).scripts, {"plug": "plug.cli:main"})
        (root / "broken").mkdir()
        (root / "broken" / "pyproject.toml").write_text("[project\n")
        (root / "broken" / "setup.py").write_text("setup(entry_points=")
        self.assertEqual(mminions.project_entry_points(root / "broken"), {})


COUNT_CLI = '''import os
import sys

DEFAULT = os.path.join(os.getcwd(), "items.txt")  # read where the command starts, at import


def main():
    args = sys.argv[1:]
    with open(args[1] if len(args) > 1 else DEFAULT) as fh:
        items = fh.read().split("\\n")
    if args[:1] == ["count"]:
        print(len(items))
    return 0
'''
COUNT_FIX = ('items = fh.read().split("\\n")', 'items = [x for x in fh.read().split("\\n") if x.strip()]')


class ConsoleSessionsOfTheProjectsCommand(unittest.TestCase):
    """Reports that show a file (cat, a here-document) and the project's command run on it."""

    @classmethod
    def setUpClass(cls):
        import shutil
        import tempfile
        from pathlib import Path
        cls.root = Path(tempfile.mkdtemp(prefix="mmt-cli-"))
        cls.addClassCleanup(shutil.rmtree, cls.root, True)
        files = {"pyproject.toml": '[project]\nname = "counter"\n[project.scripts]\ncounter = "counter.cli:main"\n',
                 "counter/__init__.py": "", "counter/cli.py": COUNT_CLI}
        cls.buggy = make_repo(cls.root / "buggy", files)
        assert COUNT_FIX[0] in COUNT_CLI
        cls.fixed = make_repo(cls.root / "fixed", dict(files, **{"counter/cli.py": COUNT_CLI.replace(*COUNT_FIX)}))

    def reproduce(self, markdown, kind):
        title, body = mminions.parse_markdown_issue(markdown)
        issue = mminions.normalize_issue({"title": title, "body": body}, [], "file", "test.md")
        result = mminions.builtin_repro(issue, self.buggy, "w1", timeout=20)
        cands = [c for c in result["candidates"] if c["candidate_id"].endswith(kind)]
        self.assertTrue(cands, result["notes"])
        v = mminions.verify_candidate(cands[0], self.buggy, issue["signals"], runs=2, timeout=20)
        self.assertEqual(v["status"], "reproduced", v)
        self.assertNotEqual(run_py(cands[0]["script"], self.buggy).returncode, 0)
        fixed = run_py(cands[0]["script"], self.fixed)
        self.assertEqual(fixed.returncode, 0, fixed.stderr)
        return cands[0]

    def test_two_versions_of_the_command_on_a_file_it_cats(self):
        cand = self.reproduce("# count is off since 2.0\n\n```\n$ cat items.txt\na\n\nb\n```\n\nNow:\n\n"
                              "```console\n$ counter count\n4\n```\n\nIn 1.0 (right):\n\n```\n$ counter count\n2\n```\n",
                              "-check")
        self.assertIn("'items.txt': 'a\\n\\nb\\n'", cand["script"])

    def test_a_here_document_and_only_the_wrong_output(self):
        cand = self.reproduce("# blank lines are counted\n\n```sh\n$ cat > items.txt <<EOF\nx\n\ny\n\nz\nEOF\n"
                              "$ counter count\n6\n```\n\nBlank lines should not count.\n", "-unlike")
        self.assertEqual(mminions.check_kind(cand["script"]).name, "checks the reported output is gone")

    def test_files_outside_the_directory_are_not_written(self):
        title, body = mminions.parse_markdown_issue("# x\n\n```\n$ cat /etc/items.txt\na\n$ cat ../up.txt\nb\n"
                                                    "$ counter count /etc/items.txt\n2\n```\n")
        issue = mminions.normalize_issue({"title": title, "body": body}, [], "file", "test.md")
        session = mminions.cli_session(issue["signals"]["code_blocks"], {"counter": "counter.cli:main"})
        self.assertEqual(session["files"], {})
        self.assertEqual(session["runs"], [{"args": ["count", "/etc/items.txt"], "output": "2"}])


class NothingToRun(ShapeCase):
    def test_prose_only_points_at_the_code(self):
        result = self.report("# levels are case sensitive?\n\nWhen I pass a level with spaces to `parse_level` it "
                             "does not accept it. Maybe LEVELS should be normalised.\n")
        self.assertEqual(result["candidates"], [])
        self.assertIn("Next step: ask the reporter for a minimal Python snippet", result["notes"])
        self.assertIn("tally/core.py:", result["notes"])
        self.assertIn("(parse_level)", result["notes"])


    def test_a_quoted_message_and_linked_lines_are_pointed_at(self):
        # no snippet; the message it quotes is built from two string literals in the code
        result = self.report("# wrong message\n\nSee https://github.com/o/tally/blob/0123abc/tally/core.py#L12 "
                             "and https://github.com/o/tally/blob/0123abc/../../etc/passwd#L1\n\n"
                             "What I get now:\n\n```\nKeyError: 'unknown level \"{text}\" among the levels known here'\n```\n")
        self.assertEqual(result["candidates"], [])
        self.assertIn("tally/core.py:12 (linked)", result["notes"])
        self.assertNotIn("passwd", result["notes"])
        self.assertIn("(where the quoted error message is)", result["notes"])

    def test_quoted_library_lines_are_pointed_at(self):
        result = self.report("# too eager\n\nIn the library,\n\n```\nout.append(f\"<li>{item}</li>\")\n```\n\n"
                             "looks wrong to me when the item is a comment.\n")
        self.assertEqual(result["candidates"], [])
        self.assertIn("snippet that runs on its own", result["notes"])
        self.assertIn("tally/core.py:", result["notes"])
        self.assertIn("(the line the report quotes)", result["notes"])


class PromptTests(ShapeCase):
    def test_model_workers_get_the_same_help(self):
        self.report("# label('')\n\n```pycon\n>>> import tally\n>>> tally.label('')\n```\n\nIt should raise "
                    "`TallyError` instead of `IndexError`.\n")
        prompt = mminions.build_prompt(mminions.ROLE_REPRO, self.issue, "w2", self.buggy,
                                       {"earlier": ["w1-builtin-2-crash: flaky: reproduced in 1 of 2 runs; when "
                                                    "mminions ran it: exit 0, last lines:\n    ok"]})
        for needle in ("FAILS NOW and PASSES ONCE THE BUG IS FIXED", "catch exactly that type", "PYTHONPATH=.",
                       '"expected_errors": [\n  "TallyError"', ">>> tally.label('')", "exit 0, last lines"):
            self.assertIn(needle, prompt)


if __name__ == "__main__":
    unittest.main()
