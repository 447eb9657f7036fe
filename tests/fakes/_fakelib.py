"""Shared behaviour of the fake agent CLIs: what to answer comes from a plan file.

MMINIONS_FAKE_PLAN_JSON (the plan itself; else MMINIONS_FAKE_PLAN, a JSON file) maps a worker id
(MMINIONS_WORKER_ID) or "default" to:
  {"output": <object or text>, "exit": 0, "sleep": 0, "stdout": "...", "repeat_kb": 0,
   "daemon": false, "touch": "relative/path", "flaky_file": "...",
   "usage": {...}, "usage_live": {...}}   (what the client reports: at the end, and while it works)
MMINIONS_FAKE_RECORD (a directory): the prompt each worker got is saved there.  A fake inside
mminions' sandbox cannot reach that directory, so each record is also printed to stderr (the
worker's agent.log) as one `MMINIONS_FAKE_RECORD <name> <json>` line (tests/helpers.fake_record).
"""

import json
import os
import sys
import time
from pathlib import Path


def plan_for_worker() -> dict:
    inline, path = os.environ.get("MMINIONS_FAKE_PLAN_JSON"), os.environ.get("MMINIONS_FAKE_PLAN")
    if not inline and not path:
        return {"output": {"candidates": [], "notes": "no plan given to the fake agent"}}
    plan = json.loads(inline) if inline else json.loads(Path(path).read_text())
    wid = os.environ.get("MMINIONS_WORKER_ID", "")
    role = os.environ.get("MMINIONS_ROLE", "")
    return plan.get(wid) or plan.get(role) or plan.get("default") or {}


def record(name: str, text: str) -> None:
    """Save one record: in MMINIONS_FAKE_RECORD when it can be written, and always as a line on stderr."""
    print(f"MMINIONS_FAKE_RECORD {name} {json.dumps(text)}", file=sys.stderr, flush=True)
    where = os.environ.get("MMINIONS_FAKE_RECORD")
    if where:
        try:
            Path(where).mkdir(parents=True, exist_ok=True)
            Path(where, name).write_text(text)
        except OSError:
            pass


def record_prompt(prompt: str) -> None:
    wid = os.environ.get("MMINIONS_WORKER_ID", "unknown")
    record(f"{wid}.prompt.md", prompt)
    record(f"{wid}.env.json", json.dumps({
        "has_github_token": bool(os.environ.get("GITHUB_TOKEN")), "cwd": os.getcwd(),
        "has_openai_key": bool(os.environ.get("OPENAI_API_KEY")),
        "has_anthropic_key": bool(os.environ.get("ANTHROPIC_API_KEY")),
        "has_server_token": bool(os.environ.get("MMINIONS_TOKEN")),
        "env_names": sorted(os.environ), "argv": sys.argv[1:]}))


USAGE_DEFAULT = {"input_tokens": 1000, "cached_input_tokens": 0, "output_tokens": 100}


def usage_of(plan: dict, key: str = "usage") -> dict:
    """The usage a fake reports (plan "usage": input_tokens with the cached ones, cached_input_tokens,
    output_tokens, and cost_usd where the real client computes a cost)."""
    return dict(USAGE_DEFAULT, **(plan.get(key) or {}))


def act(plan: dict, report_live=None) -> str:
    """Do what the plan says (sleep, misbehave) and return the final message text.  With
    plan "usage_live", ``report_live`` reports that usage the way the client does while it
    works, before the sleep."""
    if plan.get("daemon"):
        pid = os.fork()
        if pid == 0:  # a child that would outlive the agent if not killed with its session
            os.setpgid(0, 0)  # even out of the agent's process group
            mark = str(plan["daemon"]) if not isinstance(plan["daemon"], bool) else "600"
            os.execvp("sleep", ["sleep", mark])  # its mark finds it in /proc, inside a PID namespace too
        record("daemon.pid", str(pid))
    if plan.get("touch"):
        Path(plan["touch"]).write_text("written by the fake agent\n")
    if plan.get("rm_cwd"):
        import shutil
        shutil.rmtree(os.getcwd(), ignore_errors=True)
    if plan.get("stdout"):
        print(plan["stdout"], file=sys.stderr, flush=True)
    if plan.get("spew_mb"):  # a flood on one line
        for _ in range(int(plan["spew_mb"])):
            sys.stderr.write("x" * (1 << 20))
        sys.stderr.write("\n")
        sys.stderr.flush()
    for target in plan.get("connect", []):  # where a prompt-injected agent could try to reach
        import socket
        host, _, port = target.rpartition(":")
        try:
            if host.startswith("@") or host.startswith("/"):
                s = socket.socket(socket.AF_UNIX)
                s.settimeout(2)
                s.connect("\0" + host[1:] if host.startswith("@") else host)
            else:
                s = socket.create_connection((host, int(port)), timeout=2)
            s.close()
            record(f"reached-{len(target)}", target)
            print(f"fake agent: REACHED {target}", file=sys.stderr, flush=True)
        except OSError as e:
            print(f"fake agent: could not reach {target}: {e}", file=sys.stderr, flush=True)
    if plan.get("rewrite_config") and os.environ.get("CODEX_HOME"):  # what a prompt-injected agent could do
        Path(os.environ["CODEX_HOME"], "config.toml").write_text(plan["rewrite_config"])
    if os.environ.get("GITHUB_TOKEN"):
        print("fake agent: a GitHub token is available in the environment", file=sys.stderr, flush=True)
    if plan.get("usage_live") and report_live:
        report_live(usage_of(plan, "usage_live"))
    time.sleep(float(plan.get("sleep", 0)))
    output = plan.get("output", "")
    text = output if isinstance(output, str) else json.dumps(output)
    if plan.get("repeat_kb"):
        text = text + " " * (1024 * int(plan["repeat_kb"]))
    return text
