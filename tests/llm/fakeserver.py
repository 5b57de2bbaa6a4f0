"""A real HTTP server on 127.0.0.1 that speaks OpenAI chat-completions and Anthropic messages.

It answers from scripted replies queued per model name, else with an echo of the last user message.
Tests and the gateway benchmark drive the real SDKs against it: nothing of the SDKs is mocked.

Replies may call tools (``Reply.calls``): the server answers with OpenAI ``tool_calls`` or Anthropic
``tool_use`` blocks, and it checks the conversations it receives as the real services do — every tool
result answers a call the assistant made in the turn before, Anthropic's roles alternate — answering
400 otherwise, so a client that sends a malformed conversation fails here as it would there.
"""

from __future__ import annotations

import json
import threading
from collections import defaultdict, deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from baton.llm import GatewayConfig, load_config

SECRET = "sk-test-THIS-KEY-MUST-NEVER-LEAK-0123456789"


@dataclass
class Reply:
    """One scripted answer. ``content`` is text, or a dict for a structured (JSON) answer."""

    status: int = 200
    content: str | dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None  # sent as is (malformed answers)
    hang: bool = False  # never answer (until the server stops): the client must time out
    usage: bool = True
    error: str = ""
    # tool calls: (name, arguments); arguments as a dict, or as raw text (OpenAI only: malformed JSON)
    calls: list[tuple[str, dict[str, Any] | str]] = field(default_factory=list)

    @classmethod
    def tool(cls, name: str, arguments: dict[str, Any] | str | None = None, *, text: str = "") -> Reply:
        return cls(content=text, calls=[(name, {} if arguments is None else arguments)])

    @classmethod
    def tools(cls, *calls: tuple[str, dict[str, Any] | str], text: str = "") -> Reply:
        return cls(content=text, calls=list(calls))

    @classmethod
    def text(cls, text: str, *, usage: bool = True) -> Reply:
        return cls(content=text, usage=usage)

    @classmethod
    def structured(cls, data: dict[str, Any]) -> Reply:
        return cls(content=data)

    @classmethod
    def fail(cls, status: int, message: str = "scripted failure", **headers: str) -> Reply:
        return cls(status=status, error=message, headers=headers)

    @classmethod
    def rate_limited(cls, retry_after: str = "0") -> Reply:
        return cls(status=429, error="rate limited", headers={"Retry-After": retry_after})

    @classmethod
    def malformed(cls) -> Reply:
        return cls(raw=b'{"id": "x", "choices": [ this is not json')

    @classmethod
    def hanging(cls) -> Reply:
        return cls(hang=True)


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


