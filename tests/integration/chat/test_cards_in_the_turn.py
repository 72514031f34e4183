"""A SillyTavern card in the chat turn: what the model receives (through the fake OpenAI-compatible server),
the greeting as the conversation's first message, {{user}} from memory or the token, and the user's clock."""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from companion.cards import import_card
from companion.chat.greetings import is_greeting
from companion.memory.records import FactRecord
from companion.models import Character

from infra.fake_llm import FakeLLMServer
from tests.unit.cards.samples import v2_card, v3_card

from .conftest import ChatClient, greeting, reply_text

SHANGHAI = ZoneInfo("Asia/Shanghai")


async def _card(client: ChatClient, card: dict[str, Any], prefix: str) -> Character:
    """The card imported as the client user's own character, stored in the character table."""
    ch = import_card(card, character_id=f"{prefix}-{uuid.uuid4().hex[:8]}", owner_id=client.user_id).character
    await client.container.character_repo.put(ch)
    return ch


async def _say(client: ChatClient, character_id: str, message: str, *, token: str | None = None,
               time_zone: str | None = None) -> tuple[int, Any]:
    body: dict[str, Any] = {"character_id": character_id, "message": message}
    if time_zone:
        body["time_zone"] = time_zone
    resp = await client.http.post("/api/v1/chat/stream", json=body,
                                  headers={"Authorization": f"Bearer {token or client.token()}"})
    return resp.status_code, resp.text


def _sent(fake_llm: FakeLLMServer) -> list[dict[str, str]]:
    return [{"role": m["role"], "content": m["content"]} for m in fake_llm.requests("primary")[-1]["body"]["messages"]]


def _history(client: ChatClient, character_id: str) -> Any:
    return client.http.get("/api/v1/chat/history", params={"character_id": character_id}, headers=client.auth())


async def test_the_model_receives_the_card_as_sillytavern_orders_it(client: ChatClient,
                                                                     fake_llm: FakeLLMServer) -> None:
    aria = await _card(client, v2_card(), "aria")
    fake_llm.configure("primary", reply="Sensors are down, Lin.")
    token = client.token(name="Lin")  # the display name the identity provider puts in the token
    before = datetime.now(SHANGHAI)
    status, _ = await _say(client, aria.character_id, "A storm is coming, is the ship ready?", token=token,
                           time_zone="Asia/Shanghai")
    after = datetime.now(SHANGHAI)
    assert status == 200
    sent = _sent(fake_llm)

    system = sent[0]["content"]
    assert system.startswith("You are Aria. Never speak for Lin.\n\nThe Aurora is a deep-space cruiser.\n\n"
                             "Aria navigates the starship Aurora.\n\nAria's personality: calm, precise\n\n"
                             "Scenario: On the bridge with Lin.\n\nNow, for the user: ")
    clock = re.search(r"Now, for the user: (\w+), (\w+ \d+, \d{4}), (\d+:\d\d [AP]M) \(Asia/Shanghai\)\. "
                      r"This is the user's first message to you\.", system)
    assert clock is not None
    assert (clock[1], clock[2]) in {(d.strftime("%A"), f"{d:%B} {d.day}, {d.year}") for d in (before, after)}
    assert system.endswith("The user writes in English: reply in natural English.")
    assert sent[1] == {"role": "system", "content": (
        "Example dialogues: how Aria talks (examples only, not part of this conversation).\n[Example Chat]\n"
        "Lin: Status?\nAria: All green.\n[Example Chat]\nLin: ETA?\nAria: Two hours.")}
    # the Character's Note (depth 4) and the "storm" lore entry (depth 2, as the user): two messages from the end
    assert sent[2:] == [
        {"role": "system", "content": "Keep it short."},
        {"role": "user", "content": "Storms knock out the sensors."},
        {"role": "assistant", "content": "Course plotted, Lin."},  # the greeting opened the conversation
        {"role": "user", "content": "A storm is coming, is the ship ready?"},
        {"role": "system", "content": "Stay in character as Aria."},  # post-history instructions, last
    ]
    assert not any(re.search(r"\{\{|<USER>|<BOT>", m["content"]) for m in sent)

    page = (await _history(client, aria.character_id)).json()["messages"]
    assert [(m["role"], m["content"], m["seq"]) for m in page] == [
        ("assistant", "Course plotted, Lin.", 1), ("user", "A storm is coming, is the ship ready?", 2),
        ("assistant", "Sensors are down, Lin.", 3)]


