"""The chain over real HTTP (fake LLM server) with breaker state in a real Redis."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from companion.adapters.redis_breaker import RedisBreakerStore
from companion.bootstrap import builders
from companion.config import ModelSpec, Settings
from companion.llm.base import Prompt
from companion.llm.breaker import ResilientBreakerStore
from companion.llm.chain import ChainEvent, ChainNotice, LLMChain
from companion.llm.factory import build_chain
from companion.llm.openai_compat import OpenAICompatProvider
from redis.asyncio import Redis

from infra.fake_llm import FakeLLMServer
from infra.local.services import free_port

PROMPT = Prompt(messages=[{"role": "user", "content": "are you there"}])
CANNED = "抱歉，我现在有点走神了"


def _chain(server: FakeLLMServer, store: Any, names: tuple[str, ...] = ("primary", "secondary"),
           notices: list[ChainNotice] | None = None, **kw: Any) -> LLMChain:
    providers = [OpenAICompatProvider(ModelSpec(name=n, base_url=server.base_url), "k") for n in names]
    opts: dict[str, Any] = {"first_token_timeout_s": 0.3, "idle_timeout_s": 0.5, "failure_threshold": 3,
                            "open_seconds": 60}
    opts.update(kw)
    return LLMChain(providers, store, on_event=notices.append if notices is not None else None, **opts)


async def _run(chain: LLMChain) -> list[ChainEvent]:
    return [e async for e in chain.stream(PROMPT, canned=CANNED)]


def _text(events: list[ChainEvent]) -> str:
    return "".join(e.text for e in events if e.kind == "delta")


async def test_primary_stalls_before_first_token_secondary_answers(fake_llm: FakeLLMServer,
                                                                   redis_client: Redis) -> None:
    fake_llm.configure("primary", mode="stall")
    notices: list[ChainNotice] = []
    chain = _chain(fake_llm, RedisBreakerStore(redis_client), notices=notices)
    start = time.monotonic()
    events = await _run(chain)
    elapsed = time.monotonic() - start
    await chain.aclose()
    assert _text(events) == "echo: are you there"
    done = events[-1]
    assert done.kind == "done" and done.model == "secondary" and done.failovers == 1
    assert done.usage is not None and not done.usage.estimated
    assert 0.3 <= elapsed < 2.0 and done.first_token_ms is not None and done.first_token_ms >= 300
    # The primary was tried once (the notice says so) and never retried; on a loaded box the chain can
    # give up on it before the fake server has read the request, so "recorded" may be 0.
    assert len(fake_llm.requests("primary")) <= 1 and len(fake_llm.requests("secondary")) == 1
    assert [n.model for n in notices if n.kind == "failover"] == ["primary"]
    assert any(n.kind == "failover" and n.model == "primary" and "first-token" in n.detail for n in notices)


async def test_primary_fails_mid_stream_error_after_partial_text(fake_llm: FakeLLMServer,
                                                                 redis_client: Redis) -> None:
    fake_llm.configure("primary", mode="fail_mid_stream", fail_after_chunks=2,
                       reply="one two three four five six seven eight")
    chain = _chain(fake_llm, RedisBreakerStore(redis_client))
    events = await _run(chain)
    await chain.aclose()
    kinds = [e.kind for e in events]
    assert kinds[-1] == "error" and "done" not in kinds
    partial = _text(events)
    assert partial and "one two three four five six seven eight".startswith(partial)
    assert partial != "one two three four five six seven eight"
    assert {e.model for e in events} == {"primary"}
    assert fake_llm.requests("secondary") == []  # no failover after text was shown


async def test_breaker_opens_and_second_instance_skips_the_model(fake_llm: FakeLLMServer,
                                                                 redis_client: Redis, redis_url: str) -> None:
    fake_llm.configure("primary", mode="error", status=503)
    first = _chain(fake_llm, RedisBreakerStore(redis_client), failure_threshold=3)
    for _ in range(3):
        events = await _run(first)
        assert events[-1].model == "secondary"
    assert len(fake_llm.requests("primary")) == 3
    # Another Lambda instance: its own chain, its own store and Redis connection.
    other_redis = Redis.from_url(redis_url, decode_responses=True)
    notices: list[ChainNotice] = []
    second = _chain(fake_llm, ResilientBreakerStore(RedisBreakerStore(other_redis)), notices=notices,
                    failure_threshold=3)
    events = await _run(second)
    assert events[-1].model == "secondary" and events[-1].failovers == 0
    assert len(fake_llm.requests("primary")) == 3  # not called again
    assert [n.kind for n in notices if n.model == "primary"] == ["breaker_skip"]
    assert await redis_client.ttl("breaker:{primary}:open") > 50
    await first.aclose()
    await second.aclose()
    await other_redis.aclose()


async def test_half_open_trial_through_redis_closes_the_breaker(fake_llm: FakeLLMServer,
                                                                redis_client: Redis) -> None:
    store = RedisBreakerStore(redis_client)
    chain = _chain(fake_llm, store, failure_threshold=1, open_seconds=1)
    fake_llm.configure("primary", mode="error")
    await _run(chain)
    assert await store.is_open("primary")
    fake_llm.configure("primary", mode="ok")
    await asyncio.sleep(1.1)
    assert not await store.is_open("primary")
    assert await store.allow_call("primary", 1)  # the one trial
    assert not await store.allow_call("primary", 1)
    await store.record_success("primary")
    events = await _run(chain)
    await chain.aclose()
    assert events[-1].model == "primary"


async def test_all_models_down_streams_canned_reply(fake_llm: FakeLLMServer, redis_client: Redis) -> None:
    fake_llm.configure("primary", mode="error")
    fake_llm.configure("secondary", mode="stall")
    notices: list[ChainNotice] = []
    chain = _chain(fake_llm, RedisBreakerStore(redis_client), notices=notices)
    events = await _run(chain)
    await chain.aclose()
    assert _text(events) == CANNED
    assert events[-1].kind == "done" and events[-1].model == "canned" and events[-1].failovers == 2
    assert any(n.kind == "canned" for n in notices)


async def test_redis_unreachable_chain_still_answers(fake_llm: FakeLLMServer) -> None:
    dead = Redis.from_url(f"redis://127.0.0.1:{free_port()}/0", socket_timeout=0.2, socket_connect_timeout=0.2)
    fake_llm.configure("primary", mode="error")
    chain = _chain(fake_llm, ResilientBreakerStore(RedisBreakerStore(dead)), failure_threshold=2)
    for _ in range(3):
        events = await _run(chain)
        assert _text(events) == "echo: are you there" and events[-1].model == "secondary"
    # The in-process fallback opened the breaker: the third turn skipped the primary.
    assert len(fake_llm.requests("primary")) == 2
    await chain.aclose()
    await dead.aclose()


async def test_the_chain_built_with_redis_shares_its_breaker_state_there(fake_llm: FakeLLMServer,
                                                                         redis_client: Redis) -> None:
    settings = Settings(llm_chain=[ModelSpec(name="primary", base_url=fake_llm.base_url, api_key="k"),
                                   ModelSpec(name="secondary", base_url=fake_llm.base_url, api_key="k")],
                        llm_first_token_timeout_s=0.3, breaker_failure_threshold=1)
    fake_llm.configure("primary", mode="error")
    chain = builders.llm_chain(settings, redis_client)
    events = await _run(chain)
    await chain.aclose()
    assert events[-1].model == "secondary"
    assert await redis_client.exists("breaker:{primary}:open")
    assert fake_llm.requests("primary")[0]["body"]["messages"] == PROMPT.messages
    offline = build_chain(Settings(llm_chain=[]), None)
    events = await _run(offline)
    assert events[-1].model == "offline" and "(offline model)" in _text(events)


async def test_fake_server_handles_200_concurrent_streams(fake_llm: FakeLLMServer) -> None:
    fake_llm.configure("primary", chunk_delay_s=0.05, chunks=5)
    provider = OpenAICompatProvider(ModelSpec(name="primary", base_url=fake_llm.base_url), "k")

    async def one() -> str:
        return "".join([c.text async for c in provider.stream(PROMPT)])

    start = time.monotonic()
    replies = await asyncio.gather(*(one() for _ in range(200)))
    elapsed = time.monotonic() - start
    await provider.aclose()
    assert replies == ["echo: are you there"] * 200
    assert elapsed < 8.0  # concurrent: ~0.2 s of delays each, far from 200 × 0.2 s
