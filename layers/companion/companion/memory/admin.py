"""A person's own long-term memory: browse, correct, delete, forget a character, export.

What the memory API does with one user's memories, over the ports (records, index, archive,
message log, short-term window, embedder), never an adapter. Every call is scoped to
``user_id``: an id of someone else's item is not found, exactly like one that does not exist.

An edit rewrites the record and its search document as the worker would have written them
(``memory.documents``), with the vector computed again from the same bounded text. A corrected
or deleted fact also corrects the summaries that stated it (``_follow_fact``); a stored message
is never rewritten. A turn is
embedded after the turn before it, so editing or deleting a turn also reaches the next turn's
vector: deleted words must not live on there.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from ..characters import BUILTIN_CHARACTERS
from ..errors import NotFound, StoreUnavailable, ValidationFailed
from ..models import Character, ChatMessage
from ..ports import ConversationArchive, Embedder, MemoryIndex, MemoryRepository, MessageLog, ShortTermStore
from .corrections import corrected_text
from .documents import (
    MemoryDoc,
    MemoryRecord,
    bounded_embedding_text,
    record_document,
    spoken_dates,
    turn_id_at,
    with_previous_turn,
)
from .records import MAX_HISTORY, EventRecord, FactRecord, FactVersion, SummaryRecord

MAX_EXPORT_MESSAGES = 10_000
USER_EDIT = "user_edit"  # the source of a value the person set themselves
# What each kind of record lets a person change.
EDITABLE: dict[type[MemoryRecord], set[str]] = {
    FactRecord: {"value"}, EventRecord: {"title", "summary", "date", "importance"}, SummaryRecord: {"summary"}}


def record_id(record: MemoryRecord) -> str:
    if isinstance(record, FactRecord):
        return record.fact_id
    return record.event_id if isinstance(record, EventRecord) else record.summary_id


@dataclass
class Forgotten:
    """What forgetting a character removed, store by store."""

    memories: int
    index_documents: int
    archives: int
    messages: int
    short_term_window: bool  # False: Redis was down, the window expires by its TTL


@dataclass
class UserExport:
    """Everything stored about one user (the memory API renders it as ``companion-export/1``)."""

    user_id: str
    exported_at: float
    characters: list[Character]
    records: list[MemoryRecord]
    index_documents: list[dict[str, Any]]  # stored form, without vectors
    conversations: dict[str, list[ChatMessage]] = field(default_factory=dict)


class MemoryAdmin:
    def __init__(self, *, records: MemoryRepository, index: MemoryIndex, archive: ConversationArchive,
                 messages: MessageLog, short_term: ShortTermStore, embedder: Embedder | None,
                 embed_max_chars: int, refresh_index: bool = False) -> None:
        self._records = records
        self._index = index
        self._archive = archive
        self._messages = messages
        self._short_term = short_term
        self._embedder = embedder
        self._embed_max_chars = embed_max_chars
        self._refresh = refresh_index  # tests/local: an edit is searchable at once

    # ---------------------------------------------------------------- browse

    async def page(self, kind: Literal["facts", "events", "summaries"], user_id: str, character_id: str, *,
                   limit: int, cursor: str | None = None) -> tuple[Sequence[MemoryRecord], str | None]:
        """One page of a listing and the cursor of the next (None: the last page). Facts by slot,
        events by id, summaries newest first; a cursor the listing did not issue raises ``ValueError``."""
        if kind == "facts":
            return await self._records.list_facts(user_id, character_id, limit=limit, cursor=cursor)
        if kind == "events":
            return await self._records.list_events(user_id, character_id, limit=limit, cursor=cursor)
        return await self._records.list_summaries(user_id, character_id, limit=limit, cursor=cursor)

    # ------------------------------------------------------------------ edit

    async def edit(self, user_id: str, item_id: str, changes: Mapping[str, Any],
                   character_id: str | None = None) -> MemoryRecord | MemoryDoc:
        """Change one fact, event, summary or turn; returns it as now stored (a turn: its document)."""
        if not changes:
            raise ValidationFailed("nothing to change", code="invalid_request")
        record = await self._find_record(user_id, item_id, character_id)
        if record is None:
            return await self._edit_turn(user_id, item_id, changes)
        if extra := set(changes) - EDITABLE[type(record)]:
            kind = type(record).__name__.removesuffix("Record").lower()
            raise ValidationFailed(f"cannot change {', '.join(sorted(extra))} of a {kind}", code="invalid_request")
        now = time.time()
        if isinstance(record, FactRecord):
            # The person's correction supersedes the old value; the old one stays in the history.
            old = FactVersion(value=record.value, confidence=record.confidence, from_ts=record.since, until_ts=now,
                              source_task_id=record.source_task_id)
            history = [*record.history, old]
            record = record.model_copy(update={"value": changes["value"], "confidence": 1.0, "since": now,
                                               "updated_at": now, "source_task_id": USER_EDIT,
                                               "source_turn_ids": [],  # the person said it here, not a turn
                                               "history": history[-MAX_HISTORY:]})
        else:
            record = record.model_copy(update={**changes, **({"updated_at": now} if isinstance(record, EventRecord)
                                                             else {})})
        await self._write(record_document(record))
        if isinstance(record, FactRecord):
            await self._records.save(facts=[record])
            await self._follow_fact(record, old_value=record.history[-1].value, new_value=record.value)
        elif isinstance(record, EventRecord):
            await self._records.save(events=[record])
        else:
            await self._records.save(summary=record)
        return record

    async def _edit_turn(self, user_id: str, item_id: str, changes: Mapping[str, Any]) -> MemoryDoc:
        src = await self._find_turn(user_id, item_id)
        if src is None:
            raise NotFound("memory item not found", code="not_found")
        if set(changes) != {"content"}:
            raise ValidationFailed("only the content of a conversation turn can change", code="invalid_request")
        doc = MemoryDoc.from_source(src)
        # The dates the new words speak about replace the old ones, so a date search follows the edit.
        doc = doc.model_copy(update={"content": changes["content"],
                                     "when": spoken_dates(changes["content"], doc.timestamp)})
        await self._write(doc)
        await self._reread_next_turn(src, doc.content)
        return doc

    # ---------------------------------------------------------------- delete

    async def delete(self, user_id: str, item_id: str, character_id: str | None = None) -> None:
        """Delete one fact, event, summary or turn from every store that holds it."""
        record = await self._find_record(user_id, item_id, character_id)
        src = None
        if record is not None:
            await self._records.delete_record(record)
            if isinstance(record, FactRecord):
                await self._follow_fact(record, old_value=record.value, new_value=None)
        elif (src := await self._index.get_doc(user_id, item_id)) is None:  # a turn (or a doc without its record)
            raise NotFound("memory item not found", code="not_found")
        await self._index.delete_ids(user_id, [item_id], refresh=self._refresh)
        if src is not None and src.get("memory_type") == "turn":
            await self._reread_next_turn(src, None)

    async def forget(self, user_id: str, character_id: str) -> Forgotten:
        """Everything about one character: records, index documents, archives, messages, the window."""
        memories, index_docs, archives, messages = await asyncio.gather(
            self._records.delete_all(user_id, character_id), self._index.delete_for(user_id, character_id),
            self._archive.delete_for(user_id, character_id),
            self._messages.delete_conversation(user_id, character_id))
        window = True
        try:
            await self._short_term.clear(user_id, character_id)
        except StoreUnavailable:
            window = False  # the window expires by TTL; everything durable is gone already
        return Forgotten(memories=memories, index_documents=index_docs, archives=archives, messages=messages,
                         short_term_window=window)

    # ---------------------------------------------------------------- export

    async def export(self, user_id: str, characters: Sequence[Character]) -> UserExport:
        """All of the user's data; ``characters`` are the ones they may have (only their own are exported)."""
        records = [r for r in await self._records.records_for_user(user_id) if r.user_id == user_id]
        docs = [{k: v for k, v in d.items() if k != "embedding"}
                for d in await self._index.get_docs(user_id, None, None, size=10_000) if d.get("user_id") == user_id]
        char_ids = sorted({c.character_id for c in characters} | {r.character_id for r in records}
                          | {str(d.get("character_id")) for d in docs} | set(BUILTIN_CHARACTERS))
        conversations = {}
        for cid in char_ids:
            if messages := await self._all_messages(user_id, cid):
                conversations[cid] = messages
        return UserExport(user_id=user_id, exported_at=time.time(),
                          characters=[c for c in characters if c.owner_id == user_id], records=records,
                          index_documents=docs, conversations=conversations)

    async def _all_messages(self, user_id: str, character_id: str) -> list[ChatMessage]:
        out: list[ChatMessage] = []
        before: int | None = None
        while len(out) < MAX_EXPORT_MESSAGES:
            page = await self._messages.history(user_id, character_id, limit=200, before_seq=before)
            if not page:
                break
            out[:0] = page
            if page[0].seq <= 1:
                break
            before = page[0].seq
        return out

    # --------------------------------------------------------------- helpers

    async def _find_record(self, user_id: str, item_id: str, character_id: str | None) -> MemoryRecord | None:
        records: list[MemoryRecord]
        if character_id:
            facts, events, summaries = await self._records.load(user_id, character_id, summaries=True)  # fresh
            records = [*facts.values(), *events, *summaries]
        else:  # only this user's records are listed: another user's id is never found
            records = await self._records.records_for_user(user_id)
        return next((r for r in records if record_id(r) == item_id and r.user_id == user_id), None)

    async def _find_turn(self, user_id: str, item_id: str) -> dict[str, Any] | None:
        src = await self._index.get_doc(user_id, item_id)
        return src if src and src.get("memory_type") == "turn" else None

    async def _reread_next_turn(self, src: dict[str, Any], text: str | None) -> None:
        """The next turn was embedded after this one (its ``metadata.context``): an edit must reach
        that copy, and a delete (``text`` None) must remove it."""
        seq = int(src.get("seq") or 0)
        if seq <= 0:
            return
        nxt = await self._find_turn(src["user_id"], turn_id_at(src["user_id"], src["character_id"], seq + 1))
        if nxt is None or not (nxt.get("metadata") or {}).get("context"):
            return  # no next turn, or it starts another session/segment without context
        await self._write(with_previous_turn(MemoryDoc.from_source(nxt), text))

    async def _follow_fact(self, fact: FactRecord, *, old_value: str, new_value: str | None) -> None:
        """A summary is derived text: one that states a corrected fact's old value is rewritten to
        the new one, or loses the clause when the fact was deleted (and goes when nothing is left).
        Raw turns are the person's own words and stay; recall marks them as older (``currency``)."""
        _, _, summaries = await self._records.load(fact.user_id, fact.character_id, summaries=True)
        for summary in summaries:
            text = corrected_text(summary.summary, old_value, new_value, fact.base_key)
            if text == summary.summary:
                continue
            if not text:
                await self._records.delete_record(summary)
                await self._index.delete_ids(fact.user_id, [summary.summary_id], refresh=self._refresh)
                continue
            summary = summary.model_copy(update={"summary": text})
            await self._write(record_document(summary))
            await self._records.save(summary=summary)

    async def _write(self, doc: MemoryDoc) -> None:
        if self._embedder is not None:
            # The same bounded text the worker embeds, so an edit gives the vector a task would.
            [doc.embedding] = await self._embedder.embed_passages([bounded_embedding_text(doc, self._embed_max_chars)])
        await self._index.bulk_upsert([doc], refresh=self._refresh)
