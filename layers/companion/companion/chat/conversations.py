"""A conversation's durable side: its history, deleting it, and ending its session.

Kept apart from ``ChatService`` so the memory API can serve history and end sessions
without building the model chain and the rate limiter the chat turn needs.
"""

from __future__ import annotations

from typing import Any

from ..errors import StoreUnavailable
from ..memory.scheduler import MemoryTaskScheduler
from ..models import ChatMessage
from ..ports import MessageLog, ShortTermStore, Telemetry


class ConversationService:
    def __init__(self, *, short_term: ShortTermStore, message_log: MessageLog, scheduler: MemoryTaskScheduler,
                 telemetry: Telemetry) -> None:
        self.short_term = short_term
        self.log = message_log
        self.scheduler = scheduler
        self.telemetry = telemetry

    async def history(self, user_id: str, character_id: str, *, limit: int,
                      before_seq: int | None) -> list[ChatMessage]:
        try:
            return await self.log.history(user_id, character_id, limit=limit, before_seq=before_seq)
        except StoreUnavailable:
            if before_seq is not None:
                raise
            return await self.short_term.window(user_id, character_id, limit)

    async def clear_history(self, user_id: str, character_id: str) -> dict[str, Any]:
        await self.short_term.clear(user_id, character_id)
        deleted = await self.log.delete_conversation(user_id, character_id)
        return {"deleted_messages": deleted}

    async def end_session(self, user_id: str, character_id: str) -> dict[str, Any]:
        try:
            await self.short_term.update_meta(user_id, character_id, {"state": "ENDED"})
        except StoreUnavailable:
            self.telemetry.count("Degraded.Redis")
        task = await self.scheduler.schedule(user_id, character_id, "session_end", force=True)
        if task:
            self.telemetry.count("MemoryTasks.SessionEnd")
        return {"ended": True, "task_id": task.task_id if task else None,
                "messages": (task.to_seq - task.from_seq + 1) if task else 0}
