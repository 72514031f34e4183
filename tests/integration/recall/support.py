"""Seeding long-term memory for recall and memory-API tests through the real write path.

Records go to DynamoDB with the repository, and their search documents (plus raw turns) are
built by the worker's own ``task_documents`` and embedded with the real embedder,
so recall sees exactly what the memory worker would have written.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from companion.bootstrap import Container
from companion.memory.documents import summary_document, task_documents
from companion.memory.records import EventRecord, FactRecord, SummaryRecord, stable_id, summary_id
from companion.models import ChatMessage, MemoryTask

DAY = 86400.0


def fact(user_id: str, character_id: str, key: str, value: str, *, type_: str = "basic_info",
         age_days: float = 1.0, confidence: float = 0.9) -> FactRecord:
    ts = time.time() - age_days * DAY
    return FactRecord(user_id=user_id, character_id=character_id, type=type_, key=key, value=value,  # type: ignore[arg-type]
                      confidence=confidence, since=ts, updated_at=ts, source_task_id="seed")


def event(user_id: str, character_id: str, title: str, summary: str = "", *, date: str | None = None,
          type_: str = "life_event", importance: int = 5, age_days: float = 1.0,
          recurring: bool = False) -> EventRecord:
    ts = time.time() - age_days * DAY
    return EventRecord(event_id=stable_id("evt", user_id, character_id, title), user_id=user_id,
                       character_id=character_id, type=type_, title=title, summary=summary or title,  # type: ignore[arg-type]
                       date=date, recurring=recurring, importance=importance, created_at=ts, updated_at=ts)


def summary(user_id: str, character_id: str, text: str, *, topics: Sequence[str] = (),
            age_days: float = 3.0) -> SummaryRecord:
    ts = time.time() - age_days * DAY
    task_id = uuid.uuid4().hex
    return SummaryRecord(summary_id=summary_id(task_id), user_id=user_id, character_id=character_id,
                         session_id="s-" + task_id[:8], task_id=task_id, summary=text, topics=list(topics),
                         from_seq=1, to_seq=2, message_count=2, created_at=ts, start_ts=ts - 600, end_ts=ts)


@dataclass
class Seeder:
    container: Container

    async def put(self, user_id: str, character_id: str, *, facts: Sequence[FactRecord] = (),
                  events: Sequence[EventRecord] = (), summaries: Sequence[SummaryRecord] = (),
                  turns: Sequence[tuple[str, str]] = (), turns_age_days: float = 3.0) -> list[str]:
        """Write records + documents; ``turns`` are (role, text) pairs of one earlier session.
        Returns the turn memory ids, in order."""
        c = self.container
        assert c.memory_repo is not None and c.memory_index is not None
        session = "sess-" + uuid.uuid4().hex[:8]
        start = time.time() - turns_age_days * DAY
        messages = [ChatMessage(role=role, content=text, timestamp=start + i * 30, seq=i + 1,  # type: ignore[arg-type]
                                session_id=session) for i, (role, text) in enumerate(turns)]
        task = MemoryTask(task_id=uuid.uuid4().hex, user_id=user_id, character_id=character_id,
                          session_id=session, trigger="manual", from_seq=1, to_seq=max(1, len(messages)),
                          messages=messages)
        docs = [*task_documents(task, messages, facts, events), *map(summary_document, summaries)]
        if c.embedder is not None and docs:
            vectors = await c.embedder.embed_passages([d.embedding_text() for d in docs])
            for d, v in zip(docs, vectors, strict=True):
                d.embedding = v
        await c.memory_index.bulk_upsert(docs, refresh=True)
        for s in summaries:
            await c.memory_repo.save(summary=s)
        if facts or events:
            await c.memory_repo.save(list(facts), list(events))
        return [d.memory_id for d in docs if d.memory_type == "turn"]
