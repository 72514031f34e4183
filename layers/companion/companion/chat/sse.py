"""The SSE wire format of the architecture doc (kept compatible with seed 003 clients)."""

from __future__ import annotations

import json
from typing import Any


def sse(event: str, data: dict[str, Any]) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n".encode()


def delta(text: str) -> bytes:
    return sse("message", {"content": text, "done": False})


def done(**fields: Any) -> bytes:
    return sse("message", {"content": "", "done": True, **fields})


def error(message: str, code: str = "stream_error") -> bytes:
    return sse("error", {"error": message, "code": code})
