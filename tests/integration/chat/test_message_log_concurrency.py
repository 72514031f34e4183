"""Parallel turns of one conversation: every message lands in the durable log exactly once.

moto's server does not make DynamoDB's ``ADD`` atomic, so parallel turns are handed the
same positions; the log must take new ones rather than overwrite a stored message.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
from companion.adapters.dynamodb_messages import DynamoMessageLog
from companion.api.chat_app import create_app
from companion.auth import issue_token
from companion.bootstrap import build_container
from companion.chat.greetings import is_greeting
from companion.config import Settings
from companion.models import ChatMessage

from .conftest import JWT_SECRET, ChatClient, greeting, parse_sse

TURNS = 20


async def _logged(log: DynamoMessageLog, user_id: str, character_id: str) -> list[ChatMessage]:
    conv = await log.conversation(user_id, character_id)
    assert conv is not None
    return await log.range(user_id, character_id, 1, int(conv["next_seq"]))


def _append_in_burst(log: DynamoMessageLog, user: str, character: str, turns: int) -> None:
    """Each turn from its own thread and event loop (as separate instances would), released
    together so the requests reach the store at the same moment."""
    barrier = threading.Barrier(turns)

    def turn(i: int) -> None:
        barrier.wait()
        asyncio.run(log.append(user, character, "s1", [ChatMessage(role="user", content=f"question {i}"),
                                                      ChatMessage(role="assistant", content=f"answer {i}")]))

    with ThreadPoolExecutor(max_workers=turns) as pool:
        list(pool.map(turn, range(turns)))


async def test_parallel_appends_never_overwrite_a_message(client: ChatClient) -> None:
    log = client.container.message_log
    user, character = f"u-{uuid.uuid4().hex[:10]}", "xiaoyu"
    await asyncio.to_thread(_append_in_burst, log, user, character, TURNS)
    logged = await _logged(log, user, character)
    contents = Counter(m.content for m in logged)
    expected = {f"{kind} {i}" for i in range(TURNS) for kind in ("question", "answer")}
    assert set(contents) == expected
    assert all(n == 1 for n in contents.values())
    assert len({m.seq for m in logged}) == len(logged) == 2 * TURNS
    # Each turn's answer comes after its question.
    by_content = {m.content: m.seq for m in logged}
    assert all(by_content[f"answer {i}"] > by_content[f"question {i}"] for i in range(TURNS))


def _turns_from_instances(settings: Settings, user: str, turns: int) -> list[tuple[int, list[Any]]]:
    """Each turn through its own chat app (as separate Lambda instances would), released together."""
    barrier = threading.Barrier(turns)
    token = issue_token(JWT_SECRET, user)

    async def one(i: int) -> tuple[int, list[Any]]:
        container = build_container(settings)
        try:
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(container)),
                                         base_url="http://chat.test", timeout=60) as http:
                await asyncio.to_thread(barrier.wait)
                resp = await http.post("/api/v1/chat/stream", headers={"Authorization": f"Bearer {token}"},
                                       json={"character_id": "xiaoyu", "message": f"parallel message {i}"})
                return resp.status_code, parse_sse(resp.text) if resp.status_code == 200 else []
        finally:
            await container.aclose()

    with ThreadPoolExecutor(max_workers=turns) as pool:
        return list(pool.map(lambda i: asyncio.run(one(i)), range(turns)))


async def test_parallel_turns_through_the_chat_app_are_all_logged_once(
        settings_factory: Callable[..., Settings]) -> None:
    settings = settings_factory(llm_chain=[])  # the offline model
    user = f"u-{uuid.uuid4().hex[:10]}"
    results = await asyncio.to_thread(_turns_from_instances, settings, user, TURNS)
    for status, events in results:
        assert status == 200
        assert events[-1][0] == "message" and events[-1][1]["done"] is True
    logged = await _logged(DynamoMessageLog(settings.messages_table, endpoint_url=settings.aws_endpoint_url),
                           user, "xiaoyu")
    users = Counter(m.content for m in logged if m.role == "user")
    assert users == Counter({f"parallel message {i}": 1 for i in range(TURNS)})
    # Every turn found the conversation new; one of them opened it with the greeting, stored once.
    greetings = [m for m in logged if is_greeting(m)]
    assert [(m.seq, m.role, m.content) for m in greetings] == [(1, *greeting("xiaoyu"))]
    assert sum(1 for m in logged if m.role == "assistant") == TURNS + 1
    assert len({m.seq for m in logged}) == len(logged) == 2 * TURNS + 1
    container = build_container(settings)
    try:
        window = await container.short_term.window(user, "xiaoyu", 100)
    finally:
        await container.aclose()
    assert [m.content for m in window].count(greeting("xiaoyu")[1]) == 1 and len(window) == 2 * TURNS + 1
