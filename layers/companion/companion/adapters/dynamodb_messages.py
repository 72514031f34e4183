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
from .dynamodb_codec import DynamoTable, call, deserialize, is_conditional_failure, serialize
from .keys import partition_key

logger = logging.getLogger(__name__)

PENDING_SHARDS = 8
CONV_SK = "CONV"
POSITION_ATTEMPTS = 8


def conv_pk(user_id: str, character_id: str) -> str:
    return partition_key(user_id, character_id)


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
        pk = conv_pk(user_id, character_id)
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

    async def _put_new(self, pk: str, user_id: str, character_id: str, m: ChatMessage, now: float) -> bool:
        """Write ``m`` at its position if the position is free; False when another message holds it."""
        try:
            await call(self._ddb.put_item, TableName=self._table,
                       Item=serialize(self._item(pk, user_id, character_id, m, now)),
                       ConditionExpression="attribute_not_exists(pk)")
            return True
        except Exception as exc:
            if not is_conditional_failure(exc):
                raise
        # A retried request (e.g. after a read timeout) finds the item its first attempt wrote.
        resp = await call(self._ddb.get_item, TableName=self._table, ConsistentRead=True,
                          Key=serialize({"pk": pk, "sk": msg_sk(m.seq)}), ProjectionExpression="msg_id")
        return deserialize(resp.get("Item", {})).get("msg_id") == m.msg_id

    async def _reserve(self, pk: str, user_id: str, character_id: str, session_id: str, count: int,
                       now: float) -> dict[str, Any]:
        """Take ``count`` positions: the conversation record's counter, moved on atomically."""
        resp = await call(
            self._ddb.update_item, TableName=self._table, Key=serialize({"pk": pk, "sk": CONV_SK}),
            UpdateExpression=("SET last_active_at = :now, session_id = :sid, user_id = :u, character_id = :c,"
                              " pending_shard = :shard ADD next_seq :n, processed_upto :zero"),
            ExpressionAttributeValues=serialize({":now": now, ":sid": session_id, ":u": user_id,
                                                 ":c": character_id, ":shard": pending_shard(pk),
                                                 ":n": count, ":zero": 0}),
            ReturnValues="UPDATED_NEW")
        return deserialize(resp["Attributes"])

    def _item(self, pk: str, user_id: str, character_id: str, m: ChatMessage, now: float) -> dict[str, Any]:
        item: dict[str, Any] = {"pk": pk, "sk": msg_sk(m.seq), "user_id": user_id,
                                "character_id": character_id, **m.model_dump(exclude={"metadata"})}
        if m.metadata:
            item["metadata"] = m.metadata
        if self._retention_s:
            item["expires_at"] = int(now + self._retention_s)
        return item

    async def _batch_write(self, requests: list[dict[str, Any]]) -> None:
        """Deletes only: messages are written by ``append``'s conditional puts."""
        for start in range(0, len(requests), 25):
            pending = {self._table: requests[start:start + 25]}
            for attempt in range(5):
                resp = await call(self._ddb.batch_write_item, RequestItems=pending)
                pending = resp.get("UnprocessedItems") or {}
                if not pending:
                    break
                await asyncio.sleep(0.05 * 2 ** attempt)
            if pending:
                raise StoreUnavailable("dynamodb: unprocessed items after retries")

    async def history(self, user_id: str, character_id: str, limit: int = 50,
                      before_seq: int | None = None) -> list[ChatMessage]:
        upper = msg_sk(before_seq - 1) if before_seq else "MSG#~"
        resp = await call(
            self._ddb.query, TableName=self._table,
            KeyConditionExpression="pk = :pk AND sk BETWEEN :lo AND :hi",
            ExpressionAttributeValues=serialize({":pk": conv_pk(user_id, character_id),
                                                 ":lo": msg_sk(0), ":hi": upper}),
            ScanIndexForward=False, Limit=limit)
        return [self._message(i) for i in reversed(resp.get("Items", []))]

    async def range(self, user_id: str, character_id: str, from_seq: int, to_seq: int) -> list[ChatMessage]:
        out: list[ChatMessage] = []
        kwargs: dict[str, Any] = dict(
            TableName=self._table, KeyConditionExpression="pk = :pk AND sk BETWEEN :lo AND :hi",
            ExpressionAttributeValues=serialize({":pk": conv_pk(user_id, character_id),
                                                 ":lo": msg_sk(from_seq), ":hi": msg_sk(to_seq)}),
            ConsistentRead=True)
        while True:
            resp = await call(self._ddb.query, **kwargs)
            out.extend(self._message(i) for i in resp.get("Items", []))
            if "LastEvaluatedKey" not in resp:
                return out
            kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]

    async def conversation(self, user_id: str, character_id: str) -> dict[str, Any] | None:
        resp = await call(self._ddb.get_item, TableName=self._table, ConsistentRead=True,
                          Key=serialize({"pk": conv_pk(user_id, character_id), "sk": CONV_SK}))
        return deserialize(resp["Item"]) if "Item" in resp else None

    async def claim(self, user_id: str, character_id: str, expected_upto: int, new_upto: int) -> bool:
        pk = conv_pk(user_id, character_id)
        try:
            resp = await call(
                self._ddb.update_item, TableName=self._table, Key=serialize({"pk": pk, "sk": CONV_SK}),
                UpdateExpression="SET processed_upto = :new",
                ConditionExpression="processed_upto = :expected AND next_seq >= :new",
                ExpressionAttributeValues=serialize({":new": new_upto, ":expected": expected_upto}),
                ReturnValues="ALL_NEW")
        except Exception as exc:
            if is_conditional_failure(exc):
                return False
            raise
        attrs = deserialize(resp["Attributes"])
        if int(attrs.get("next_seq", 0)) <= new_upto:
            # Caught up: leave the sweeper's index unless new messages arrived meanwhile.
            try:
                await call(self._ddb.update_item, TableName=self._table,
                           Key=serialize({"pk": pk, "sk": CONV_SK}), UpdateExpression="REMOVE pending_shard",
                           ConditionExpression="next_seq = :n",
                           ExpressionAttributeValues=serialize({":n": new_upto}))
            except Exception as exc:
                if not is_conditional_failure(exc):
                    raise
        return True

    async def pending_conversations(self, idle_before: float, limit: int = 100) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for shard in range(PENDING_SHARDS):
            resp = await call(
                self._ddb.query, TableName=self._table, IndexName="pending-index",
                KeyConditionExpression="pending_shard = :s AND last_active_at < :t",
                ExpressionAttributeValues=serialize({":s": f"pending#{shard}", ":t": idle_before}),
                Limit=limit)
            out.extend(deserialize(i) for i in resp.get("Items", []))
        out.sort(key=lambda c: c.get("last_active_at", 0))
        return out[:limit]

    async def delete_conversation(self, user_id: str, character_id: str) -> int:
        pk = conv_pk(user_id, character_id)
        keys: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = dict(TableName=self._table, KeyConditionExpression="pk = :pk",
                                      ExpressionAttributeValues=serialize({":pk": pk}),
                                      ProjectionExpression="pk, sk")
        while True:
            resp = await call(self._ddb.query, **kwargs)
            keys.extend(resp.get("Items", []))
            if "LastEvaluatedKey" not in resp:
                break
            kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]
        await self._batch_write([{"DeleteRequest": {"Key": k}} for k in keys])
        return sum(1 for k in keys if k["sk"]["S"] != CONV_SK)

    @staticmethod
    def _message(item: dict[str, Any]) -> ChatMessage:
        data = deserialize(item)
        return ChatMessage.model_validate({k: v for k, v in data.items()
                                           if k in ChatMessage.model_fields})
