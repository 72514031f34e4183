"""Pure merging of extracted memories into stored records (no I/O, deterministic).

The worker loads the user/character's current records, calls these functions and
upserts what they return (by ``fact_id`` / ``event_id`` / ``summary_id``):

    changed_facts  = merge_facts(existing_by_key, result.facts, task_id=..., now=..., user_id=..., character_id=...)
    changed_events = merge_events(existing_events, result.events, task_id=..., now=..., user_id=..., character_id=...)
    summary        = build_summary(task, result, messages=segment)

``now`` should come from the task (e.g. the last message's timestamp), not the wall clock,
so a replayed task produces byte-identical records; a task id already recorded on a
record is a replay and changes nothing.

Fact rules (upsert by (type, key)):
* same value (case/space/punctuation-insensitive) -> refresh: confidence = max, updated_at = now;
* different value with confidence >= SUPERSEDE_CONFIDENCE, or >= old confidence - SUPERSEDE_MARGIN
  -> supersedes; the old value moves to ``history`` with its [since, now] span;
* otherwise (a low-confidence contradiction), or information older than the record -> no change.

Event rules: a new event merges into an existing one when both have the same type and
the same date (month-day for yearly events), or when their titles' character-bigram
Jaccard similarity is >= TITLE_SIMILARITY and their dates do not conflict.

Subjects: facts and events about different subjects (the user, 豆豆 the cat, the user's
mother) never merge: a fact's slot is (type, ``slot_key(key, subject)``), and an event only
matches an event of the same subject, so the cat's birthday never becomes the user's.

Sources (``source_turn_ids``): a new record's are the turns its extraction came from; a value
said again adds its turns (the newest MAX_SOURCE_TURNS kept), a changed value has only the new
ones, a restated event adds its turns to the event's. A summary's are its extraction's.

A merged event takes only what the new mention says: its summary, emotion and date phrase
replace the stored ones only when the new mention has them, so a segment that merely names
the event again does not blank or rewrite what an earlier segment said about it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime

from ..models import ChatMessage, MemoryTask
from .documents import turn_id_at
from .extraction.dates import roll_forward_yearly
from .extraction.schema import USER, ExtractedEvent, ExtractedFact, ExtractionResult
from .records import (
    MAX_HISTORY,
    MAX_SOURCE_TURNS,
    MAX_TASK_IDS,
    EventRecord,
    FactRecord,
    FactVersion,
    SummaryRecord,
    slot_key,
    stable_id,
    summary_id,
)
from .similarity import jaccard, normalize

SUPERSEDE_CONFIDENCE = 0.7
SUPERSEDE_MARGIN = 0.15
TITLE_SIMILARITY = 0.6

def title_similarity(a: str, b: str) -> float:
    """Character-bigram Jaccard similarity of the normalized titles, spaces ignored (zh and en alike)."""
    x, y = normalize(a), normalize(b)
    return jaccard(x, y) if x and y else 0.0


def turn_ids(user_id: str, character_id: str, seqs: Sequence[int]) -> list[str]:
    """The turn document ids of the message positions ``seqs`` (positions 0 and below have none)."""
    return [turn_id_at(user_id, character_id, s) for s in dict.fromkeys(seqs) if s > 0]


def _newest(old: Sequence[str], new: Sequence[str]) -> list[str]:
    """``old`` then ``new``, each id once at its latest place, the newest MAX_SOURCE_TURNS kept."""
    merged = [i for i in old if i not in new] + list(dict.fromkeys(new))
    return merged[-MAX_SOURCE_TURNS:]


def _remember(ids: list[str], task_id: str) -> list[str]:
    return [*ids, task_id][-MAX_TASK_IDS:] if task_id not in ids else list(ids)


# ---------------------------------------------------------------- facts


def merge_fact(existing: FactRecord | None, new: ExtractedFact, *, task_id: str, now: float,
               user_id: str, character_id: str) -> FactRecord | None:
    """The record to write for ``new``, or None when nothing changes.

    ``user_id``/``character_id`` are needed to create a record (``existing`` None).
    """
    sources = turn_ids(user_id, character_id, new.source_seqs)
    if existing is None:
        return FactRecord(user_id=user_id, character_id=character_id, type=new.type,
                          key=slot_key(new.key, new.subject), subject=new.subject, value=new.value,
                          confidence=new.confidence, since=now, updated_at=now, source_task_id=task_id,
                          task_ids=[task_id], source_turn_ids=_newest([], sources))
    if not _same_subject(existing.subject, new.subject) or existing.base_key != new.key:
        raise ValueError(f"fact {new.subject}/{new.key} cannot merge into {existing.subject}/{existing.base_key}")
    if task_id in existing.task_ids or task_id == existing.source_task_id:
        return None  # replay
    if now < existing.updated_at:
        return None  # older information than what is stored (out-of-order delivery)
    if normalize(existing.value) == normalize(new.value):
        return existing.model_copy(update={
            "confidence": max(existing.confidence, new.confidence), "updated_at": now,
            "source_task_id": task_id, "task_ids": _remember(existing.task_ids, task_id),
            "source_turn_ids": _newest(existing.source_turn_ids, sources)}, deep=True)
    if new.confidence < SUPERSEDE_CONFIDENCE and new.confidence < existing.confidence - SUPERSEDE_MARGIN:
        return None  # a weak contradiction does not overwrite a confident value
    old = FactVersion(value=existing.value, confidence=existing.confidence, from_ts=existing.since,
                      until_ts=now, source_task_id=existing.source_task_id)
    return existing.model_copy(update={
        "value": new.value, "confidence": new.confidence, "since": now, "updated_at": now,
        "source_task_id": task_id, "history": [*existing.history, old][-MAX_HISTORY:],
        "task_ids": _remember(existing.task_ids, task_id), "source_turn_ids": _newest([], sources)}, deep=True)


def merge_facts(existing: Mapping[tuple[str, str], FactRecord], new: Sequence[ExtractedFact], *, task_id: str,
                now: float, user_id: str, character_id: str) -> list[FactRecord]:
    """Merge a task's facts; returns the changed/created records (one per key, input order).

    ``existing`` maps (type, stored key) to the stored record (the stored key of an other's fact is
    ``slot_key(key, subject)``). Within one task the same slot mentioned twice keeps the most
    confident value (the later one on a tie).
    """
    best: dict[tuple[str, str], ExtractedFact] = {}
    for fact in new:
        slot = (fact.type, slot_key(fact.key, fact.subject))
        if slot not in best or fact.confidence >= best[slot].confidence:
            best[slot] = fact
    changed = []
    for k, fact in best.items():
        record = merge_fact(existing.get(k), fact, task_id=task_id, now=now, user_id=user_id,
                            character_id=character_id)
        if record is not None:
            changed.append(record)
    return changed


# ---------------------------------------------------------------- events


def _same_subject(a: str, b: str) -> bool:
    return a == b or normalize(a) == normalize(b)


def _date_key(date_iso: str | None, recurring: bool) -> str | None:
    if not date_iso:
        return None
    return date_iso[5:10] if recurring else date_iso  # yearly events compare month-day


def _same_event(rec: EventRecord | ExtractedEvent, new: ExtractedEvent) -> bool:
    if not _same_subject(rec.subject, new.subject):
        return False  # the cat's birthday is not the user's, whatever the dates and titles
    recurring = rec.recurring or new.recurring
    a, b = _date_key(rec.date, recurring), _date_key(new.date, recurring)
    if rec.type == new.type and a is not None and a == b:
        return True
    if a is not None and b is not None and a != b:
        return False  # different days are different events, however alike the titles
    return title_similarity(rec.title, new.title) >= TITLE_SIMILARITY


def event_id(user_id: str, character_id: str, event: ExtractedEvent) -> str:
    """Deterministic id; an other's event hashes its subject too (the user's ids are unchanged)."""
    key = _date_key(event.date, event.recurring) or normalize(event.title)
    parts = (event.type, key) if event.subject == USER else (event.type, key, normalize(event.subject))
    return stable_id("evt", user_id, character_id, *parts)


def _later_date(a: str | None, b: str | None, recurring: bool, today: date) -> str | None:
    if not a or not b:
        return a or b
    if recurring:  # keep the next occurrence
        return roll_forward_yearly(date.fromisoformat(max(a, b)), today).isoformat()
    return b  # the newer mention wins (a postponed plan)


def merge_events(existing: Sequence[EventRecord], new: Sequence[ExtractedEvent], *, task_id: str, now: float,
                 user_id: str, character_id: str) -> list[EventRecord]:
    """Merge a task's events; returns the changed/created records in first-touched order."""
    pool: list[EventRecord] = list(existing)
    changed: dict[str, EventRecord] = {}
    taken_ids = {e.event_id for e in pool}
    today = datetime.fromtimestamp(now, UTC).date()
    for ev in new:
        match = next((r for r in pool if _same_event(r, ev)), None)
        if match is None:
            eid = event_id(user_id, character_id, ev)
            n = 2
            while eid in taken_ids:  # a hash collision with an unrelated event: stay deterministic
                eid = f"{event_id(user_id, character_id, ev)}-{n}"
                n += 1
            rec = EventRecord(event_id=eid, user_id=user_id, character_id=character_id, type=ev.type,
                              title=ev.title, summary=ev.summary, date=ev.date, recurring=ev.recurring,
                              emotion=ev.emotion, importance=ev.importance, created_at=now, updated_at=now,
                              mentions=1, source_task_ids=[task_id], subject=ev.subject,
                              date_phrase=ev.date_phrase,
                              source_turn_ids=_newest([], turn_ids(user_id, character_id, ev.source_seqs)))
            pool.append(rec)
            taken_ids.add(eid)
            changed[eid] = rec
            continue
        if task_id in match.source_task_ids and match.event_id not in changed:
            continue  # replay of a task already merged into this event
        recurring = match.recurring or ev.recurring
        merged = match.model_copy(update={
            "summary": ev.summary or match.summary,
            "date": _later_date(match.date, ev.date, recurring, today),
            "recurring": recurring,
            "emotion": ev.emotion or match.emotion,
            "date_phrase": ev.date_phrase or match.date_phrase,
            "importance": max(match.importance, ev.importance),
            "updated_at": max(now, match.updated_at),
            "mentions": match.mentions + (0 if task_id in match.source_task_ids else 1),
            "source_task_ids": _remember(match.source_task_ids, task_id),
            "source_turn_ids": _newest(match.source_turn_ids, turn_ids(user_id, character_id, ev.source_seqs)),
        }, deep=True)
        pool[pool.index(match)] = merged
        changed[merged.event_id] = merged
    return list(changed.values())


# ---------------------------------------------------------------- summaries


def build_summary(task: MemoryTask, result: ExtractionResult, *,
                  messages: Sequence[ChatMessage] | None = None) -> SummaryRecord:
    """The summary record of one task (id derived from ``task.task_id``).

    ``messages`` defaults to ``task.messages`` (pass the segment loaded from S3 when the
    task was offloaded). Times come from the messages, so a replay is identical.
    """
    msgs = list(messages if messages is not None else task.messages)
    stamps = [m.timestamp for m in msgs] or [task.created_at]
    return SummaryRecord(summary_id=summary_id(task.task_id), user_id=task.user_id,
                         character_id=task.character_id, session_id=task.session_id, task_id=task.task_id,
                         summary=result.summary, topics=list(result.topics), emotion=result.emotion,
                         from_seq=task.from_seq, to_seq=task.to_seq, message_count=len(msgs),
                         created_at=task.created_at, start_ts=min(stamps), end_ts=max(stamps),
                         source_turn_ids=turn_ids(task.user_id, task.character_id, result.summary_source_seqs))
