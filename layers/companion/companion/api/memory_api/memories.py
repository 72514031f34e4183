"""``/api/v1/memory``: recall preview, the listings, edit or delete one item, forget a character, export."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request

from ...errors import AppError, NotFound, Unavailable
from ...memory.admin import MemoryAdmin
from ...memory.recall.service import MemoryRecaller
from ...models import RecalledMemory
from ...text import detect_language
from ..requests import parse_body
from .deps import AdminDep, CharacterQuery, ContainerDep, OptionalCharacterQuery, UserId, check_id
from .schemas import BODY_ERRORS, ERRORS, PATCH_EXAMPLES, RECALL_EXAMPLES, ItemPatch, RecallRequest, json_body
from .views import export_view, forgotten_view, item_view, memory_view, record_view

PREVIEW_BUDGET_MS = 8000
Limit = Annotated[int, Query(ge=1, le=200)]

router = APIRouter(prefix="/api/v1/memory", tags=["memory"], responses=ERRORS)


@router.post("/recall", openapi_extra=json_body(RecallRequest, RECALL_EXAMPLES), responses=BODY_ERRORS)
async def recall(request: Request, user_id: UserId, c: ContainerDep) -> dict[str, Any]:
    """What recall would inject into a chat turn for this query, each memory with its scores."""
    body = await parse_body(request, RecallRequest)
    try:
        char_lang = (await c.characters.get(body.character_id, user_id=user_id)).character.language
    except NotFound:
        char_lang = "auto"  # recall is scoped to the caller anyway: nothing of anyone else can show
    recaller = c.recaller
    if not isinstance(recaller, MemoryRecaller):
        raise Unavailable("recall is not configured", code="recall_unavailable")
    language = body.language or detect_language(body.query, default=char_lang if char_lang != "auto" else "en")
    candidates: list[RecalledMemory] = []
    result = await recaller.recall(user_id, body.character_id, body.query, language=language,
                                   policy=body.policy, max_memories=body.top_k, candidates_out=candidates,
                                   # A preview is not a chat turn: give slow sources room.
                                   budget_ms=max(c.settings.recall_budget_ms, PREVIEW_BUDGET_MS))
    return {"character_id": body.character_id, "query": body.query, "language": language,
            "memories": [memory_view(m) for m in result.memories], "block": result.block,
            "candidates": len(candidates), "sources": result.sources, "degraded": result.degraded,
            "latency_ms": round(result.latency_ms, 1)}


async def _page(admin: MemoryAdmin, kind: Literal["facts", "events", "summaries"], user_id: str, character_id: str,
                limit: int, cursor: str | None) -> dict[str, Any]:
    try:
        items, nxt = await admin.page(kind, user_id, character_id, limit=limit, cursor=cursor)
    except ValueError as exc:
        raise AppError("invalid cursor", code="invalid_cursor", status=400) from exc
    return {"character_id": character_id, "items": [record_view(r) for r in items], "next_cursor": nxt}


@router.get("/facts")
async def facts(user_id: UserId, admin: AdminDep, character_id: CharacterQuery, limit: Limit = 50,
                cursor: str | None = None) -> dict[str, Any]:
    """Your profile facts about a character, a page at a time (``next_cursor`` asks for the next)."""
    return await _page(admin, "facts", user_id, character_id, limit, cursor)


@router.get("/events")
async def events(user_id: UserId, admin: AdminDep, character_id: CharacterQuery, limit: Limit = 50,
                 cursor: str | None = None) -> dict[str, Any]:
    """The events (exams, birthdays, trips) a character remembers, a page at a time."""
    return await _page(admin, "events", user_id, character_id, limit, cursor)


@router.get("/summaries")
async def summaries(user_id: UserId, admin: AdminDep, character_id: CharacterQuery, limit: Limit = 20,
                    cursor: str | None = None) -> dict[str, Any]:
    """Summaries of your past conversations with a character, newest first."""
    return await _page(admin, "summaries", user_id, character_id, limit, cursor)


@router.patch("/items/{item_id}", openapi_extra=json_body(ItemPatch, PATCH_EXAMPLES), responses=BODY_ERRORS)
async def edit_item(item_id: str, request: Request, user_id: UserId, admin: AdminDep,
                    character_id: OptionalCharacterQuery = None) -> dict[str, Any]:
    """Correct one fact, event, summary or conversation turn, everywhere it is stored (and searched)."""
    patch = await parse_body(request, ItemPatch)
    item = await admin.edit(user_id, check_id(item_id, "item id"), patch.model_dump(exclude_none=True), character_id)
    return item_view(item)


@router.delete("/items/{item_id}")
async def delete_item(item_id: str, user_id: UserId, admin: AdminDep,
                      character_id: OptionalCharacterQuery = None) -> dict[str, Any]:
    """Delete one memory item everywhere."""
    await admin.delete(user_id, check_id(item_id, "item id"), character_id)
    return {"item_id": item_id, "deleted": True}


@router.delete("")
async def forget(user_id: UserId, admin: AdminDep, character_id: CharacterQuery) -> dict[str, Any]:
    """Forget everything about you for one character: memories, search index, archives, chat history."""
    return forgotten_view(character_id, await admin.forget(user_id, character_id))


@router.get("/export")
async def export(user_id: UserId, admin: AdminDep, c: ContainerDep) -> dict[str, Any]:
    """All of your data (characters, memories, conversations) as one JSON document."""
    characters = await c.character_repo.list(owner_id=user_id)
    return export_view(await admin.export(user_id, characters))
