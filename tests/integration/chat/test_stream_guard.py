"""Every stream ends with its last event, in both wire formats, even when our own code fails after it started."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest
from companion.chat.events import TurnDone, TurnEvent
from companion.chat.service import PreparedTurn

from infra.fake_llm import FakeLLMServer

from .conftest import ChatClient, greeting


def _break_after_the_reply(client: ChatClient, monkeypatch: pytest.MonkeyPatch, *, raise_: bool) -> None:
    """The turn's reply streams, then our code fails (``raise_``) or the events just stop, before the last event."""
    real = client.container.chat.stream

    async def stream(turn: PreparedTurn) -> AsyncIterator[TurnEvent]:
        async for event in real(turn):
            if isinstance(event, TurnDone):
                if raise_:
                    raise RuntimeError("a bug of ours after the reply")
                return
            yield event

    monkeypatch.setattr(client.container.chat, "stream", stream)



@pytest.mark.parametrize("raise_", [True, False], ids=["raises", "stops"])
async def test_the_chat_stream_ends_with_an_error_event(client: ChatClient, fake_llm: FakeLLMServer,
                                                        monkeypatch: pytest.MonkeyPatch, raise_: bool) -> None:
    fake_llm.configure("primary", reply="Hello there", chunks=2)
    _break_after_the_reply(client, monkeypatch, raise_=raise_)

    status, events = await client.say("hi", character_id="luna")

    assert status == 200
    assert [e for e, _ in events] == ["message", "message", "error"]
    assert events[-1][1] == {"error": "the reply failed on our side, please try again", "code": "internal_error"}


@pytest.mark.parametrize("raise_", [True, False], ids=["raises", "stops"])
async def test_the_openai_stream_ends_with_an_error_line(client: ChatClient, fake_llm: FakeLLMServer,
                                                         monkeypatch: pytest.MonkeyPatch, raise_: bool) -> None:
    fake_llm.configure("primary", reply="Hello there", chunks=2)
    _break_after_the_reply(client, monkeypatch, raise_=raise_)

    resp = await client.http.post("/v1/chat/completions", headers=client.auth(), json={
        "model": "luna", "stream": True, "messages": [{"role": "user", "content": "hi"}]})

    lines = [line[6:] for line in resp.text.split("\n\n") if line]
    assert resp.status_code == 200 and "[DONE]" not in lines
    assert "".join(json.loads(x)["choices"][0]["delta"].get("content", "") for x in lines[:-1]) == "Hello there"
    assert json.loads(lines[-1]) == {"error": {"message": "the reply failed on our side, please try again",
                                               "type": "server_error", "param": None, "code": "internal_error"}}


async def test_a_failed_completion_says_not_to_retry(client: ChatClient, fake_llm: FakeLLMServer,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    _break_after_the_reply(client, monkeypatch, raise_=True)

    resp = await client.http.post("/v1/chat/completions", headers=client.auth(), json={
        "model": "luna", "messages": [{"role": "user", "content": "hi"}]})

    assert resp.status_code == 500 and resp.headers["x-should-retry"] == "false"  # the turn is already stored
    assert resp.json()["error"]["code"] == "internal_error"
    assert [(m.role, m.content) for m in await client.container.message_log.history(client.user_id, "luna", limit=9)
            ] == [greeting("luna"), ("user", "hi"), ("assistant", "echo: hi")]
