"""The model chain: first healthy model answers, failover only before the first token.

- Providers are tried in order; a model whose breaker is open is skipped.
- Before any text arrives, any failure moves on to the next model. Only a failure of the
  provider itself (a first-token timeout, a connection error, HTTP 5xx or 429, a broken or
  malformed stream: ``ProviderError.provider_fault``) records a breaker failure. The breaker is
  shared by every user, so a failure the request caused (the provider refused it: HTTP 4xx,
  a content filter, an empty reply; or text it cannot encode) or our own code raised never
  counts: one user's requests cannot open it for everyone.
- Once text has been yielded, a failure (including an idle gap longer than
  ``idle_timeout_s``) ends the reply with an ``error`` event after the partial text:
  text already shown to the user is never repeated or restarted by another model.
- All models failed or open → the character's canned apology, ``model="canned"``, when a
  model was down or skipped (trying again later may work). When every model that was
  tried failed because of the request or of our code, nothing is wrong with the models: the
  turn ends with an ``error`` event (``code`` ``request_rejected`` or ``internal_error``)
  instead, so the user learns this message could not be answered rather than reading an
  apology for an outage that is not happening.

Metrics stay out of this module: ``on_event`` receives ``ChainNotice``s and the app
turns them into metrics/logs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Literal

from ..ports import BreakerStateStore
from .base import Completion, LLMProvider, Prompt, ProviderError, Usage

log = logging.getLogger(__name__)

CANNED_MODEL = "canned"


@dataclass(slots=True)
class ChainEvent:
    """One event of a streamed reply.

    ``delta``: a piece of text. ``done``: the reply is complete (usage, model, latency).
    ``error``: the model failed after some text was sent (the partial text stands, ``usage``
    is estimated from it), or no model could answer this request (no text). ``error`` is a
    message for the user, ``code`` says why in machine terms, ``detail`` is for the logs.
    ``first_token_ms`` counts from the start of ``stream`` (failovers included).
    """

    kind: Literal["delta", "done", "error"]
    text: str = ""
    model: str = ""
    usage: Usage | None = None
    failovers: int = 0
    first_token_ms: float | None = None
    error: str | None = None
    code: str | None = None
    detail: str = ""


NoticeKind = Literal["failover", "breaker_open", "breaker_skip", "first_token", "mid_stream_error",
                     "canned"]


@dataclass(slots=True)
class ChainNotice:
    """What the app may want to count: see module docstring. ``value_ms`` for latencies."""

    kind: NoticeKind
    model: str
    detail: str = ""
    value_ms: float | None = None


ChainObserver = Callable[[ChainNotice], Any]

# What the user reads in an ``error`` event (the provider's own words stay in the logs).
MID_STREAM_MESSAGE = "the model stopped before finishing the reply"
REJECTED_MESSAGE = "the model could not answer this message; try rephrasing it"
INTERNAL_MESSAGE = "the reply failed on our side, please try again"


def is_provider_fault(exc: BaseException) -> bool:
    """Whether ``exc`` says the provider itself failed (counts toward its breaker)."""
    return isinstance(exc, TimeoutError) or (isinstance(exc, ProviderError) and exc.provider_fault)


_CALLS: ContextVar[list[int] | None] = ContextVar("model_calls", default=None)


@contextlib.contextmanager
def counting_calls() -> Iterator[list[int]]:
    """``calls[0]``: every model call ``complete`` starts in this context (failovers, timeouts and
    repairs included), for a task's ``llm_calls``. A context variable: each task counts its own."""
    calls = [0]
    token = _CALLS.set(calls)
    try:
        yield calls
    finally:
        _CALLS.reset(token)


class AllModelsFailed(ProviderError):
    def __init__(self, errors: list[str]) -> None:
        super().__init__("all models failed: " + "; ".join(errors) if errors else "no model available",
                         retryable=True)
        self.errors = errors


