"""Model failover, circuit breaker shared through Redis, and the canned reply."""

from __future__ import annotations

from companion.characters import BUILTIN_CHARACTERS

from infra.fake_llm import FakeLLMServer

from .conftest import ChatClient, reply_text


async def test_primary_stalls_secondary_answers(client: ChatClient, fake_llm: FakeLLMServer) -> None:
    fake_llm.configure("primary", mode="stall", stall_max_s=5)
    fake_llm.configure("secondary", reply="from the secondary")
    status, events = await client.say("hello there", character_id="luna")
    assert status == 200
    assert reply_text(events) == "from the secondary"
    assert events[-1][1]["model"] == "secondary" and events[-1][1]["failovers"] == 1


async def test_mid_stream_failure_sends_error_after_partial_text(client: ChatClient, fake_llm: FakeLLMServer) -> None:
    fake_llm.configure("primary", mode="fail_mid_stream", reply="one two three four five six", chunks=6,
                       fail_after_chunks=2)
    fake_llm.configure("secondary", reply="SECONDARY")
    status, events = await client.say("tell me something", character_id="luna")
    assert status == 200
    kinds = [e for e, _ in events]
    assert kinds[-1] == "error" and "message" in kinds
    partial = reply_text(events)
    assert partial and "one two three four five six".startswith(partial)
    assert "SECONDARY" not in partial
    assert fake_llm.requests("secondary") == []  # no failover after the first token
    # the partial turn is still kept, marked as interrupted
    logged = await client.container.message_log.history(client.user_id, "luna", limit=5)
    assert logged[-1].content == partial and logged[-1].metadata.get("interrupted") is True


async def test_breaker_opens_and_second_instance_sees_it(client_factory, fake_llm: FakeLLMServer) -> None:  # type: ignore[no-untyped-def]
    first = client_factory()
    fake_llm.configure("primary", mode="error", status=503)
    fake_llm.configure("secondary", reply="backup here")
    for _ in range(3):  # breaker_failure_threshold=3
        status, events = await first.say("ping", character_id="luna")
        assert events[-1][1]["model"] == "secondary"
    calls_before = len(fake_llm.requests("primary"))
    assert calls_before == 3

    second = client_factory()  # another instance: its own chain, same Redis
    status, events = await second.say("ping again", character_id="luna")
    assert status == 200 and reply_text(events) == "backup here"
    assert events[-1][1]["failovers"] == 0  # primary skipped, not tried
    assert len(fake_llm.requests("primary")) == calls_before


async def test_all_models_down_gives_the_canned_reply(client: ChatClient, fake_llm: FakeLLMServer) -> None:
    fake_llm.configure("primary", mode="error", status=500)
    fake_llm.configure("secondary", mode="error", status=502)
    status, events = await client.say("你在吗？")
    assert status == 200
    assert reply_text(events) == BUILTIN_CHARACTERS["xiaoyu"].canned_reply_zh
    assert events[-1][1]["model"] == "canned"