async def test_the_second_turn_keeps_the_greeting_once_and_counts_the_idle_time(
        client: ChatClient, fake_llm: FakeLLMServer) -> None:
    yue = await _card(client, v3_card(), "yue")
    fake_llm.configure("primary", reply="好呀。")
    await _say(client, yue.character_id, "你好", time_zone="Asia/Shanghai")
    await _say(client, yue.character_id, "外面下雨了，想喝茶", time_zone="Asia/Shanghai")
    sent = _sent(fake_llm)
    chat = [(m["role"], m["content"]) for m in sent if m["role"] != "system"]
    assert chat == [("assistant", "你来啦，用户，先喝杯茶吧。"), ("user", "你好"), ("assistant", "好呀。"),
                    ("user", "外面下雨了，想喝茶")]  # no name known: the neutral word in the user's language
    assert "距离用户上一条消息已经过去几秒。" in sent[0]["content"]
    assert "山里天气多变。" in sent[0]["content"]  # /雨|雪/ regex key matched
    assert {"role": "system", "content": "小屋里总有热茶。"} in sent  # @@depth 4 entry placed in the chat
    assert sent[-1] == {"role": "system", "content": "保持小月的语气。"}
    logged = await client.container.message_log.history(client.user_id, yue.character_id, limit=10)
    assert [m.seq for m in logged if is_greeting(m)] == [1]


async def test_user_is_the_name_memory_knows_before_the_tokens(client: ChatClient, fake_llm: FakeLLMServer) -> None:
    aria = await _card(client, v2_card(), "aria")
    now = time.time()
    await client.container.memory_repo.save(facts=[FactRecord(
        user_id=client.user_id, character_id=aria.character_id, type="basic_info", key="name", value="小林",
        confidence=0.9, since=now, updated_at=now, source_task_id="t1")])
    status, _ = await _say(client, aria.character_id, "Status?", token=client.token(name="Lin"))
    assert status == 200
    sent = _sent(fake_llm)
    assert sent[0]["content"].startswith("You are Aria. Never speak for 小林.")
    assert sent[1]["content"].startswith("Example dialogues") and "小林: Status?" in sent[1]["content"]
    # the greeting was written before recall answered, from the same memory
    assert {"role": "assistant", "content": "Course plotted, 小林."} in sent


async def test_two_concurrent_first_turns_store_the_greeting_once(client_factory, fake_llm: FakeLLMServer) -> None:  # type: ignore[no-untyped-def]
    first, second = client_factory(), client_factory()  # two instances of the chat function
    second.user_id = first.user_id
    results = await asyncio.gather(first.say("hello", character_id="luna"), second.say("hi there", character_id="luna"))
    assert [status for status, _ in results] == [200, 200] and all(reply_text(events) for _, events in results)
    logged = await first.container.message_log.history(first.user_id, "luna", limit=10)
    assert [(m.role, m.content) for m in logged if is_greeting(m)] == [greeting("luna")]
    assert logged[0].seq == 1 and is_greeting(logged[0]) and len(logged) == 5
    window = await first.container.short_term.window(first.user_id, "luna", 10)
    assert [(m.role, m.content) for m in window].count(greeting("luna")) == 1


async def test_a_time_zone_longer_than_a_zone_name_is_refused(client: ChatClient) -> None:
    status, text = await _say(client, "luna", "hi", time_zone="A" * 65)
    assert status == 422 and "time_zone must be at most 64 characters" in text


async def test_an_unknown_time_zone_falls_back_to_the_characters(client: ChatClient, fake_llm: FakeLLMServer) -> None:
    status, _ = await _say(client, "xiaoyu", "你好", time_zone="Mars/Olympus_Mons")
    assert status == 200
    expected = datetime.now(SHANGHAI) - timedelta(seconds=1)
    system = _sent(fake_llm)[0]["content"]
    assert "（Asia/Shanghai）" in system and f"{expected.year}年" in system  # xiaoyu's own zone
