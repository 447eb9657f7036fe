#!/usr/bin/env python3
"""mminions: bug report in, verified minimal reproducer, culprit commit and triage out.

mminions reads a bug report (a GitHub issue or a local issue file) and a git
repository, starts CLI coding agents ("workers": Codex CLI, Claude Code, any command
template, or the built-in offline agent) each in its own tmux session and git worktree,
and never trusts what they say: every reproducer is re-run by mminions itself, in a
fresh worktree, several times, before it counts.  Everything a run knows lives in its
run directory; the CLI and the HTTP server only read it and talk to tmux.

Standard library only, Python 3.11+.  One file, read top to bottom; each section uses
only the sections above it (``grep -n '^# ====' mminions.py`` prints this outline):

     1. Constants & errors     version, exit codes, the MminionsError family
     2. Filesystem & JSON      atomic writes, tolerant reads, events, RunPaths, run ids
     3. Processes              run_cmd(): the one subprocess edge (timeouts, group kill)
     4. tmux                   Tmux: a private ``tmux -L <socket>`` server, never the default
     5. git                    worktrees, rev-parse, the "user's checkout untouched" check
     6. Issue                  URL parsing, GitHub REST fetch, issue files, signal extraction
     7. Agents                 schemas, output parsing, prompts, backends -> worker.sh
     8. Built-in agent         the offline reproducer/triager that needs no model
     9. Verify / minimize / bisect / triage   pure logic over a runner
    10. Manager                the pipeline, its phases, resume, stop, gc
    11. Status                 build_status(): the one status document
    12. Server                 WSGI app + threaded wsgiref server, dashboard
    13. CLI                    argparse, one cmd_* per subcommand, main()

Exit codes (for cron): 0 reproduced, 3 needs-human, 2 usage/input error,
1 internal failure, 4 stopped or timed out.
"""

from __future__ import annotations

import argparse
import ast
import base64
import contextlib
import dataclasses
import datetime as _dt
import errno
import fcntl
import hashlib
import html
import io
import json
import math
import os
import re
import secrets
import select
import shlex
import shutil
import signal
import socket
import socketserver
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence
from wsgiref import simple_server

# ==== 1. Constants & errors ================================================

VERSION = "0.1.0"
PROG = "mminions"

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_USAGE = 2
EXIT_NEEDS_HUMAN = 3
EXIT_STOPPED = 4

ROLE_REPRO = "REPRO_BUILDER"
ROLE_TRIAGE = "TRIAGER"
DEFAULT_SOCKET = "mminions"
DEFAULT_PREFIX = "mminions"
DEFAULT_RUNS_ROOT = "runs"
RUN_ID_RE = re.compile(r"^run-[0-9A-Za-z-]{1,64}$")
WORKER_ID_RE = re.compile(r"^(manager|w[0-9]{1,4})$")
MAX_OUTPUT_BYTES = 1_000_000
SECRET_ENV_NAMES = ("GITHUB_TOKEN", "GH_TOKEN", "OPENAI_API_KEY", "ANTHROPIC_API_KEY",
                    "ANTHROPIC_AUTH_TOKEN", "CODEX_API_KEY", "MMINIONS_TOKEN")
DECISION_EXIT = {"ok": EXIT_OK, "needs-human": EXIT_NEEDS_HUMAN, "stopped": EXIT_STOPPED,
                 "failed": EXIT_INTERNAL, "input-error": EXIT_USAGE}


class MminionsError(Exception):
    """An error whose message is what the user reads; main() prints it once."""

    exit_code = EXIT_INTERNAL


class UsageError(MminionsError):
    exit_code = EXIT_USAGE


class ToolNotFound(MminionsError):
    exit_code = EXIT_USAGE


class CommandError(MminionsError):
    exit_code = EXIT_INTERNAL


class TmuxError(MminionsError):
    exit_code = EXIT_INTERNAL


class GitError(MminionsError):
    exit_code = EXIT_USAGE


class GitHubError(MminionsError):
    exit_code = EXIT_USAGE


class PipelineError(MminionsError):
    exit_code = EXIT_INTERNAL


class StopRequested(MminionsError):
    exit_code = EXIT_STOPPED


# ==== 2. Filesystem & JSON =================================================


