"""The suite's test classes, run by a few worker processes at once.

Most of the suite's time is waiting (on tmux, git, subprocesses, timeouts), so it runs its
test classes in MMINIONS_TEST_JOBS worker processes (default: 2 per core, at most 6) while
`python3 -m unittest discover -s tests -p 'test_*.py'` stays the command: each test module
says ``from parallel import load_tests``, which hands its classes to one shared pool and
gives unittest, for each class, a suite that waits for that class's results and tells them
to unittest's own result (so the counts, the failures and their tracebacks are unittest's).
MMINIONS_TEST_JOBS=1 runs everything in this process, as plain unittest would.
MMINIONS_TEST_TIMES=FILE appends each class's wall time to FILE (one JSON line per class).

A worker runs one class at a time with every test of it in that process (setUpClass and
cleanups as usual); what tests print goes to the worker's stderr, which is shown only when
the worker itself dies.  Tests already run in isolation from each other (private tmux
sockets, temp dirs, ports chosen by the kernel), which is what makes this safe.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import subprocess
import sys
import threading
import time
import traceback
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
WORKER_ENV = "MMINIONS_TEST_WORKER"
TIMES_ENV = "MMINIONS_TEST_TIMES"  # a file each class's wall time is appended to, as a JSON line
JOBS = int(os.environ.get("MMINIONS_TEST_JOBS") or min(6, 2 * (os.cpu_count() or 1)))
# the classes that wait longest go first, so the pool never ends on one long class alone
CLASS_DEADLINE_SEC = 1200  # what the slowest class may take, pool waits included
SLOW_FIRST = ("test_unattended.SchemaFuzzTests", "test_unattended.FaultInjectionTests", "test_bisect.BisectPipelineTests",
              "test_unattended", "test_manager", "test_hostile", "test_report_shapes", "test_sweep", "test_server",
              "test_cli", "test_bisect", "test_projects", "test_real_clients")  # classes, then modules


# ---- in a worker process ------------------------------------------------------------------

class _Reporter(unittest.TestResult):
    """Each outcome as one JSON line on the protocol stream."""

    def __init__(self, out, unit):
        super().__init__()
        self.out, self.unit = out, unit

    def _send(self, test, outcome, text=""):
        record = {"unit": self.unit, "id": test.id(), "desc": str(test), "short": test.shortDescription(),
                  "outcome": outcome, "text": text}
        self.out.write(json.dumps(record) + "\n")
        self.out.flush()

    def addSuccess(self, test):
        self._send(test, "success")

    def addFailure(self, test, err):
        self._send(test, "failure", self._exc_info_to_string(err, test))

    def addError(self, test, err):
        self._send(test, "error", self._exc_info_to_string(err, test))

    def addSkip(self, test, reason):
        self._send(test, "skip", reason)

    def addExpectedFailure(self, test, err):
        self._send(test, "xfail", self._exc_info_to_string(err, test))

    def addUnexpectedSuccess(self, test):
        self._send(test, "xpass")

    def addSubTest(self, test, subtest, err):
        if err is not None:
            kind = "failure" if issubclass(err[0], test.failureException) else "error"
            self._send(subtest, kind, self._exc_info_to_string(err, subtest))


def _keep_tail(stream, tail, keep=200):
    """The last lines a worker printed, for the error when it dies."""
    with stream:
        for line in stream:
            tail.append(line)
            del tail[:-keep]


def worker_main():
    """Read `module.Class` names on stdin, run each, report on the saved stdout."""
    proto = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)  # what tests (and their children) print goes to stderr, never into the protocol
    sys.stdout = sys.stderr
    sys.path.insert(0, HERE)
    loader = unittest.TestLoader()
    for line in sys.stdin:
        unit = line.strip()
        if not unit:
            continue
        module_name, _, class_name = unit.partition(".")
        try:
            module = __import__(module_name)
            suite = loader.loadTestsFromTestCase(getattr(module, class_name))
            suite.run(_Reporter(proto, unit))
        except Exception:  # a class that cannot even load: one error for it
            proto.write(json.dumps({"unit": unit, "id": unit, "desc": unit, "short": None, "outcome": "error",
                                    "text": traceback.format_exc()}) + "\n")
        proto.write(json.dumps({"unit": unit, "done": True}) + "\n")
        proto.flush()


# ---- in the process unittest runs -----------------------------------------------------------

class _Remote:
    """A test that ran in a worker, as unittest's result reports it."""

    def __init__(self, record):
        self.record = record

    def id(self):
        return self.record["id"]

    def __str__(self):
        return self.record["desc"]

    def shortDescription(self):
        return self.record["short"]


class _RemoteError(Exception):
    """A failure's text, as the worker formatted it."""