class LLMChain:
    def __init__(self, providers: Sequence[LLMProvider], breaker_store: BreakerStateStore, *,
                 first_token_timeout_s: float, idle_timeout_s: float, failure_threshold: int,
                 open_seconds: int, on_event: ChainObserver | None = None,
                 complete_timeout_s: float = 60.0) -> None:
        if not providers:
            raise ValueError("LLMChain needs at least one provider")
        self.providers = list(providers)
        self.breaker = breaker_store
        self.first_token_timeout_s = first_token_timeout_s
        self.idle_timeout_s = idle_timeout_s
        self.failure_threshold = failure_threshold
        self.open_seconds = open_seconds
        self.complete_timeout_s = complete_timeout_s
        self.on_event = on_event

    # -- breaker and notices: never allowed to fail a turn ---------------------------------

    def _notify(self, kind: NoticeKind, model: str, detail: str = "", value_ms: float | None = None) -> None:
        if self.on_event is None:
            return
        try:
            self.on_event(ChainNotice(kind, model, detail, value_ms))
        except Exception:  # an observer bug must not break the reply
            log.exception("chain observer failed")

    async def _allowed(self, model: str) -> bool:
        try:
            ok = await self.breaker.allow_call(model, self.open_seconds)
        except Exception as exc:
            log.warning("breaker check failed for %s: %s", model, exc)
            return True
        if not ok:
            self._notify("breaker_skip", model)
        return ok

    async def _failure(self, model: str, exc: BaseException) -> None:
        if not is_provider_fault(exc):
            return
        try:
            opened = await self.breaker.record_failure(model, self.failure_threshold, self.open_seconds)
        except Exception as err:
            log.warning("breaker record_failure failed for %s: %s", model, err)
            return
        if opened:
            self._notify("breaker_open", model, _describe(exc))

    async def _success(self, model: str) -> None:
        try:
            await self.breaker.record_success(model)
        except Exception as err:
            log.warning("breaker record_success failed for %s: %s", model, err)

    # -- streaming -----------------------------------------------------------------------

    async def stream(self, prompt: Prompt, *, canned: str) -> AsyncIterator[ChainEvent]:
        started = time.monotonic()
        failovers = 0
        failures: list[BaseException] = []
        skipped = False
        for provider in self.providers:
            if not await self._allowed(provider.name):
                skipped = True
                continue
            attempt_start = time.monotonic()
            deadline = attempt_start + self.first_token_timeout_s
            first_token_ms: float | None = None
            usage: Usage | None = None
            parts: list[str] = []
            gen = provider.stream(prompt)
            try:
                while True:
                    wait = self.idle_timeout_s if parts else max(0.0, deadline - time.monotonic())
                    try:
                        async with asyncio.timeout(wait):
                            chunk = await anext(gen)
                    except StopAsyncIteration:
                        break
                    if chunk.usage is not None:
                        usage = chunk.usage
                    if chunk.text:
                        if not parts:
                            first_token_ms = (time.monotonic() - started) * 1000
                            self._notify("first_token", provider.name,
                                         value_ms=(time.monotonic() - attempt_start) * 1000)
                        parts.append(chunk.text)
                        yield ChainEvent("delta", chunk.text, provider.name, failovers=failovers,
                                         first_token_ms=first_token_ms)
                if not parts:
                    # The stream ended properly with nothing in it: the model's answer to this request.
                    raise ProviderError(f"{provider.name}: empty reply", provider_fault=False)
            except Exception as exc:
                failure: BaseException = exc
                if isinstance(exc, TimeoutError):
                    stage = "idle" if parts else "first-token"
                    failure = ProviderError(f"{provider.name}: {stage} timeout")
                elif not isinstance(exc, ProviderError):
                    log.exception("model %s: unexpected error in our code", provider.name)
                await self._failure(provider.name, failure)
                if parts:
                    # Mid-stream: the user already has part of this model's reply.
                    self._notify("mid_stream_error", provider.name, _describe(failure))
                    yield ChainEvent("error", model=provider.name, failovers=failovers,
                                     first_token_ms=first_token_ms, error=MID_STREAM_MESSAGE, code="model_error",
                                     detail=_describe(failure), usage=_estimate(prompt, parts))
                    return
                log.warning("model %s failed before the first token: %s", provider.name, _describe(failure))
                self._notify("failover", provider.name, _describe(failure))
                failures.append(failure)
                failovers += 1
                continue
            finally:
                await _close(gen)
            await self._success(provider.name)
            yield ChainEvent("done", model=provider.name, usage=usage or _estimate(prompt, parts),
                             failovers=failovers, first_token_ms=first_token_ms)
            return
        if failures and not skipped and not any(is_provider_fault(f) for f in failures):
            # Every model answered and refused this request (or our code failed): no outage to apologise for.
            internal = any(not isinstance(f, ProviderError) for f in failures)
            yield ChainEvent("error", model=self.providers[-1].name, failovers=failovers,
                             error=INTERNAL_MESSAGE if internal else REJECTED_MESSAGE,
                             code="internal_error" if internal else "request_rejected",
                             detail="; ".join(_describe(f) for f in failures), usage=_estimate(prompt, []))
            return
        # Every model failed or is open: the character apologises in its own words.
        self._notify("canned", CANNED_MODEL)
        first_token_ms = (time.monotonic() - started) * 1000
        yield ChainEvent("delta", canned, CANNED_MODEL, failovers=failovers, first_token_ms=first_token_ms)
        yield ChainEvent("done", model=CANNED_MODEL, failovers=failovers, first_token_ms=first_token_ms)

    # -- one-shot completion (memory extraction) ------------------------------------------

    async def complete(self, messages: list[dict[str, str]], json_schema: dict[str, Any] | None = None, *,
                       max_tokens: int = 2048, temperature: float = 0.2,
                       timeout_s: float | None = None) -> Completion:
        """The first healthy model's completion; raises ``AllModelsFailed`` when none answers."""
        errors: list[str] = []
        for provider in self.providers:
            if not await self._allowed(provider.name):
                errors.append(f"{provider.name}: breaker open")
                continue
            calls = _CALLS.get()
            if calls is not None:
                calls[0] += 1
            try:
                async with asyncio.timeout(timeout_s or self.complete_timeout_s):
                    result = await provider.complete(messages, json_schema=json_schema,
                                                     max_tokens=max_tokens, temperature=temperature)
            except Exception as exc:
                failure: BaseException = (ProviderError(f"{provider.name}: timeout")
                                          if isinstance(exc, TimeoutError) else exc)
                if not isinstance(failure, ProviderError):
                    log.exception("model %s: unexpected error in our code", provider.name)
                await self._failure(provider.name, failure)
                errors.append(_describe(failure))
                self._notify("failover", provider.name, _describe(failure))
                continue
            await self._success(provider.name)
            return result
        raise AllModelsFailed(errors)

    async def aclose(self) -> None:
        for provider in self.providers:
            try:
                await provider.aclose()
            except Exception:
                log.exception("closing %s failed", provider.name)


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return text if isinstance(exc, ProviderError) and text else f"{type(exc).__name__}: {text}"


def _estimate(prompt: Prompt, parts: list[str]) -> Usage:
    return Usage.estimate(prompt.messages, "".join(parts))


async def _close(gen: Any) -> None:
    aclose = getattr(gen, "aclose", None)
    if aclose is None:
        return
    with contextlib.suppress(Exception):  # closing a failed stream is best effort
        await aclose()
