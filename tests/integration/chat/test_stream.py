"""The SSE stream of a chat turn, end to end through real Redis, moto and the fake LLM."""

from __future__ import annotations

from companion.adapters.redis_short_term import RedisShortTermStore

from infra.fake_llm import FakeLLMServer

from .conftest import ChatClient, greeting, reply_text


async def test_stream_format_order_and_done(client: ChatClient, fake_llm: FakeLLMServer) -> None:
    fake_llm.configure("primary", reply="你好呀，小林！今天想聊点什么？", chunks=5)
    status, events = await client.say("你好，我叫小林")
    assert status == 200
    kinds = [e for e, _ in events]
    assert set(kinds) == {"message"}
    deltas = [d for _, d in events[:-1]]
    assert len(deltas) >= 5 and all(d["done"] is False and d["content"] for d in deltas)
    final = events[-1][1]
    assert final["done"] is True and final["content"] == ""
    assert final["model"] == "primary" and final["message_id"] and final["session_id"]
    assert reply_text(events) == "你好呀，小林！今天想聊点什么？"
    assert final["usage"]["completion_tokens"] > 0


async def test_turn_persisted_in_redis_and_dynamodb(client: ChatClient, fake_llm: FakeLLMServer) -> None:
    fake_llm.configure("primary", reply="Nice to meet you, Anna.")
    status, events = await client.say("Hi, I'm Anna", character_id="luna")
    assert status == 200
    window = await RedisShortTermStore(client.container.redis).window(client.user_id, "luna", 10)
    # The conversation's first message is the character's greeting, then the turn.
    assert [(m.role, m.content) for m in window] == [greeting("luna"), ("user", "Hi, I'm Anna"),
                                                    ("assistant", "Nice to meet you, Anna.")]
    logged = await client.container.message_log.history(client.user_id, "luna", limit=10)
    assert [(m.role, m.content, m.seq) for m in logged] == [(*greeting("luna"), 1), ("user", "Hi, I'm Anna", 2),
                                                           ("assistant", "Nice to meet you, Anna.", 3)]
    assert logged[2].msg_id == events[-1][1]["message_id"]
    assert {m.session_id for m in logged} == {events[-1][1]["session_id"]}


async def test_second_turn_sees_the_first(client: ChatClient, fake_llm: FakeLLMServer) -> None:
    fake_llm.configure("primary", reply="记住啦，你最喜欢火锅。")
    await client.say("我最喜欢吃火锅")
    fake_llm.configure("primary", reply="当然记得！")
    status, events = await client.say("你还记得我喜欢吃什么吗？")
    assert status == 200 and reply_text(events) == "当然记得！"
    sent = fake_llm.requests("primary")[-1]["body"]["messages"]
    contents = [(m["role"], m["content"]) for m in sent if m["role"] != "system"]
    assert contents == [greeting("xiaoyu"), ("user", "我最喜欢吃火锅"), ("assistant", "记住啦，你最喜欢火锅。"),
                        ("user", "你还记得我喜欢吃什么吗？")]


async def test_history_endpoint_and_isolation_between_users(client: ChatClient, fake_llm: FakeLLMServer) -> None:
    await client.say("secret plans for my trip", character_id="luna")
    mine = await client.http.get("/api/v1/chat/history", params={"character_id": "luna"}, headers=client.auth())
    assert mine.status_code == 200
    assert [m["content"] for m in mine.json()["messages"][:2]] == [greeting("luna")[1], "secret plans for my trip"]

    other = "someone-else"
    theirs = await client.http.get("/api/v1/chat/history", params={"character_id": "luna"},
                                   headers=client.auth(other))
    assert theirs.status_code == 200 and theirs.json()["messages"] == []
    cleared = await client.http.delete("/api/v1/chat/history", params={"character_id": "luna"},
                                       headers=client.auth(other))
    assert cleared.status_code == 200 and cleared.json()["deleted_messages"] == 0
    still = await client.http.get("/api/v1/chat/history", params={"character_id": "luna"}, headers=client.auth())
    assert len(still.json()["messages"]) == 3

    gone = await client.http.delete("/api/v1/chat/history", params={"character_id": "luna"}, headers=client.auth())
    assert gone.json()["deleted_messages"] == 3
    after = await client.http.get("/api/v1/chat/history", params={"character_id": "luna"}, headers=client.auth())
    assert after.json()["messages"] == []
    assert await RedisShortTermStore(client.container.redis).window(client.user_id, "luna", 10) == []


async def test_offline_model_when_no_model_is_configured(client_factory, fake_llm: FakeLLMServer) -> None:  # type: ignore[no-untyped-def]
    c = client_factory(llm_chain=[])
    await c.say("我叫小林")
    status, events = await c.say("今天有点累")
    assert status == 200
    text = reply_text(events)
    assert "离线" in text and "小林" in text  # says it is offline and shows the earlier message
    assert events[-1][1]["model"] == "offline"
