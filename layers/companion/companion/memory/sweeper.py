"""The session sweep: enqueue the memory tasks nobody else will (run every few minutes).

* conversations idle for ``idle_minutes`` with unprocessed messages -> trigger "idle";
* conversations whose unprocessed messages are ~23 h old -> trigger "ttl_guard" (they would
  otherwise outlive the 24 h Redis window; the durable log has them, this just makes sure
  memory generation happens within a day even for a conversation that never idles);
* tasks claimed but never sent (SQS was down) -> resent.

Claims go through ``MemoryTaskScheduler.schedule(force=True)``: the compare-and-set on the
watermark means a sweep racing a chat turn's trigger processes each message once.
"""

from __future__ import annotations

import time

from ..errors import StoreUnavailable
from ..ports import MessageLog
from .scheduler import MemoryTaskScheduler

TTL_GUARD_S = 23 * 3600
RESEND_AFTER_S = 60


class SessionSweeper:
    def __init__(self, message_log: MessageLog, scheduler: MemoryTaskScheduler, *, idle_minutes: int) -> None:
        self.log = message_log
        self.scheduler = scheduler
        self.idle_s = idle_minutes * 60

    async def sweep(self, *, now: float | None = None, limit: int = 100) -> dict[str, int]:
        now = time.time() if now is None else now
        counts = {"idle": 0, "ttl_guard": 0, "resent": 0, "errors": 0}
        seen: set[tuple[str, str]] = set()
        for conv in await self.log.pending_conversations(now - self.idle_s, limit=limit):
            pair = (str(conv.get("user_id", "")), str(conv.get("character_id", "")))
            if not all(pair) or pair in seen:
                continue
            seen.add(pair)
            try:
                if await self.scheduler.schedule(*pair, "idle", force=True):
                    counts["idle"] += 1
            except StoreUnavailable:
                counts["errors"] += 1
        # Active conversations (not idle) whose last activity is older than the guard were already
        # swept above; the guard catches busy conversations whose *first* pending message is old.
        counts["ttl_guard"] = await self._ttl_guard(now, seen, limit)
        try:
            counts["resent"] = await self.scheduler.resend_unsent(older_than=now - RESEND_AFTER_S)
        except StoreUnavailable:
            counts["errors"] += 1
        return counts

    async def _ttl_guard(self, now: float, seen: set[tuple[str, str]], limit: int) -> int:
        """Busy conversations (never idle) with a pending message older than ~23 h."""
        scheduled = 0
        # pending_conversations orders by last activity; a conversation active in the last
        # minute still appears when we ask for "idle before now".
        for conv in await self.log.pending_conversations(now, limit=limit):
            pair = (str(conv.get("user_id", "")), str(conv.get("character_id", "")))
            if not all(pair) or pair in seen:
                continue
            first = int(conv.get("processed_upto", 0)) + 1
            try:
                oldest = await self.log.range(*pair, first, first)
                if oldest and now - oldest[0].timestamp >= TTL_GUARD_S:
                    seen.add(pair)
                    scheduled += bool(await self.scheduler.schedule(*pair, "ttl_guard", force=True))
            except StoreUnavailable:
                continue
        return scheduled