class FakeModelServer:
    """Start with :meth:`start`, stop with :meth:`stop`; ``openai_url`` and ``anthropic_url`` are base URLs."""

    def __init__(self) -> None:
        self._scripts: defaultdict[str, deque[Reply]] = defaultdict(deque)
        self._lock = threading.Lock()
        self._call_ids = 0
        self.received: list[Received] = []
        self.released = threading.Event()
        self.echo_errors_with_headers = False  # a hostile server that echoes credentials in its errors
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in two writes: without this, Nagle's algorithm and delayed
            # ACKs add ~40 ms to every answer.
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                server._handle(self, body)

        class Server(ThreadingHTTPServer):
            request_queue_size = 1024  # hundreds of clients connect at once in the concurrency tests

        self._httpd = Server(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def openai_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def anthropic_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FakeModelServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.released.set()
        self._httpd.shutdown()
        self._httpd.server_close()

    def script(self, model: str, *replies: Reply) -> None:
        with self._lock:
            self._scripts[model].extend(replies)

    def calls_for(self, model: str) -> list[Received]:
        return [r for r in self.received if r.body.get("model") == model]

    def reset(self) -> None:
        with self._lock:
            self._scripts.clear()
            self.received.clear()
        self.echo_errors_with_headers = False

    # -- answering -------------------------------------------------------------------------------

    def _next(self, model: str) -> Reply | None:
        with self._lock:
            queue = self._scripts.get(model)
            return queue.popleft() if queue else None

    def _handle(self, handler: BaseHTTPRequestHandler, body: dict[str, Any]) -> None:
        path = handler.path
        with self._lock:
            self.received.append(Received(path, {k.lower(): v for k, v in handler.headers.items()}, body))
        anthropic = path.rstrip("/").endswith("/messages")
        problem = _anthropic_problem(body) if anthropic else _openai_problem(body)
        if problem:
            error = {"type": "error", "error": {"type": "invalid_request_error", "message": problem}}
            self._send(handler, 400, json.dumps(error).encode(), {})
            return
        reply = self._next(str(body.get("model", ""))) or Reply()
        if reply.hang:
            self.released.wait(30)
            return
        if reply.raw is not None:
            self._send(handler, 200, reply.raw, reply.headers)
            return
        if reply.status >= 400:
            message = reply.error
            if self.echo_errors_with_headers:
                message += " " + json.dumps(dict(handler.headers.items()))
            error = {"type": "error", "error": {"type": "api_error", "message": message}}
            self._send(handler, reply.status, json.dumps(error).encode(), reply.headers)
            return
        with self._lock:
            first = self._call_ids
            self._call_ids += len(reply.calls)
        ids = [f"{'toolu' if anthropic else 'call'}_{first + n:04d}" for n in range(len(reply.calls))]
        answer = _anthropic_answer(body, reply, ids) if anthropic else _openai_answer(body, reply, ids)
        self._send(handler, 200, json.dumps(answer).encode(), reply.headers)

    @staticmethod
    def _send(handler: BaseHTTPRequestHandler, status: int, payload: bytes, headers: dict[str, str]) -> None:
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(payload)))
            for name, value in headers.items():
                handler.send_header(name, value)
            handler.end_headers()
            handler.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass


def _last_user_text(body: dict[str, Any]) -> str:
    for message in reversed(body.get("messages", [])):
        if message.get("role") == "user":
            content = message.get("content")
            return content if isinstance(content, str) else json.dumps(content)
    return ""


def _reply_text(body: dict[str, Any], reply: Reply) -> str:
    if reply.content is None:
        return "echo: " + _last_user_text(body)
    return reply.content if isinstance(reply.content, str) else json.dumps(reply.content)


def _openai_problem(body: dict[str, Any]) -> str:
    """What the real API would refuse in a conversation with tools (empty when it is well formed)."""
    open_calls: set[str] = set()
    for index, message in enumerate(body.get("messages", [])):
        role = message.get("role")
        if role == "tool":
            if message.get("tool_call_id") not in open_calls:
                return f"messages[{index}]: a 'tool' message must answer a preceding tool_calls id"
            open_calls.discard(message["tool_call_id"])
            continue
        if open_calls:
            return f"messages[{index}]: tool_call_ids {sorted(open_calls)} did not have response messages"
        for call in message.get("tool_calls") or []:
            if call.get("type") != "function" or not call.get("function", {}).get("name"):
                return f"messages[{index}]: a tool call needs type 'function' and a function name"
            open_calls.add(call["id"])
    return ""


def _anthropic_problem(body: dict[str, Any]) -> str:
    previous_uses: set[str] = set()
    previous_role = None
    for index, message in enumerate(body.get("messages", [])):
        role = message.get("role")
        if role == previous_role:
            return f"messages.{index}: roles must alternate between user and assistant"
        previous_role = role
        content = message.get("content")
        blocks = content if isinstance(content, list) else []
        results = {b.get("tool_use_id") for b in blocks if b.get("type") == "tool_result"}
        if results - previous_uses:
            return f"messages.{index}: tool_result block(s) without a tool_use in the previous message"
        if role == "user" and previous_uses - results:
            return f"messages.{index}: tool_use ids {sorted(previous_uses - results)} have no tool_result"
        previous_uses = {b.get("id") for b in blocks if b.get("type") == "tool_use"}
        if any(not isinstance(b.get("input", {}), dict) for b in blocks):
            return f"messages.{index}: tool_use.input must be an object"
    return ""


