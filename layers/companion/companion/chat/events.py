"""What a chat turn tells its caller while it runs: text deltas, then exactly one ``done`` or ``failed``.

The wire formats (the project's SSE stream, OpenAI's chunks) live in the API layer and encode
these events; ``guarded`` gives every format the same guarantee about how a stream ends.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, tzinfo

from ..errors import AppError, StoreUnavailable
from ..llm.base import Usage
from ..memory.recall.dates import local_date
from ..memory.recall.prompt_block import sanitize
from ..models import RecalledMemory
from ..observability import logger

# The memory API's name for each kind of recalled memory (its ``item_type``).
ITEM_TYPES = {"profile": "fact", "event": "event", "summary": "summary", "turn": "turn"}
MEMORY_TEXT_CHARS = 200  # enough for a client's "remembered: …"


@dataclass(frozen=True)
class TurnDelta:
    text: str


@dataclass(frozen=True)
class MemoryUsed:
    """One long-term memory that went into the prompt, as a client can show and correct it.

    ``id`` is the memory API's ``item_id`` (``PATCH``/``DELETE /api/v1/memory/items/{id}``): a
    fact's, event's or summary's record id, or a raw turn's search-document id (editing a turn
    changes what is searched and recalled; the message log keeps what was said). A turn recalled
    with its neighbouring turns lists every one of them in ``turn_ids``.
    """

    id: str
    type: str  # fact | event | summary | turn
    date: str  # yyyy-mm-dd the prompt dates it by (a fact: when its value was set; a turn: when said)
    text: str  # what the prompt quoted, shortened
    event_date: str | None = None  # an event's own date (yyyy-mm-dd)
    status: str | None = None  # "current": a corrected fact; "older": text it has since replaced
    turn_ids: list[str] = field(default_factory=list)


def memories_used(memories: Sequence[RecalledMemory], tz: tzinfo = UTC) -> list[MemoryUsed]:
    """What ``TurnDone.memories_used`` says about recall's chosen memories, in prompt order."""
    out = []
    for m in memories:
        ids = [str(i) for i in m.metadata.get("turn_ids") or ()]
        event_date = m.metadata.get("event_date")
        out.append(MemoryUsed(
            id=m.memory_id, type=ITEM_TYPES.get(m.memory_type, m.memory_type),
            date=local_date(m.timestamp, tz).isoformat(), text=sanitize(m.content, MEMORY_TEXT_CHARS),
            event_date=str(event_date) if event_date and m.memory_type == "event" else None,
            status=(m.metadata.get("currency") or {}).get("state"), turn_ids=ids if len(ids) > 1 else []))
    return out


@dataclass(frozen=True)
class TurnDone:
    """The reply is complete and stored."""

    message_id: str
    model: str  # the model of the chain that answered ("canned" when every model was down)
    session_id: str
    usage: Usage | None = None
    memories: int = 0
    memory_sources: list[str] = field(default_factory=list)  # the retrieval channels that answered
    memories_used: list[MemoryUsed] = field(default_factory=list)
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
