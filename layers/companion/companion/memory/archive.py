"""The archived form of one memory task's segment: the raw conversation and what was learned from it.

The worker hands this document to the archive port (S3 in production; where it is stored, and
under which key, is the adapter's business). Shape (seed 002 §2.3, plus ``task_id``/``from_seq``/``to_seq``)::

    {"session_id", "user_id", "character_id", "task_id", "from_seq", "to_seq",
     "start_time", "end_time", "messages": [{"msg_id", "role", "content", "timestamp", "seq"}],
     "summary": {"text", "topics", "emotion"}, "extracted_profiles": [...], "extracted_events": [...]}
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from ..models import ChatMessage, MemoryTask
from .extraction.schema import ExtractionResult
from .records import EventRecord, FactRecord


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def segment_start(task: MemoryTask, messages: Sequence[ChatMessage]) -> float:
    """When the segment began (its first message; the task's creation when it has none)."""
    return min((m.timestamp for m in messages), default=task.created_at)


def archive_document(task: MemoryTask, messages: Sequence[ChatMessage], result: ExtractionResult,
                     facts: Sequence[FactRecord], events: Sequence[EventRecord]) -> dict[str, Any]:
    """The segment ``messages`` of ``task``, with the summary, facts and events the task produced."""
    stamps = [m.timestamp for m in messages] or [0.0]
    return {
        "session_id": task.session_id, "user_id": task.user_id, "character_id": task.character_id,
        "task_id": task.task_id, "from_seq": task.from_seq, "to_seq": task.to_seq,
        "start_time": _iso(min(stamps)), "end_time": _iso(max(stamps)),
        "messages": [{"msg_id": m.msg_id, "role": m.role, "content": m.content, "timestamp": m.timestamp,
                      "seq": m.seq} for m in messages],
        "summary": {"text": result.summary, "topics": list(result.topics), "emotion": result.emotion},
        "extracted_profiles": [f.model_dump(include={"type", "key", "value", "confidence"}) for f in facts],
        "extracted_events": [e.model_dump(include={"event_id", "type", "title", "summary", "date", "recurring",
                                                   "emotion", "importance"}) for e in events],
    }
