"""Degradation: Redis stopped mid-test, DynamoDB unreachable."""

from __future__ import annotations

from infra.fake_llm import FakeLLMServer
from infra.local.services import ManagedProcess, free_port

from .conftest import greeting, reply_text


async def test_redis_stopped_mid_test_turn_still_streams_and_is_logged(
        client_factory, own_redis: ManagedProcess, fake_llm: FakeLLMServer) -> None:  # type: ignore[no-untyped-def]
    c = client_factory(redis_url=f"redis://127.0.0.1:{own_redis.port}/0")
    fake_llm.configure("primary", reply="first answer")
    status, events = await c.say("before the outage", character_id="luna")
    assert status == 200 and reply_text(events) == "first answer"

    own_redis.stop()
    fake_llm.configure("primary", reply="still here")
    status, events = await c.say("during the outage", character_id="luna")
    assert status == 200
    assert reply_text(events) == "still here"
    assert "redis" in events[-1][1]["degraded"]
    logged = await c.container.message_log.history(c.user_id, "luna", limit=10)
    assert [m.content for m in logged] == [greeting("luna")[1], "before the outage", "first answer",
                                           "during the outage", "still here"]
    # without Redis the prompt still carried the conversation, read from the durable log
    sent = fake_llm.requests("primary")[-1]["body"]["messages"]
    assert any(m["content"] == "before the outage" for m in sent)


async def test_dynamodb_unreachable_uses_default_character_and_streams(
        client_factory, own_redis: ManagedProcess, fake_llm: FakeLLMServer) -> None:  # type: ignore[no-untyped-def]
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    c = client_factory(aws_endpoint_url=dead, redis_url=f"redis://127.0.0.1:{own_redis.port}/0")
    fake_llm.configure("primary", reply="我还在这里陪你。")
    status, events = await c.say("你好", character_id="xiaoyu")
    assert status == 200
    assert reply_text(events) == "我还在这里陪你。"
    final = events[-1][1]
    assert "character_store" in final["degraded"] and "dynamodb" in final["degraded"]
    system = fake_llm.requests("primary")[-1]["body"]["messages"][0]["content"]
    assert "小雨" in system  # the built-in character answered
    # the turn waits in Redis for the log to come back instead of being lost
    spooled = await c.container.short_term.take_unlogged(c.user_id, "xiaoyu")
    assert [m.content for _, m in spooled] == ["你好", "我还在这里陪你。"]
