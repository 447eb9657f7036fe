"""Shared test helpers: private tmux sockets, temp repos, cleanup that always runs."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import unittest
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
TESTS_DIR = Path(__file__).resolve().parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

import mminions  # noqa: E402

# Nothing a test runs may touch the user's state or the worktrees of the user's own runs:
# unless the caller (.ci/run) chose them, both go to a temp dir of this test process.
if not os.environ.get("MMINIONS_WORKTREE_ROOT") or not os.environ.get("XDG_STATE_HOME"):
    import atexit
    _OWN = tempfile.mkdtemp(prefix="mmt-suite-")
    atexit.register(shutil.rmtree, _OWN, True)
    os.environ.setdefault("MMINIONS_WORKTREE_ROOT", os.path.join(_OWN, "worktrees"))
    os.environ.setdefault("XDG_STATE_HOME", os.path.join(_OWN, "state"))
os.environ.pop("MMINIONS_RUNS_ROOT", None)

MMINIONS_PY = REPO_ROOT / "mminions.py"
FAKES_DIR = TESTS_DIR / "fakes"

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Test Author", "GIT_AUTHOR_EMAIL": "author@example.invalid",
    "GIT_COMMITTER_NAME": "Test Author", "GIT_COMMITTER_EMAIL": "author@example.invalid",
    "GIT_CONFIG_NOSYSTEM": "1",
}


def unique_socket() -> str:
    return f"mmt-{os.getpid()}-{secrets.token_hex(3)}"


def temp_dir(case: unittest.TestCase, prefix: str = "mmt-") -> Path:
    path = Path(tempfile.mkdtemp(prefix=prefix))
    case.addCleanup(shutil.rmtree, path, True)
    return path


def processes_mentioning(word: str) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir() if Path("/proc").is_dir() else []:
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                if word.encode() in (entry / "cmdline").read_bytes():
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


def kill_tmux_server(socket: str) -> None:
    """Kill the private server, wait for the managers it hung up on to finish writing
    (so a temp dir removed next is not recreated), and remove the socket file."""
    subprocess.run(["tmux", "-L", socket, "kill-server"], capture_output=True)
    deadline = time.monotonic() + 10
    while processes_mentioning(socket) and time.monotonic() < deadline:
        time.sleep(0.05)
    base = os.environ.get("TMUX_TMPDIR") or "/tmp"
    Path(base, f"tmux-{os.getuid()}", socket).unlink(missing_ok=True)


def private_socket(case: unittest.TestCase) -> str:
    """A tmux socket name of this test's own; its server is killed when the test ends."""
    socket = unique_socket()
    case.addCleanup(kill_tmux_server, socket)
    return socket


def private_tmux(case: unittest.TestCase) -> "mminions.Tmux":
    return mminions.Tmux(private_socket(case))


def git(repo: Path, *args: str, date: str | None = None) -> str:
    env = dict(os.environ, **GIT_ENV)
    if date:
        env["GIT_AUTHOR_DATE"] = env["GIT_COMMITTER_DATE"] = date
    result = subprocess.run(["git", "-C", str(repo), *args], env=env, capture_output=True,
                            text=True, check=True)
    return result.stdout


def make_repo(path: Path, files: dict[str, str], message: str = "initial") -> Path:
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "-q", "-b", "main")
    git(path, "config", "user.email", GIT_ENV["GIT_AUTHOR_EMAIL"])
    git(path, "config", "user.name", GIT_ENV["GIT_AUTHOR_NAME"])
    commit_files(path, files, message)
    return path


def commit_files(repo: Path, files: dict[str, str], message: str, n: int = 0) -> str:
    for rel, text in files.items():
        target = repo / rel
        if text is None:
            target.unlink()
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "--allow-empty", "-m", message,
        date=f"2026-01-01T00:{n // 60 % 60:02d}:{n % 60:02d}Z")
    return git(repo, "rev-parse", "HEAD").strip()


def run_dirs(runs_root: Path) -> list[Path]:
    """The run directories of a runs root (it also holds index.jsonl and locks/)."""
    return sorted(p for p in Path(runs_root).iterdir() if p.name.startswith("run-")) if Path(runs_root).exists() else []


def only_run(runs_root: Path) -> Path:
    dirs = run_dirs(runs_root)
    assert len(dirs) == 1, dirs
    return dirs[0]


def wait_until(predicate, timeout: float = 10.0, interval: float = 0.05):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            return value
        time.sleep(interval)