class Pool:
    """The worker processes, fed classes in order, longest-waiting modules first."""

    def __init__(self):
        self.units: list[str] = []
        self.done: dict[str, threading.Event] = {}
        self.records: dict[str, list[dict]] = {}
        self.started = False
        self.lock = threading.Lock()

    def register(self, unit):
        self.units.append(unit)
        self.done[unit] = threading.Event()
        self.records[unit] = []

    def start(self):
        with self.lock:
            if self.started:
                return
            self.started = True
        rank = {m: i for i, m in enumerate(SLOW_FIRST)}
        todo = queue.Queue()
        for unit in sorted(self.units, key=lambda u: rank.get(u, rank.get(u.split(".")[0], len(rank)))):
            todo.put(unit)
        for _ in range(max(1, min(JOBS, len(self.units)))):
            threading.Thread(target=self._drive, args=(todo,), daemon=True).start()

    def _drive(self, todo):
        """Worker processes, one after another, until no class is left: a worker that dies
        (or a pool error) ends its class as an error and the next worker goes on."""
        while True:
            state = {"unit": None, "tail": []}
            try:
                if not self._serve(todo, state):
                    return
            except Exception:
                self._fail(state["unit"], "the test pool failed:\n" + traceback.format_exc())
            else:
                self._fail(state["unit"], "the test worker process died; its last lines:\n" + "".join(state["tail"][-60:]))

    def _fail(self, unit, text):
        if unit is None or self.done[unit].is_set():
            return
        self.records[unit].append({"id": unit, "desc": unit, "short": None, "outcome": "error", "text": text})
        self.done[unit].set()

    def _serve(self, todo, state):
        """One worker process: the next class whenever it finished one.  False once the
        queue is empty; True when the worker died (state says on which class)."""
        env = dict(os.environ, **{WORKER_ENV: "1"})
        proc = subprocess.Popen([sys.executable, "-c", "import parallel; parallel.worker_main()"], cwd=HERE, env=env,
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        reader = threading.Thread(target=_keep_tail, args=(proc.stderr, state["tail"]), daemon=True)
        reader.start()
        try:
            while True:
                try:
                    unit = todo.get_nowait()
                except queue.Empty:
                    return False
                state["unit"] = unit
                proc.stdin.write(unit + "\n")
                proc.stdin.flush()
                began = time.monotonic()
                if not self._collect(proc, unit, state["tail"]):
                    state["tail"].append(f"(exit status {proc.wait()})\n")
                    return True
                state["unit"] = None
                if os.environ.get(TIMES_ENV):  # what each class took (make test-times sorts them)
                    with open(os.environ[TIMES_ENV], "a") as times:
                        times.write(json.dumps({"unit": unit, "seconds": round(time.monotonic() - began, 1)}) + "\n")
        finally:
            with contextlib.suppress(OSError):
                proc.stdin.close()
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:  # a worker that will not end once its input did
                proc.kill()
                proc.wait()
            proc.stdout.close()
            reader.join(timeout=5)

    def _collect(self, proc, unit, tail):
        """This class's records until its end (True) or the worker's (False)."""
        for line in proc.stdout:
            try:
                record = json.loads(line)
            except ValueError:  # not ours: a child that wrote to the protocol stream
                tail.append(line)
                continue
            if record.get("done"):
                self.done[unit].set()
                return True
            self.records[unit].append(record)
        return False

    def replay(self, unit, result):
        """This class's outcomes, told to unittest's result as if they ran here."""
        self.start()
        waited = 0
        while not self.done[unit].wait(1.0):
            waited += 1
            if waited > CLASS_DEADLINE_SEC:  # a class that never reports: one error, the suite goes on
                self.records[unit].append({"id": unit, "desc": unit, "short": None, "outcome": "error",
                                           "text": f"no result from the test pool after {CLASS_DEADLINE_SEC} s "
                                                   f"(still waiting for: {[u for u, d in self.done.items() if not d.is_set()]})"})
                break
        if not getattr(result, "_mm_remote_text", False):  # failures show the worker's own traceback
            original = result._exc_info_to_string
            result._exc_info_to_string = lambda err, test: (str(err[1]) if isinstance(err[1], _RemoteError)
                                                            else original(err, test))
            result._mm_remote_text = True
        for record in self.records[unit]:
            test = _Remote(record)
            outcome, text = record["outcome"], record["text"]
            err = (_RemoteError, _RemoteError(text), None)
            result.startTest(test)
            if outcome == "success":
                result.addSuccess(test)
            elif outcome == "failure":
                result.addFailure(test, err)
            elif outcome == "error":
                result.addError(test, err)
            elif outcome == "skip":
                result.addSkip(test, text)
            elif outcome == "xfail":
                result.addExpectedFailure(test, err)
            elif outcome == "xpass":
                result.addUnexpectedSuccess(test)
            result.stopTest(test)


POOL = Pool()


class RemoteClass(unittest.TestSuite):
    """A test class that runs in the pool; counts as its tests."""

    def __init__(self, unit, count):
        super().__init__()
        self.unit, self.count = unit, count

    def countTestCases(self):
        return self.count

    def run(self, result, debug=False):
        POOL.replay(self.unit, result)
        return result


def load_tests(loader, standard_tests, pattern):
    """The module's classes for the pool (or, in a worker or with MMINIONS_TEST_JOBS=1, as they are)."""
    if os.environ.get(WORKER_ENV) or JOBS <= 1:
        return standard_tests
    suite = unittest.TestSuite()
    for group in standard_tests:
        for cls, tests in _by_class(group):
            unit = f"{cls.__module__}.{cls.__name__}"
            if unit not in POOL.done:
                POOL.register(unit)
                suite.addTest(RemoteClass(unit, tests))
    return suite


def _by_class(suite):
    """(class, number of tests) of every test case class under a suite."""
    counts: dict[type, int] = {}
    stack = [suite]
    while stack:
        item = stack.pop()
        if isinstance(item, unittest.TestSuite):
            stack.extend(item)
        elif isinstance(item, unittest.TestCase):
            counts[type(item)] = counts.get(type(item), 0) + 1
    return list(counts.items())


if __name__ == "__main__":  # pragma: no cover
    sys.exit(f"{time.strftime('%H:%M:%S')} run the suite with: python3 -m unittest discover -s tests -p 'test_*.py'")