def _openai_answer(body: dict[str, Any], reply: Reply, ids: list[str]) -> dict[str, Any]:
    text = _reply_text(body, reply)
    message: dict[str, Any] = {"role": "assistant", "content": text}
    if reply.calls:
        message["content"] = reply.content or None
        message["tool_calls"] = [
            {
                "id": call_id,
                "type": "function",
                "function": {"name": name, "arguments": args if isinstance(args, str) else json.dumps(args)},
            }
            for call_id, (name, args) in zip(ids, reply.calls, strict=True)
        ]
        text = json.dumps(message["tool_calls"])
    finish = "tool_calls" if reply.calls else "stop"
    answer: dict[str, Any] = {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": 0,
        "model": body.get("model"),
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
    }
    if reply.usage:
        prompt = sum(len(str(m.get("content", "")).split()) for m in body.get("messages", []))
        answer["usage"] = {
            "prompt_tokens": prompt + 7,
            "completion_tokens": len(text.split()) + 1,
            "total_tokens": prompt + 8 + len(text.split()),
        }
    return answer


def _anthropic_answer(body: dict[str, Any], reply: Reply, ids: list[str]) -> dict[str, Any]:
    tools = body.get("tools") or []
    content: list[dict[str, Any]]
    if reply.calls:
        content = [{"type": "text", "text": reply.content}] if reply.content else []
        for call_id, (name, args) in zip(ids, reply.calls, strict=True):
            if not isinstance(args, dict):
                raise ValueError("an Anthropic tool_use carries an object: script its arguments as a dict")
            content.append({"type": "tool_use", "id": call_id, "name": name, "input": args})
    elif tools and isinstance(reply.content, dict):
        content = [{"type": "tool_use", "id": "toolu_fake", "name": tools[0]["name"], "input": reply.content}]
    else:
        content = [{"type": "text", "text": _reply_text(body, reply)}]
    answer: dict[str, Any] = {
        "id": "msg_fake",
        "type": "message",
        "role": "assistant",
        "model": body.get("model"),
        "content": content,
        "stop_reason": "tool_use" if any(b["type"] == "tool_use" for b in content) else "end_turn",
        "stop_sequence": None,
    }
    if reply.usage:
        prompt = sum(len(str(m.get("content", "")).split()) for m in body.get("messages", []))
        answer["usage"] = {"input_tokens": prompt + 5, "output_tokens": 9}
    return answer


def gateway_table(server: FakeModelServer, **overrides: Any) -> dict[str, Any]:
    """An [llm] table: one local model and three cloud models, all served by the fake server."""
    breaker = {"failure_threshold": 3, "reset_after": 30.0}
    table: dict[str, Any] = {
        "providers": {
            "local": {"kind": "openai", "base_url": server.openai_url, "local": True, "breaker": breaker},
            "openai": {
                "kind": "openai",
                "base_url": server.openai_url,
                "local": False,
                "api_key_env": "TEST_OPENAI_KEY",
                "breaker": breaker,
                "backoff": 0.25,
            },
            "anthropic": {
                "kind": "anthropic",
                "base_url": server.anthropic_url,
                "local": False,
                "api_key_env": "TEST_ANTHROPIC_KEY",
                "breaker": breaker,
            },
        },
        "models": [
            {"name": "llama-small", "provider": "local", "tier": "simple"},
            {"name": "gpt-4o-mini", "provider": "openai", "tier": "moderate"},
            {"name": "claude-haiku-4-5", "provider": "anthropic", "tier": "moderate"},
            {"name": "gpt-4o", "provider": "openai", "tier": "complex"},
        ],
    }
    table.update(overrides)
    return table


ENV = {"TEST_OPENAI_KEY": SECRET, "TEST_ANTHROPIC_KEY": SECRET}


def make_config(server: FakeModelServer, **overrides: Any) -> GatewayConfig:
    return load_config(data=gateway_table(server, **overrides), env=ENV)