def run_cli(*args: str, env: dict | None = None, cwd: Path | None = None,
            timeout: float = 120, input: str | None = None) -> subprocess.CompletedProcess:
    """Run mminions.py as a user would, in a subprocess: the way it re-invokes itself (its
    bytecode reused, not its source compiled again for each of the suite's hundreds of calls;
    test_build runs `python3 mminions.py` and the .pyz as they are)."""
    full_env = dict(os.environ, **GIT_ENV)
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-S", "-c", mminions.SELF_BOOT, str(MMINIONS_PY), *args], capture_output=True,
                          text=True, env=full_env, cwd=cwd, timeout=timeout, input=input)


def run_py(script: str, repo: Path, timeout: float = 60) -> subprocess.CompletedProcess:
    """Run a script the way the corpus grader does: from a temp dir of its own, with the
    checkout's import roots on PYTHONPATH.  A generated script must clean up after itself:
    whatever it leaves in its TMPDIR fails the test."""
    with tempfile.TemporaryDirectory(prefix="mmt-") as tmp:
        path = Path(tmp) / "repro.py"
        path.write_text(script)
        scratch = Path(tmp) / "tmp"
        scratch.mkdir()
        env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1", TMPDIR=str(scratch),
                   PYTHONPATH=os.pathsep.join(str(p) for p in mminions.import_roots(Path(repo))))
        done = subprocess.run([sys.executable, str(path)], cwd=tmp, env=env, capture_output=True, text=True,
                              timeout=timeout)
        left = sorted(p.name for p in scratch.iterdir())
        if left:
            raise AssertionError(f"the script left {left} in its temp dir")
        return done


# -- a small buggy project and its report, for pipeline tests ----------------

CALC_INIT = '"""calc: tiny statistics."""\nfrom .ops import mean, median\n'
CALC_OPS = '''def mean(xs):
    """Arithmetic mean."""
    total = sum(xs)
    return total / len(xs)


def median(xs):
    s = sorted(xs)
    return s[len(s) // 2]
'''
CALC_OPS_FIXED = CALC_OPS.replace("    total = sum(xs)\n", "    if not xs:\n        return 0.0\n    total = sum(xs)\n")
CALC_ISSUE = '''# mean() crashes on an empty list

```python
from calc import mean
mean([])
```

```
Traceback (most recent call last):
  File "x.py", line 2, in <module>
  File "/site-packages/calc/ops.py", line 4, in mean
    return total / len(xs)
ZeroDivisionError: division by zero
```
'''


def make_buggy_repo(root: Path) -> tuple[Path, Path, str]:
    """(repo, issue file, sha of a fixed branch 'fix')."""
    repo = make_repo(root / "calc-repo", {"calc/__init__.py": CALC_INIT, "calc/ops.py": CALC_OPS,
                                          "README.md": "calc\n"})
    git(repo, "checkout", "-q", "-b", "fix")
    fixed = commit_files(repo, {"calc/ops.py": CALC_OPS_FIXED}, "Fix mean of empty list", 5)
    git(repo, "checkout", "-q", "main")
    issue = root / "issue.md"
    issue.write_text(CALC_ISSUE)
    return repo, issue, fixed


def candidate(script: str, signature: str = "ZeroDivisionError", **extra) -> dict:
    return dict({"candidate_id": "c1", "script": script, "setup_commands": [],
                 "oracle_command": "python3 {repro_file}", "claimed_failure_signature": signature,
                 "file_extension": "py"}, **extra)


GOOD_SCRIPT = "from calc import mean\nmean([])\n"


def write_plan(path: Path, plan: dict) -> Path:
    import json
    path.write_text(json.dumps(plan))
    return path


def fake_env(plan: Path | None = None, record: Path | None = None, **extra) -> dict:
    """The environment of a run with the fake agent CLIs first on PATH.  The plan goes in
    inline too (MMINIONS_FAKE_PLAN_JSON): a fake in mminions' sandbox sees no test folder."""
    env = {"PATH": f"{FAKES_DIR}{os.pathsep}{os.environ['PATH']}"}
    if plan:
        env["MMINIONS_FAKE_PLAN"] = str(plan)
        env["MMINIONS_FAKE_PLAN_JSON"] = Path(plan).read_text()
    if record:
        env["MMINIONS_FAKE_RECORD"] = str(record)
    env.update(extra)
    return env


def fake_record(record: Path, runs_root: Path, name: str) -> str:
    """What a fake agent recorded under ``name``: from its record folder when it could write
    there, else from the `MMINIONS_FAKE_RECORD` line it printed to its worker's agent.log."""
    import json
    if (Path(record) / name).exists():
        return (Path(record) / name).read_text()
    for log in sorted(Path(runs_root).glob("run-*/workers/*/agent.log")):
        for line in log.read_text(errors="replace").splitlines():
            if line.startswith(f"MMINIONS_FAKE_RECORD {name} "):
                return json.loads(line.split(" ", 2)[2])
    raise FileNotFoundError(f"no fake record {name} in {record} or under {runs_root}")


