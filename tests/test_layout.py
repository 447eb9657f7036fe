"""The one file stays navigable: the docstring's table of contents matches the numbered
banners, each section uses only the sections above it, and nothing outside the standard
library is imported."""

import ast
import re
import sys
import unittest

from helpers import MMINIONS_PY, TESTS_DIR, mminions
from parallel import load_tests  # noqa: F401  (the suite's classes run in a pool: tests/parallel.py)

SOURCE = MMINIONS_PY.read_text()
TREE = ast.parse(SOURCE)
BANNERS = [(i + 1, int(m.group(1)), m.group(2).strip(" =")) for i, line in enumerate(SOURCE.splitlines())
           if (m := re.match(r"# ==== (\d+)\. (.*)$", line))]


def section_of(lineno: int) -> int:
    return max((n for line, n, _ in BANNERS if line <= lineno), default=0)


def top_level_sections() -> dict[str, int]:
    """Each top-level function, class and assigned name: the section it is defined in."""
    defined = {}
    for node in TREE.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            defined[node.name] = section_of(node.lineno)
        elif isinstance(node, ast.Assign):
            defined.update({t.id: section_of(node.lineno) for t in node.targets if isinstance(t, ast.Name)})
    return defined


class LayoutTests(unittest.TestCase):
    def test_banners_numbered_in_order_and_listed_in_docstring(self):
        self.assertEqual([n for _, n, _ in BANNERS], list(range(1, len(BANNERS) + 1)))
        doc = ast.get_docstring(TREE)
        for _, n, title in BANNERS:
            first_word = title.split()[0]
            self.assertRegex(doc, rf"(?m)^\s+{n}\. {re.escape(first_word)}", title)

    def test_sub_banners_numbered_in_their_section_and_listed_in_docstring(self):
        doc = ast.get_docstring(TREE)
        seen: dict[int, list[int]] = {}
        for i, line in enumerate(SOURCE.splitlines(), 1):
            m = re.match(r"# ---- (\d+)\.(\d+) (.*?) -+$", line)
            if not m:
                self.assertNotRegex(line, r"^# -- \w", f"line {i}: an old-style sub-banner; number it")
                continue
            section, sub, title = int(m.group(1)), int(m.group(2)), m.group(3)
            self.assertEqual(section_of(i), section, f"line {i}: {line}")
            seen.setdefault(section, []).append(sub)
            self.assertIn(f"{section}.{sub} {title.split()[0]}", doc, title)
        for section, subs in seen.items():
            self.assertEqual(subs, list(range(1, len(subs) + 1)), f"section {section}")
        long_ones = [n for n in range(1, 14) if self.section_length(n) > 600]
        self.assertEqual([n for n in long_ones if n not in seen], [], "a long section gets sub-banners")

    @staticmethod
    def section_length(n: int) -> int:
        starts = {num: line for line, num, _ in BANNERS}
        return starts.get(n + 1, len(SOURCE.splitlines())) - starts[n]

    def test_each_section_uses_only_sections_above(self):
        defined = top_level_sections()
        upward = []
        for node in TREE.body:
            if isinstance(node, (ast.FunctionDef, ast.ClassDef, ast.Assign)):
                here = section_of(node.lineno)
                for sub in ast.walk(node):
                    if isinstance(sub, ast.Name) and defined.get(sub.id, 0) > here:
                        upward.append(f"{getattr(node, 'name', '?')} (section {here}) uses {sub.id} "
                                      f"(section {defined[sub.id]})")
        self.assertEqual(upward, [])

    def test_a_private_name_stays_in_its_section(self):
        """A _name is its section's own: what another section needs is public (shared helpers in §2)."""
        defined = top_level_sections()
        crossing = set()
        for node in TREE.body:
            if isinstance(node, (ast.FunctionDef, ast.ClassDef, ast.Assign)):
                here = section_of(node.lineno)
                crossing |= {f"{sub.id} (section {defined[sub.id]}, used in {here})" for sub in ast.walk(node)
                             if isinstance(sub, ast.Name) and sub.id.startswith("_") and not sub.id.startswith("__")
                             and defined.get(sub.id, here) != here}
        self.assertEqual(sorted(crossing), [])

    def test_standard_library_only(self):
        names = set()
        for node in ast.walk(TREE):
            if isinstance(node, ast.Import):
                names.update(a.name.split(".")[0] for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names.add(node.module.split(".")[0])
        self.assertEqual(sorted(n for n in names if n not in sys.stdlib_module_names and n != "__future__"), [])

    def test_verdicts_are_declared_once(self):
        """Every view of the verdicts (meanings, words, exit codes, which ones answer an
        issue) is derived from VERDICT_TABLE; a second hand-written copy would drift."""
        derived = {"VERDICTS", "VERDICT_WORDS", "DECISION_EXIT", "ANSWERING_VERDICTS", "VERDICT_BY_STATUS"}
        seen = set()
        for node in TREE.body:
            if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name) and node.targets[0].id in derived:
                seen.add(node.targets[0].id)
                names = {n.id for n in ast.walk(node.value) if isinstance(n, ast.Name)}
                self.assertIn("VERDICT_TABLE", names, node.targets[0].id)
        self.assertEqual(seen, derived)
        self.assertNotIn("VERDICT_HEADLINES", SOURCE)

    def test_routes_are_declared_once(self):
        """Dispatch and the OpenAPI document both come from ROUTES: no path is spelled out
        in the dispatcher, and every documented path is a route."""
        import mminions
        dispatch = next(n for n in TREE.body if isinstance(n, ast.FunctionDef) and n.name == "route")
        literals = [n.value for n in ast.walk(dispatch) if isinstance(n, ast.Constant) and isinstance(n.value, str)]
        self.assertEqual([v for v in literals if v.startswith("/api") or v == "/health"], [])
        self.assertEqual(set(mminions.OPENAPI["paths"]), {r.path for r in mminions.ROUTES if r.documented})
        self.assertNotIn("OPENAPI = {", SOURCE)

    def test_the_flows_name_functions_where_they_are(self):
        """The docstring's Flows say "10.4 start_worker": that function exists, in section 10."""
        flows = mminions.__doc__.split("Flows", 1)[1].split("Exit codes", 1)[0]
        where = {n.name: section_of(n.lineno) for n in TREE.body if isinstance(n, ast.FunctionDef)}
        named = re.findall(r"\b(\d+)(?:\.\d+)? ([a-z_]{4,})\b", flows)
        checked = [(int(sec), name) for sec, name in named if name in where]
        self.assertGreaterEqual(len(checked), 10, named)
        self.assertEqual([(sec, name) for sec, name in checked if where[name] != sec], [])

    def test_backends_are_declared_once(self):
        """A backend's name is a string literal only where the backends are declared (§8):
        the rest reads the table, so a new agent touches one place."""
        names = set(mminions.BACKEND_TABLE) - {"cmd", "builtin"}  # those two are also plain words
        outside = []
        for node in TREE.body:
            if isinstance(node, (ast.FunctionDef, ast.ClassDef, ast.Assign)) and section_of(node.lineno) != 8:
                for sub in ast.walk(node):
                    if isinstance(sub, ast.Constant) and sub.value in names:
                        outside.append(f"{getattr(node, 'name', '?')} (section {section_of(node.lineno)}): {sub.value!r}")
        self.assertEqual(outside, [])
        self.assertEqual(mminions.BACKENDS, tuple(mminions.BACKEND_TABLE))
        self.assertEqual(set(mminions.BACKEND_ENV) - {"manager"}, set(mminions.BACKEND_TABLE))

    def test_every_test_module_runs_in_the_pool(self):
        """A module without the pool's load_tests (at its top level, not in a string) would
        run serially in the main process, after everything else, and blow the suite's time."""
        missing = []
        for path in sorted(TESTS_DIR.glob("test_*.py")):
            tree = ast.parse(path.read_text())
            top = [n for n in tree.body if isinstance(n, ast.ImportFrom) and n.module == "parallel"]
            defined = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "load_tests"]
            if not top and not defined:
                missing.append(path.name)
        self.assertEqual(missing, [])


if __name__ == "__main__":
    unittest.main()
