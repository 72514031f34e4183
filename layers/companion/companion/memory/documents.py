"""What a memory document is: the searchable form of a turn, a fact, an event or a summary.

The memory worker builds these after each task, and the memory API rebuilds one when a person
edits or deletes a memory, with the same functions here, so an edit gives the document (and the
vector) a task would have written:

    docs = task_documents(task, messages, changed_facts, changed_events, summary)
    doc = record_document(edited_fact)                # one fact/event/summary, after an edit
    nxt = with_previous_turn(next_turn, edited_text)  # the turn after an edited (None: deleted) one
    text = bounded_embedding_text(doc, settings.memory_embed_max_chars)

A turn is embedded after the turn before it (its ``metadata["context"]``, the end of that turn,
at most ``TURN_CONTEXT_CHARS``): "Yes, last Sunday!" means nothing alone, and its answer is usually
what a question asks for. Only the vector reads the context; BM25 and what is shown see the turn's
own words. Ids are deterministic (turns by message position), so a replay overwrites.

A turn also carries ``when``: the dates it speaks about, resolved against the day it was written
("yesterday" said on 5 December 2023 -> "2023-12-04", with "2023-12", "2023" and "12-04"; see
``extraction.dates.when_tokens``), so a question naming a date finds it (``recall.when``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, tzinfo
from typing import Any, Literal

from pydantic import BaseModel, Field

from ..models import ChatMessage, MemoryTask
from .extraction.dates import find_all_dates, when_tokens
from .records import EventRecord, FactRecord, SummaryRecord, stable_id

MemoryType = Literal["turn", "summary", "event", "profile"]
MemoryRecord = FactRecord | EventRecord | SummaryRecord

# How much of the previous turn a turn's vector sees (its end: the part it answers).
TURN_CONTEXT_CHARS = 500
TURN_IMPORTANCE = 3.0
SUMMARY_IMPORTANCE = 5.0
PROFILE_IMPORTANCE = 8.0


class MemoryDoc(BaseModel):
    """One searchable memory: a raw turn, a segment summary, an event or a profile fact."""

    memory_id: str
    user_id: str
    character_id: str
    memory_type: MemoryType
    content: str
    timestamp: float  # epoch seconds
    importance: float = 5.0
    session_id: str = ""
    seq: int = 0  # message-log position for turns (0 for other types)
    embedding: list[float] | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    when: list[str] = Field(default_factory=list)  # dates the text speaks about (keyword tokens)

    def embedding_text(self) -> str:
        """What the vector is computed from: a turn after the turn before it (``metadata["context"]``)."""
        context = str(self.metadata.get("context") or "") if self.memory_type == "turn" else ""
        return f"{context}\n{self.content}" if context else self.content

    def source(self) -> dict[str, Any]:
        """The stored form (the index's ``_source``): timestamps in epoch milliseconds."""
        src = self.model_dump(exclude={"embedding", "timestamp"})
        src["timestamp"] = round(self.timestamp * 1000)  # epoch_millis
        if self.embedding is not None:
            src["embedding"] = self.embedding
        return src

    @classmethod
    def from_source(cls, src: dict[str, Any]) -> MemoryDoc:
        """A stored document back, without its vector (it is computed again from the text)."""
        return cls(**{**src, "timestamp": float(src.get("timestamp", 0)) / 1000.0, "embedding": None})


def bounded_embedding_text(doc: MemoryDoc, limit: int) -> str:
    """``doc.embedding_text()`` within ``limit`` characters. The model reads 512 tokens per pass and
    a longer text only adds passes (minutes for a 100,000-character turn), so a long turn is cut,
    not chunked: one turn keeps one vector, its head (where a message states its point) is what
    k-NN matches, and BM25 still sees the whole turn in ``content``. The previous turn, the context,
    keeps at most a quarter of the budget when the turn itself is long."""
    text = doc.embedding_text()
    if limit <= 0 or len(text) <= limit:
        return text
    context = str(doc.metadata.get("context") or "") if doc.memory_type == "turn" else ""
    if not context:
        return doc.content[:limit]
    room = max(limit // 4, limit - 1 - len(doc.content))
    context = context[-room:]
    return f"{context}\n{doc.content[:limit - 1 - len(context)]}"


# ------------------------------------------------------------------------------ turns

def turn_id(user_id: str, character_id: str, message: ChatMessage) -> str:
    """One id per message position (or per message id when it never got a position)."""
    return turn_id_at(user_id, character_id, message.seq) if message.seq else stable_id(
        "turn", user_id, character_id, f"msg:{message.msg_id}")


def turn_id_at(user_id: str, character_id: str, seq: int) -> str:
    """The id of the turn at message-log position ``seq``."""
    return stable_id("turn", user_id, character_id, str(seq))


def turn_context(text: str) -> str:
    """What the next turn's vector reads of a turn: its end, the part the next turn answers."""
    return text[-TURN_CONTEXT_CHARS:]


def _context_of(previous: ChatMessage | None, turn: ChatMessage) -> dict[str, str]:
    # Only the previous turn of the same session: another session's last words are no context.
    if previous is None or (previous.session_id or "") != (turn.session_id or ""):
        return {}
    return {"context": turn_context(previous.content)}


def _is_turn(message: ChatMessage) -> bool:
    return message.role in ("user", "assistant") and bool(message.content.strip())


def spoken_dates(text: str, timestamp: float, tz: tzinfo = UTC) -> list[str]:
    """The ``when`` tokens of a text written at ``timestamp`` (none without a time: nothing to resolve
    "yesterday" against)."""
    if timestamp <= 0:
        return []
    try:
        today = datetime.fromtimestamp(timestamp, tz).date()
    except (OverflowError, OSError, ValueError):
        return []
    return when_tokens(find_all_dates(text, today))


def turn_documents(task: MemoryTask, messages: Sequence[ChatMessage]) -> list[MemoryDoc]:
    """The task's turns (``messages``, in order), each read after the one before it; the first
    after the last turn of the task's ``context_before``. Relative dates resolve in UTC (the
    message log keeps no time zone per user)."""
    u, c = task.user_id, task.character_id
    previous = next((m for m in reversed(task.context_before) if _is_turn(m)), None)
    docs = []
    for m in messages:
        docs.append(MemoryDoc(memory_id=turn_id(u, c, m), user_id=u, character_id=c, memory_type="turn",
                              content=m.content, timestamp=m.timestamp, importance=TURN_IMPORTANCE,
                              session_id=m.session_id or task.session_id, seq=m.seq,
                              metadata={"role": m.role, "msg_id": m.msg_id, "task_id": task.task_id,
                                        **_context_of(previous, m)},
                              when=spoken_dates(m.content, m.timestamp)))
        previous = m
    return docs


def with_previous_turn(doc: MemoryDoc, previous: str | None) -> MemoryDoc:
    """A turn document read after its previous turn's new text (``None``: that turn was deleted,
    and its words must not live on in this vector). The vector is to be computed again."""
    metadata = {k: v for k, v in doc.metadata.items() if k != "context"}
    if previous:
        metadata["context"] = turn_context(previous)
    return doc.model_copy(update={"metadata": metadata, "embedding": None})


# -------------------------------------------------------------------- facts, events, summaries

def fact_document(fact: FactRecord, *, session_id: str = "") -> MemoryDoc:
    return MemoryDoc(memory_id=fact.fact_id, user_id=fact.user_id, character_id=fact.character_id,
                     memory_type="profile", content=fact.content, timestamp=fact.updated_at,
                     importance=PROFILE_IMPORTANCE, session_id=session_id,
                     metadata={"fact_type": fact.type, "key": fact.key, "subject": fact.subject, "value": fact.value,
                               "confidence": fact.confidence, "source_turn_ids": list(fact.source_turn_ids)})


def event_document(event: EventRecord, *, session_id: str = "") -> MemoryDoc:
    return MemoryDoc(memory_id=event.event_id, user_id=event.user_id, character_id=event.character_id,
                     memory_type="event", content=event.content, timestamp=event.updated_at,
                     importance=float(event.importance), session_id=session_id,
                     metadata={"event_type": event.type, "title": event.title, "event_date": event.date,
                               "recurring": event.recurring, "emotion": event.emotion,
                               "source_turn_ids": list(event.source_turn_ids)})


def summary_document(summary: SummaryRecord) -> MemoryDoc:
    return MemoryDoc(memory_id=summary.summary_id, user_id=summary.user_id, character_id=summary.character_id,
                     memory_type="summary", content=summary.content, timestamp=summary.end_ts,
                     importance=SUMMARY_IMPORTANCE, session_id=summary.session_id,
                     metadata={"topics": summary.topics, "emotion": summary.emotion, "from_seq": summary.from_seq,
                               "to_seq": summary.to_seq, "task_id": summary.task_id,
                               "source_turn_ids": list(summary.source_turn_ids)})


def record_document(record: MemoryRecord, *, session_id: str = "") -> MemoryDoc:
    """The document of one stored record (``session_id``: the session a fact or event came up in).
    Its metadata's ``source_turn_ids`` name the turns the record was taken from."""
    if isinstance(record, FactRecord):
        return fact_document(record, session_id=session_id)
    if isinstance(record, EventRecord):
        return event_document(record, session_id=session_id)
    return summary_document(record)


def task_documents(task: MemoryTask, messages: Sequence[ChatMessage], facts: Sequence[FactRecord] = (),
                   events: Sequence[EventRecord] = (), summary: SummaryRecord | None = None) -> list[MemoryDoc]:
    """Everything one memory task indexes: its turns, its summary, the events and facts it changed."""
    return [*turn_documents(task, messages), *([summary_document(summary)] if summary is not None else []),
            *(event_document(e, session_id=task.session_id) for e in events),
            *(fact_document(f, session_id=task.session_id) for f in facts)]
