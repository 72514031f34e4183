"""POST /api/v1/chat/sessions/{character_id}/start: the greeting as the conversation's first message,
chosen among the card's greetings, stored once, with a remembered date that is near."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from companion.cards import import_card
from companion.memory.records import EventRecord, FactRecord
from companion.models import Character

from infra.fake_llm import FakeLLMServer
from tests.unit.cards.samples import v2_card

from .conftest import ChatClient, greeting

SHANGHAI = ZoneInfo("Asia/Shanghai")


async def _aria(client: ChatClient) -> Character:
    ch = import_card(v2_card(), character_id=f"aria-{uuid.uuid4().hex[:8]}", owner_id=client.user_id).character
    await client.container.character_repo.put(ch)
    return ch


async def _start(client: ChatClient, character_id: str, body: dict[str, Any] | None = None,
                 token: str | None = None) -> tuple[int, dict[str, Any]]:
    headers = {"Authorization": f"Bearer {token or client.token()}"}
    resp = await client.http.post(f"/api/v1/chat/sessions/{character_id}/start", headers=headers,
                                  **({"json": body} if body is not None else {}))
    return resp.status_code, resp.json()


async def _history(client: ChatClient, character_id: str) -> list[tuple[str, str]]:
    resp = await client.http.get("/api/v1/chat/history", params={"character_id": character_id}, headers=client.auth())
    return [(m["role"], m["content"]) for m in resp.json()["messages"]]


async def test_start_stores_the_greeting_once_and_the_first_turn_builds_on_it(
        client: ChatClient, fake_llm: FakeLLMServer) -> None:
    aria = await _aria(client)
    token = client.token(name="Lin")
    status, body = await _start(client, aria.character_id, token=token)  # no body at all
    assert status == 200
    assert body["created"] is True and body["can_change"] is True and body["greetings"] == 3
    g = body["greeting"]
    assert (g["role"], g["content"], g["seq"], g["greeting_index"]) == ("assistant", "Course plotted, Lin.", 1, 0)

    status, again = await _start(client, aria.character_id, {"time_zone": "Asia/Shanghai"}, token=token)
    assert status == 200 and again["created"] is False and again["greeting"]["msg_id"] == g["msg_id"]
    assert await _history(client, aria.character_id) == [("assistant", "Course plotted, Lin.")]

    await client.say("Status?", character_id=aria.character_id)
    sent = [(m["role"], m["content"]) for m in fake_llm.requests("primary")[-1]["body"]["messages"]
            if m["role"] != "system"]
    assert sent == [("assistant", "Course plotted, Lin."), ("user", "Status?")]  # the greeting, once
    assert await _history(client, aria.character_id) == [
        ("assistant", "Course plotted, Lin."), ("user", "Status?"), ("assistant", "echo: Status?")]
    status, late = await _start(client, aria.character_id, {"greeting_index": 2})
    assert status == 200 and (late["created"], late["can_change"]) == (False, False)
    assert late["greeting"]["msg_id"] == g["msg_id"]  # the user has spoken: the greeting stays


async def test_an_alternate_greeting_and_changing_it_before_the_user_writes(client: ChatClient) -> None:
    aria = await _aria(client)
    token = client.token(name="Lin")
    status, first = await _start(client, aria.character_id, {"greeting_index": 1}, token=token)
    assert status == 200 and first["greeting"]["content"] == "Welcome aboard, Lin."
    status, changed = await _start(client, aria.character_id, {"greeting_index": 2}, token=token)
    assert status == 200 and changed["created"] is True and changed["greeting"]["content"] == "Systems nominal."
    assert changed["greeting"]["greeting_index"] == 2 and changed["greeting"]["seq"] == 1
    assert await _history(client, aria.character_id) == [("assistant", "Systems nominal.")]


async def test_a_greeting_index_the_card_does_not_have_is_a_400(client: ChatClient) -> None:
    aria = await _aria(client)
    status, body = await _start(client, aria.character_id, {"greeting_index": 3})
    assert status == 400 and body["error"]["code"] == "unknown_greeting"
    assert "Aria has greetings 0, 1, 2" in body["error"]["message"]
    assert await _history(client, aria.character_id) == []
    status, body = await _start(client, aria.character_id, {"greeting_index": -1})
    assert status == 422 and body["error"]["code"] == "invalid_request"


async def test_a_birthday_tomorrow_is_mentioned_in_the_users_language(client: ChatClient) -> None:
    now = time.time()
    tomorrow = (datetime.now(SHANGHAI) + timedelta(days=1)).date()
    await client.container.memory_repo.save(
        facts=[FactRecord(user_id=client.user_id, character_id="xiaoyu", type="basic_info", key="name", value="小林",
                          confidence=0.9, since=now, updated_at=now, source_task_id="t1")],
        events=[EventRecord(event_id=f"ev-{uuid.uuid4().hex[:6]}", user_id=client.user_id, character_id="xiaoyu",
                            type="birthday", title="生日", summary="用户的生日", date=tomorrow.isoformat(),
                            recurring=True, created_at=now, updated_at=now)])
    status, body = await _start(client, "xiaoyu", {"time_zone": "Asia/Shanghai"})
    assert status == 200
    assert body["greeting"]["content"] == greeting("xiaoyu")[1] + "\n\n对了，明天是你的生日吧？我记着呢。"


async def test_a_far_event_or_the_line_turned_off_leaves_the_greeting_as_written(client_factory) -> None:  # type: ignore[no-untyped-def]
    off = client_factory(greeting_upcoming_days=0)
    near = client_factory()
    now = time.time()
    for c, days in ((off, 1), (near, 10)):
        when = (datetime.now(SHANGHAI) + timedelta(days=days)).date().isoformat()
        await c.container.memory_repo.save(events=[EventRecord(
            event_id=f"ev-{uuid.uuid4().hex[:6]}", user_id=c.user_id, character_id="luna", type="plan",
            title="Job interview", summary="", date=when, created_at=now, updated_at=now)])
        status, body = await _start(c, "luna", {"time_zone": "Asia/Shanghai"})
        assert status == 200 and body["greeting"]["content"] == greeting("luna")[1]
    soon = client_factory()
    when = (datetime.now(SHANGHAI) + timedelta(days=2)).date().isoformat()
    await soon.container.memory_repo.save(events=[EventRecord(
        event_id=f"ev-{uuid.uuid4().hex[:6]}", user_id=soon.user_id, character_id="luna", type="plan",
        title="Job interview", summary="", date=when, created_at=now, updated_at=now)])
    status, body = await _start(soon, "luna", {"time_zone": "Asia/Shanghai", "language": "en"})
    line = "By the way, I remember “Job interview” is in 2 days."
    assert body["greeting"]["content"] == f"{greeting('luna')[1]}\n\n{line}"


async def test_start_racing_the_first_turn_stores_one_greeting(client: ChatClient) -> None:
    (status, body), (turn_status, _) = await asyncio.gather(_start(client, "luna"),
                                                            client.say("hi", character_id="luna"))
    assert (status, turn_status) == (200, 200)
    logged = await client.container.message_log.history(client.user_id, "luna", limit=10)
    assert [(m.role, m.content) for m in logged].count(greeting("luna")) == 1 and len(logged) == 3
    assert logged[0].seq == 1 and body["greeting"]["msg_id"] == logged[0].msg_id


async def test_a_character_without_greetings_starts_empty(client: ChatClient) -> None:
    plain = Character(character_id=f"plain-{uuid.uuid4().hex[:8]}", name="Plain", owner_id=client.user_id)
    await client.container.character_repo.put(plain)
    status, body = await _start(client, plain.character_id)
    assert status == 200 and body == {"character_id": plain.character_id, "greeting": None, "created": False,
                                      "can_change": False, "greetings": 0}
    assert await _history(client, plain.character_id) == []


async def test_start_needs_a_token_and_a_known_character(client: ChatClient) -> None:
    resp = await client.http.post("/api/v1/chat/sessions/luna/start")
    assert resp.status_code == 401
    status, body = await _start(client, "nobody-here")
    assert status == 404 and body["error"]["code"] == "unknown_character"
