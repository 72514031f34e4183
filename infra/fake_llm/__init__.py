"""A fake OpenAI-compatible LLM server for tests, the local stack and benchmarks.

One server plays several models: behaviour is set per model name, so a test can make
the primary of a chain stall while the secondary answers.

Endpoints:
- ``POST /v1/chat/completions`` streamed (SSE, usage chunk when
  ``stream_options.include_usage``) or not.
- ``GET /v1/models``
- ``POST /_control/{model}`` with a JSON behaviour (fields of ``Behaviour``), plus
  ``"script": [behaviour, …]``: each call pops the next scripted behaviour (merged over
  the model's base behaviour) until the script is used up.
- ``POST /_reset``: forget behaviours, scripts and recorded requests.
- ``GET /_requests[?model=name]``: recorded request bodies, oldest first.

Modes: ``ok`` (default; reply ``"echo: <last user message>"`` in several chunks),
``slow`` (``first_token_delay_s`` before the first chunk, ``chunk_delay_s`` between
chunks; defaults 0.2 / 0.05), ``stall`` (headers, then nothing until the client gives up
or ``stall_max_s``), ``error`` (HTTP ``status``), ``fail_mid_stream`` (``fail_after_chunks``
chunks, then the connection is cut; ``fail_style: "error_event"`` sends an SSE error
event instead), ``malformed`` (a non-JSON data line).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
import time
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

__all__ = ["Behaviour", "FakeLLMServer", "create_app"]

MODES = ("ok", "slow", "stall", "error", "fail_mid_stream", "malformed")


@dataclass
class Behaviour:
    mode: str = "ok"
    reply: str | None = None  # None: "echo: <last user message>"
    chunk_delay_s: float = 0.0
    first_token_delay_s: float = 0.0
    chunks: int = 4  # how many pieces the reply is streamed in (at least)
    status: int = 500
    fail_after_chunks: int = 2
    fail_style: str = "disconnect"  # or "error_event"
    json: Any = None  # content of non-streamed answers (extraction tests)
    usage: bool = True  # send usage when asked; False tests the estimate path
    stall_max_s: float = 30.0

    @classmethod
    def from_dict(cls, data: dict[str, Any], base: Behaviour | None = None) -> Behaviour:
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known - {"script"}
        if unknown:
            raise ValueError(f"unknown behaviour fields: {sorted(unknown)}")
        merged = {**asdict(base or cls()), **{k: v for k, v in data.items() if k in known}}
        if merged["mode"] not in MODES:
            raise ValueError(f"mode must be one of {MODES}")
        if merged["mode"] == "slow" and "first_token_delay_s" not in data and "chunk_delay_s" not in data:
            merged["first_token_delay_s"], merged["chunk_delay_s"] = 0.2, 0.05
        return cls(**merged)


@dataclass
class _State:
    behaviours: dict[str, Behaviour] = field(default_factory=dict)
    scripts: dict[str, list[Behaviour]] = field(default_factory=dict)
    requests: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def next_behaviour(self, model: str) -> Behaviour:
        with self.lock:
            script = self.scripts.get(model)
            if script:
                return script.pop(0)
            return self.behaviours.get(model) or Behaviour()

    def configure(self, model: str, data: dict[str, Any]) -> None:
        base = Behaviour.from_dict(data)
        script = [Behaviour.from_dict(item, base) for item in data.get("script") or []]
        with self.lock:
            self.behaviours[model] = base
            self.scripts[model] = script

    def reset(self) -> None:
        with self.lock:
            self.behaviours.clear()
            self.scripts.clear()
            self.requests.clear()


def _last_user(messages: list[dict[str, Any]]) -> str:
    for message in reversed(messages):
        if message.get("role") == "user":
            content = message.get("content", "")
            return content if isinstance(content, str) else json.dumps(content, ensure_ascii=False)
    return ""


def _split(text: str, n: int) -> list[str]:
    """``text`` in about ``n`` pieces (word boundaries for English, characters otherwise)."""
    words = text.split(" ")
    if len(words) >= n:
        size = -(-len(words) // n)
        groups = [" ".join(words[i:i + size]) for i in range(0, len(words), size)]
        return [g + (" " if i < len(groups) - 1 else "") for i, g in enumerate(groups)]
    size = max(1, -(-len(text) // max(1, n)))
    return [text[i:i + size] for i in range(0, len(text), size)] or [""]


def _tokens(text: str) -> int:
    return max(1, len(text) // 4) if text else 0


def _sse(obj: Any) -> bytes:
    return f"data: {json.dumps(obj, ensure_ascii=False)}\n\n".encode()


class _CutConnection(Exception):
    """Raised inside a streaming body to drop the connection without finishing the response."""


def create_app(state: _State | None = None) -> Starlette:
    state = state or _State()

    async def chat(request: Request) -> Response:
        body = await request.json()
        model = str(body.get("model", ""))
        with state.lock:
            state.requests.append({"model": model, "body": body, "t": time.time()})
        b = state.next_behaviour(model)
        messages = body.get("messages") or []
        reply = b.reply if b.reply is not None else f"echo: {_last_user(messages)}"
        prompt_tokens = sum(_tokens(str(m.get("content", ""))) for m in messages)
        created, cid = int(time.time()), f"chatcmpl-fake-{len(state.requests)}"

        if b.mode == "error":
            return JSONResponse({"error": {"message": f"fake error for {model}", "type": "server_error",
                                           "code": b.status}}, status_code=b.status)
        if b.mode == "stall" and not body.get("stream"):
            await asyncio.sleep(b.stall_max_s)
        if not body.get("stream"):
            await asyncio.sleep(b.first_token_delay_s)
            content = reply if b.json is None else (b.json if isinstance(b.json, str)
                                                    else json.dumps(b.json, ensure_ascii=False))
            out: dict[str, Any] = {
                "id": cid, "object": "chat.completion", "created": created, "model": model,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                             "finish_reason": "stop"}]}
            if b.usage:
                out["usage"] = {"prompt_tokens": prompt_tokens, "completion_tokens": _tokens(content),
                                "total_tokens": prompt_tokens + _tokens(content)}
            return JSONResponse(out)

        want_usage = bool((body.get("stream_options") or {}).get("include_usage")) and b.usage

        def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
            return _sse({"id": cid, "object": "chat.completion.chunk", "created": created, "model": model,
                         "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})

        async def events():  # type: ignore[no-untyped-def]
            if b.mode == "stall":
                await asyncio.sleep(b.stall_max_s)
                return
            if b.mode == "malformed":
                yield b"data: {this is not json\n\n"
                return
            await asyncio.sleep(b.first_token_delay_s)
            yield chunk({"role": "assistant", "content": ""})
            for i, piece in enumerate(_split(reply, b.chunks)):
                if b.mode == "fail_mid_stream" and i >= b.fail_after_chunks:
                    if b.fail_style == "error_event":
                        yield _sse({"error": {"message": "fake mid-stream failure", "type": "server_error"}})
                        return
                    raise _CutConnection
                if i and b.chunk_delay_s:
                    await asyncio.sleep(b.chunk_delay_s)
                yield chunk({"content": piece})
            yield chunk({}, "stop")
            if want_usage:
                yield _sse({"id": cid, "object": "chat.completion.chunk", "created": created, "model": model,
                            "choices": [], "usage": {"prompt_tokens": prompt_tokens,
                                                     "completion_tokens": _tokens(reply),
                                                     "total_tokens": prompt_tokens + _tokens(reply)}})
            yield b"data: [DONE]\n\n"

        return StreamingResponse(events(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache"})

    async def models(request: Request) -> Response:
        with state.lock:
            names = sorted(set(state.behaviours) | {"fake-default"})
        return JSONResponse({"object": "list", "data": [{"id": n, "object": "model", "owned_by": "fake"}
                                                        for n in names]})

    async def control(request: Request) -> Response:
        try:
            state.configure(request.path_params["model"], await request.json())
        except (ValueError, TypeError) as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse({"ok": True})

    async def reset(request: Request) -> Response:
        state.reset()
        return JSONResponse({"ok": True})

    async def requests(request: Request) -> Response:
        model = request.query_params.get("model")
        with state.lock:
            rows = [r for r in state.requests if model is None or r["model"] == model]
        return JSONResponse(rows)

    app = Starlette(routes=[
        Route("/v1/chat/completions", chat, methods=["POST"]),
        Route("/v1/models", models, methods=["GET"]),
        Route("/_control/{model:path}", control, methods=["POST"]),
        Route("/_reset", reset, methods=["POST"]),
        Route("/_requests", requests, methods=["GET"]),
    ])
    app.state.fake = state
    return app


class FakeLLMServer:
    """The fake server on a background thread: ``base_url = FakeLLMServer().start()``.

    Besides the HTTP control endpoints, ``configure``/``reset``/``requests`` act on the
    state directly (thread-safe), which is handy in tests.
    """

    def __init__(self, port: int = 0, host: str = "127.0.0.1") -> None:
        self.host, self.port = host, port
        self.state = _State()
        self._server: Any = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    def start(self, timeout_s: float = 10.0) -> str:
        import uvicorn

        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(create_app(self.state), log_level="critical", access_log=False,
                                backlog=4096, timeout_keep_alive=30, lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=lambda: asyncio.run(self._server.serve(sockets=[sock])),
                                        name="fake-llm", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout_s
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("fake LLM server did not start")
            time.sleep(0.01)
        return self.base_url

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
            # Stalled streams would otherwise hold shutdown for stall_max_s.
            self._server.force_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._server = self._thread = None

    def configure(self, model: str, **behaviour: Any) -> None:
        self.state.configure(model, behaviour)

    def reset(self) -> None:
        self.state.reset()

    def requests(self, model: str | None = None) -> list[dict[str, Any]]:
        with self.state.lock:
            return [dict(r) for r in self.state.requests if model is None or r["model"] == model]

    def __enter__(self) -> FakeLLMServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        with contextlib.suppress(Exception):
            self.stop()
