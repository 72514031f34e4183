"""Turns unprocessed conversation messages into memory tasks, each message exactly once.

Every trigger (threshold in a chat turn, explicit session end, the idle sweeper) goes
through ``schedule``: read the conversation's watermark, claim the range with a
compare-and-set in the message log, then publish. Two racing triggers cannot both win
the same claim, so no message is processed twice; a claimed task that cannot be sent
(SQS down) is recorded as ``unsent`` and resent by the sweeper, so none is dropped.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging

from ..errors import StoreUnavailable
from ..models import ChatMessage, MemoryTask, TaskTrigger
from ..ports import AppendResult, MessageLog, TaskQueue, TaskStatusStore

log = logging.getLogger(__name__)


def task_id_for(user_id: str, character_id: str, from_seq: int, to_seq: int) -> str:
    """Deterministic: a resend of the same range is deduplicated by SQS and by idempotency."""
    # The separator is escaped inside the ids, so no two pairs hash the same text (plain ids
    # are unchanged by the escape and keep their task ids).
    raw = "\x1f".join([_escape(user_id), _escape(character_id), str(from_seq), str(to_seq)])
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


def _escape(value: str) -> str:
    return value.replace("%", "%25").replace("\x1f", "%1F")


class MemoryTaskScheduler:
    def __init__(self, messages: MessageLog, queue: TaskQueue, statuses: TaskStatusStore, *,
                 threshold: int = 20, max_task_messages: int = 100) -> None:
        self._log = messages
        self._queue = queue
        self._statuses = statuses
        self.threshold = threshold
        # A longer unprocessed range (e.g. after an outage of the queue) becomes several tasks, so
        # no task is over the worker's size limit and none is rejected for it.
        self.max_task_messages = max(1, max_task_messages)

    async def schedule(self, user_id: str, character_id: str, trigger: TaskTrigger, *,
                       force: bool = False, appended: AppendResult | None = None) -> MemoryTask | None:
        """Claim and publish the unprocessed range, in tasks of at most ``max_task_messages``;
        returns the first task, None when there is nothing (or not enough) to do. ``appended``: the
        message log's answer to the append that just happened, which says the watermark and the
        newest position as the conversation record holds them (no read of it then)."""
        first, more = await self._schedule_one(user_id, character_id, trigger, force=force, appended=appended)
        while more:
            _, more = await self._schedule_one(user_id, character_id, trigger, force=True)
        return first

    async def _schedule_one(self, user_id: str, character_id: str, trigger: TaskTrigger, *, force: bool,
                            appended: AppendResult | None = None) -> tuple[MemoryTask | None, bool]:
        """(the claimed task or None, whether unprocessed messages remain after it)."""
        if appended is not None and appended.messages:
            # A stale figure costs nothing: the claim below is a compare-and-set on the watermark.
            upto, newest = appended.processed_upto, appended.next_seq
            session_id = appended.messages[-1].session_id
        else:
            conv = await self._log.conversation(user_id, character_id)
            if not conv:
                return None, False
            upto, newest = int(conv.get("processed_upto", 0)), int(conv.get("next_seq", 0))
            session_id = str(conv.get("session_id", ""))
        if newest <= upto or (not force and newest - upto < self.threshold):
            return None, False
        last = min(newest, upto + self.max_task_messages)
        if not await self._log.claim(user_id, character_id, upto, last):
            return None, False  # another trigger claimed this range first
        before, messages = await self._read_range(user_id, character_id, upto + 1, last)
        task = MemoryTask(task_id=task_id_for(user_id, character_id, upto + 1, last), user_id=user_id,
                          character_id=character_id, session_id=session_id,
                          trigger=trigger, from_seq=upto + 1, to_seq=last, messages=messages,
                          context_before=before)
        await self._statuses.put(task.task_id, "unsent", user_id=user_id, character_id=character_id,
                                 session_id=task.session_id, trigger=trigger, from_seq=task.from_seq,
                                 to_seq=task.to_seq, retries=0)
        await self.publish(task)
        return task, last < newest

    async def publish(self, task: MemoryTask) -> bool:
        try:
            await self._queue.publish(task)
        except StoreUnavailable as exc:
            log.error("memory task kept as unsent", extra={"task_id": task.task_id, "error": str(exc)})
            return False
        await self._statuses.update(task.task_id, "queued")
        return True

    async def resend_unsent(self, *, older_than: float, limit: int = 50) -> int:
        """Publish tasks a failed send left behind (the sweeper calls this)."""
        sent = 0
        for rec in await self._statuses.by_status("unsent", older_than=older_than, limit=limit):
            before, messages = await self._read_range(rec["user_id"], rec["character_id"],
                                                      int(rec["from_seq"]), int(rec["to_seq"]))
            task = MemoryTask(task_id=rec["task_id"], user_id=rec["user_id"],
                              character_id=rec["character_id"], session_id=rec.get("session_id", ""),
                              trigger=rec.get("trigger", "manual"), from_seq=int(rec["from_seq"]),
                              to_seq=int(rec["to_seq"]), messages=messages, context_before=before)
            sent += await self.publish(task)
        return sent

    async def _read_range(self, user_id: str, character_id: str, first: int, last: int
                          ) -> tuple[list[ChatMessage], list[ChatMessage]]:
        """(the message before ``first`` if any, the messages ``first..last``)."""
        # A writer in another instance may have taken its positions but not yet written the
        # messages; wait briefly for the range to fill so the task carries every message.
        read: list[ChatMessage] = []
        for attempt in range(6):
            read = await self._log.range(user_id, character_id, max(1, first - 1), last)
            if sum(1 for m in read if m.seq >= first) >= last - first + 1:
                break
            await asyncio.sleep(0.05 * 2 ** attempt)
        return [m for m in read if m.seq < first], [m for m in read if m.seq >= first]
