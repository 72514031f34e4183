"""Bedrock Converse mapping and event-stream parsing, with events shaped as the Bedrock docs give them."""

from __future__ import annotations

import pytest
from companion.config import ModelSpec
from companion.llm.base import Prompt, ProviderError, Usage
from companion.llm.bedrock import BedrockProvider, parse_converse_stream, to_converse

EVENTS = [
    {"messageStart": {"role": "assistant"}},
    {"contentBlockDelta": {"delta": {"text": "你好"}, "contentBlockIndex": 0}},
    {"contentBlockDelta": {"delta": {"text": "，小王"}, "contentBlockIndex": 0}},
    {"contentBlockStop": {"contentBlockIndex": 0}},
    {"messageStop": {"stopReason": "end_turn"}},
    {"metadata": {"usage": {"inputTokens": 21, "outputTokens": 4, "totalTokens": 25},
                  "metrics": {"latencyMs": 312}}},
]


def test_messages_map_to_system_blocks_and_alternating_turns() -> None:
    system, turns = to_converse([
        {"role": "system", "content": "You are Luna."},
        {"role": "system", "content": "Memories: likes cats."},
        {"role": "assistant", "content": "Hi, I'm Luna!"},
        {"role": "user", "content": "hello"},
        {"role": "user", "content": "are you there?"},
        {"role": "assistant", "content": "yes"},
    ])
    assert system == [{"text": "You are Luna."}, {"text": "Memories: likes cats."}]
    assert [t["role"] for t in turns] == ["user", "assistant", "user", "assistant"]
    assert turns[1] == {"role": "assistant", "content": [{"text": "Hi, I'm Luna!"}]}
    assert turns[2]["content"][0]["text"] == "hello\n\nare you there?"


def test_stream_events_give_text_then_usage() -> None:
    chunks = list(parse_converse_stream(EVENTS))
    assert [c.text for c in chunks if c.text] == ["你好", "，小王"]
    assert chunks[-1].usage == Usage(prompt_tokens=21, completion_tokens=4)


def test_exception_event_raises_provider_error() -> None:
    events = [EVENTS[0], EVENTS[1], {"throttlingException": {"message": "Too many requests"}}]
    with pytest.raises(ProviderError, match="throttlingException") as info:
        list(parse_converse_stream(events, "claude"))
    assert info.value.retryable


def test_truncated_stream_raises() -> None:
    with pytest.raises(ProviderError, match="messageStop"):
        list(parse_converse_stream(EVENTS[:3]))


class FakeRuntime:
    """Stands in for the boto3 bedrock-runtime client at the API boundary."""

    def __init__(self, events: list[dict]) -> None:
        self.events = events
        self.requests: list[dict] = []

    def converse_stream(self, **request: object) -> dict:
        self.requests.append(request)
        return {"stream": iter(self.events)}

    def converse(self, **request: object) -> dict:
        self.requests.append(request)
        return {"output": {"message": {"role": "assistant", "content": [{"text": '{"a": 1}'}]}},
                "usage": {"inputTokens": 9, "outputTokens": 3, "totalTokens": 12}, "stopReason": "end_turn"}


async def test_provider_streams_through_the_worker_thread() -> None:
    runtime = FakeRuntime(EVENTS)
    provider = BedrockProvider(ModelSpec(name="claude", provider="bedrock", model="anthropic.claude-x",
                                         max_tokens=256), client=runtime)
    prompt = Prompt(messages=[{"role": "system", "content": "be kind"}, {"role": "user", "content": "hi"}],
                    max_tokens=1024, temperature=0.5)
    chunks = [c async for c in provider.stream(prompt)]
    assert "".join(c.text for c in chunks) == "你好，小王"
    assert chunks[-1].usage == Usage(prompt_tokens=21, completion_tokens=4)
    request = runtime.requests[0]
    assert request["modelId"] == "anthropic.claude-x"
    assert request["system"] == [{"text": "be kind"}]
    assert request["inferenceConfig"] == {"maxTokens": 256, "temperature": 0.5}


