from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from redis.asyncio import Redis

from infra.fake_llm import FakeLLMServer


@pytest.fixture(scope="session")
def fake_llm_server() -> Iterator[FakeLLMServer]:
    server = FakeLLMServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture()
def fake_llm(fake_llm_server: FakeLLMServer) -> FakeLLMServer:
    fake_llm_server.reset()
    return fake_llm_server


@pytest.fixture()
async def redis_client(redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url, decode_responses=True, socket_timeout=0.5)
    # Only this package's keys: the session Redis is shared with other test packages.
    async for key in client.scan_iter(match="breaker:*"):
        await client.delete(key)
    yield client
    await client.aclose()
