"""Filesystem & JSON: atomic writes, tolerant reads, events, run ids, RunPaths."""

import doctest
import json
import multiprocessing
import threading
import unittest

import parallel

from helpers import mminions, temp_dir


def load_tests(loader, tests, ignore):
    tests = parallel.load_tests(loader, tests, ignore)  # the classes in the pool; doctests here
    tests.addTests(doctest.DocTestSuite(mminions))
    return tests


def _append_many(run_dir: str, who: str, count: int) -> None:
    for i in range(count):
        mminions.append_event(run_dir, "tick", who=who, i=i, pad="x" * 200)


class AtomicWriteTests(unittest.TestCase):
    def test_reader_never_sees_partial_file(self):
        root = temp_dir(self)
        path = root / "big.json"
        payload = {"data": ["y" * 1000] * 1000}  # ~1 MB
        mminions.atomic_write_json(path, {"gen": -1, **payload})
        stop = threading.Event()
        bad: list[str] = []
        reads = [0]

        def reader():
            while not stop.is_set():
                try:
                    obj = json.loads(path.read_text())
                    reads[0] += 1
                    if len(obj["data"]) != 1000:
                        bad.append("short")
                except (json.JSONDecodeError, KeyError) as exc:
                    bad.append(repr(exc))

        thread = threading.Thread(target=reader)
        thread.start()
        try:
            for gen in range(200):
                mminions.atomic_write_json(path, {"gen": gen, **payload})
        finally:
            stop.set()
            thread.join()
        self.assertEqual(bad, [])
        self.assertGreater(reads[0], 0)
        self.assertEqual(json.loads(path.read_text())["gen"], 199)
        self.assertEqual([p.name for p in root.iterdir()], ["big.json"])  # no temp files left

    def test_read_json_missing_and_corrupt(self):
        root = temp_dir(self)
        self.assertEqual(mminions.read_json(root / "nope.json", {"d": 1}), {"d": 1})
        (root / "bad.json").write_text("{not json")
        with self.assertRaises(mminions.MminionsError) as ctx:
            mminions.read_json(root / "bad.json")
        self.assertIn("bad.json is not valid JSON", str(ctx.exception))

    def test_failed_write_leaves_old_file(self):
        root = temp_dir(self)
        path = root / "a.json"
        mminions.atomic_write_json(path, {"v": 1})
        with self.assertRaises(TypeError):
            mminions.atomic_write_bytes(path, "not bytes")  # type: ignore[arg-type]
        self.assertEqual(json.loads(path.read_text()), {"v": 1})
        self.assertEqual(len(list(root.iterdir())), 1)


class EventTests(unittest.TestCase):
    def test_two_processes_append_500_each(self):
        root = temp_dir(self)
        ctx = multiprocessing.get_context("fork")
        procs = [ctx.Process(target=_append_many, args=(str(root), who, 500)) for who in "ab"]
        for p in procs:
            p.start()
        for p in procs:
            p.join(60)
            self.assertEqual(p.exitcode, 0)
        lines = (root / "events.jsonl").read_text().splitlines()
        self.assertEqual(len(lines), 1000)
        events = [json.loads(line) for line in lines]
        self.assertEqual(sorted(e["i"] for e in events if e["who"] == "a"), list(range(500)))
        self.assertTrue(all(e["ts"].endswith("Z") for e in events))
        self.assertEqual(len(mminions.read_events(root)), 1000)

    def test_torn_last_line_ignored(self):
        root = temp_dir(self)
        mminions.append_event(root, "phase", phase="issue")
        with open(root / "events.jsonl", "a") as fh:
            fh.write('{"kind": "pha')
        self.assertEqual([e["kind"] for e in mminions.read_events(root)], ["phase"])


class RunIdTests(unittest.TestCase):
    def test_thousand_unique_valid_ids(self):
        ids = {mminions.new_run_id() for _ in range(1000)}
        # 4 hex digits in the same second: collisions are possible in theory, so the
        # manager also creates the directory exclusively; here most must be distinct.
        self.assertGreater(len(ids), 950)
        for rid in ids:
            self.assertEqual(mminions.validate_run_id(rid), rid)

    def test_allocate_run_dir_never_collides(self):
        root = temp_dir(self)
        ids = [mminions.allocate_run_dir(root)[0] for _ in range(1000)]
        self.assertEqual(len(set(ids)), 1000)
        self.assertEqual(len(list(root.iterdir())), 1000)

    def test_bad_ids_refused(self):
        for bad in ["../x", "", "run-a/b", "run-" + "a" * 65, "run-.", "run-..", None, 7,
                    "run-a\n", "RUN-x", "run-a b"]:
            with self.assertRaises(mminions.UsageError, msg=repr(bad)):
                mminions.validate_run_id(bad)

    def test_runpaths(self):
        root = temp_dir(self)
        paths = mminions.RunPaths(root, "run-20260101000000-abcd")
        self.assertEqual(paths.issue_json, root / "run-20260101000000-abcd" / "issue.json")
        self.assertEqual(paths.candidate_json("w2").name, "w2.json")
        self.assertEqual(paths.minimal_repro("py").name, "minimal_repro.py")
        self.assertEqual(paths.minimal_repro("../sh").name, "minimal_repro.sh")
        with self.assertRaises(mminions.UsageError):
            paths.worker_dir("../w1")
        with self.assertRaises(mminions.UsageError):
            mminions.RunPaths(root, "../etc")


if __name__ == "__main__":
    unittest.main()
