"""Long-term memory generation: one memory task -> facts, events, a summary, indexed turns, an archive.

    generator = MemoryGenerator(segments=queue, records=repo, index=os_index, archive=archive,
                                embedder=embedder, extractor=extractor_for(chain), statuses=statuses)
    report = await generator.process(task, attempt=receive_count)

Steps (seed 002 §3, ARCHITECTURE "Long-term memory generation"):

1. load the segment (from S3 when the task was offloaded) and the pair's stored facts/events;
2. extract with ONE LLM call (strict JSON schema, at most one repair), or the rule-based
   extractor when the chain is the offline model only;
3. merge facts (by key, history kept) and events (near-duplicates merge), build the summary;
4. embed every raw turn (read after the turn before it) + the summary + changed events/facts,
   each document's embedding input bounded (``bounded_embedding_text``); a task over the size
   limits is rejected before any of this, with its reason in the task table. A batch's turns
   need neither the model nor the merge, so ``prefetch(tasks)`` embeds the turns of every task
   of an SQS batch together (one call for short tasks) before the first task starts; each task
   then embeds only what it has left (its summary, events and facts, which depend on the merge
   of the task before it in the same message group) in one call of its own;
5. write: OpenSearch (bulk upsert) and the S3 archive, then the DynamoDB records last. The
   archive is a backup: when S3 fails the memory is still written, the task is marked
   ``degraded: ["archive"]`` and the ``Degraded.Archive`` metric counts it.

Every fallible computation (segment, extraction, embedding) happens before the first
write, so a failed task has written nothing. Every id is deterministic (turns by message
position, facts by slot, events by natural key, summary by task id, archive key by range)
and times come from the messages, so a replay after a partial write overwrites the same
documents instead of duplicating them. DynamoDB goes last because its records carry the
task ids the merge uses to recognise a replay: until they are written, a retry recomputes
everything. Any exception propagates, so SQS redelivers the task (then its DLQ).

The generator sees its stores through ``companion.ports``; adapters live in ``companion.adapters``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from ..llm.chain import counting_calls
from ..models import ChatMessage, MemoryTask
from ..ports import (
    Completer,
    ConversationArchive,
    Embedder,
    MemoryIndex,
    MemoryRepository,
    TaskQueue,
    TaskStatusStore,
    Telemetry,
)
from .archive import archive_document, segment_start
from .documents import bounded_embedding_text, task_documents, turn_documents
from .extraction import ExtractionOutcome, extract, extract_with_rules
from .merge import build_summary, merge_events, merge_facts

log = logging.getLogger(__name__)

Extractor = Callable[..., Awaitable[ExtractionOutcome]]  # (messages, *, now, known_facts) -> outcome
# Characters of turn text after which a prefetch call is closed (at a task's end): a batch of short
# tasks in one call, long ones in a few, so the invocation's clock is read between calls.
PREFETCH_CALL_CHARS = 16_000


def extractor_for(chain: Completer, *, max_tokens: int = 2048, max_turn_chars: int = 4000,
                  max_chars: int = 48_000) -> Extractor:
    """The rule-based extractor when every model of the chain is the offline one, else the LLM
    (its prompt bounded: ``max_turn_chars`` per turn, about ``max_chars`` in all)."""
    from ..llm.offline import OfflineProvider

    providers = getattr(chain, "providers", [chain])
    if all(isinstance(p, OfflineProvider) for p in providers):
        async def rules(messages: Sequence[ChatMessage], *, now: datetime,
                        known_facts: Sequence[Any] | None = None) -> ExtractionOutcome:
            return extract_with_rules(messages, now=now, known_facts=known_facts)
        return rules

    async def llm(messages: Sequence[ChatMessage], *, now: datetime,
                  known_facts: Sequence[Any] | None = None) -> ExtractionOutcome:
        return await extract(chain, messages, now=now, known_facts=known_facts, max_tokens=max_tokens,
                             max_turn_chars=max_turn_chars, max_chars=max_chars)
    return llm


class TaskTooLarge(Exception):
    """A task holds more than the worker processes in one task; the reason is recorded, not retried."""


def task_size_error(messages: Sequence[ChatMessage], *, max_chars: int, max_messages: int) -> str | None:
    """Why the task is over the size limits, or None. Checked before any model work."""
    chars = sum(len(m.content) for m in messages)
    if max_messages > 0 and len(messages) > max_messages:
        return f"task_too_large: {len(messages)} messages, the limit is {max_messages}"
    if max_chars > 0 and chars > max_chars:
        return f"task_too_large: {chars} characters in {len(messages)} messages, the limit is {max_chars}"
    return None


@dataclass
class GenerationReport:
    task_id: str
    status: str  # completed | empty | rejected (over the size limits: ``error`` says why)
    turns: int = 0
    facts: int = 0
    events: int = 0
    summary: bool = False
    documents: int = 0
    records: int = 0
    llm_calls: int = 0  # every model call of this delivery (the task's status adds up all deliveries)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    method: str = ""
    language: str = ""
    archive_key: str = ""
    degraded: list[str] = field(default_factory=list)  # "archive": written without its S3 copy
    timings_ms: dict[str, float] = field(default_factory=dict)
    error: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class _Timer:
    def __init__(self) -> None:
        self.marks: dict[str, float] = {}
        self._t = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.marks[name] = round((now - self._t) * 1000, 2)
        self._t = now


class MemoryGenerator:
    def __init__(self, *, segments: TaskQueue, records: MemoryRepository, index: MemoryIndex,
                 archive: ConversationArchive, embedder: Embedder | None, extractor: Extractor,
                 statuses: TaskStatusStore | None = None, telemetry: Telemetry | None = None,
                 refresh_index: bool = False, embed_max_chars: int = 512, task_max_chars: int = 400_000,
                 task_max_messages: int = 100) -> None:
        self._segments = segments
        self._records = records
        self._index = index
        self._archive = archive
        self._embedder = embedder
        self._extract = extractor
        self._statuses = statuses
        self._telemetry = telemetry
        self._refresh = refresh_index  # tests/local: make documents searchable at once
        self._embed_max_chars = embed_max_chars
        self._task_max_chars = task_max_chars
        self._task_max_messages = task_max_messages
        # What ``prefetch`` prepared for the current batch (loaded segments, vectors by embedded text);
        # emptied by the next prefetch or ``forget_prefetched``, so it never outlives a batch.
        self._loaded: dict[str, MemoryTask] = {}
        self._vectors: dict[str, list[float]] = {}

    async def prefetch(self, tasks: Sequence[MemoryTask], *, time_left: Callable[[], float | None] | None = None,
                       keep_s: float = 0.0) -> int:
        """Load the segments of ``tasks`` and embed all their turns, in task order, whole tasks per call,
        a call closed at ``PREFETCH_CALL_CHARS``; returns the number of texts embedded. Before each call, stops while
        ``time_left()`` (seconds of the invocation) is under ``keep_s``: the tasks must keep the time
        to run, and a task not prefetched embeds its own turns. Nothing is written: a task ``process``
        never reaches (another record's failure in its group) only cost its share. Best effort: on
        any failure the tasks embed their own turns, and fail on their own."""
        self.forget_prefetched()
        if self._embedder is None or not tasks:
            return 0
        try:
            loaded = await asyncio.gather(*(self._segments.load_segment(t) for t in tasks))
            seen: set[str] = set()  # a text repeated in the batch is embedded once
            per_task: list[list[str]] = []
            for task in loaded:
                self._loaded[task.task_id] = task
                messages = _turn_messages(task)
                if not messages or task_size_error(messages, max_chars=self._task_max_chars,
                                                   max_messages=self._task_max_messages):
                    continue
                texts = [bounded_embedding_text(d, self._embed_max_chars) for d in turn_documents(task, messages)]
                per_task.append([t for t in dict.fromkeys(texts) if t not in seen])
                seen.update(texts)
            for call in _calls(per_task, PREFETCH_CALL_CHARS):
                left = time_left() if time_left is not None else None
                if left is not None and left < keep_s:
                    break
                self._vectors.update(zip(call, await self._embedder.embed_passages(call), strict=True))
            return len(self._vectors)
        except Exception as exc:
            log.warning("memory batch prefetch failed: each task embeds its own turns",
                        extra={"tasks": len(tasks), "error": type(exc).__name__})
            self.forget_prefetched()
            return 0

    def forget_prefetched(self) -> None:
        self._loaded, self._vectors = {}, {}

    async def process(self, task: MemoryTask, *, attempt: int = 1) -> GenerationReport:
        retries = max(0, attempt - 1)
        await self._status(task.task_id, "processing", retries=retries)
        with counting_calls() as calls:  # every model call of this delivery: failovers, timeouts, repairs
            try:
                report = await self._process(task)
            except TaskTooLarge as exc:
                # Deleted from the queue, not redelivered: a retry would meet the same limit. The
                # messages stay in the message log; the task table tells the operator why.
                log.warning("memory task rejected", extra={"task_id": task.task_id, "error": str(exc)})
                await self._status(task.task_id, "rejected", retries=retries, error=str(exc))
                self._count("MemoryTaskRejected")
                return GenerationReport(task_id=task.task_id, status="rejected", error=str(exc))
            except Exception as exc:
                error = f"{type(exc).__name__}: {str(exc)[:300]}"
                # The operator reads the log first: the task, the delivery and why. Only the first line
                # of the reason, as a validation error's later lines quote the model's answer.
                log.error("memory task failed", extra={
                    "task_id": task.task_id, "attempt": attempt, "llm_calls": calls[0],
                    "error": f"{type(exc).__name__}: {(str(exc).splitlines() or [''])[0][:300]}"})
                await self._status(task.task_id, "failed", retries=retries, error=error,
                                   add={"llm_calls": calls[0]})
                self._count("MemoryTaskFailed")
                raise
        report.llm_calls = calls[0]
        # ``llm_calls`` adds up over deliveries; the error of a failed delivery no longer applies.
        await self._status(task.task_id, "completed", retries=retries, turns=report.turns, facts=report.facts,
                           events=report.events, documents=report.documents, archive_key=report.archive_key or None,
                           degraded=report.degraded or None, add={"llm_calls": report.llm_calls}, clear=["error"])
        self._count("MemoryTaskCompleted")
        self._count("MemoriesWritten", report.documents)
        if self._telemetry:
            self._telemetry.millis("MemoryTaskLatency", sum(report.timings_ms.values()))
        return report

    async def _process(self, task: MemoryTask) -> GenerationReport:
        timer = _Timer()
        # ---- everything that can fail before anything is written
        loaded = self._loaded.pop(task.task_id, None)
        task = loaded if loaded is not None else await self._segments.load_segment(task)
        messages = _turn_messages(task)
        if not messages:
            return GenerationReport(task_id=task.task_id, status="empty")
        too_large = task_size_error(messages, max_chars=self._task_max_chars, max_messages=self._task_max_messages)
        if too_large:
            raise TaskTooLarge(too_large)
        facts, events, _ = await self._records.load(task.user_id, task.character_id, summaries=False)
        timer.lap("load")
        now = max(m.timestamp for m in messages)  # from the task, so a replay is identical
        outcome = await self._extract(messages, now=datetime.fromtimestamp(now, UTC),
                                      known_facts=list(facts.values()))
        timer.lap("extract")
        result = outcome.result
        changed_facts = merge_facts(facts, result.facts, task_id=task.task_id, now=now, user_id=task.user_id,
                                    character_id=task.character_id)
        changed_events = merge_events(events, result.events, task_id=task.task_id, now=now, user_id=task.user_id,
                                      character_id=task.character_id)
        summary = build_summary(task, result, messages=messages) if result.summary.strip() else None
        docs = task_documents(task, messages, changed_facts, changed_events, summary)
        if self._embedder is not None:
            vectors = await self._embed([bounded_embedding_text(d, self._embed_max_chars) for d in docs])
            for doc, vec in zip(docs, vectors, strict=True):
                doc.embedding = vec
        timer.lap("embed")
        key = self._archive.key_for(task.user_id, task.character_id, task.session_id,
                                    segment_start(task, messages), task.from_seq, task.to_seq)
        archive = archive_document(task, messages, result, changed_facts, changed_events)

        # ---- writes: idempotent upserts; DynamoDB last (its task ids mark the task as merged)
        _, archived = await asyncio.gather(self._index.bulk_upsert(docs, refresh=self._refresh),
                                           self._put_archive(task, key, archive))
        timer.lap("index_archive")
        written = await self._records.save(changed_facts, changed_events, summary)
        timer.lap("records")
        return GenerationReport(
            task_id=task.task_id, status="completed", turns=len(messages), facts=len(changed_facts),
            events=len(changed_events), summary=summary is not None, documents=len(docs), records=written,
            prompt_tokens=outcome.usage.prompt_tokens,
            completion_tokens=outcome.usage.completion_tokens, method=outcome.method,
            language=outcome.language, archive_key=key if archived else "",
            degraded=[] if archived else ["archive"], timings_ms=timer.marks)

    # ------------------------------------------------------------------ helpers

    async def _embed(self, texts: list[str]) -> list[list[float]]:
        """The vectors of ``texts``: the batch's prefetched ones, the rest (unique) in ONE call."""
        assert self._embedder is not None
        missing = list(dict.fromkeys(t for t in texts if t not in self._vectors))
        fresh = dict(zip(missing, await self._embedder.embed_passages(missing), strict=True)) if missing else {}
        return [fresh[t] if t in fresh else self._vectors[t] for t in texts]

    async def _put_archive(self, task: MemoryTask, key: str, document: dict[str, Any]) -> bool:
        """The S3 copy is a backup (seed 002 §6: archive down → skip it, memory still written):
        its failure must not make SQS redeliver the task and pay for the extraction again."""
        try:
            await self._archive.put(key, document)
            return True
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"[:300]
            log.error("archive write failed: memory written without its S3 copy",
                      extra={"task_id": task.task_id, "archive_key": key, "error": error})
            self._count("Degraded.Archive")
            return False

    async def _status(self, task_id: str, status: str, *, add: dict[str, int] | None = None,
                      clear: Sequence[str] = (), **fields: Any) -> None:
        if self._statuses is None:
            return
        try:  # operator-facing bookkeeping: never the reason a task fails
            await self._statuses.update(task_id, status, add=add, clear=clear,
                                        **{k: v for k, v in fields.items() if v is not None})
        except Exception as exc:
            log.warning("task status update failed", extra={"task_id": task_id, "error": type(exc).__name__})

    def _count(self, name: str, value: float = 1) -> None:
        if self._telemetry:
            self._telemetry.count(name, value)


def _calls(per_task: list[list[str]], max_chars: int) -> list[list[str]]:
    """The tasks' texts in order, whole tasks per call, a call closed once it holds ``max_chars``
    characters (a task's turns are never split, so each is embedded in one call)."""
    calls: list[list[str]] = [[]]
    size = 0
    for texts in per_task:
        if size >= max_chars:
            calls.append([])
            size = 0
        calls[-1].extend(texts)
        size += sum(len(t) for t in texts)
    return [c for c in calls if c]


def _turn_messages(task: MemoryTask) -> list[ChatMessage]:
    """The task's turns to remember, in message-log order (blank and system messages left out)."""
    return sorted((m for m in task.messages if m.role in ("user", "assistant") and m.content.strip()),
                  key=lambda m: (m.seq, m.timestamp))
