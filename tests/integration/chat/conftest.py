"""Chat-turn fixtures: settings and chat clients over the shared redis-server, moto's server and fake LLM server."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import redis
from companion.api.chat_app import create_app
from companion.auth import issue_token
from companion.bootstrap import Container, build_container
from companion.characters import BUILTIN_CHARACTERS
from companion.config import ModelSpec, Settings

from infra.fake_llm import FakeLLMServer

JWT_SECRET = "test-secret-for-chat-tests"


def greeting(character_id: str) -> tuple[str, str]:
    """A built-in character's greeting as the conversation's first message (role, content)."""
    return "assistant", BUILTIN_CHARACTERS[character_id].first_mes


def model(name: str, base_url: str) -> ModelSpec:
    return ModelSpec(name=name, provider="openai", model=name, base_url=base_url, api_key="test-key")


@pytest.fixture()
def settings_factory(redis_url: str, moto_endpoint: str, aws_resources: dict[str, str],
                     fake_llm: FakeLLMServer) -> Callable[..., Settings]:
    # Breaker state and global rate limits are shared through Redis: start each test clean (``fake_llm``
    # comes reset).
    with redis.Redis.from_url(redis_url) as r:
        r.flushdb()

    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = dict(
            app_env="test", redis_url=redis_url, aws_endpoint_url=moto_endpoint,
            memory_queue_url=aws_resources["memory_queue_url"], jwt_secret=JWT_SECRET,
            llm_chain=[model("primary", fake_llm.base_url), model("secondary", fake_llm.base_url)],
            llm_first_token_timeout_s=0.5, llm_stream_idle_timeout_s=1.0, breaker_failure_threshold=3,
            breaker_open_seconds=60, memory_segment_threshold=1000)
        values.update(overrides)
        return Settings(**values)

    return make


@dataclass
class ChatClient:
    container: Container
    http: httpx.AsyncClient
    user_id: str = field(default_factory=lambda: f"u-{uuid.uuid4().hex[:10]}")

    def token(self, user_id: str | None = None, **kw: Any) -> str:
        return issue_token(JWT_SECRET, user_id or self.user_id, **kw)

    def auth(self, user_id: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(user_id)}"}

    async def say(self, message: str, character_id: str = "xiaoyu", user_id: str | None = None
                  ) -> tuple[int, list[tuple[str, dict[str, Any]]]]:
        resp = await self.http.post("/api/v1/chat/stream", headers=self.auth(user_id),
                                    json={"character_id": character_id, "message": message})
        if resp.status_code != 200:
            return resp.status_code, [("http", resp.json())]
        return 200, parse_sse(resp.text)


def parse_sse(text: str) -> list[tuple[str, dict[str, Any]]]:
    events = []
    for block in text.split("\n\n"):
        if not block.strip():
            continue
        lines = block.split("\n")
        assert lines[0].startswith("event: "), block
        assert lines[1].startswith("data: "), block
        events.append((lines[0][7:], json.loads(lines[1][6:])))
    return events


def reply_text(events: list[tuple[str, dict[str, Any]]]) -> str:
    return "".join(d["content"] for e, d in events if e == "message" and not d["done"])


@pytest.fixture()
async def client_factory(settings_factory: Callable[..., Settings]) -> AsyncIterator[Callable[..., ChatClient]]:
    made: list[ChatClient] = []

    def make(settings: Settings | None = None, **overrides: Any) -> ChatClient:
        container = build_container(settings or settings_factory(**overrides))
        app = create_app(container)
        http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://chat.test", timeout=30)
        client = ChatClient(container, http)
        made.append(client)
        return client

    yield make
    for c in made:
        await c.http.aclose()
        await c.container.aclose()


@pytest.fixture()
def client(client_factory: Callable[..., ChatClient]) -> ChatClient:
    return client_factory()