def leftover_worktree_dirs(root: Path) -> list[Path]:
    """Worktree directories left under a worktrees root (its .locks/ is not a leftover)."""
    if not root.exists():
        return []
    return [p for p in root.glob("*/*") if p.parent.name != ".locks"]


def leftover_worktrees(repo: Path) -> list[str]:
    out = git(repo, "worktree", "list", "--porcelain")
    return [l.split(" ", 1)[1] for l in out.splitlines() if l.startswith("worktree ")][1:]


def make_history(path: Path, commits: int, culprit: int, broken: range = range(0),
                 ops: tuple[str, str] = ("", "")) -> dict[int, str]:
    """A linear history of ``commits`` commits (1-based) built with git fast-import:
    calc is correct before ``culprit`` and buggy from it on (``ops``: its good and buggy
    calc/ops.py, by default mean() on an empty list); commits in ``broken`` do not even
    import.  Returns {commit number: sha}."""
    good_ops, bad_ops = ops[0] or CALC_OPS_FIXED, ops[1] or CALC_OPS
    path.mkdir(parents=True)
    git(path, "init", "-q", "-b", "main")
    chunks = []

    def blob(text: str) -> str:
        data = text.encode()
        return f"data {len(data)}\n" + text + "\n"

    for n in range(1, commits + 1):
        ops_text = bad_ops if n >= culprit else good_ops
        init = "this is not python (broken build\n" if n in broken else CALC_INIT
        msg = f"commit {n}" + (" - refactor mean" if n == culprit else "")
        chunks.append(f"commit refs/heads/main\nmark :{n}\n"
                      f"author Test Author <author@example.invalid> {1767225600 + n * 60} +0000\n"
                      f"committer Test Author <author@example.invalid> {1767225600 + n * 60} +0000\n"
                      + blob(msg) + (f"from :{n - 1}\n" if n > 1 else "")
                      + "M 644 inline calc/__init__.py\n" + blob(init)
                      + "M 644 inline calc/ops.py\n" + blob(ops_text)
                      + "M 644 inline log.txt\n" + blob("\n".join(f"line {i}" for i in range(n))) + "\n")
    subprocess.run(["git", "-C", str(path), "fast-import", "--quiet", f"--export-marks={path}/.git/marks"],
                   input="".join(chunks), text=True, check=True, env=dict(os.environ, **GIT_ENV))
    git(path, "checkout", "-q", "-f", "main")
    marks = {}
    for line in (path / ".git" / "marks").read_text().splitlines():
        mark, sha = line.split()
        marks[int(mark[1:])] = sha
    return marks


# ---- adversarial text for patterns -------------------------------------------------------

ADVERSARIAL_PIECES = (" ", "a", "A", "Ab", "b", "/a", "a.", ".", "`", "#", "-", "~", "\t", "0", "'", '"', ":", "a ",
                      "[")


# how the texts a pattern reads begin: a fence, a quote, an error line, a sentence, a prompt
ADVERSARIAL_PREFIXES = ("", "```", "~~~", "'", "`", "expected ", "should be ", "it raises ValueError: x", "a.", "a.Ab",
                        "# x: ", ">>> ", "E   ", 'File "')


def module_patterns() -> list[tuple[str, "mminions.LazyPattern"]]:
    """Every pattern the module declares (alone or in a tuple), by name."""
    out = []
    for name, obj in vars(mminions).items():
        if isinstance(obj, mminions.LazyPattern):
            out.append((name, obj))
        elif isinstance(obj, tuple) and obj and all(isinstance(o, mminions.LazyPattern) for o in obj):
            out += [(f"{name}[{i}]", o) for i, o in enumerate(obj)]
    return out


def adversarial_texts(pattern: "mminions.LazyPattern", n: int, words: int = 8) -> list[str]:
    """Texts built to make a backtracking pattern slow: one of its own words, then a long run
    of one piece (a space, a letter, a path segment ...), then a character that fails it."""
    import re as _re
    found = sorted(set(_re.findall(r"[A-Za-z]{2,}", pattern.pattern)), key=lambda w: (-len(w), w))[:words]
    out = []
    for word in [*ADVERSARIAL_PREFIXES, *found, *(w + ": " for w in found[:3])]:
        for piece in ADVERSARIAL_PIECES:
            out += [f"{word}{piece * (n // len(piece))}{end}" for end in "!y`"]
            out.append(f"{(word + ' ' + piece) * (n // (len(word) + 1 + len(piece)))}!")
    return out


