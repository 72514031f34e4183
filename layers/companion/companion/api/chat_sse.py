"""The chat stream's SSE wire format (the architecture doc's; kept compatible with seed 003 clients)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import asdict
from typing import Any

from ..chat.events import TurnDelta, TurnDone, TurnEvent

# Every SSE response of the chat app: no caching, and no proxy buffering of a reply in progress.
STREAM_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


# One encoder for every event: ``json.dumps`` with options builds a new one per call, and a reply
# is dozens of deltas.
_json = json.JSONEncoder(ensure_ascii=False).encode


def sse(event: str, data: dict[str, Any]) -> bytes:
    return f"event: {event}\ndata: {_json(data)}\n\n".encode()


def delta(text: str) -> bytes:
    # The bytes of sse("message", {"content": text, "done": False}), without the dict's round trip.
    return f'event: message\ndata: {{"content": {_json(text)}, "done": false}}\n\n'.encode()


def done(**fields: Any) -> bytes:
    return sse("message", {"content": "", "done": True, **fields})


def error(message: str, code: str = "stream_error") -> bytes:
    return sse("error", {"error": message, "code": code})


def encode(event: TurnEvent) -> bytes:
    if isinstance(event, TurnDelta):
        return delta(event.text)
    if isinstance(event, TurnDone):
        return done(message_id=event.message_id, model=event.model, session_id=event.session_id,
                    usage=event.usage.model_dump() if event.usage else None, memories=event.memories,
                    memory_sources=event.memory_sources, memories_used=[asdict(m) for m in event.memories_used],
                    recall_ms=event.recall_ms, failovers=event.failovers,
                    degraded=event.degraded)
    return error(event.message, code=event.code)


async def stream(events: AsyncIterator[TurnEvent]) -> AsyncIterator[bytes]:
    async for event in events:
        yield encode(event)
