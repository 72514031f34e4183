"""Chain semantics with scripted in-process providers (the HTTP path is in integration/llm)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from companion.llm.base import Completion, LLMProvider, Prompt, ProviderError, StreamChunk, Usage
from companion.llm.breaker import InMemoryBreakerStore
from companion.llm.chain import AllModelsFailed, ChainEvent, ChainNotice, LLMChain

PROMPT = Prompt(messages=[{"role": "user", "content": "hi"}])


class Scripted(LLMProvider):
    def __init__(self, name: str, pieces: list[str] | None = None, *, fail_at: int | None = None,
                 delay_before: float = 0.0, hang_at: int | None = None, error: Exception | None = None) -> None:
        self.name = name
        self.pieces = pieces if pieces is not None else [f"{name}-1 ", f"{name}-2"]
        self.fail_at, self.delay_before, self.hang_at = fail_at, delay_before, hang_at
        self.error = error or ProviderError(f"{name} broke")
        self.calls = 0

    async def stream(self, prompt: Prompt) -> AsyncIterator[StreamChunk]:
        self.calls += 1
        await asyncio.sleep(self.delay_before)
        for i, piece in enumerate(self.pieces):
            if i == self.fail_at:
                raise self.error
            if i == self.hang_at:
                await asyncio.sleep(60)
            yield StreamChunk(text=piece)
        if self.fail_at is not None and self.fail_at >= len(self.pieces):
            raise self.error
        yield StreamChunk(usage=Usage(prompt_tokens=3, completion_tokens=2))

    async def complete(self, messages: list[dict[str, str]], *, json_schema: dict[str, Any] | None = None,
                       max_tokens: int = 2048, temperature: float = 0.2) -> Completion:
        self.calls += 1
        if self.fail_at is not None:
            raise self.error
        return Completion(text="{}", usage=Usage(), model=self.name)


def _chain(*providers: LLMProvider, notices: list[ChainNotice] | None = None, **kw: Any) -> LLMChain:
    opts = {"first_token_timeout_s": 0.2, "idle_timeout_s": 0.2, "failure_threshold": 2, "open_seconds": 60}
    opts.update(kw)
    return LLMChain(list(providers), InMemoryBreakerStore(),
                    on_event=notices.append if notices is not None else None, **opts)


async def _run(chain: LLMChain) -> list[ChainEvent]:
    return [e async for e in chain.stream(PROMPT, canned="SORRY")]


def _text(events: list[ChainEvent]) -> str:
    return "".join(e.text for e in events if e.kind == "delta")


async def test_primary_answers_with_its_usage() -> None:
    events = await _run(_chain(Scripted("a"), Scripted("b")))
    assert _text(events) == "a-1 a-2"
    done = events[-1]
    assert done.kind == "done" and done.model == "a" and done.failovers == 0
    assert done.usage == Usage(prompt_tokens=3, completion_tokens=2)
    assert done.first_token_ms is not None and done.first_token_ms >= 0


async def test_error_before_first_token_fails_over() -> None:
    notices: list[ChainNotice] = []
    events = await _run(_chain(Scripted("a", fail_at=0), Scripted("b"), notices=notices))
    assert _text(events) == "b-1 b-2"
    assert events[-1].model == "b" and events[-1].failovers == 1
    assert [n.kind for n in notices if n.kind == "failover"] == ["failover"]


async def test_first_token_timeout_fails_over() -> None:
    slow = Scripted("a", delay_before=5)
    events = await _run(_chain(slow, Scripted("b"), first_token_timeout_s=0.05))
    assert events[-1].model == "b"


async def test_empty_reply_fails_over_without_counting_against_the_model() -> None:
    empty = Scripted("a", pieces=[])
    chain = _chain(empty, Scripted("b"), failure_threshold=1)
    for _ in range(3):
        events = await _run(chain)
        assert events[-1].model == "b"
    assert empty.calls == 3  # a well-formed empty answer is the request's outcome, not an outage


async def test_mid_stream_failure_ends_with_error_and_no_failover() -> None:
    backup = Scripted("b")
    events = await _run(_chain(Scripted("a", fail_at=1), backup))
    assert [e.kind for e in events] == ["delta", "error"]
    assert _text(events) == "a-1 "
    assert events[-1].model == "a" and events[-1].detail == "a broke" and events[-1].code == "model_error"
    assert "broke" not in (events[-1].error or "")  # the user reads our words, the logs the provider's
    assert backup.calls == 0


async def test_idle_timeout_is_a_mid_stream_failure() -> None:
    backup = Scripted("b")
    events = await _run(_chain(Scripted("a", hang_at=1), backup, idle_timeout_s=0.05))
    assert [e.kind for e in events] == ["delta", "error"]
    assert "idle timeout" in events[-1].detail
    assert backup.calls == 0


async def test_all_down_streams_canned_reply() -> None:
    events = await _run(_chain(Scripted("a", fail_at=0), Scripted("b", fail_at=0)))
    assert _text(events) == "SORRY"
    assert events[-1].kind == "done" and events[-1].model == "canned" and events[-1].failovers == 2


async def test_breaker_opens_and_skips_the_model() -> None:
    bad = Scripted("a", fail_at=0)
    notices: list[ChainNotice] = []
    chain = _chain(bad, Scripted("b"), notices=notices, failure_threshold=2)
    for _ in range(4):
        await _run(chain)
    assert bad.calls == 2
    kinds = [n.kind for n in notices]
    assert kinds.count("breaker_open") == 1 and kinds.count("breaker_skip") == 2


async def test_bad_request_does_not_count_against_the_model() -> None:
    bad = Scripted("a", fail_at=0, error=ProviderError("too long", retryable=False, status=400))
    chain = _chain(bad, Scripted("b"), failure_threshold=1)
    await _run(chain)
    await _run(chain)
    assert bad.calls == 2


async def test_breaker_and_observer_errors_never_fail_a_turn() -> None:
    class Exploding:
        async def is_open(self, model: str) -> bool:
            raise RuntimeError("boom")

        async def record_failure(self, model: str, threshold: int, open_seconds: int) -> bool:
            raise RuntimeError("boom")

        async def record_success(self, model: str) -> None:
            raise RuntimeError("boom")

    def observer(notice: ChainNotice) -> None:
        raise RuntimeError("observer boom")

    chain = LLMChain([Scripted("a", fail_at=0), Scripted("b")], Exploding(), first_token_timeout_s=0.2,
                     idle_timeout_s=0.2, failure_threshold=1, open_seconds=60, on_event=observer)
    events = await _run(chain)
    assert events[-1].model == "b" and _text(events) == "b-1 b-2"


async def test_complete_fails_over_and_raises_when_all_fail() -> None:
    result = await _chain(Scripted("a", fail_at=0), Scripted("b")).complete([{"role": "user", "content": "x"}])
    assert result.model == "b"
    with pytest.raises(AllModelsFailed):
        await _chain(Scripted("a", fail_at=0)).complete([{"role": "user", "content": "x"}])


@pytest.mark.parametrize("error", [
    ProviderError("a: HTTP 400 content rejected", retryable=False, status=400),
    ProviderError("a: HTTP 404 no such model", retryable=False, status=404),
    UnicodeEncodeError("utf-8", "hi \ud800", 3, 4, "surrogates not allowed"),
    RuntimeError("a bug of ours"),
])
async def test_failures_the_request_or_our_code_caused_never_open_the_breaker(error: Exception) -> None:
    a, b = Scripted("a", fail_at=0, error=error), Scripted("b", fail_at=0, error=error)
    store = InMemoryBreakerStore()
    chain = LLMChain([a, b], store, first_token_timeout_s=0.2, idle_timeout_s=0.2, failure_threshold=1,
                     open_seconds=60)
    for _ in range(6):
        events = await _run(chain)
        assert [e.kind for e in events] == ["error"]  # no canned apology for an outage that is not happening
        expected = "request_rejected" if isinstance(error, ProviderError) else "internal_error"
        assert events[0].code == expected and events[0].error and "ud800" not in events[0].error
    assert (a.calls, b.calls) == (6, 6)
    assert not await store.is_open("a") and not await store.is_open("b")


@pytest.mark.parametrize("status", [429, 500, 503])
async def test_provider_faults_open_the_breaker(status: int) -> None:
    bad = Scripted("a", fail_at=0, error=ProviderError(f"a: HTTP {status}", status=status))
    chain = _chain(bad, Scripted("b"), failure_threshold=2)
    for _ in range(4):
        assert (await _run(chain))[-1].model == "b"
    assert bad.calls == 2


async def test_a_model_down_and_a_refusal_give_the_canned_reply() -> None:
    down = Scripted("a", fail_at=0, error=ProviderError("a: connection error"))
    refuses = Scripted("b", fail_at=0, error=ProviderError("b: HTTP 400", retryable=False, status=400))
    events = await _run(_chain(down, refuses))
    assert _text(events) == "SORRY" and events[-1].model == "canned"


async def test_complete_counts_only_provider_faults() -> None:
    bug = Scripted("a", fail_at=0, error=KeyError("ours"))
    chain = _chain(bug, failure_threshold=1)
    for _ in range(3):
        with pytest.raises(AllModelsFailed):
            await chain.complete([{"role": "user", "content": "x"}])
    assert bug.calls == 3
