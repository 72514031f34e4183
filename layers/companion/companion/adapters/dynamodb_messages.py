"""The durable message log in DynamoDB, with per-conversation positions and the memory watermark.

Layout (table ``MessagesTable``, pk = "{user}#{character}"):
- ``sk = "CONV"``: the conversation record: ``next_seq`` (last assigned position),
  ``processed_upto`` (the memory watermark), ``session_id``, ``last_active_at`` and, while
  messages wait for memory generation, ``pending_shard`` (sparse GSI ``pending-index``
  that the sweeper queries instead of scanning).
- ``sk = "MSG#{seq:012d}"``: one message.
"""

from __future__ import annotations

import asyncio
import time
import zlib
from collections.abc import Sequence
from typing import Any

from ..models import ChatMessage
from ..ports import AppendResult
from .dynamodb_codec import DynamoTable, call, deserialize, is_conditional_failure, serialize

PENDING_SHARDS = 8
CONV_SK = "CONV"


def conv_pk(user_id: str, character_id: str) -> str:
    return f"{user_id}#{character_id}"


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
        if not messages:
            conv = await self.conversation(user_id, character_id) or {}
            return AppendResult([], int(conv.get("next_seq", 0)), int(conv.get("processed_upto", 0)))
        pk = conv_pk(user_id, character_id)
        now = time.time()
        resp = await call(
            self._ddb.update_item, TableName=self._table, Key=serialize({"pk": pk, "sk": CONV_SK}),
            UpdateExpression=("SET last_active_at = :now, session_id = :sid, user_id = :u, character_id = :c,"
                              " pending_shard = :shard ADD next_seq :n, processed_upto :zero"),
            ExpressionAttributeValues=serialize({":now": now, ":sid": session_id, ":u": user_id,
                                                 ":c": character_id, ":shard": pending_shard(pk),
                                                 ":n": len(messages), ":zero": 0}),
            ReturnValues="UPDATED_NEW")
        attrs = deserialize(resp["Attributes"])
        last = int(attrs["next_seq"])
        first = last - len(messages) + 1
        logged = [m.model_copy(update={"seq": first + i, "session_id": session_id})
                  for i, m in enumerate(messages)]
        requests = []
        for m in logged:
            item: dict[str, Any] = {"pk": pk, "sk": msg_sk(m.seq), "user_id": user_id,
                                    "character_id": character_id, **m.model_dump(exclude={"metadata"})}
            if m.metadata:
                item["metadata"] = m.metadata
            if self._retention_s:
                item["expires_at"] = int(now + self._retention_s)
            requests.append({"PutRequest": {"Item": serialize(item)}})
        await self._batch_write(requests)
        return AppendResult(logged, last, int(attrs.get("processed_upto", 0)))

    async def _batch_write(self, requests: list[dict[str, Any]]) -> None:
        for start in range(0, len(requests), 25):
            pending = {self._table: requests[start:start + 25]}
            for attempt in range(5):
                resp = await call(self._ddb.batch_write_item, RequestItems=pending)
                pending = resp.get("UnprocessedItems") or {}
                if not pending:
                    break
                await asyncio.sleep(0.05 * 2 ** attempt)
            if pending:
                from ..errors import StoreUnavailable

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
