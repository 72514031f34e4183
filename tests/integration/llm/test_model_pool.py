"""The model client's connection pool: full of other users' streams, a turn fails over instead of waiting."""

from __future__ import annotations

import asyncio

import pytest
from companion.config import ModelSpec
from companion.llm import openai_compat
from companion.llm.base import Prompt, ProviderError
from companion.llm.openai_compat import OpenAICompatProvider

from infra.fake_llm import FakeLLMServer

PROMPT = Prompt(messages=[{"role": "user", "content": "一个很长的故事 please"}], max_tokens=300)


async def test_a_full_pool_fails_within_the_connect_timeout_not_after_the_other_streams(
        fake_llm: FakeLLMServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(openai_compat, "MAX_CONNECTIONS", 1)
    fake_llm.configure("pooled", script=[{"mode": "slow", "chunk_delay_s": 0.5, "chunks": 10}])
    provider = OpenAICompatProvider(ModelSpec(name="pooled", base_url=fake_llm.base_url,
                                              extra_body={"connect_timeout_s": 0.2}), "sk-test")
    first_token = asyncio.Event()

    async def slow_reply() -> str:
        parts = []
        async for chunk in provider.stream(PROMPT):
            if chunk.text:
                parts.append(chunk.text)
                first_token.set()
        return "".join(parts)

    holder = asyncio.create_task(slow_reply())  # holds the pool's only connection while it streams
    await asyncio.wait_for(first_token.wait(), 10)
    with pytest.raises(ProviderError) as caught:
        async for _ in provider.stream(PROMPT):
            pass
    failed_while_streaming = not holder.done()
    assert await holder == "echo: 一个很长的故事 please"
    await provider.aclose()
    assert failed_while_streaming  # it gave up on the pool, rather than waiting for the other stream to end
    assert caught.value.retryable and "timeout" in str(caught.value)