async def test_provider_stream_error_surfaces_as_provider_error() -> None:
    runtime = FakeRuntime([EVENTS[0], {"modelStreamErrorException": {"message": "boom"}}])
    provider = BedrockProvider(ModelSpec(name="claude", provider="bedrock"), client=runtime)
    with pytest.raises(ProviderError, match="modelStreamErrorException"):
        async for _ in provider.stream(Prompt(messages=[{"role": "user", "content": "hi"}])):
            pass


async def test_complete_puts_schema_in_system_and_reads_usage() -> None:
    runtime = FakeRuntime([])
    provider = BedrockProvider(ModelSpec(name="claude", provider="bedrock"), client=runtime)
    result = await provider.complete([{"role": "user", "content": "extract"}], json_schema={"type": "object"})
    assert result.text == '{"a": 1}' and result.usage.prompt_tokens == 9 and not result.usage.estimated
    assert "JSON schema" in runtime.requests[0]["system"][0]["text"]


class FailingRuntime:
    """A bedrock-runtime client whose calls raise what botocore (or our own code) would raise."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    def converse_stream(self, **request: object) -> dict:
        raise self.error

    def converse(self, **request: object) -> dict:
        raise self.error


def _client_error(code: str, status: int) -> Exception:
    from botocore.exceptions import ClientError

    return ClientError({"Error": {"Code": code, "Message": "m"}, "ResponseMetadata": {"HTTPStatusCode": status}},
                       "ConverseStream")


@pytest.mark.parametrize(("make_error", "fault"), [
    (lambda: _client_error("ThrottlingException", 429), True),
    (lambda: _client_error("ServiceUnavailableException", 503), True),
    (lambda: _client_error("ModelTimeoutException", 408), True),
    (lambda: _client_error("ValidationException", 400), False),
    (lambda: _client_error("AccessDeniedException", 403), False),
])
async def test_botocore_errors_are_classified(make_error, fault: bool) -> None:  # type: ignore[no-untyped-def]
    provider = BedrockProvider(ModelSpec(name="claude", provider="bedrock"), client=FailingRuntime(make_error()))
    with pytest.raises(ProviderError) as info:
        async for _ in provider.stream(Prompt(messages=[{"role": "user", "content": "hi"}])):
            pass
    assert info.value.provider_fault is fault
    with pytest.raises(ProviderError) as info:
        await provider.complete([{"role": "user", "content": "hi"}])
    assert info.value.provider_fault is fault


async def test_a_connection_error_is_a_provider_fault() -> None:
    from botocore.exceptions import EndpointConnectionError

    runtime = FailingRuntime(EndpointConnectionError(endpoint_url="https://bedrock-runtime.example"))
    provider = BedrockProvider(ModelSpec(name="claude", provider="bedrock"), client=runtime)
    with pytest.raises(ProviderError) as info:
        await provider.complete([{"role": "user", "content": "hi"}])
    assert info.value.provider_fault and info.value.retryable


async def test_an_error_of_our_own_is_not_dressed_as_the_providers() -> None:
    provider = BedrockProvider(ModelSpec(name="claude", provider="bedrock"),
                               client=FailingRuntime(UnicodeEncodeError("utf-8", "\ud800", 0, 1, "surrogate")))
    with pytest.raises(UnicodeEncodeError):
        async for _ in provider.stream(Prompt(messages=[{"role": "user", "content": "hi"}])):
            pass


def test_a_validation_event_in_the_stream_is_the_requests_fault() -> None:
    events = [EVENTS[0], {"validationException": {"message": "input is too long"}}]
    with pytest.raises(ProviderError) as info:
        list(parse_converse_stream(events, "claude"))
    assert not info.value.provider_fault and not info.value.retryable
    with pytest.raises(ProviderError) as info:
        list(parse_converse_stream([EVENTS[0], {"throttlingException": {"message": "slow down"}}], "claude"))
    assert info.value.provider_fault