def utc_now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _fsync_dir(directory: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def atomic_write_bytes(path: Path | str, data: bytes, mode: int = 0o644) -> None:
    """Write via a temp file in the same directory, fsync, then os.replace."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)


def atomic_write_text(path: Path | str, text: str, mode: int = 0o644) -> None:
    atomic_write_bytes(path, text.encode("utf-8"), mode)


def atomic_write_json(path: Path | str, obj: Any) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")


def read_json(path: Path | str, default: Any = None) -> Any:
    """Read JSON; a missing file gives ``default``, a corrupt one a clear error."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return default
    except (OSError, UnicodeDecodeError) as exc:
        raise MminionsError(f"cannot read {path}: {exc}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise MminionsError(f"{path} is not valid JSON ({exc.msg} at line {exc.lineno}); "
                            "remove or repair it") from None


def append_event(run_dir: Path | str, kind: str, **fields: Any) -> dict:
    """Append one JSON line to events.jsonl; safe when several processes append."""
    record = {"ts": utc_now(), "kind": kind, **fields}
    line = (json.dumps(record, sort_keys=True, default=str) + "\n").encode("utf-8")
    path = Path(run_dir) / "events.jsonl"
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # one write per line, serialised: no interleaving
        os.write(fd, line)
        os.fsync(fd)
    finally:
        os.close(fd)
    return record


def read_events(run_dir: Path | str) -> list[dict]:
    """All complete events; a torn last line (crash mid-write) is ignored."""
    path = Path(run_dir) / "events.jsonl"
    try:
        raw = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return []
    events = []
    for line in raw.splitlines():
        with contextlib.suppress(json.JSONDecodeError):
            obj = json.loads(line)
            if isinstance(obj, dict):
                events.append(obj)
    return events


def new_run_id(now: _dt.datetime | None = None) -> str:
    """``run-YYYYmmddHHMMSS-<4 hex>``; the random tail keeps same-second runs apart."""
    now = now or _dt.datetime.now(_dt.timezone.utc)
    return f"run-{now.strftime('%Y%m%d%H%M%S')}-{secrets.token_hex(2)}"


def allocate_run_dir(runs_root: Path | str) -> tuple[str, Path]:
    """A fresh run id whose directory this call created (mkdir is the lock)."""
    root = Path(runs_root)
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create runs root {root}: {exc.strerror}") from None
    for _ in range(1000):
        run_id = new_run_id()
        try:
            (root / run_id).mkdir()
            return run_id, root / run_id
        except FileExistsError:
            continue
        except OSError as exc:
            raise UsageError(f"cannot create a run directory in {root}: {exc.strerror}") from None
    raise PipelineError(f"could not allocate a run id in {root}")


def validate_run_id(run_id: Any) -> str:
    """Refuse anything that is not a plain run id.

    >>> validate_run_id("run-20260101000000-ab12")
    'run-20260101000000-ab12'
    >>> validate_run_id("../x")
    Traceback (most recent call last):
    ...
    mminions.UsageError: invalid run id '../x': expected run-<letters, digits, dashes>
    """
    if not isinstance(run_id, str) or not RUN_ID_RE.fullmatch(run_id):
        raise UsageError(f"invalid run id {str(run_id)[:80]!r}: "
                         "expected run-<letters, digits, dashes>")
    return run_id


def validate_worker_id(worker: Any) -> str:
    if not isinstance(worker, str) or not WORKER_ID_RE.fullmatch(worker):
        raise UsageError(f"invalid worker {str(worker)[:40]!r}: expected 'manager' or w1, w2, ...")
    return worker


@dataclass(frozen=True)
class RunPaths:
    """Every path of the run-directory contract, in one place."""

    runs_root: Path
    run_id: str

    def __post_init__(self) -> None:
        validate_run_id(self.run_id)
        object.__setattr__(self, "runs_root", Path(self.runs_root).absolute())

    @property
    def run_dir(self) -> Path:
        return self.runs_root / self.run_id

    def _p(self, *parts: str) -> Path:
        return self.run_dir.joinpath(*parts)

    issue_json = property(lambda self: self._p("issue.json"))
    config_json = property(lambda self: self._p("config.json"))
    sessions_json = property(lambda self: self._p("sessions.json"))
    events_jsonl = property(lambda self: self._p("events.jsonl"))
    workers_dir = property(lambda self: self._p("workers"))
    candidates_dir = property(lambda self: self._p("repro", "candidates"))
    selected_candidate_json = property(lambda self: self._p("repro", "selected_candidate.json"))
    minimize_json = property(lambda self: self._p("repro", "minimize.json"))
    triage_dir = property(lambda self: self._p("triage"))
    hypotheses_json = property(lambda self: self._p("triage", "hypotheses.json"))
    bisect_json = property(lambda self: self._p("triage", "bisect.json"))
    decision_json = property(lambda self: self._p("decision.json"))
    final_md = property(lambda self: self._p("final.md"))
    run_done_json = property(lambda self: self._p("run_done.json"))
    manager_log = property(lambda self: self._p("manager.log"))

    def worker_dir(self, wid: str) -> Path:
        return self.workers_dir / validate_worker_id(wid)

    def candidate_json(self, wid: str) -> Path:
        return self.candidates_dir / f"{validate_worker_id(wid)}.json"

    def minimal_repro(self, ext: str) -> Path:
        ext = re.sub(r"[^A-Za-z0-9]", "", ext or "txt")[:8] or "txt"
        return self._p("repro", f"minimal_repro.{ext}")


def worktrees_root() -> Path:
    """Worktrees live outside both the runs root and the user's checkout."""
    base = os.environ.get("MMINIONS_WORKTREE_ROOT") or os.path.join(tempfile.gettempdir(),
                                                                     "mminions-worktrees")
    return Path(base)


# ==== 3. Processes =========================================================


@dataclass
class CmdResult:
    argv: list[str]
    returncode: int
    stdout: str
    stderr: str
    duration: float
    timed_out: bool = False

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


Runner = Callable[..., CmdResult]


def _kill_group(proc: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


def run_cmd(argv: Sequence[str], cwd: str | Path | None = None, timeout: float | None = None,
            env: dict[str, str] | None = None, input: str | None = None,
            max_output: int = 4_000_000) -> CmdResult:
    """Run one subprocess in its own process group; on timeout kill the whole group."""
    argv = [str(a) for a in argv]
    start = time.monotonic()
    try:
        proc = subprocess.Popen(argv, cwd=cwd, env=env, start_new_session=True,
                                stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    except FileNotFoundError:
        if cwd is not None and not Path(cwd).is_dir():
            raise CommandError(f"working directory {cwd} does not exist") from None
        raise ToolNotFound(f"{argv[0]}: command not found; install it or fix PATH") from None
    except PermissionError as exc:
        raise CommandError(f"{argv[0]}: cannot execute ({exc.strerror})") from None
    timed_out = False
    data = input.encode("utf-8") if input is not None else None
    try:
        out, err = proc.communicate(data, timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        _kill_group(proc)
        try:
            out, err = proc.communicate(timeout=5)
        except subprocess.TimeoutExpired:  # a setsid'd grandchild still holds the pipes
            for stream in (proc.stdout, proc.stderr):
                with contextlib.suppress(OSError):
                    stream.close()
            proc.wait()
            out, err = b"", b""
    finally:
        if proc.poll() is None:
            _kill_group(proc)
            proc.wait()
    # A clean exit can leave background children behind in the group: reap them too.
    _kill_group(proc)
    rc = proc.returncode if not timed_out else 124
    return CmdResult(argv, rc, out[-max_output:].decode("utf-8", "backslashreplace"),
                     err[-max_output:].decode("utf-8", "backslashreplace"),
                     time.monotonic() - start, timed_out)


def tail_lines(text: str, n: int) -> str:
    lines = text.rstrip("\n").splitlines()
    return "\n".join(lines[-n:]) if n > 0 else ""


# ==== 4. tmux ==============================================================

FIELD_SEP = "\x1f"
SESSION_FIELDS = ("session_name", "pid", "session_created", "pane_pid", "pane_dead")


def build_format(fields: Sequence[str]) -> str:
    """A tmux -F format joining fields by an unlikely separator.

    >>> build_format(["session_name", "pid"]) == "#{session_name}\\x1f#{pid}"
    True
    """
    return FIELD_SEP.join("#{%s}" % f for f in fields)


def parse_rows(stdout: str, fields: Sequence[str]) -> list[dict[str, str]]:
    """Parse tmux -F output made with build_format; short rows are padded.

    >>> parse_rows("a\\x1f1\\nb\\x1f2\\n", ["name", "pid"])
    [{'name': 'a', 'pid': '1'}, {'name': 'b', 'pid': '2'}]
    """
    rows = []
    for line in stdout.splitlines():
        if not line.strip():
            continue
        values = line.split(FIELD_SEP)
        values += [""] * (len(fields) - len(values))
        rows.append(dict(zip(fields, values)))
    return rows


def socket_name(explicit: str | None = None, env: dict | None = None) -> str:
    env = os.environ if env is None else env
    name = explicit or env.get("MMINIONS_TMUX_SOCKET") or DEFAULT_SOCKET
    if not re.match(r"^[A-Za-z0-9_.-]{1,64}$", name):
        raise UsageError(f"invalid tmux socket name {name!r}: use letters, digits, . _ -")
    return name


_NO_SERVER = ("no server running", "error connecting to", "no current client",
              "server exited unexpectedly")


class Tmux:
    """A private tmux server (``tmux -L <socket>``); the user's default one is never used."""

    def __init__(self, socket: str = DEFAULT_SOCKET, runner: Runner = run_cmd) -> None:
        self.socket = socket
        self.runner = runner

    def argv(self, *args: str) -> list[str]:
        # -f /dev/null: the user's ~/.tmux.conf must not change how our sessions behave.
        return ["tmux", "-L", self.socket, "-f", "/dev/null", *args]

    def _run(self, *args: str, input: str | None = None, check: bool = True) -> CmdResult:
        result = self.runner(self.argv(*args), timeout=15, input=input)
        if check and not result.ok:
            message = (result.stderr or result.stdout).strip() or f"exit {result.returncode}"
            raise TmuxError(f"tmux {args[0]}: {message}")
        return result

    @staticmethod
    def _target(name: str, pane: bool = False) -> str:
        return f"={name}:" if pane else f"={name}"

    def new_session(self, name: str, cwd: str | Path, command: str,
                    env: dict[str, str] | None = None, width: int = 200, height: int = 50) -> None:
        args = ["new-session", "-d", "-s", name, "-x", str(width), "-y", str(height),
                "-c", str(cwd)]
        for key, value in sorted((env or {}).items()):
            args += ["-e", f"{key}={value}"]
        args.append(command)
        self._run(*args)
        # The session must vanish when its command exits, whatever a global option says.
        self._run("set-option", "-t", self._target(name), "remain-on-exit", "off", check=False)

    def has_session(self, name: str) -> bool:
        return self._run("has-session", "-t", self._target(name), check=False).ok

    def kill_session(self, name: str) -> bool:
        return self._run("kill-session", "-t", self._target(name), check=False).ok

    def kill_server(self) -> None:
        self._run("kill-server", check=False)

    def list_sessions(self) -> list[dict[str, Any]]:
        """All sessions of this socket in one tmux call; no server means none."""
        result = self._run("list-sessions", "-F", build_format(SESSION_FIELDS), check=False)
        if not result.ok:
            if any(s in result.stderr for s in _NO_SERVER) or not result.stderr.strip():
                return []
            raise TmuxError(f"tmux list-sessions: {result.stderr.strip()}")
        rows = parse_rows(result.stdout, SESSION_FIELDS)
        for row in rows:
            row["name"] = row["session_name"]
            row["dead"] = row.get("pane_dead") == "1"
            row["created"] = int(row["session_created"] or 0)
        return rows

    def send_text(self, name: str, text: str, enter: bool = True) -> None:
        """Type text literally, then Enter as its own key."""
        body = text.rstrip(";")
        semis = len(text) - len(body)
        if body:
            self._run("send-keys", "-t", self._target(name, True), "-l", "--", body)
        if semis:  # tmux eats a trailing ';' as a command separator: send it by key code
            self._run("send-keys", "-t", self._target(name, True), "-H", *["3b"] * semis)
        if enter:
            self._run("send-keys", "-t", self._target(name, True), "Enter")

    def paste_text(self, name: str, text: str, enter: bool = True) -> None:
        """Multi-line text as one bracketed paste, then Enter."""
        buffer = f"mminions-{secrets.token_hex(4)}"
        self._run("load-buffer", "-b", buffer, "-", input=text)
        self._run("paste-buffer", "-p", "-d", "-b", buffer, "-t", self._target(name, True))
        if enter:
            self._run("send-keys", "-t", self._target(name, True), "Enter")

    def capture(self, name: str, lines: int = 50) -> str:
        """The last ``lines`` lines of the pane, trailing blank lines trimmed."""
        result = self._run("capture-pane", "-p", "-J", "-t", self._target(name, True),
                           "-S", f"-{max(lines, 1) + 200}")
        return tail_lines(result.stdout.rstrip(), lines)

    def attach_argv(self, name: str, read_only: bool = False) -> list[str]:
        return self.argv("attach-session", *(["-r"] if read_only else []),
                         "-t", self._target(name))


# ==== 5. git ===============================================================


def git(repo: str | Path, *args: str, runner: Runner = run_cmd, timeout: float = 120,
        check: bool = True) -> CmdResult:
    env = dict(os.environ, GIT_TERMINAL_PROMPT="0", LC_ALL="C")
    result = runner(["git", "-C", str(repo), *args], timeout=timeout, env=env)
    if check and not result.ok:
        message = (result.stderr or result.stdout).strip().splitlines()
        raise GitError(f"git {args[0]} failed in {repo}: {message[-1] if message else result.returncode}")
    return result


def is_repo(path: str | Path, runner: Runner = run_cmd) -> bool:
    if not Path(path).is_dir():
        return False
    return git(path, "rev-parse", "--git-dir", runner=runner, check=False).ok


def repo_toplevel(path: str | Path, runner: Runner = run_cmd) -> Path:
    return Path(git(path, "rev-parse", "--show-toplevel", runner=runner).stdout.strip())


def resolve(repo: str | Path, ref: str, runner: Runner = run_cmd) -> str:
    result = git(repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}",
                 runner=runner, check=False)
    if not result.ok:
        raise GitError(f"{ref!r} is not a commit in {repo}; give a branch, tag or sha with --ref")
    return result.stdout.strip()


def head_sha(repo: str | Path, runner: Runner = run_cmd) -> str:
    return resolve(repo, "HEAD", runner)


def worktree_add(repo: str | Path, path: str | Path, ref: str, runner: Runner = run_cmd) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    git(repo, "worktree", "add", "--detach", "--force", str(path), ref, runner=runner)
    return path


def worktree_remove(repo: str | Path, path: str | Path, runner: Runner = run_cmd) -> None:
    """Remove a worktree, also when its directory was already deleted by hand."""
    git(repo, "worktree", "remove", "--force", "--force", str(path), runner=runner, check=False)
    if Path(path).exists():
        shutil.rmtree(path, ignore_errors=True)
    git(repo, "worktree", "prune", runner=runner, check=False)


def worktrees(repo: str | Path, runner: Runner = run_cmd) -> list[dict[str, str]]:
    out = git(repo, "worktree", "list", "--porcelain", runner=runner).stdout
    items: list[dict[str, str]] = []
    for block in out.strip().split("\n\n"):
        entry: dict[str, str] = {}
        for line in block.splitlines():
            key, _, value = line.partition(" ")
            entry[key] = value or "true"
        if entry:
            items.append(entry)
    return items


def checkout_fingerprint(repo: str | Path, runner: Runner = run_cmd) -> dict[str, Any]:
    """What must be identical before and after a run: HEAD, status, branches, stash, bisect."""
    gitdir = Path(git(repo, "rev-parse", "--absolute-git-dir", runner=runner).stdout.strip())
    return {
        "head": git(repo, "rev-parse", "HEAD", runner=runner, check=False).stdout.strip(),
        "symbolic": git(repo, "symbolic-ref", "-q", "HEAD", runner=runner, check=False).stdout.strip(),
        "status": git(repo, "status", "--porcelain=v1", "--untracked-files=all",
                      runner=runner, check=False).stdout,
        "branches": git(repo, "for-each-ref", "--format=%(refname) %(objectname)", "refs/heads",
                        runner=runner, check=False).stdout,
        "stash": git(repo, "stash", "list", runner=runner, check=False).stdout,
        "bisect": sorted(p.name for p in gitdir.glob("BISECT_*")),
    }


def fingerprint_diff(before: dict, after: dict) -> list[str]:
    """Human-readable list of what changed in the user's checkout (empty = untouched)."""
    return [f"{key} changed" for key in sorted(before) if before.get(key) != after.get(key)]



# ==== 6. Issue =============================================================

ISSUE_URL_FORMS = ("https://github.com/OWNER/REPO/issues/N, https://github.com/OWNER/REPO/pull/N "
                   "(a GitHub Enterprise host too), or OWNER/REPO#N")
_URL_RE = re.compile(r"^https?://(?P<host>[^/\s]+)/(?P<owner>[A-Za-z0-9_.-]+)/(?P<repo>[A-Za-z0-9_.-]+)"
                     r"/(?P<kind>issues|pull|pulls)/(?P<number>[0-9]+)/?(?:[?#].*)?$")
_SHORT_RE = re.compile(r"^(?P<owner>[A-Za-z0-9_.-]+)/(?P<repo>[A-Za-z0-9_.-]+)#(?P<number>[0-9]+)$")
GITHUB_TIMEOUT = 20.0


@dataclass(frozen=True)
class IssueRef:
    owner: str
    repo: str
    number: int
    host: str = "github.com"

    @property
    def slug(self) -> str:
        return f"{self.owner}/{self.repo}"

    @property
    def html_url(self) -> str:
        return f"https://{self.host}/{self.owner}/{self.repo}/issues/{self.number}"


def parse_issue_url(text: str) -> IssueRef:
    """Parse an issue or pull-request URL, or OWNER/REPO#N.

    >>> parse_issue_url("https://github.com/o/r/issues/12#issuecomment-1")
    IssueRef(owner='o', repo='r', number=12, host='github.com')
    >>> parse_issue_url("o/r#3").slug
    'o/r'
    """
    text = (text or "").strip()
    match = _URL_RE.match(text) or _SHORT_RE.match(text)
    if not match or int(match.group("number")) <= 0:
        raise UsageError(f"not a GitHub issue URL: {text[:200]!r}; use {ISSUE_URL_FORMS}")
    host = match.groupdict().get("host") or "github.com"
    return IssueRef(match.group("owner"), match.group("repo"), int(match.group("number")), host)


def default_api_url(ref: IssueRef, explicit: str | None, env: dict) -> str:
    if explicit or env.get("GITHUB_API_URL"):
        return (explicit or env["GITHUB_API_URL"]).rstrip("/")
    return "https://api.github.com" if ref.host == "github.com" else f"https://{ref.host}/api/v3"


def resolve_token(env: dict, runner: Runner = run_cmd) -> str | None:
    """GITHUB_TOKEN, else GH_TOKEN, else ``gh auth token`` when gh is installed."""
    for name in ("GITHUB_TOKEN", "GH_TOKEN"):
        if env.get(name):
            return env[name].strip()
    if shutil.which("gh"):
        with contextlib.suppress(MminionsError):
            result = runner(["gh", "auth", "token"], timeout=10)
            if result.ok and result.stdout.strip():
                return result.stdout.strip()
    return None


def _rate_limit_message(headers: Any) -> str:
    reset = headers.get("X-RateLimit-Reset")
    retry = headers.get("Retry-After")
    when = None
    if reset and reset.isdigit():
        when = _dt.datetime.fromtimestamp(int(reset), _dt.timezone.utc)
    elif retry and retry.isdigit():
        when = _dt.datetime.now(_dt.timezone.utc) + _dt.timedelta(seconds=int(retry))
    until = f" until {when.strftime('%H:%M')} UTC" if when else ""
    return f"GitHub API rate limited{until}; set GITHUB_TOKEN (or wait)"


def http_json(method: str, url: str, token: str | None = None, body: Any = None,
              timeout: float = GITHUB_TIMEOUT, retries: int = 1,
              backoff: float = 1.0) -> tuple[Any, dict]:
    """One GitHub REST call: JSON in and out, errors turned into one readable line."""
    host = urllib.parse.urlsplit(url).netloc or url
    headers = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28",
               "User-Agent": f"mminions/{VERSION}"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = None
    if body is not None:
        data = json.dumps(body).encode("utf-8")
        headers["Content-Type"] = "application/json"
    for attempt in range(retries + 1):
        request = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                raw = response.read(20_000_000)
                payload = json.loads(raw.decode("utf-8")) if raw.strip() else None
                return payload, dict(response.headers.items())
        except urllib.error.HTTPError as exc:
            code = exc.code
            with contextlib.suppress(Exception):
                exc.close()
            if code >= 500 and attempt < retries:
                time.sleep(backoff * (attempt + 1))
                continue
            if code == 404:
                raise GitHubError("issue not found, or private: set GITHUB_TOKEN "
                                  f"({method} {urllib.parse.urlsplit(url).path} gave 404)") from None
            if code == 401:
                raise GitHubError("GitHub rejected the token (401 Bad credentials): "
                                  "check GITHUB_TOKEN / GH_TOKEN") from None
            if code in (403, 429) and (exc.headers.get("X-RateLimit-Remaining") == "0"
                                       or exc.headers.get("Retry-After") or code == 429):
                raise GitHubError(_rate_limit_message(exc.headers)) from None
            if code == 403:
                raise GitHubError(f"GitHub refused {method} {urllib.parse.urlsplit(url).path} "
                                  "(403): the token lacks access") from None
            raise GitHubError(f"GitHub API error {code} from {host}") from None
        except json.JSONDecodeError:
            raise GitHubError(f"GitHub API at {host} returned something that is not JSON") from None
        except (TimeoutError, socket.timeout):
            raise GitHubError(f"timed out after {timeout:g} s talking to {host}") from None
        except urllib.error.URLError as exc:
            reason = exc.reason
            if isinstance(reason, (TimeoutError, socket.timeout)):
                raise GitHubError(f"timed out after {timeout:g} s talking to {host}") from None
            raise GitHubError(f"cannot reach {host}: {getattr(reason, 'strerror', None) or reason}") from None
        except (ConnectionError, OSError) as exc:
            raise GitHubError(f"cannot reach {host}: {exc.strerror or exc}") from None
    raise GitHubError(f"GitHub API at {host} kept failing")  # pragma: no cover


def _next_link(headers: dict) -> str | None:
    link = headers.get("Link") or headers.get("link") or ""
    for part in link.split(","):
        match = re.match(r'\s*<([^>]+)>\s*;\s*rel="?next"?', part)
        if match:
            return match.group(1)
    return None


def fetch_github_issue(ref: IssueRef, api_url: str, token: str | None,
                       timeout: float = GITHUB_TIMEOUT, max_comments: int = 100,
                       backoff: float = 1.0) -> tuple[dict, list[dict]]:
    base = f"{api_url}/repos/{ref.owner}/{ref.repo}/issues/{ref.number}"
    issue, _ = http_json("GET", base, token, timeout=timeout, backoff=backoff)
    if not isinstance(issue, dict):
        raise GitHubError("GitHub returned an unexpected issue payload")
    comments: list[dict] = []
    url: str | None = f"{base}/comments?per_page={min(max_comments, 100)}"
    while url and len(comments) < max_comments and issue.get("comments", 1):
        page, headers = http_json("GET", url, token, timeout=timeout, backoff=backoff)
        if not isinstance(page, list):
            break
        comments.extend(c for c in page if isinstance(c, dict))
        url = _next_link(headers)
    return issue, comments[:max_comments]


def read_issue_file(path: str, stdin: Any = None) -> dict:
    """A Markdown or JSON issue file (``-`` for stdin) as {title, body, ...}."""
    if path == "-":
        stream = stdin if stdin is not None else sys.stdin
        raw = stream.buffer.read() if hasattr(stream, "buffer") else stream.read()
        raw = raw.encode("utf-8") if isinstance(raw, str) else raw
        label = "standard input"
    else:
        try:
            raw = Path(path).read_bytes()
        except FileNotFoundError:
            raise UsageError(f"issue file {path} does not exist") from None
        except IsADirectoryError:
            raise UsageError(f"issue file {path} is a directory; give a .md or .json file") from None
        except OSError as exc:
            raise UsageError(f"cannot read issue file {path}: {exc.strerror}") from None
        label = f"issue file {path}"
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UsageError(f"{label} is not UTF-8 text") from None
    if not text.strip():
        raise UsageError(f"{label} is empty; write the report (a '# Title' line, then the body)")
    if text.lstrip().startswith(("{", "[")):
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as exc:
            raise UsageError(f"{label} looks like JSON but is not valid ({exc.msg}, line {exc.lineno})") from None
        if not isinstance(obj, dict) or not isinstance(obj.get("title"), str) \
                or not isinstance(obj.get("body", ""), (str, type(None))) or "body" not in obj:
            raise UsageError(f"{label}: JSON must be an object with 'title' and 'body' strings "
                             "(a GitHub issue payload, or {\"title\": ..., \"body\": ...})")
        obj = dict(obj)
        obj["body"] = obj.get("body") or ""
        return obj
    return dict(zip(("title", "body"), parse_markdown_issue(text)))


def parse_markdown_issue(text: str) -> tuple[str, str]:
    """First ``# `` heading is the title; everything else is the body.

    >>> parse_markdown_issue("# Crash on empty input\\n\\nIt crashes.")
    ('Crash on empty input', 'It crashes.')
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if line.startswith("# "):
            return line[2:].strip(), "\n".join(lines[:i] + lines[i + 1:]).strip()
        if line.strip():
            break
    first = next((l for l in lines if l.strip()), "")
    return first.strip().lstrip("#").strip()[:200], text.strip()


# -- signal extraction ------------------------------------------------------

_FENCE_RE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})\s*(?P<info>[^`\n]*)$")
_EXC_LINE_RE = re.compile(
    r"^(?:E\s+)?(?P<type>(?:[A-Za-z_][\w]*\.)*[A-Z]\w*(?:Error|Exception|Warning|Exit|Interrupt|"
    r"Failure|Fault|Iteration))(?::\s?(?P<msg>.*))?$")
_TB_LAST_RE = re.compile(r"^(?P<type>(?:[A-Za-z_]\w*\.)*[A-Za-z_]\w*)(?::\s?(?P<msg>.*))?$")
_FRAME_RE = re.compile(r'^\s+File "(?P<file>[^"]+)", line (?P<line>\d+)(?:, in (?P<func>.+))?$')
_PATH_RE = re.compile(r"(?<![\w/.:-])(/?(?:[\w.-]+/)*[\w.-]+\.(?:py|pyx|pyi|c|h|cc|cpp|hpp|rs|go|js|ts|"
                      r"java|rb|toml|cfg|ini|json|yaml|yml))(?::(\d+))?(?![\w])")
_VERSION_RE = re.compile(r"\b(Python|python|CPython|numpy|pandas|Django|django|node|Go|go|rustc)"
                         r"[ :=v]{1,3}(\d+\.\d+(?:\.\d+)?)")
_PIN_RE = re.compile(r"\b([A-Za-z][\w.-]+)==(\d+(?:\.\d+)+\w*)")
_EXPECT_RE = re.compile(
    r"\bexpected(?:[ \t]+(?:output|result|value))?[ \t]*[:=]?[ \t]*`?(?P<exp>[^`,;\n]{1,200}?)`?[ \t]*[,;]?[ \t]*"
    r"(?:but[ \t]+)?(?:got|actual(?:ly)?|received|returned|instead got)[ \t]*[:=]?[ \t]*`?(?P<act>[^`\n]{1,200}?)`?"
    r"[ \t]*(?:[.;]|$)", re.I | re.M)
_SHOULD_RE = re.compile(
    r"\bshould[ \t]+(?:be|return|print|give|output)[ \t]+`?(?P<exp>[^`\n]{1,120}?)`?[ \t]*,?[ \t]*but[ \t]+"
    r"(?:it[ \t]+)?(?:is|was|returns|returned|prints|printed|gives|gave|outputs)[ \t]+`?(?P<act>[^`\n]{1,120}?)`?"
    r"[ \t]*(?:[.;]|$)", re.I | re.M)
_INLINE_CODE_RE = re.compile(r"`([^`\n]{1,500})`")
_SECTION_RE = re.compile(r"^\W{0,6}(expected|actual)(?:\s+(?:output|result|behaviou?r))?\W{0,6}$", re.I)
_RUST_PANIC_RE = re.compile(r"^thread '[^']*' panicked at (?:'(?P<old>.*)', (?P<loc1>\S+)|(?P<loc2>\S+?):?)$")
_RUST_ERR_RE = re.compile(r"^(?P<type>error\[E\d{4}\]):\s*(?P<msg>.*)$")
_GO_PANIC_RE = re.compile(r"^panic:\s*(?P<msg>.*)$")
SHELL_INFOS = {"console", "sh", "shell", "bash", "zsh", "shell-session", "sh-session", "terminal"}
PY_INFOS = {"python", "py", "python3", "py3"}
PYCON_INFOS = {"pycon", "python-repl", "pyrepl", "ipython"}


def normalize_newlines(text: str) -> str:
    return (text or "").replace("\r\n", "\n").replace("\r", "\n")


def extract_code_blocks(text: str, source: str = "body") -> list[dict]:
    """Fenced blocks (``` and ~~~); a fence closes only with its own char and length."""
    blocks = []
    lines = normalize_newlines(text).split("\n")
    i = 0
    while i < len(lines):
        match = _FENCE_RE.match(lines[i].rstrip()) or _FENCE_RE.match(lines[i].strip())
        if not match or (match.group("fence")[0] == "`" and "`" in match.group("info")):
            i += 1
            continue
        fence = match.group("fence")
        indent = len(lines[i]) - len(lines[i].lstrip())
        info = match.group("info").strip()
        body: list[str] = []
        i += 1
        while i < len(lines):
            stripped = lines[i].strip()
            if stripped.startswith(fence[0] * len(fence)) and set(stripped) == {fence[0]}:
                break
            line = lines[i]
            body.append(line[indent:] if line[:indent].strip() == "" else line)
            i += 1
        i += 1
        lang = info.split()[0].lower() if info else ""
        blocks.append({"info": info, "lang": lang, "text": "\n".join(body), "source": source})
    return blocks


def strip_code_blocks(text: str) -> str:
    """The prose of a Markdown text, without fenced blocks (for prose-only patterns)."""
    out, inside = [], None
    for line in normalize_newlines(text).split("\n"):
        m = _FENCE_RE.match(line.strip())
        if inside is None and m:
            inside = m.group("fence")
            continue
        if inside and line.strip().startswith(inside) and set(line.strip()) == {inside[0]}:
            inside = None
            continue
        if inside is None:
            out.append(line)
    return "\n".join(out)


def extract_tracebacks(text: str, source: str = "body") -> list[dict]:
    """Each Python traceback (chained ones separately) with frames and its last line."""
    lines = normalize_newlines(text).split("\n")
    out = []
    i = 0
    while i < len(lines):
        stripped = lines[i].strip()
        if not stripped.startswith("Traceback (most recent call last)"):
            i += 1
            continue
        prefix = lines[i][: len(lines[i]) - len(lines[i].lstrip())]  # e.g. '>>> ' output indent
        start = i
        frames = []
        i += 1
        while i < len(lines):
            line = lines[i][len(prefix):] if lines[i].startswith(prefix) else lines[i]
            frame = _FRAME_RE.match(line)
            if frame:
                frames.append({"file": frame.group("file"), "line": int(frame.group("line")),
                               "function": (frame.group("func") or "").strip(), "code": ""})
                i += 1
                continue
            if line.startswith((" ", "\t")) or not line.strip():
                if frames and line.strip() and not frames[-1]["code"] and not set(line.strip()) <= set("^~ "):
                    frames[-1]["code"] = line.strip()
                i += 1
                if not line.strip() and i < len(lines) and not lines[i].strip():
                    break
                continue
            break
        exc_type, message = "", ""
        if i < len(lines):
            last = lines[i][len(prefix):] if lines[i].startswith(prefix) else lines[i]
            match = _TB_LAST_RE.match(last.strip())
            if match:
                exc_type, message = match.group("type"), (match.group("msg") or "").strip()
                i += 1
        out.append({"text": "\n".join(lines[start:i]), "frames": frames,
                    "exception_type": exc_type, "message": message, "source": source})
    return out


def extract_error_lines(text: str, source: str = "body") -> list[dict]:
    """Python ``XError: msg`` lines, Rust panics/errors, Go panics."""
    out = []
    lines = normalize_newlines(text).split("\n")
    for n, raw in enumerate(lines):
        line = raw.strip()
        if line.startswith((">>> ", "... ")):
            continue
        m = _EXC_LINE_RE.match(line)
        if m and len(line) < 2000:
            out.append({"type": m.group("type"), "message": (m.group("msg") or "").strip(),
                        "source": source, "origin": "error-line"})
            continue
        for span in _INLINE_CODE_RE.findall(line):
            m = _EXC_LINE_RE.match(span.strip())
            if m and m.group("msg"):
                out.append({"type": m.group("type"), "message": m.group("msg").strip(),
                            "source": source, "origin": "inline"})
        m = _RUST_PANIC_RE.match(line)
        if m:
            message = m.group("old") or (lines[n + 1].strip() if n + 1 < len(lines) else "")
            out.append({"type": "panic", "message": message, "source": source, "origin": "rust-panic",
                        "location": m.group("loc1") or m.group("loc2")})
            continue
        m = _RUST_ERR_RE.match(line)
        if m:
            out.append({"type": m.group("type"), "message": m.group("msg"), "source": source,
                        "origin": "rust-error"})
            continue
        m = _GO_PANIC_RE.match(line)
        if m:
            out.append({"type": "panic", "message": m.group("msg"), "source": source,
                        "origin": "go-panic"})
    return out


def pycon_to_script(text: str) -> tuple[str, list[dict]]:
    """A ``>>>`` transcript as a runnable script, and each statement's shown output.

    >>> pycon_to_script(">>> x = 1\\n>>> x + 1\\n2")[0]
    'x = 1\\nx + 1'
    """
    code: list[str] = []
    outputs: list[dict] = []
    current: dict | None = None
    for line in normalize_newlines(text).split("\n"):
        if line.startswith(">>>"):
            stmt = line[4:] if line.startswith(">>> ") else line[3:]
            code.append(stmt)
            current = {"code": stmt, "output": ""}
            outputs.append(current)
        elif line.startswith("...") and current is not None and (line[3:4] in ("", " ")):
            stmt = line[4:]
            code.append(stmt)
            current["code"] += "\n" + stmt
        elif current is not None:
            current["output"] = (current["output"] + "\n" + line) if current["output"] else line
    for item in outputs:
        item["output"] = item["output"].rstrip()
    while code and not code[-1].strip():
        code.pop()
    return "\n".join(code), outputs


def is_pycon(block: dict) -> bool:
    return block["lang"] in PYCON_INFOS or any(
        l.startswith(">>> ") or l == ">>>" for l in block["text"].split("\n")[:50])


def extract_shell_commands(block_text: str, source: str, whole_block: bool = False) -> list[dict]:
    """``$ cmd`` lines (with ``\\`` continuations); a whole sh block when it has none."""
    commands = []
    lines = block_text.split("\n")
    i = 0
    saw_prompt = False
    while i < len(lines):
        line = lines[i]
        if line.startswith("$ ") or line.startswith("% "):
            saw_prompt = True
            cmd = line[2:]
            while cmd.endswith("\\") and i + 1 < len(lines):
                i += 1
                cmd = cmd[:-1] + " " + lines[i].strip()
            commands.append({"command": cmd.strip(), "source": source})
        i += 1
    if whole_block and not saw_prompt:
        for line in lines:
            if line.strip() and not line.lstrip().startswith("#"):
                commands.append({"command": line.strip(), "source": source})
    return commands


def extract_expected_actual(text: str, source: str = "body") -> list[dict]:
    pairs = []
    # An error quoted inline ("`TypeError: expected str, got None`") is not an expectation.
    prose = _INLINE_CODE_RE.sub(lambda m: "" if _EXC_LINE_RE.match(m.group(1).strip()) else m.group(0),
                                strip_code_blocks(text))
    for regex in (_EXPECT_RE, _SHOULD_RE):
        for m in regex.finditer(prose):
            exp, act = m.group("exp").strip(" `'\""), m.group("act").strip(" `'\"")
            if exp and act and exp != act:
                pairs.append({"expected": exp, "actual": act, "source": source})
    # "Expected" / "Actual" headings followed by a block or a line
    lines = normalize_newlines(text).split("\n")
    sections: dict[str, str] = {}
    for i, line in enumerate(lines):
        m = _SECTION_RE.match(line.strip())
        if not m:
            continue
        j = i + 1
        while j < len(lines) and not lines[j].strip():
            j += 1
        if j < len(lines) and _FENCE_RE.match(lines[j].strip()):
            block = extract_code_blocks("\n".join(lines[j:]), source)
            value = block[0]["text"].strip() if block else ""
        else:
            value = lines[j].strip() if j < len(lines) else ""
        sections.setdefault(m.group(1).lower(), value)
    if sections.get("expected") and sections.get("actual") and sections["expected"] != sections["actual"]:
        pairs.append({"expected": sections["expected"], "actual": sections["actual"], "source": source})
    return pairs


def _unique(items: Iterable[Any]) -> list[Any]:
    seen, out = set(), []
    for item in items:
        key = json.dumps(item, sort_keys=True) if isinstance(item, (dict, list)) else item
        if key not in seen:
            seen.add(key)
            out.append(item)
    return out


def extract_signals(parts: Sequence[tuple[str, str]]) -> dict:
    """Everything downstream needs from the report's texts: [(source, text), ...]."""
    blocks: list[dict] = []
    tracebacks: list[dict] = []
    errors: list[dict] = []
    pycon: list[dict] = []
    shell: list[dict] = []
    paths: list[str] = []
    versions: list[dict] = []
    expected: list[dict] = []
    for source, raw in parts:
        text = normalize_newlines(raw)
        these = extract_code_blocks(text, source)
        blocks += these
        tracebacks += extract_tracebacks(text, source)
        errors += extract_error_lines(text, source)
        expected += extract_expected_actual(text, source)
        for block in these:
            if is_pycon(block):
                script, outputs = pycon_to_script(block["text"])
                pycon.append({"script": script, "outputs": outputs, "source": source})
            if block["lang"] in SHELL_INFOS:
                shell += extract_shell_commands(block["text"], source, whole_block=block["lang"] != "console")
            elif not block["lang"]:
                shell += extract_shell_commands(block["text"], source)
        for line in strip_code_blocks(text).split("\n"):
            if line.startswith("$ "):
                shell += extract_shell_commands(line, source)
        for m in _PATH_RE.finditer(text):
            if "://" not in text[max(0, m.start() - 12):m.start()]:
                paths.append(m.group(1) + (f":{m.group(2)}" if m.group(2) else ""))
        versions += [{"name": m.group(1).lower(), "version": m.group(2)} for m in _VERSION_RE.finditer(text)]
        versions += [{"name": m.group(1).lower(), "version": m.group(2)} for m in _PIN_RE.finditer(text)]
    for tb in tracebacks:
        if tb["exception_type"]:
            errors.append({"type": tb["exception_type"], "message": tb["message"],
                           "source": tb["source"], "origin": "traceback"})
        for frame in tb["frames"]:
            paths.append(f"{frame['file']}:{frame['line']}")
    errors = _unique(errors)
    has_snippet = any(b["lang"] in PY_INFOS | PYCON_INFOS | SHELL_INFOS or not b["lang"] for b in blocks) \
        or bool(shell)
    has_failure = bool(tracebacks or errors or expected)
    hint = {(True, True): "both", (True, False): "snippet", (False, True): "traceback",
            (False, False): "neither"}[(has_snippet, has_failure)]
    return {
        "exception_types": _unique(e["type"] for e in errors),
        "messages": _unique(e["message"] for e in errors if e["message"]),
        "errors": errors,
        "tracebacks": tracebacks,
        "code_blocks": blocks,
        "pycon": pycon,
        "shell_commands": _unique(shell),
        "paths": _unique(paths)[:200],
        "versions": _unique(versions)[:50],
        "expected_vs_actual": _unique(expected),
        "reproducible_hint": hint,
    }


def normalize_issue(payload: dict, comments: list[dict], source: str, url_or_path: str,
                    ref: IssueRef | None = None) -> dict:
    """The normalized issue.json: the fields every later step reads, plus the raw payloads."""
    def user(obj: dict) -> str:
        u = obj.get("user")
        return (u.get("login") if isinstance(u, dict) else None) or obj.get("author") or ""

    labels = [l.get("name") if isinstance(l, dict) else str(l) for l in payload.get("labels") or []]
    norm_comments = [{"author": user(c), "created_at": c.get("created_at") or "",
                      "body": normalize_newlines(c.get("body") or "")} for c in comments]
    body = normalize_newlines(payload.get("body") or "")
    parts = [("title", payload.get("title") or ""), ("body", body)]
    parts += [(f"comment:{i}", c["body"]) for i, c in enumerate(norm_comments, 1)]
    slug = ref.slug if ref else payload.get("repo_slug") or ""
    return {
        "source": source,
        "issue_url": url_or_path,
        "repo_slug": slug,
        "issue_number": ref.number if ref else payload.get("number"),
        "title": str(payload.get("title") or "").strip(),
        "body": body,
        "labels": [l for l in labels if l],
        "state": payload.get("state") or "",
        "author": user(payload),
        "created_at": payload.get("created_at") or "",
        "comments": norm_comments,
        "signals": extract_signals(parts),
        "raw": {"issue": payload, "comments": comments},
    }


def load_issue(issue_url: str | None, issue_file: str | None, api_url: str | None = None,
               env: dict | None = None, timeout: float = GITHUB_TIMEOUT, stdin: Any = None,
               runner: Runner = run_cmd) -> dict:
    """Exactly one source -> the normalized issue (what ``issue`` prints and ``run`` saves)."""
    env = dict(os.environ) if env is None else env
    if bool(issue_url) == bool(issue_file):
        raise UsageError("give exactly one of --issue-url or --issue-file")
    if issue_file:
        payload = read_issue_file(issue_file, stdin)
        raw_comments = payload.get("comments")
        if not isinstance(raw_comments, list):  # a GitHub payload has a count here
            raw_comments = []
        location = issue_file if issue_file == "-" else str(Path(issue_file).absolute())
        return normalize_issue(payload, raw_comments, "file", location)
    ref = parse_issue_url(issue_url or "")
    token = resolve_token(env, runner)
    payload, comments = fetch_github_issue(ref, default_api_url(ref, api_url, env), token, timeout)
    return normalize_issue(payload, comments, "github", ref.html_url
                           if issue_url and "://" not in issue_url else issue_url, ref)


# ==== 13. CLI ==============================================================


def add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--runs-root", default=None,
                   help="where run directories live (default: $MMINIONS_RUNS_ROOT, else ./runs)")
    p.add_argument("--tmux-socket", default=None,
                   help="tmux socket name (default: $MMINIONS_TMUX_SOCKET, else mminions)")


def runs_root_from(args: argparse.Namespace) -> Path:
    return Path(args.runs_root or os.environ.get("MMINIONS_RUNS_ROOT") or DEFAULT_RUNS_ROOT).absolute()


def cmd_not_available(args: argparse.Namespace) -> int:
    raise UsageError(f"'{args.command}' is not available yet in mminions {VERSION}")


def add_issue_source(p: argparse.ArgumentParser) -> None:
    p.add_argument("--issue-url", help="GitHub issue/PR URL or OWNER/REPO#N")
    p.add_argument("--issue-file", help="Markdown or JSON issue file ('-' for stdin)")
    p.add_argument("--github-api-url", default=None,
                   help="GitHub API base (default: $GITHUB_API_URL, else api.github.com)")


def cmd_issue(args: argparse.Namespace) -> int:
    issue = load_issue(args.issue_url, args.issue_file, args.github_api_url)
    if args.out:
        atomic_write_json(args.out, issue)
        print(f"wrote {args.out}: {issue['title']!r}, "
              f"signals: {', '.join(issue['signals']['exception_types']) or 'no error types'}; "
              f"hint: {issue['signals']['reproducible_hint']}")
    else:
        print(json.dumps(issue, indent=2, sort_keys=True, ensure_ascii=False))
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n")[0])
    parser.add_argument("--version", action="version", version=f"{PROG} {VERSION}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, text in [("run", "start a run (manager in tmux) and wait for its verdict"),
                       ("manager", "run the pipeline in the foreground"),
                       ("status", "show a run's status"),
                       ("attach", "attach to a run's manager or worker session"),
                       ("send", "type text into a run's manager or worker session"),
                       ("stop", "stop a run and clean up"),
                       ("serve", "HTTP API and dashboard")]:
        p = sub.add_parser(name, help=text)
        add_common(p)
        p.set_defaults(func=cmd_not_available)
    p = sub.add_parser("issue", help="show what mminions understands of an issue (normalized JSON)")
    add_issue_source(p)
    p.add_argument("--out", help="write the JSON here instead of printing it")
    p.set_defaults(func=cmd_issue)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_USAGE
    try:
        return int(args.func(args) or 0)
    except MminionsError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return EXIT_STOPPED
    except BrokenPipeError:
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
