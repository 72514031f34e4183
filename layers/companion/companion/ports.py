"""Ports: every service the domain needs from the outside world, one protocol per role.

Adapters in ``companion.adapters`` implement these for Redis, DynamoDB, SQS, S3 and
OpenSearch; tests use the same adapters against real local servers. The contract common
to every store port: a store that cannot be reached (connection error, timeout, throttling,
a 5xx) raises ``companion.errors.StoreUnavailable``, so the domain can degrade as the
degradation matrix says; a request the store rejects for what it is (a bad document, a
cursor it did not issue) raises something else, because retrying it will not help. Every
id a port takes is data (any string): adapters encode it where it meets a separator.

Roles, by who uses them:
    chat turn      ShortTermStore, MessageLog, RateLimiter, Recaller, CharacterRepository,
                   CharacterCache, BreakerStateStore, Telemetry
    memory tasks   TaskQueue, TaskStatusStore (scheduler, sweeper, worker)
    long-term      MemoryRepository, MemoryIndex, ConversationArchive, Embedder, Completer
                   (recall, the worker's generation, the memory API)
    characters     AvatarStore (the memory API: the images of imported PNG cards)

``Embedder`` is the base class of the embedding providers (``companion.embeddings.base``,
as mem0's ``embeddings/base.py``): it does the batching and normalisation every provider
shares, so it is a class to subclass, re-exported here as the port recall and the worker
type against.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from .embeddings.base import Embedder
from .models import Character, ChatMessage, MemoryTask, RateDecision, RecalledMemory, RecallResult

if TYPE_CHECKING:  # annotations only: the memory package imports this module
    from .llm.base import Completion
    from .memory.documents import MemoryDoc
    from .memory.records import EventRecord, FactRecord, SummaryRecord

__all__ = [
    "AppendResult",
    "AvatarStore",
    "BreakerStateStore",
    "CharacterCache",
    "CharacterRepository",
    "Completer",
    "ConversationArchive",
    "Embedder",
    "MemoryIndex",
    "MemoryRepository",
    "MessageLog",
    "RateLimiter",
    "Recaller",
    "ShortTermStore",
    "TaskQueue",
    "TaskStatusStore",
    "Telemetry",
]


# ------------------------------------------------------------------------ the conversation

@dataclass
class AppendResult:
    messages: list[ChatMessage]  # with their log positions (seq) set
    next_seq: int  # last position now assigned in the conversation
    processed_upto: int  # the memory watermark


class ShortTermStore(Protocol):
    """The recent window of one conversation (Redis: a newest-first list and a meta hash).

    Every entry expires after the store's TTL of inactivity; ``append`` keeps at most the
    store's maximum number of messages. Raises ``StoreUnavailable`` when the store is down
    (the chat turn then answers from the message log or without history)."""

    async def window(self, user_id: str, character_id: str, limit: int) -> list[ChatMessage]:
        """The newest ``limit`` messages, returned oldest first; ``[]`` for a new conversation.
        An entry that cannot be decoded is skipped, never raised."""
        ...

    async def load(self, user_id: str, character_id: str, limit: int) -> tuple[list[ChatMessage], dict[str, str]]:
        """``window`` and ``meta`` together, in one round trip (the chat turn's hot path)."""
        ...

    async def append(self, user_id: str, character_id: str, messages: Sequence[ChatMessage]) -> int:
        """Add ``messages`` (oldest first) and update the meta (state, last activity, counts);
        returns how many messages wait in the spool for the log (``spool_unlogged``)."""
        ...

    async def meta(self, user_id: str, character_id: str) -> dict[str, str]:
        """The conversation's meta hash (session_id, state, last_active_at, ...); ``{}`` when none."""
        ...

    async def update_meta(self, user_id: str, character_id: str, fields: dict[str, str]) -> None: ...

    async def clear(self, user_id: str, character_id: str) -> None:
        """Forget the window, its meta and any spooled messages."""
        ...

    async def spool_unlogged(self, user_id: str, character_id: str, session_id: str,
                             messages: Sequence[ChatMessage]) -> None:
        """Keep messages the durable log could not take, to be written later."""
        ...

    async def take_unlogged(self, user_id: str, character_id: str) -> list[tuple[str, ChatMessage]]:
        """Remove and return spooled (session_id, message) pairs, oldest first."""
        ...


class MessageLog(Protocol):
    """The durable log of every message (DynamoDB), with per-conversation positions.

    ``append`` assigns consecutive ``seq`` numbers (1, 2, ...) and never overwrites a message.
    The memory watermark (``processed_upto``) moves only through ``claim``, a compare-and-set,
    so each message is handed to memory generation exactly once even when triggers race.
    Every method raises ``StoreUnavailable`` when the table cannot be reached.
    """

    async def append(self, user_id: str, character_id: str, session_id: str,
                     messages: Sequence[ChatMessage]) -> AppendResult:
        """Log ``messages`` in order at fresh positions; the result holds them with ``seq`` set."""
        ...

    async def append_first(self, user_id: str, character_id: str, session_id: str,
                           message: ChatMessage) -> ChatMessage | None:
        """Log ``message`` at position 1 if the conversation has no message yet (the greeting that
        opens it), and return it with ``seq`` set; None when the conversation already exists, so
        of openers that race exactly one writes."""
        ...

    async def history(self, user_id: str, character_id: str, limit: int = 50,
                      before_seq: int | None = None) -> list[ChatMessage]:
        """The newest ``limit`` messages (below ``before_seq`` when given), returned oldest first."""
        ...

    async def range(self, user_id: str, character_id: str, from_seq: int, to_seq: int) -> list[ChatMessage]:
        """The messages at positions ``from_seq..to_seq`` (inclusive), in position order."""
        ...

    async def conversation(self, user_id: str, character_id: str) -> dict[str, Any] | None:
        """The conversation record: next_seq, processed_upto, session_id, last_active_at; None if new."""
        ...

    async def claim(self, user_id: str, character_id: str, expected_upto: int, new_upto: int) -> bool:
        """Move the watermark from ``expected_upto`` to ``new_upto``; False if another claimer won."""
        ...

    async def pending_conversations(self, idle_before: float, limit: int = 100) -> list[dict[str, Any]]:
        """Conversation records with unprocessed messages whose last activity is before
        ``idle_before``, least recently active first, at most ``limit``."""
        ...

    async def delete_conversation(self, user_id: str, character_id: str) -> int:
        """Delete the conversation's messages and record; returns how many messages went."""
        ...


class RateLimiter(Protocol):
    """Sliding-window counters shared by every instance (Redis)."""

    async def hit(self, key: str, limit: int, window_s: float) -> RateDecision:
        """Count one request under ``key`` unless ``limit`` requests were let in during the last
        ``window_s`` seconds; a rejected request is not counted and ``retry_after_s`` is when the
        oldest one leaves the window. Raises ``StoreUnavailable`` (the caller then lets it in)."""
        ...

    async def hit_many(self, hits: Sequence[tuple[str, int, float]]) -> list[RateDecision]:
        """``hit`` for each (key, limit, window_s), in one round trip; the decisions in order."""
        ...


class Recaller(Protocol):
    """Long-term memory for one turn. Never raises for a source that is down: it returns what
    it has and names the missing sources in ``RecallResult.degraded`` (e.g. ``recall_knn``)."""

    async def recall(self, user_id: str, character_id: str, message: str, *,
                     history: list[ChatMessage], language: str) -> RecallResult:
        """The memories for ``message``, best first, within the configured count and token
        budgets, and the prompt block that quotes them."""
        ...


class Telemetry(Protocol):
    """Metrics and tracing as the domain sees them (Powertools EMF and X-Ray in the functions).
    Never raises: a metric must not fail a turn or a task."""

    def count(self, name: str, value: float = 1) -> None: ...

    def millis(self, name: str, value: float) -> None: ...

    def span(self, name: str) -> AbstractAsyncContextManager[Any]:
        """A trace subsegment around a phase of work (a no-op when tracing is off)."""
        ...


# ------------------------------------------------------------------------------ characters

class CharacterRepository(Protocol):
    """Characters (DynamoDB): the built-in ones (no owner) and users' own. Raises
    ``StoreUnavailable`` when the table cannot be reached."""

    async def get(self, character_id: str) -> Character | None: ...

    async def put(self, character: Character) -> None:
        """Create or replace the character under its ``character_id``."""
        ...

    async def delete(self, character_id: str) -> None:
        """Delete the character; deleting one that does not exist is not an error."""
        ...

    async def list(self, owner_id: str | None = None) -> list[Character]:
        """The built-in characters plus, when ``owner_id`` is given, the ones that user created;
        built-in ones first, then by name."""
        ...


class CharacterCache(Protocol):
    """Shared second-level cache (Redis) in front of the repository. Raises
    ``StoreUnavailable`` when Redis is down; the caller then reads the repository."""

    async def get(self, character_id: str) -> Character | None:
        """The cached character, or None on a miss."""
        ...

    async def put(self, character: Character, ttl_s: int) -> None: ...

    async def invalidate(self, character_id: str) -> None: ...


class AvatarStore(Protocol):
    """Characters' avatar images (S3), as bytes under a key; the character item holds the key
    (``models.AvatarRef``), never the bytes. Raises ``StoreUnavailable`` when it cannot be reached."""

    def key_for(self, owner_id: str, character_id: str) -> str:
        """Where the avatar of one user's character is stored (ids encoded: no id reaches another's)."""
        ...

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        """Store ``data`` under ``key``, overwriting."""
        ...

    async def get(self, key: str) -> bytes | None:
        """The bytes under ``key``, or None when there are none."""
        ...

    async def delete(self, key: str) -> None:
        """Delete the bytes under ``key``; deleting what is not there is not an error."""
        ...


# ---------------------------------------------------------------------------------- models

class BreakerStateStore(Protocol):
    """Per-model circuit-breaker state shared by every instance, so all see an open breaker
    (states and timings: ``companion.llm.breaker``). The shared (Redis) store raises
    ``StoreUnavailable`` when down; ``llm.breaker.ResilientBreakerStore`` puts the in-process
    store behind it so a breaker error never fails a turn."""

    async def is_open(self, model: str) -> bool: ...

    async def allow_call(self, model: str, open_seconds: int) -> bool:
        """False while open, or while half-open and another caller holds the one trial call
        (a trial is held up to ``open_seconds``); True otherwise."""
        ...

    async def record_failure(self, model: str, threshold: int, open_seconds: int) -> bool:
        """Count a failure; returns True when this failure opened the breaker (after
        ``threshold`` consecutive ones, or the half-open trial's failure)."""
        ...

    async def record_success(self, model: str) -> None:
        """Reset the failure count; a half-open breaker's successful trial closes it."""
        ...


class Completer(Protocol):
    """One non-streamed model completion, as memory extraction asks for it: a single
    ``llm.base.LLMProvider`` or the ``llm.chain.LLMChain`` (which fails over between models).
    Raises ``llm.base.ProviderError`` (the chain: ``AllModelsFailed``) when no model answers."""

    async def complete(self, messages: list[dict[str, str]], *, json_schema: dict[str, Any] | None = None,
                       max_tokens: int = 2048, temperature: float = 0.2) -> Completion:
        """The answer to ``messages``; with ``json_schema`` (OpenAI's ``{"name", "strict",
        "schema"}`` form) the model is constrained to it where the provider supports that, so
        the caller still validates the text."""
        ...


# ---------------------------------------------------------------------------- memory tasks

class TaskQueue(Protocol):
    """The memory task queue (SQS FIFO, one message group per conversation). A task whose
    messages are too large for a queue message travels with them stored aside (S3), and the
    worker gets them back with ``load_segment``. Raises ``StoreUnavailable`` when down."""

    async def publish(self, task: MemoryTask) -> None:
        """Enqueue ``task``; publishing the same ``task_id`` again within the queue's
        deduplication window is a no-op."""
        ...

    async def load_segment(self, task: MemoryTask) -> MemoryTask:
        """The task with its messages (fetched back when they travelled aside; else ``task``)."""
        ...


class TaskStatusStore(Protocol):
    """Memory task status for operators: pending → queued → processing → completed | failed |
    rejected. Records expire after the store's retention. Raises ``StoreUnavailable`` when down."""

    async def put(self, task_id: str, status: str, **fields: Any) -> None:
        """Create or replace the task's record with ``status`` and ``fields``."""
        ...

    async def update(self, task_id: str, status: str, *, add: Mapping[str, int] | None = None,
                     clear: Sequence[str] = (), **fields: Any) -> None:
        """Set the status (and ``fields``) of the task's record, creating it if missing; ``add``:
        counters increased by these amounts (kept across deliveries); ``clear``: fields removed."""
        ...

    async def get(self, task_id: str) -> dict[str, Any] | None: ...

    async def by_status(self, status: str, *, older_than: float | None = None,
                        limit: int = 100) -> list[dict[str, Any]]:
        """At most ``limit`` records in ``status`` (last updated before ``older_than`` when given)."""
        ...


# ----------------------------------------------------------------------- long-term memory

class MemoryRepository(Protocol):
    """The records of long-term memory (DynamoDB): profile facts (one per slot), events and
    segment summaries, per (user, character). Record ids derive from natural keys, so saving
    the same records again overwrites them. Read by recall (every turn, possibly cached), by
    the worker before it merges, and by the memory API. Every method raises
    ``StoreUnavailable`` when the store cannot be reached."""

    async def load(self, user_id: str, character_id: str, *, summaries: bool | int = True,
                   consistent: bool = True
                   ) -> tuple[dict[tuple[str, str], FactRecord], list[EventRecord], list[SummaryRecord]]:
        """The pair's profile facts keyed by slot ``(fact_type, key)``, its events (no order)
        and its summaries: ``summaries`` True for all, False for none, N for the newest N.
        ``consistent`` False allows a slightly stale read."""
        ...

    async def save(self, facts: Sequence[FactRecord] = (), events: Sequence[EventRecord] = (),
                   summary: SummaryRecord | None = None) -> int:
        """Upsert the records (a replay overwrites the same items); returns how many were written."""
        ...

    async def list_facts(self, user_id: str, character_id: str, limit: int = 100,
                         cursor: str | None = None) -> tuple[list[FactRecord], str | None]:
        """One page of facts (by slot) and the cursor of the next page (None: the last page).
        A cursor this listing did not issue raises ``ValueError``."""
        ...

    async def list_events(self, user_id: str, character_id: str, limit: int = 100,
                          cursor: str | None = None) -> tuple[list[EventRecord], str | None]:
        """One page of events (by id) and the next page's cursor, as ``list_facts``."""
        ...

    async def list_summaries(self, user_id: str, character_id: str, limit: int = 20,
                             cursor: str | None = None) -> tuple[list[SummaryRecord], str | None]:
        """One page of summaries, newest first, and the next page's cursor, as ``list_facts``."""
        ...

    async def records_for_user(self, user_id: str) -> list[FactRecord | EventRecord | SummaryRecord]:
        """Every record of the user, across characters, and no one else's (the memory API)."""
        ...

    async def delete_record(self, record: FactRecord | EventRecord | SummaryRecord) -> bool:
        """Delete one record; False when it was not stored."""
        ...

    async def delete_all(self, user_id: str, character_id: str) -> int:
        """Delete every record of the pair; returns how many went."""
        ...


class MemoryIndex(Protocol):
    """The search index of long-term memory (OpenSearch ``long_term_memory``): one document per
    turn, summary, event and profile fact (``memory.documents.MemoryDoc``), under its
    ``memory_id``. Searches only ever see one user's documents of one character.

    Scores, as in the hits' ``RecalledMemory.score``: ``knn_search`` gives the inner product of
    L2-normalised vectors (cosine similarity, -1..1, higher is closer); ``bm25_search`` gives
    BM25 (>= 0, unbounded, comparable only within one answer). Hits come best first; each
    carries the document's metadata plus ``session_id`` and ``seq``, and ``source`` is the
    search that found it ("knn", "bm25", "neighbours"). No index yet means no memories (``[]``),
    not an error. Every method raises ``StoreUnavailable`` on an outage (connection, timeout,
    429, 5xx); a rejected document raises ``adapters.opensearch_index.MemoryIndexError``.
    """

    async def knn_search(self, user_id: str, character_id: str, vector: Sequence[float], k: int,
                         memory_types: Sequence[str] | None = None) -> list[RecalledMemory]:
        """The ``k`` nearest documents to ``vector`` (of the given memory types; None: all)."""
        ...

    async def bm25_search(self, user_id: str, character_id: str, query: str, k: int,
                          memory_types: Sequence[str] | None = None) -> list[RecalledMemory]:
        """The ``k`` best BM25 matches of ``query`` on the documents' content; ``[]`` for a blank query."""
        ...

    async def date_search(self, user_id: str, character_id: str, tokens: Sequence[str],
                          ranges: Sequence[tuple[float, float]], query: str, k: int = 10,
                          memory_types: Sequence[str] | None = None) -> list[RecalledMemory]:
        """Documents about a date: whose ``when`` holds one of ``tokens`` (yyyy-mm-dd / yyyy-mm) or
        that were written within one of ``ranges`` (epoch seconds, end excluded), best BM25 of
        ``query`` first (``memory.recall.when`` makes both from a question)."""
        ...

    async def get_turns(self, user_id: str, character_id: str, session_id: str,
                        seqs: Sequence[int]) -> list[RecalledMemory]:
        """The turns at message positions ``seqs`` that exist (of ``session_id``; "": of any
        session), in position order."""
        ...

    async def bulk_upsert(self, docs: Sequence[MemoryDoc], *, refresh: bool = False) -> int:
        """Index (create or overwrite) every document under its ``memory_id``; returns the count.
        ``refresh``: searchable at once (tests and the local stack)."""
        ...

    async def get_doc(self, user_id: str, memory_id: str) -> dict[str, Any] | None:
        """One stored document (``MemoryDoc.source()`` form) when it belongs to ``user_id``."""
        ...

    async def get_docs(self, user_id: str, character_id: str | None = None,
                       memory_types: Sequence[str] | None = None, size: int = 1000) -> list[dict[str, Any]]:
        """Up to ``size`` of the user's stored documents, vectors included (export)."""
        ...

    async def delete_ids(self, user_id: str, ids: Sequence[str], *, refresh: bool = False) -> int:
        """Delete the user's documents with these ids; returns how many existed."""
        ...

    async def delete_for(self, user_id: str, character_id: str | None = None, *, refresh: bool = True) -> int:
        """Delete every document of the user (for one character, or all); returns the count."""
        ...


class ConversationArchive(Protocol):
    """The raw-conversation archive (S3): one JSON document per memory task's segment
    (``memory.archive.archive_document``). It is a backup: the worker writes memory without it
    when it is down. Raises ``StoreUnavailable`` when it cannot be reached."""

    def key_for(self, user_id: str, character_id: str, session_id: str, start_ts: float, from_seq: int,
                to_seq: int) -> str:
        """Where a segment is stored: deterministic, so a replayed task overwrites its own copy."""
        ...

    async def put(self, key: str, document: dict[str, Any]) -> str:
        """Store ``document`` under ``key`` (overwriting); returns the key."""
        ...

    async def delete_for(self, user_id: str, character_id: str | None = None) -> int:
        """Delete the user's archived segments (one character, or all); returns how many went."""
        ...
