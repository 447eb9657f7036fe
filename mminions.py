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
