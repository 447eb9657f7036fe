"""A scripted model on 127.0.0.1 for the real agent CLIs (test helper, standard library).

Speaks enough of the OpenAI Responses API (POST /v1/responses, streamed as server-sent
events) for `codex exec`, and of the Anthropic Messages API (POST /v1/messages, streamed)
for `claude -p`, to finish a turn.  What it answers comes from ``answer(role)``; with
``tool_first`` it first asks the client to run one shell command in the worktree, and
only answers once the command's output comes back.  Every request is recorded.

Every answer reports the same known usage (``USAGE``: input tokens with the cached ones,
cached, output), so what a client adds up can be checked exactly: ``model_calls`` counts
the answers.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable

TOOL_MARKER = "mminions-tool-check"
USAGE = {"input_tokens": 1200, "cached_input_tokens": 200, "output_tokens": 30}  # per answer


def role_of(body: dict) -> str:
    text = json.dumps(body)
    if "a TRIAGER for mminions" in text:
        return "TRIAGER"
    if "a REPRO_BUILDER for mminions" in text:
        return "REPRO_BUILDER"
    return "OTHER"


def _tool_argument(tool: dict, command: str) -> tuple[str, dict]:
    """Fill a shell-like tool's required argument whatever its exact schema is."""
    params = tool.get("parameters") or tool.get("input_schema") or {}
    props = params.get("properties", {})
    for key in ("command", "cmd"):
        if key in props:
            if props[key].get("type") == "array":
                return tool["name"], {key: ["bash", "-lc", command]}
            return tool["name"], {key: command}
    return tool["name"], {"command": command}


def messages_usage(output_tokens: int) -> dict:
    """The Messages API's usage of one answer: its input split into fresh and cache-read tokens."""
    return {"input_tokens": USAGE["input_tokens"] - USAGE["cached_input_tokens"], "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": USAGE["cached_input_tokens"], "output_tokens": output_tokens}


class ModelServer:
    def __init__(self, answer: Callable[[str], str], tool_first: bool = False) -> None:
        self.answer = answer
        self.tool_first = tool_first
        self.requests: list[dict] = []
        self.tool_outputs: list[str] = []
        self.model_calls = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                self._json(404, {"error": {"message": "not found"}})

            def do_HEAD(self):
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw or b"{}")
                except json.JSONDecodeError:
                    body = {}
                path = self.path.split("?")[0]
                server.requests.append({"path": self.path, "body": body,
                                        "has_auth": bool(self.headers.get("Authorization") or self.headers.get("x-api-key"))})
                if path.endswith("/responses"):
                    server.model_calls += 1
                    return self._sse(server.responses_events(body))
                if path.endswith("/messages/count_tokens"):
                    return self._json(200, {"input_tokens": 10})
                if path.endswith("/messages"):
                    server.model_calls += 1
                    if body.get("stream"):
                        return self._sse(server.messages_events(body))
                    return self._json(200, server.messages_json(body))
                self._json(404, {"error": {"message": f"no route {path}"}})

            def _json(self, code, obj):
                data = json.dumps(obj).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _sse(self, events):
                data = "".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n" for e in events).encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Cache-Control", "no-cache")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> "ModelServer":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # -- OpenAI Responses API ------------------------------------------------

    def responses_events(self, body: dict) -> list[dict]:
        n = len(self.requests)
        rid, role = f"resp_{n}", role_of(body)
        items = body.get("input") or []
        outputs = [i for i in items if isinstance(i, dict) and i.get("type") == "function_call_output"]
        for item in outputs:
            out = item.get("output")
            self.tool_outputs.append(out if isinstance(out, str) else json.dumps(out))
        events = [{"type": "response.created", "response": {"id": rid}}]
        shell = next((t for t in body.get("tools") or [] if t.get("type") == "function"
                      and any(k in t.get("name", "") for k in ("shell", "exec"))), None)
        if self.tool_first and role != "OTHER" and not outputs and shell:
            name, args = _tool_argument(shell, f"echo {TOOL_MARKER}; pwd; ls")
            events.append({"type": "response.output_item.done",
                           "item": {"type": "function_call", "id": f"fc_{n}", "call_id": f"call_{n}",
                                    "name": name, "arguments": json.dumps(args)}})
        else:
            events.append({"type": "response.output_item.done",
                           "item": {"type": "message", "role": "assistant", "id": f"msg_{n}",
                                    "content": [{"type": "output_text", "text": self.answer(role)}]}})
        events.append({"type": "response.completed",
                       "response": {"id": rid, "usage": {
                           "input_tokens": USAGE["input_tokens"],
                           "input_tokens_details": {"cached_tokens": USAGE["cached_input_tokens"]},
                           "output_tokens": USAGE["output_tokens"], "output_tokens_details": {"reasoning_tokens": 0},
                           "total_tokens": USAGE["input_tokens"] + USAGE["output_tokens"]}}})
        return events

    # -- Anthropic Messages API ----------------------------------------------

    def _messages_reply(self, body: dict) -> dict:
        role = role_of(body)
        results = []
        for message in body.get("messages") or []:
            content = message.get("content")
            if isinstance(content, list):
                for block in content:
                    if isinstance(block, dict) and block.get("type") == "tool_result":
                        results.append(json.dumps(block.get("content")))
        self.tool_outputs += results
        bash = next((t for t in body.get("tools") or [] if t.get("name") == "Bash"), None)
        if self.tool_first and role != "OTHER" and not results and bash:
            return {"type": "tool_use", "id": f"toolu_{len(self.requests)}", "name": "Bash",
                    "input": {"command": f"echo {TOOL_MARKER}; pwd; ls", "description": "look around"}}
        return {"type": "text", "text": self.answer(role) if role != "OTHER" else "ok"}

    def messages_json(self, body: dict) -> dict:
        block = self._messages_reply(body)
        return {"id": f"msg_{len(self.requests)}", "type": "message", "role": "assistant",
                "model": body.get("model", "mock"), "content": [block],
                "stop_reason": "tool_use" if block["type"] == "tool_use" else "end_turn", "stop_sequence": None,
                "usage": messages_usage(USAGE["output_tokens"])}

    def messages_events(self, body: dict) -> list[dict]:
        msg = self.messages_json(body)
        block = msg["content"][0]
        events = [{"type": "message_start", "message": dict(msg, content=[], stop_reason=None,
                                                            usage=messages_usage(1))}]
        if block["type"] == "text":
            events += [{"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
                       {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": block["text"]}}]
        else:
            events += [{"type": "content_block_start", "index": 0,
                        "content_block": {"type": "tool_use", "id": block["id"], "name": block["name"], "input": {}}},
                       {"type": "content_block_delta", "index": 0,
                        "delta": {"type": "input_json_delta", "partial_json": json.dumps(block["input"])}}]
        events += [{"type": "content_block_stop", "index": 0},
                   {"type": "message_delta", "delta": {"stop_reason": msg["stop_reason"], "stop_sequence": None},
                    "usage": {"output_tokens": USAGE["output_tokens"]}},
                   {"type": "message_stop"}]
        return events
