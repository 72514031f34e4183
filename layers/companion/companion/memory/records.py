"""Stored long-term memory records (what the worker writes to DynamoDB / OpenSearch).

Ids are deterministic (hashes of the natural key), so replaying a task overwrites the
same items instead of adding new ones. Timestamps are epoch seconds (float).

    FactRecord     one profile slot per (user, character, type, key); old values in ``history``
    EventRecord    one event; near-duplicates merge into it (``mentions`` counts them)
    SummaryRecord  one per memory task (``summary_id`` derives from ``task_id``)

``content`` on each record is the text to embed / show in a prompt.

A fact or event about someone other than the user (a pet, a relative, a friend) carries their
name in ``subject`` (``"user"`` otherwise, the default, so records stored before subjects existed
read as the user's). Such a fact's ``key`` is qualified, ``"豆豆:age"`` (``slot_key``), so it has its
own storage slot and id and can never overwrite the user's ``age``; the user's own keys, and so
their fact ids, are unchanged.

``source_turn_ids`` are the ids of the turn documents (``documents.turn_id_at``) a record was
taken from: the messages that said a fact's current value or an event, the newest
``MAX_SOURCE_TURNS``; for a summary, the messages its clauses quote (none for a model's summary).
Records stored before sources existed read as having none.
"""

from __future__ import annotations

import hashlib

from pydantic import BaseModel, Field

from .extraction.schema import USER, EventType, FactType

MAX_HISTORY = 20  # fact versions kept per key
MAX_TASK_IDS = 20  # recent task ids kept per record, for replay detection
MAX_SOURCE_TURNS = 5  # turns a fact or event was taken from, the newest kept


def stable_id(prefix: str, *parts: str) -> str:
    """``prefix`` + 24 hex chars of sha256 over the parts (unit-separator joined)."""
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:24]
    return f"{prefix}_{digest}"


def fact_id(user_id: str, character_id: str, type_: str, key: str) -> str:
    return stable_id("fact", user_id, character_id, type_, key)


def slot_key(key: str, subject: str = USER) -> str:
    """The stored key of a fact: ``key`` for the user's own, ``"{subject}:{key}"`` for an other's
    (extracted keys never hold ``:``, subjects have it removed)."""
    return key if subject == USER else f"{subject}:{key}"


def summary_id(task_id: str) -> str:
    return stable_id("sum", task_id)


class FactVersion(BaseModel):
    """A value a fact had before it was superseded, with the span it held."""

    value: str
    confidence: float
    from_ts: float
    until_ts: float
    source_task_id: str


class FactRecord(BaseModel):
    user_id: str
    character_id: str
    type: FactType
    key: str
    value: str
    confidence: float
    since: float  # when the current value was first recorded (start of its span)
    updated_at: float
    source_task_id: str  # task that last set or confirmed the value
    history: list[FactVersion] = Field(default_factory=list)  # oldest first
    task_ids: list[str] = Field(default_factory=list)  # recent tasks that touched it, oldest first
    subject: str = USER  # whom the fact is about; ``key`` is qualified by it when not the user
    source_turn_ids: list[str] = Field(default_factory=list)  # turns that said the current value, oldest first

    @property
    def fact_id(self) -> str:
        return fact_id(self.user_id, self.character_id, self.type, self.key)

    @property
    def base_key(self) -> str:
        """The key without its subject: ``"age"`` for ``"豆豆:age"``."""
        return self.key.removeprefix(f"{self.subject}:") if self.subject != USER else self.key

    @property
    def content(self) -> str:
        text = f"{self.base_key.replace('_', ' ')}: {self.value}"
        return text if self.subject == USER else f"{self.subject} {text}"


class EventRecord(BaseModel):
    event_id: str
    user_id: str
    character_id: str
    type: EventType
    title: str
    summary: str
    date: str | None = None  # ISO yyyy-mm-dd
    recurring: bool = False  # yearly: ``date`` is the next occurrence when last seen
    emotion: str = ""
    importance: int = 5
    created_at: float
    updated_at: float
    mentions: int = 1
    source_task_ids: list[str] = Field(default_factory=list)  # oldest first, at most MAX_TASK_IDS
    subject: str = USER  # whom the event is about
    date_phrase: str = ""  # the words that gave ``date`` ("下周二", "next Tuesday"), when said
    source_turn_ids: list[str] = Field(default_factory=list)  # turns that told of it, oldest first

    @property
    def content(self) -> str:
        head = f"{self.date} {self.title}" if self.date else self.title
        return f"{head}: {self.summary}" if self.summary and self.summary != self.title else head


class SummaryRecord(BaseModel):
    summary_id: str
    user_id: str
    character_id: str
    session_id: str
    task_id: str
    summary: str
    topics: list[str] = Field(default_factory=list)
    emotion: str = ""
    from_seq: int
    to_seq: int
    message_count: int = 0
    created_at: float
    start_ts: float
    end_ts: float
    source_turn_ids: list[str] = Field(default_factory=list)  # turns its clauses were taken from

    @property
    def content(self) -> str:
        return self.summary
