"""JSON views of what the memory API returns: memory items, recalled memories, characters, the export."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from ...memory.admin import Forgotten, UserExport, record_id
from ...memory.documents import MemoryDoc, MemoryRecord
from ...memory.records import EventRecord, FactRecord, SummaryRecord
from ...models import Character, RecalledMemory
from ..views import message_view

EXPORT_FORMAT = "companion-export/1"


def item_type(record: MemoryRecord) -> str:
    return "fact" if isinstance(record, FactRecord) else "event" if isinstance(record, EventRecord) else "summary"


def record_view(record: MemoryRecord) -> dict[str, Any]:
    """A stored fact, event or summary, with the ``item_id`` and ``item_type`` the item routes take."""
    return {**record.model_dump(), "item_id": record_id(record), "item_type": item_type(record),
            "content": record.content}


def turn_view(doc: MemoryDoc) -> dict[str, Any]:
    return {"item_id": doc.memory_id, "item_type": "turn", "content": doc.content, "timestamp": doc.timestamp,
            "character_id": doc.character_id, "session_id": doc.session_id, "seq": doc.seq}


def item_view(item: MemoryRecord | MemoryDoc) -> dict[str, Any]:
    return turn_view(item) if isinstance(item, MemoryDoc) else record_view(item)


def memory_view(m: RecalledMemory) -> dict[str, Any]:
    """A recalled memory with its scores (the search's internals stay out)."""
    meta = {k: v for k, v in m.metadata.items() if k not in ("search_text", "source_scores")}
    return {"memory_id": m.memory_id, "memory_type": m.memory_type, "content": m.content, "timestamp": m.timestamp,
            "score": round(m.score, 6), "importance": m.importance, "source": m.source, "metadata": meta}


# What the stores hold for Companion itself: the card's leftovers (given back by the card export)
# and where the avatar is stored (its bytes come with the PNG export).
_INTERNAL = frozenset({"canned_reply_zh", "canned_reply_en", "card", "avatar"})


def character_view(ch: Character) -> dict[str, Any]:
    """A character as the API shows it: every card field, ``builtin`` and ``has_avatar``."""
    return {**ch.model_dump(exclude=set(_INTERNAL)), "builtin": ch.owner_id is None,
            "has_avatar": ch.avatar is not None}


def forgotten_view(character_id: str, forgotten: Forgotten) -> dict[str, Any]:
    return {"character_id": character_id, "deleted": asdict(forgotten)}


def export_view(export: UserExport) -> dict[str, Any]:
    records = export.records
    return {
        "user_id": export.user_id, "exported_at": export.exported_at, "format": EXPORT_FORMAT,
        "characters": [c.model_dump() for c in export.characters],
        "memories": {
            "facts": [record_view(r) for r in records if isinstance(r, FactRecord)],
            "events": [record_view(r) for r in records if isinstance(r, EventRecord)],
            "summaries": [record_view(r) for r in records if isinstance(r, SummaryRecord)],
        },
        "index_documents": export.index_documents,
        "conversations": {cid: [message_view(m) for m in msgs] for cid, msgs in export.conversations.items()},
    }
