"""``/api/v1/chat``: the message history and ending a session (the stream itself lives on the chat function)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from ..views import history_page
from .deps import CharacterQuery, ContainerDep, UserId, check_id
from .schemas import ERRORS

router = APIRouter(prefix="/api/v1/chat", tags=["chat history"], responses=ERRORS)


@router.get("/history")
async def get_history(user_id: UserId, c: ContainerDep, character_id: CharacterQuery,
                      limit: Annotated[int, Query(ge=1, le=200)] = 50,
                      before_seq: Annotated[int | None, Query(ge=1)] = None) -> dict[str, Any]:
    """One page of your conversation with a character, oldest first (``next_before_seq`` asks for the page before)."""
    messages = await c.conversations.history(user_id, character_id, limit=limit, before_seq=before_seq)
    return history_page(character_id, messages)


@router.delete("/history")
async def delete_history(user_id: UserId, c: ContainerDep, character_id: CharacterQuery) -> dict[str, Any]:
    """Delete your messages with a character (long-term memories stay: ``DELETE /api/v1/memory`` forgets them)."""
    return {"character_id": character_id, **await c.conversations.clear_history(user_id, character_id)}


@router.post("/sessions/{character_id}/end")
async def end_session(character_id: str, user_id: UserId, c: ContainerDep) -> dict[str, Any]:
    """End the current session now: its messages go to the memory worker without waiting for the idle sweep."""
    check_id(character_id, "character id")
    return {"character_id": character_id, **await c.conversations.end_session(user_id, character_id)}
