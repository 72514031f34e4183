"""The durable message log in DynamoDB, with per-conversation positions and the memory watermark.

Layout (table ``MessagesTable``, pk = ``keys.partition_key``: "{user}#{character}", ids encoded):
- ``sk = "CONV"``: the conversation record: ``next_seq`` (last assigned position),
  ``processed_upto`` (the memory watermark), ``session_id``, ``last_active_at`` and, while
  messages wait for memory generation, ``pending_shard`` (sparse GSI ``pending-index``
  that the sweeper queries instead of scanning).
- ``sk = "MSG#{seq:012d}"``: one message, written only where no message is (never overwritten).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
import zlib
from collections.abc import Sequence
from typing import Any

from ..errors import StoreUnavailable
from ..models import ChatMessage
from ..ports import AppendResult
from .dynamodb_codec import deserialize, serialize
from .dynamodb_table import DynamoTable, Item, is_conditional_failure
from .keys import partition_key

logger = logging.getLogger(__name__)

PENDING_SHARDS = 8
CONV_SK = "CONV"
POSITION_ATTEMPTS = 8


def msg_sk(seq: int) -> str:
    return f"MSG#{seq:012d}"


def pending_shard(pk: str) -> str:
    return f"pending#{zlib.crc32(pk.encode()) % PENDING_SHARDS}"


class DynamoMessageLog(DynamoTable):
    def __init__(self, table: str, *, retention_days: int = 0, endpoint_url: str | None = None) -> None:
        super().__init__(table, endpoint_url)
        self._retention_s = retention_days * 86400

    async def append(self, user_id: str, character_id: str, session_id: str,
                     messages: Sequence[ChatMessage]) -> AppendResult:
        """Log ``messages``, in order, at fresh positions. A message never overwrites another:
        each is written only where no item is, and one that finds its position taken takes a
        new one (so do the messages after it). Raises StoreUnavailable when no free position
        could be had, so the caller reports the turn degraded and keeps it."""
        if not messages:
            conv = await self.conversation(user_id, character_id) or {}
            return AppendResult([], int(conv.get("next_seq", 0)), int(conv.get("processed_upto", 0)))
        pk = partition_key(user_id, character_id)
        pending = list(messages)
        logged: list[ChatMessage] = []
        floor = 0  # the last position written: later messages go above it, keeping the order
        for attempt in range(POSITION_ATTEMPTS):
            if attempt:
                await asyncio.sleep(random.uniform(0.0, 0.02 * attempt))
            now = time.time()
            attrs = await self._reserve(pk, user_id, character_id, session_id, len(pending), now)
            last = int(attrs["next_seq"])
            seq = last - len(pending) + 1
            if seq <= floor:
                continue  # the counter went back (a lost update in an emulator): take again
            while pending:
                m = pending[0].model_copy(update={"seq": seq, "session_id": session_id})
                if not await self._put_new(pk, user_id, character_id, m, now):
                    break
                logged.append(m)
                pending.pop(0)
                floor, seq = seq, seq + 1
            if not pending:
                return AppendResult(logged, last, int(attrs.get("processed_upto", 0)))
            # The counter handed out a position already used (an emulator whose ADD is not
            # atomic, or a counter restored behind its messages).
            logger.warning("message position taken, taking a new one",
                           extra={"seq": seq, "attempt": attempt + 1, "pending": len(pending)})
        raise StoreUnavailable("dynamodb: no free message position after retries")

    async def append_first(self, user_id: str, character_id: str, session_id: str,
                           message: ChatMessage) -> ChatMessage | None:
        """Open a conversation with ``message`` at position 1: only where no conversation record is.
        No ``pending_shard``: a greeting alone is nothing for memory; the next append adds it."""
        pk = partition_key(user_id, character_id)
        now = time.time()
        try:
            await self._request(
                "update_item", Key=serialize({"pk": pk, "sk": CONV_SK}),
                UpdateExpression=("SET next_seq = :one, processed_upto = :zero, last_active_at = :now,"
                                  " session_id = :sid, user_id = :u, character_id = :c"),
                ConditionExpression="attribute_not_exists(next_seq)",
                ExpressionAttributeValues=serialize({":one": 1, ":zero": 0, ":now": now, ":sid": session_id,
                                                     ":u": user_id, ":c": character_id}))
        except Exception as exc:
            if is_conditional_failure(exc):
                return None
            raise
        m = message.model_copy(update={"seq": 1, "session_id": session_id})
        return m if await self._put_new(pk, user_id, character_id, m, now) else None

    async def _put_new(self, pk: str, user_id: str, character_id: str, m: ChatMessage, now: float) -> bool:
        """Write ``m`` at its position if the position is free; False when another message holds it."""
        try:
            await self._put(self._item(pk, user_id, character_id, m, now),
                            ConditionExpression="attribute_not_exists(pk)")
            return True
        except Exception as exc:
            if not is_conditional_failure(exc):
                raise
        # A retried request (e.g. after a read timeout) finds the item its first attempt wrote.
        found = await self._get({"pk": pk, "sk": msg_sk(m.seq)}, ConsistentRead=True, ProjectionExpression="msg_id")
        return (found or {}).get("msg_id") == m.msg_id

    async def _reserve(self, pk: str, user_id: str, character_id: str, session_id: str, count: int,
                       now: float) -> dict[str, Any]:
        """Take ``count`` positions: the conversation record's counter, moved on atomically."""
        resp = await self._request(
            "update_item", Key=serialize({"pk": pk, "sk": CONV_SK}),
            UpdateExpression=("SET last_active_at = :now, session_id = :sid, user_id = :u, character_id = :c,"
                              " pending_shard = :shard ADD next_seq :n, processed_upto :zero"),
            ExpressionAttributeValues=serialize({":now": now, ":sid": session_id, ":u": user_id,
                                                 ":c": character_id, ":shard": pending_shard(pk),
                                                 ":n": count, ":zero": 0}),
            # The whole record: UPDATED_NEW may leave out a watermark that adding 0 did not change
            # (moto does), and the turn schedules memory from it without reading the record again.
            ReturnValues="ALL_NEW")
        return deserialize(resp["Attributes"])

    def _item(self, pk: str, user_id: str, character_id: str, m: ChatMessage, now: float) -> dict[str, Any]:
        item: dict[str, Any] = {"pk": pk, "sk": msg_sk(m.seq), "user_id": user_id,
                                "character_id": character_id, **m.model_dump(exclude={"metadata"})}
        if m.metadata:
            item["metadata"] = m.metadata
        if self._retention_s:
            item["expires_at"] = int(now + self._retention_s)
        return item

    async def history(self, user_id: str, character_id: str, limit: int = 50,
                      before_seq: int | None = None) -> list[ChatMessage]:
        upper = msg_sk(before_seq - 1) if before_seq else "MSG#~"
        items, _ = await self._query_page(
            KeyConditionExpression="pk = :pk AND sk BETWEEN :lo AND :hi",
            ExpressionAttributeValues=serialize({":pk": partition_key(user_id, character_id),
                                                 ":lo": msg_sk(0), ":hi": upper}),
            ScanIndexForward=False, Limit=limit)
        return [self._message(i) for i in reversed(items)]

    async def range(self, user_id: str, character_id: str, from_seq: int, to_seq: int) -> list[ChatMessage]:
        items = await self._query_all(
            KeyConditionExpression="pk = :pk AND sk BETWEEN :lo AND :hi",
            ExpressionAttributeValues=serialize({":pk": partition_key(user_id, character_id),
                                                 ":lo": msg_sk(from_seq), ":hi": msg_sk(to_seq)}),
            ConsistentRead=True)
        return [self._message(i) for i in items]

    async def conversation(self, user_id: str, character_id: str) -> Item | None:
        return await self._get({"pk": partition_key(user_id, character_id), "sk": CONV_SK}, ConsistentRead=True)

    async def claim(self, user_id: str, character_id: str, expected_upto: int, new_upto: int) -> bool:
        key = serialize({"pk": partition_key(user_id, character_id), "sk": CONV_SK})
        values = serialize({":new": new_upto, ":expected": expected_upto})
        try:
            # The usual claim takes every message there is: the conversation then also leaves the
            # sweeper's index, in the same write.
            await self._request("update_item", Key=key,
                                UpdateExpression="SET processed_upto = :new REMOVE pending_shard",
                                ConditionExpression="processed_upto = :expected AND next_seq = :new",
                                ExpressionAttributeValues=values)
            return True
        except Exception as exc:
            if not is_conditional_failure(exc):
                raise
        try:  # newer messages arrived (they stay pending), or another claimer won
            await self._request("update_item", Key=key, UpdateExpression="SET processed_upto = :new",
                                ConditionExpression="processed_upto = :expected AND next_seq >= :new",
                                ExpressionAttributeValues=values)
        except Exception as exc:
            if is_conditional_failure(exc):
                return False
            raise
        return True

    async def pending_conversations(self, idle_before: float, limit: int = 100) -> list[Item]:
        out: list[Item] = []
        for shard in range(PENDING_SHARDS):
            items, _ = await self._query_page(
                IndexName="pending-index", KeyConditionExpression="pending_shard = :s AND last_active_at < :t",
                ExpressionAttributeValues=serialize({":s": f"pending#{shard}", ":t": idle_before}), Limit=limit)
            out.extend(items)
        out.sort(key=lambda c: c.get("last_active_at", 0))
        return out[:limit]

    async def delete_conversation(self, user_id: str, character_id: str) -> int:
        keys = await self._query_all(KeyConditionExpression="pk = :pk", ProjectionExpression="pk, sk",
                                     ExpressionAttributeValues=serialize({":pk": partition_key(user_id, character_id)}))
        await self._batch_write(deletes=keys)
        return sum(1 for k in keys if k["sk"] != CONV_SK)

    @staticmethod
    def _message(data: Item) -> ChatMessage:
        return ChatMessage.model_validate({k: v for k, v in data.items() if k in ChatMessage.model_fields})
