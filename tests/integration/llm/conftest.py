"""LLM-chain fixtures: a Redis client over the shared redis-server (the shared ``fake_llm`` serves the models)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis


@pytest.fixture()
async def redis_client(redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url, decode_responses=True, socket_timeout=0.5)
    # Only this package's keys: the session Redis is shared with other test packages.
    async for key in client.scan_iter(match="breaker:*"):
        await client.delete(key)
    yield client
    await client.aclose()
