"""One user's bad requests never open the model breaker that every user shares.

Through the real chat app, redis-server (the shared breaker state), moto's server and the
fake OpenAI-compatible server: user A sends requests that fail because of their content,
and user B's next turn still gets the model's reply, not the canned apology.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from companion.api import requests as api_requests
from companion.characters import BUILTIN_CHARACTERS
from companion.llm.chain import REJECTED_MESSAGE

from infra.fake_llm import FakeLLMServer

from .conftest import ChatClient, parse_sse, reply_text

STREAM = "/api/v1/chat/stream"
SURROGATE = "hi \ud800 x"  # valid JSON ("\ud800" escaped), but no UTF-8 encoder takes it


async def _post_raw(client: ChatClient, body: dict[str, Any], user_id: str) -> tuple[int, Any]:
    # json.dumps escapes the surrogate as ASCII, exactly as a hostile client would send it.
    resp = await client.http.post(STREAM, content=json.dumps(body).encode("ascii"),
                                  headers={**client.auth(user_id), "Content-Type": "application/json"})
    if resp.headers.get("content-type", "").startswith("text/event-stream"):
        return resp.status_code, parse_sse(resp.text)
    return resp.status_code, resp.json()


async def _breaker_open(client: ChatClient, model: str) -> bool:
    return await client.container.chain.breaker.is_open(model)


async def _b_gets_the_models_reply(client: ChatClient) -> None:
    status, events = await client.say("hello from B", character_id="luna", user_id="user-b")
    assert status == 200
    assert reply_text(events) == "echo: hello from B"
    assert reply_text(events) != BUILTIN_CHARACTERS["luna"].canned_reply_en
    assert events[-1][1]["model"] == "primary" and events[-1][1]["failovers"] == 0
    assert not await _breaker_open(client, "primary") and not await _breaker_open(client, "secondary")


async def test_lone_surrogates_are_refused_at_the_edge_and_never_reach_the_model(
        client: ChatClient, fake_llm: FakeLLMServer) -> None:
    for _ in range(10):  # breaker_failure_threshold is 3 in these tests
        status, body = await _post_raw(client, {"character_id": "luna", "message": SURROGATE}, "user-a")
        assert status == 400 and body["error"]["code"] == "invalid_text"
        assert "message" in body["error"]["message"]
    assert fake_llm.requests("primary") == [] and fake_llm.requests("secondary") == []
    await _b_gets_the_models_reply(client)


async def test_provider_refusals_of_one_users_content_do_not_count_against_the_model(
        client: ChatClient, fake_llm: FakeLLMServer) -> None:
    refusals = 6
    refused = [{"mode": "error", "status": 400}] * refusals
    fake_llm.configure("primary", script=refused)
    fake_llm.configure("secondary", script=refused)
    for i in range(refusals):
        status, events = await client.say(f"content the provider refuses {i}", character_id="luna",
                                          user_id="user-a")
        assert status == 200
        kind, data = events[-1]
        assert kind == "error" and data["error"] == REJECTED_MESSAGE and data["code"]
        assert reply_text(events) == ""  # no apology for an outage that is not happening
    assert len(fake_llm.requests("primary")) == refusals
    await _b_gets_the_models_reply(client)


async def test_text_that_slips_past_the_edge_fails_only_its_own_turn_and_the_stream_ends_with_an_error(
        client: ChatClient, fake_llm: FakeLLMServer, monkeypatch: pytest.MonkeyPatch) -> None:
    # As if the edge check were missing: the surrogate reaches the model call and the stores.
    monkeypatch.setattr(api_requests, "check_json_tree", lambda data: None)
    for _ in range(6):
        status, events = await _post_raw(client, {"character_id": "luna", "message": SURROGATE}, "user-a")
        assert status == 200
        kinds = [kind for kind, _ in events]
        assert kinds and kinds[-1] == "error", events  # never a stream cut without done or error
        assert events[-1][1]["code"] and events[-1][1]["error"]
        assert "ud800" not in events[-1][1]["error"] and "Unicode" not in events[-1][1]["error"]
    assert fake_llm.requests("primary") == []  # refused while encoding: no provider was troubled
    await _b_gets_the_models_reply(client)
