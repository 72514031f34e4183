"""Memory task status in DynamoDB (operators query it; the sweeper resends unsent tasks)."""

from __future__ import annotations

import time
from typing import Any

from .dynamodb_codec import DynamoTable, call, deserialize, serialize

TASK_RETENTION_S = 30 * 86400


class DynamoTaskStatusStore(DynamoTable):
    async def put(self, task_id: str, status: str, **fields: Any) -> None:
        now = time.time()
        item = {"task_id": task_id, "status": status, "updated_at": now,
                "expires_at": int(now + TASK_RETENTION_S), **fields}
        await call(self._ddb.put_item, TableName=self._table, Item=serialize(item))

    async def update(self, task_id: str, status: str, **fields: Any) -> None:
        values = {":s": status, ":t": time.time(), **{f":{k}": v for k, v in fields.items()}}
        sets = ", ".join(["#status = :s", "updated_at = :t"] + [f"#{k} = :{k}" for k in fields])
        names = {"#status": "status", **{f"#{k}": k for k in fields}}
        await call(self._ddb.update_item, TableName=self._table, Key=serialize({"task_id": task_id}),
                   UpdateExpression=f"SET {sets}", ExpressionAttributeNames=names,
                   ExpressionAttributeValues=serialize(values))

    async def get(self, task_id: str) -> dict[str, Any] | None:
        resp = await call(self._ddb.get_item, TableName=self._table, Key=serialize({"task_id": task_id}),
                          ConsistentRead=True)
        return deserialize(resp["Item"]) if "Item" in resp else None

    async def by_status(self, status: str, *, older_than: float | None = None,
                        limit: int = 100) -> list[dict[str, Any]]:
        cond = "#status = :s"
        values: dict[str, Any] = {":s": status}
        if older_than is not None:
            cond += " AND updated_at < :t"
            values[":t"] = older_than
        resp = await call(self._ddb.query, TableName=self._table, IndexName="status-index",
                          KeyConditionExpression=cond, ExpressionAttributeNames={"#status": "status"},
                          ExpressionAttributeValues=serialize(values), Limit=limit)
        return [deserialize(i) for i in resp.get("Items", [])]
