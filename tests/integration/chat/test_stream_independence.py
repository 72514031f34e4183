"""One user's slow reply must not hold back another user's first token.

The chat app runs under a real uvicorn server here (httpx's ASGI transport would hand the test the
whole body at once, hiding when each token left), over real Redis, moto and the fake model.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import uvicorn
from companion.api.chat_app import create_app
from companion.auth import issue_token
from companion.bootstrap import build_container
from companion.config import Settings

from infra.fake_llm import FakeLLMServer

from .conftest import JWT_SECRET, model

SLOW_USERS = 20
SLOW_CHUNKS = 20
CHUNK_DELAY_S = 0.5  # below the stream's idle timeout set below, so a slow reply is not cut


class ChatServer:
    """The chat app under uvicorn on a thread, its container built and closed in the server's loop."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._sock.getsockname()[1]}"
        self._server: uvicorn.Server | None = None
        self._thread = threading.Thread(target=lambda: asyncio.run(self._serve()), name="chat", daemon=True)

    async def _serve(self) -> None:
        container = build_container(self.settings)
        config = uvicorn.Config(create_app(container), log_level="warning", access_log=False, lifespan="on")
        self._server = uvicorn.Server(config)
        try:
            await self._server.serve(sockets=[self._sock])
        finally:
            await container.aclose()

    def __enter__(self) -> ChatServer:
        self._thread.start()
        deadline = time.monotonic() + 20
        while self._server is None or not self._server.started:
            assert time.monotonic() < deadline and self._thread.is_alive(), "chat server did not start"
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.should_exit = self._server.force_exit = True
        self._thread.join(timeout=20)


@pytest.fixture()
def server(settings_factory: Callable[..., Settings], fake_llm: FakeLLMServer) -> Iterator[ChatServer]:
    settings = settings_factory(llm_chain=[model("primary", fake_llm.base_url)], llm_first_token_timeout_s=5.0,
                                llm_stream_idle_timeout_s=5.0, rate_limit_global_per_second=10_000)
    with ChatServer(settings) as chat:
        yield chat


class Turn:
    """One streamed turn: when its first token and its end arrived (monotonic seconds)."""

    def __init__(self) -> None:
        self.sent = self.first = self.done = 0.0
        self.events = 0
        self.first_seen = asyncio.Event()

    async def run(self, http: httpx.AsyncClient, user: str, message: str) -> None:
        self.sent = time.monotonic()
        headers = {"Authorization": f"Bearer {issue_token(JWT_SECRET, user)}"}
        async with http.stream("POST", "/api/v1/chat/stream", headers=headers,
                               json={"character_id": "luna", "message": message}) as resp:
            assert resp.status_code == 200, await resp.aread()
            body = b""
            async for chunk in resp.aiter_raw():
                if not self.first:
                    self.first = time.monotonic()
                    self.first_seen.set()
                body += chunk
        self.done = time.monotonic()
        assert b'"done": true' in body, body[-300:]
        self.events = body.count(b"event: message")


async def test_a_slow_reply_does_not_delay_another_users_first_token(server: ChatServer,
                                                                     fake_llm: FakeLLMServer) -> None:
    # The first SLOW_USERS model calls stream slowly; every later one answers at once.
    slow: dict[str, Any] = {"mode": "slow", "first_token_delay_s": 0.0, "chunk_delay_s": CHUNK_DELAY_S,
                            "chunks": SLOW_CHUNKS, "reply": "一个很慢很慢的回答，" * SLOW_CHUNKS}
    fake_llm.configure("primary", script=[slow] * SLOW_USERS)
    limits = httpx.Limits(max_connections=SLOW_USERS + 5)
    async with httpx.AsyncClient(base_url=server.url, timeout=60, limits=limits) as http:
        slow_turns = [Turn() for _ in range(SLOW_USERS)]
        running = [asyncio.create_task(t.run(http, f"slow-{i}", "tell me a long story"))
                   for i, t in enumerate(slow_turns)]
        await asyncio.wait_for(asyncio.gather(*(t.first_seen.wait() for t in slow_turns)), 60)
        quick = Turn()
        await quick.run(http, "quick-user", "你好")
        await asyncio.gather(*running)

    assert all(t.events > SLOW_CHUNKS for t in slow_turns)  # they did stream chunk by chunk
    first_slow_end = min(t.done for t in slow_turns)
    remaining = first_slow_end - quick.sent  # how long every slow reply still streamed once the quick turn began
    timing = f"quick turn: first token {quick.first - quick.sent:.2f} s, done {quick.done - quick.sent:.2f} s; " \
             f"the slow replies streamed {remaining:.2f} s more"
    assert remaining > (SLOW_CHUNKS - 2) * CHUNK_DELAY_S / 2, f"the slow replies ended too soon: {timing}"
    # The quick user's whole reply came while every slow one still streamed, its first token in a
    # fraction of the time they still took.
    assert quick.done < first_slow_end, timing
    assert quick.first - quick.sent < remaining / 2, timing
