"""What a chat turn tells its caller while it runs: text deltas, then exactly one ``done`` or ``failed``.

The wire formats (the project's SSE stream, OpenAI's chunks) live in the API layer and encode
these events; ``guarded`` gives every format the same guarantee about how a stream ends.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from ..errors import AppError, StoreUnavailable
from ..llm.base import Usage
from ..observability import logger


@dataclass(frozen=True)
class TurnDelta:
    text: str


@dataclass(frozen=True)
class TurnDone:
    """The reply is complete and stored."""

    message_id: str
    model: str  # the model of the chain that answered ("canned" when every model was down)
    session_id: str
    usage: Usage | None = None
    memories: int = 0
    memory_sources: list[str] = field(default_factory=list)
    recall_ms: float = 0.0
    failovers: int = 0
    degraded: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class TurnFailed:
    """The turn ended without a complete reply (any partial text stands and is stored)."""

    code: str
    message: str


TurnEvent = TurnDelta | TurnDone | TurnFailed


def failure_of(exc: BaseException) -> TurnFailed:
    """An exception raised inside a running turn, as the event the client gets (in our words)."""
    if isinstance(exc, AppError):
        return TurnFailed(exc.code, exc.message)
    if isinstance(exc, StoreUnavailable):
        return TurnFailed("store_unavailable", "a data store is unavailable, please retry")
    return TurnFailed("internal_error", "the reply failed on our side, please try again")


async def guarded(events: AsyncIterator[TurnEvent]) -> AsyncIterator[TurnEvent]:
    """The turn's events, always closed by a ``TurnDone`` or a ``TurnFailed``.

    The response has started (200) when the turn runs, so an exception can no longer become
    an HTTP error: it becomes a ``TurnFailed``, and the client never sees a stream that just stops.
    """
    ended = False
    try:
        async for event in events:
            ended = ended or isinstance(event, TurnDone | TurnFailed)
            yield event
    except Exception as exc:
        logger.exception("chat stream failed")
        if not ended:
            yield failure_of(exc)
        return
    if not ended:
        logger.error("chat stream ended without its last event")
        yield failure_of(RuntimeError("the turn ended early"))