class Deadline:
    """Fails the test if its body runs past ``seconds`` (the re module checks for signals
    while it matches, so a runaway pattern is stopped too).  A bound far above what the code
    takes, to catch a hang, never a measurement: `make bench` measures.  ``cpu``: seconds of
    this process's own CPU time (SIGVTALRM), so a loaded machine does not trip it."""

    def __init__(self, case: unittest.TestCase, seconds: float, what: str, cpu: bool = False) -> None:
        self.case, self.seconds, self.what = case, seconds, what
        self.cpu = cpu

    def _timer(self):
        import signal
        return (signal.ITIMER_VIRTUAL, signal.SIGVTALRM) if self.cpu else (signal.ITIMER_REAL, signal.SIGALRM)

    def __enter__(self):
        import signal

        def expire(signum, frame):
            raise AssertionError(f"{self.what}: still running after {self.seconds:g} s"
                                 + (" of CPU time" if self.cpu else ""))
        timer, signum = self._timer()
        self.previous = signal.signal(signum, expire)
        signal.setitimer(timer, self.seconds)
        return self

    def __exit__(self, *exc):
        import signal
        timer, signum = self._timer()
        signal.setitimer(timer, 0)
        signal.signal(signum, self.previous)
        return False


# ---- projects as they are (issue 29): a build step, another language, a flaky bug ----

# mean([]) crashes in about half the runs from the culprit on
FLAKY_OPS = "import random\n\n\n" + CALC_OPS_FIXED.replace(
    "    if not xs:\n        return 0.0\n", "    if not xs and random.random() < 0.5:\n        return 0.0\n")


BUILD_PY = "import shutil\nshutil.copy('calc/ops.src', 'calc/_built.py')\n"


def commit_each(path: Path, commits: int, files_of, subject_of) -> dict[int, str]:
    """A new repository with ``commits`` commits, the n-th writing ``files_of(n)`` with subject
    ``subject_of(n)``; returns {n: sha}."""
    marks = {}
    path.mkdir(parents=True)
    git(path, "init", "-q", "-b", "main")
    for n in range(1, commits + 1):
        for rel, text in files_of(n).items():
            (path / rel).parent.mkdir(parents=True, exist_ok=True)
            (path / rel).write_text(text)
        git(path, "add", "-A")
        git(path, "commit", "-q", "-m", subject_of(n), date=f"2026-01-01T00:{n:02d}:00")
        marks[n] = git(path, "rev-parse", "HEAD").strip()
    return marks


def make_built_history(path: Path, commits: int, culprit: int, broken_build: range) -> dict[int, str]:
    """calc's code is built by `python3 build.py` (calc/_built.py, git-ignored): no checkout can
    import it before the build.  The bug comes in at ``culprit``; ``broken_build`` commits cannot build."""
    return commit_each(path, commits, lambda n: {
        "build.py": "raise SystemExit('build broken')\n" if n in broken_build else BUILD_PY,
        "calc/__init__.py": "from ._built import mean, median\n", ".gitignore": "calc/_built.py\n",
        "calc/ops.src": CALC_OPS if n >= culprit else CALC_OPS_FIXED, "log.txt": f"{n}\n"},
        lambda n: f"commit {n}" + (" - refactor mean" if n == culprit else ""))


SUM_GOOD = "function total(xs) {\n  return xs.reduce((a, b) => a + b, 0);\n}\nmodule.exports = { total };\n"
SUM_BAD = "function total(xs) {\n  return xs.slice(1).reduce((a, b) => a + b, 0);\n}\nmodule.exports = { total };\n"
JS_REPRO = """const assert = require("assert");
const { total } = require("./lib/sum.js");
const doubled = [1, 2, 3].map((x) => x * 2);
console.log("checking total of", doubled.length, "numbers");
let noise = 0;
for (let i = 0; i < 3; i++) noise += i;
assert.strictEqual(total([1, 2, 3]), 6);
"""
JS_CANDIDATE = {"candidate_id": "c1", "script": JS_REPRO, "setup_commands": [], "oracle_command": "node {repro_file}",
                "claimed_failure_signature": "AssertionError", "file_extension": "js"}
JS_ISSUE = "# total() drops the first number\n\n`total([1, 2, 3])` gives 5; it should be 6.\n"


def make_js_history(path: Path, commits: int, culprit: int) -> dict[int, str]:
    """A node package whose total() drops the first number from ``culprit`` on."""
    return commit_each(path, commits, lambda n: {
        "package.json": '{"name": "sums", "version": "1.0.0", "scripts": {"test": "node --test"}}\n',
        "lib/sum.js": SUM_BAD if n >= culprit else SUM_GOOD, "CHANGES.md": f"{n}\n"},
        lambda n: f"commit {n}" + (" - simplify total" if n == culprit else ""))


def cmd_agent(path: Path, candidates: list[dict]) -> Path:
    """An --agent cmd worker that answers with these candidates."""
    path.write_text("import json, pathlib, sys\n"
                    f"pathlib.Path(sys.argv[1]).write_text(json.dumps({{'candidates': {candidates!r}, 'notes': ''}}))\n")
    return path
