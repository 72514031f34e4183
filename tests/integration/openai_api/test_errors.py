"""Errors in OpenAI's shape on the /v1 routes, as the `openai` SDK's exceptions; the project's own
shape everywhere else on the chat app."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import openai
import pytest

from infra.fake_llm import FakeLLMServer
from tests.integration.chat.conftest import greeting

from .conftest import MODEL, Served

HI = [{"role": "user", "content": "hi"}]


def _error(exc: openai.APIStatusError) -> dict[str, Any]:
    body = exc.body
    assert isinstance(body, dict) and set(body) == {"message", "type", "param", "code"}, body
    return body


async def test_a_bad_token_is_an_authentication_error(chat_server: Served) -> None:
    client = openai.AsyncOpenAI(base_url=f"{chat_server.url}/v1", api_key="not-a-token", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as caught:
        await client.models.list()
    err = _error(caught.value)
    assert caught.value.status_code == 401
    assert (err["type"], err["code"]) == ("authentication_error", "invalid_api_key")


async def test_an_unknown_character_is_model_not_found(chat_server: Served, user: str) -> None:
    client = chat_server.sdk(user)
    with pytest.raises(openai.NotFoundError) as caught:
        await client.chat.completions.create(model="gpt-4o", messages=HI)  # type: ignore[call-overload]
    err = _error(caught.value)
    assert (err["code"], err["param"], err["type"]) == ("model_not_found", "model", "invalid_request_error")
    assert "GET /v1/models" in err["message"]
    with pytest.raises(openai.NotFoundError):
        await client.models.retrieve("gpt-4o")


@pytest.mark.parametrize(("messages", "extra", "code", "param"), [
    ([{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}], {}, "invalid_request",
     "messages[1].role"),
    ([{"role": "user", "content": " \u200b "}], {}, "empty_message", None),
    ([{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "http://x/y.png"}}]}], {},
     "invalid_request", "messages[0].content[0].type"),
    (HI, {"n": 2}, "invalid_request", "n"),
    (HI, {"temperature": 5}, "invalid_request", "temperature"),
    ([], {}, "invalid_request", "messages"),
])
async def test_bad_requests_are_bad_request_errors(chat_server: Served, user: str, messages: list[Any],
                                                   extra: dict[str, Any], code: str, param: str | None) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        await chat_server.sdk(user).chat.completions.create(model="luna", messages=messages, **extra)
    err = _error(caught.value)
    assert (err["type"], err["code"], err["param"]) == ("invalid_request_error", code, param)
    assert chat_server.history(user, "luna") == []  # nothing stored


async def test_a_message_over_the_limit_is_413(chat_server: Served, user: str) -> None:
    with pytest.raises(openai.APIStatusError) as caught:
        await chat_server.sdk(user).chat.completions.create(
            model="luna", messages=[{"role": "user", "content": "x" * 2001}])
    assert caught.value.status_code == 413 and _error(caught.value)["code"] == "message_too_long"


def test_unknown_v1_routes_answer_in_openai_shape_and_the_rest_keeps_its_own(chat_server: Served) -> None:
    resp = httpx.post(f"{chat_server.url}/v1/embeddings", json={}, timeout=10)
    assert resp.status_code == 404 and resp.json()["error"]["type"] == "invalid_request_error"
    wrong = httpx.get(f"{chat_server.url}/v1/chat/completions", timeout=10)
    assert wrong.status_code == 405 and wrong.json()["error"]["code"] == "method_not_allowed"
    theirs = httpx.post(f"{chat_server.url}/api/v1/chat/stream", json={"character_id": "luna", "message": "hi"},
                        timeout=10)
    assert theirs.status_code == 401 and set(theirs.json()["error"]) == {"code", "message"}


async def test_rate_limited_is_a_rate_limit_error_with_retry_after(serve: Callable[..., Served], user: str,
                                                                   fake_llm: FakeLLMServer) -> None:
    served = serve(RATE_LIMIT_USER_PER_MINUTE="1")
    client = served.sdk(user)
    await client.chat.completions.create(model="luna", messages=HI)
    with pytest.raises(openai.RateLimitError) as caught:
        await client.chat.completions.create(model="luna", messages=HI)
    err = _error(caught.value)
    assert (err["type"], err["code"]) == ("rate_limit_error", "rate_limit_exceeded")
    assert int(caught.value.response.headers["retry-after"]) > 0
    # the refused one is not stored
    assert served.history(user, "luna") == [greeting("luna"), ("user", "hi"), ("assistant", "echo: hi")]


async def test_a_failure_mid_stream_is_an_api_error_and_the_turn_is_kept(
        chat_server: Served, fake_llm: FakeLLMServer, user: str) -> None:
    fake_llm.configure(MODEL, reply="one two three four", chunks=4, mode="fail_mid_stream", fail_after_chunks=2)
    stream = await chat_server.sdk(user).chat.completions.create(model="luna", messages=HI, stream=True)
    texts: list[str] = []
    with pytest.raises(openai.APIError) as caught:
        async for chunk in stream:
            texts.extend(c.delta.content or "" for c in chunk.choices)
    assert "".join(texts) == "one two "
    assert isinstance(caught.value.body, dict) and caught.value.body["code"] == "model_error"
    assert chat_server.history(user, "luna") == [greeting("luna"), ("user", "hi"), ("assistant", "one two ")]


async def test_a_failed_completion_is_not_retried_by_the_sdk(
        chat_server: Served, fake_llm: FakeLLMServer, user: str) -> None:
    fake_llm.configure(MODEL, reply="one two three four", chunks=4, mode="fail_mid_stream", fail_after_chunks=2)
    client = chat_server.sdk(user, max_retries=2)  # the SDK's default: it retries a 5xx unless told not to
    with pytest.raises(openai.InternalServerError) as caught:
        await client.chat.completions.create(model="luna", messages=HI)
    assert caught.value.status_code == 502 and _error(caught.value)["type"] == "server_error"
    assert len(fake_llm.requests(MODEL)) == 1  # x-should-retry: false, or the message would be stored three times
    assert chat_server.history(user, "luna") == [greeting("luna"), ("user", "hi"), ("assistant", "one two ")]
