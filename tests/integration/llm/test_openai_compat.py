"""The OpenAI-compatible provider against the fake server over real HTTP/SSE."""

from __future__ import annotations

import json

import httpx
import pytest
from companion.config import ModelSpec
from companion.llm.base import Prompt, ProviderError
from companion.llm.openai_compat import OpenAICompatProvider

from infra.fake_llm import FakeLLMServer

PROMPT = Prompt(messages=[{"role": "system", "content": "You are Luna."},
                          {"role": "user", "content": "tell me about the moon tonight"}], max_tokens=300)


def _provider(server: FakeLLMServer, name: str = "m1", **spec: object) -> OpenAICompatProvider:
    return OpenAICompatProvider(ModelSpec(name=name, base_url=server.base_url, **spec), "sk-test")


async def _stream(provider: OpenAICompatProvider) -> tuple[list[str], object]:
    texts, usage = [], None
    async for chunk in provider.stream(PROMPT):
        if chunk.text:
            texts.append(chunk.text)
        if chunk.usage:
            usage = chunk.usage
    return texts, usage


async def test_stream_parses_deltas_and_reported_usage(fake_llm: FakeLLMServer) -> None:
    provider = _provider(fake_llm, model="upstream-model", max_tokens=200, extra_body={"top_p": 0.9})
    texts, usage = await _stream(provider)
    await provider.aclose()
    assert "".join(texts) == "echo: tell me about the moon tonight"
    assert len(texts) >= 3  # really streamed in pieces
    assert usage is not None and not usage.estimated and usage.completion_tokens > 0
    body = fake_llm.requests("upstream-model")[0]["body"]
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    assert body["max_tokens"] == 200 and body["top_p"] == 0.9
    assert body["messages"] == PROMPT.messages


async def test_usage_is_estimated_when_not_reported(fake_llm: FakeLLMServer) -> None:
    fake_llm.configure("m1", usage=False, reply="你好，今天的月亮很圆")
    provider = _provider(fake_llm)
    texts, usage = await _stream(provider)
    await provider.aclose()
    assert "".join(texts) == "你好，今天的月亮很圆"
    assert usage is not None and usage.estimated and usage.completion_tokens == 10


@pytest.mark.parametrize(("status", "retryable"), [(500, True), (429, True), (401, False)])
async def test_http_errors_become_provider_errors(fake_llm: FakeLLMServer, status: int, retryable: bool) -> None:
    fake_llm.configure("m1", mode="error", status=status)
    provider = _provider(fake_llm)
    with pytest.raises(ProviderError) as info:
        await _stream(provider)
    await provider.aclose()
    assert info.value.retryable is retryable and info.value.status == status


async def test_malformed_stream_and_connection_errors(fake_llm: FakeLLMServer) -> None:
    fake_llm.configure("m1", mode="malformed")
    provider = _provider(fake_llm)
    with pytest.raises(ProviderError, match="malformed"):
        await _stream(provider)
    await provider.aclose()
    dead = OpenAICompatProvider(ModelSpec(name="dead", base_url="http://127.0.0.1:9/v1"), "")
    with pytest.raises(ProviderError, match="connection error") as info:
        await _stream(dead)
    assert info.value.retryable
    await dead.aclose()


async def test_error_event_mid_stream_raises_after_partial_text(fake_llm: FakeLLMServer) -> None:
    fake_llm.configure("m1", mode="fail_mid_stream", fail_style="error_event", fail_after_chunks=1)
    provider = _provider(fake_llm)
    texts: list[str] = []
    with pytest.raises(ProviderError, match="error in stream"):
        async for chunk in provider.stream(PROMPT):
            texts.append(chunk.text)
    await provider.aclose()
    assert texts and texts[0].startswith("echo:")


async def test_complete_with_json_schema_and_json_object_mode(fake_llm: FakeLLMServer) -> None:
    schema = {"title": "extraction", "type": "object", "properties": {"summary": {"type": "string"}}}
    fake_llm.configure("m1", json={"summary": "moon"})
    fake_llm.configure("m2", json={"summary": "moon"})
    strict = _provider(fake_llm, "m1")
    loose = _provider(fake_llm, "m2", extra_body={"json_mode": "json_object"})
    one = await strict.complete(PROMPT.messages, json_schema=schema)
    two = await loose.complete(PROMPT.messages, json_schema=schema)
    await strict.aclose()
    await loose.aclose()
    assert json.loads(one.text) == {"summary": "moon"} and one.model == "m1" and not one.usage.estimated
    assert json.loads(two.text) == {"summary": "moon"}
    sent_strict = fake_llm.requests("m1")[0]["body"]
    sent_loose = fake_llm.requests("m2")[0]["body"]
    assert sent_strict["response_format"] == {"type": "json_schema",
                                              "json_schema": {"name": "extraction", "schema": schema}}
    assert sent_strict["stream"] is False
    assert sent_loose["response_format"] == {"type": "json_object"}
    assert "json_mode" not in sent_loose  # adapter option, not sent
    assert sent_loose["messages"][0]["role"] == "system" and "summary" in sent_loose["messages"][0]["content"]


async def test_scripted_replies_and_control_endpoints(fake_llm: FakeLLMServer) -> None:
    async with httpx.AsyncClient(base_url=fake_llm.base_url.removesuffix("/v1")) as http:
        r = await http.post("/_control/m1", json={"json": {"ok": True}, "script": [{"json": "not json {"}]})
        assert r.status_code == 200
        assert (await http.post("/_control/m1", json={"mode": "nope"})).status_code == 400
        provider = _provider(fake_llm)
        first = await provider.complete([{"role": "user", "content": "x"}])
        second = await provider.complete([{"role": "user", "content": "x"}])
        await provider.aclose()
        assert first.text == "not json {" and json.loads(second.text) == {"ok": True}
        recorded = (await http.get("/_requests", params={"model": "m1"})).json()
        assert len(recorded) == 2 and recorded[0]["body"]["messages"][0]["content"] == "x"
        models = (await http.get("/v1/models")).json()
        assert "m1" in {m["id"] for m in models["data"]}
        await http.post("/_reset")
        assert (await http.get("/_requests")).json() == []


async def test_a_finished_stream_leaves_its_connection_to_the_next_turn(fake_llm: FakeLLMServer) -> None:
    """Each turn on a new connection would pay a TCP (and, to a real provider, a TLS) handshake."""
    connects: list[str] = []

    async def trace(event: str, info: dict[str, object]) -> None:
        if event == "connection.connect_tcp.started":
            connects.append(event)

    async def with_trace(request: httpx.Request) -> None:
        request.extensions["trace"] = trace

    client = httpx.AsyncClient(event_hooks={"request": [with_trace]})
    provider = OpenAICompatProvider(ModelSpec(name="m1", base_url=fake_llm.base_url), "sk-test", client=client)
    for _ in range(3):
        texts, usage = await _stream(provider)
        assert "".join(texts) == "echo: tell me about the moon tonight" and usage is not None
    await client.aclose()
    assert len(connects) == 1
