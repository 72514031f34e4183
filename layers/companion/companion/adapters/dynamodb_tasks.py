"""Memory task status in DynamoDB (operators query it; the sweeper resends unsent tasks)."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from .dynamodb_codec import serialize
from .dynamodb_table import DynamoTable, Item

TASK_RETENTION_S = 30 * 86400


class DynamoTaskStatusStore(DynamoTable):
    async def put(self, task_id: str, status: str, **fields: Any) -> None:
        now = time.time()
        await self._put({"task_id": task_id, "status": status, "updated_at": now,
                         "expires_at": int(now + TASK_RETENTION_S), **fields})

    async def update(self, task_id: str, status: str, *, add: Mapping[str, int] | None = None,
                     clear: Sequence[str] = (), **fields: Any) -> None:
        add = add or {}
        values = {":s": status, ":t": time.time(), **{f":{k}": v for k, v in fields.items()},
                  **{f":add_{k}": v for k, v in add.items()}}
        sets = ", ".join(["#status = :s", "updated_at = :t"] + [f"#{k} = :{k}" for k in fields])
        names = {"#status": "status", **{f"#{k}": k for k in [*fields, *add, *clear]}}
        expression = f"SET {sets}"
        if add:  # ADD: atomic, and counts from 0 on a record that lacks the counter
            expression += " ADD " + ", ".join(f"#{k} :add_{k}" for k in add)
        if clear:
            expression += " REMOVE " + ", ".join(f"#{k}" for k in clear)
        await self._request("update_item", Key=serialize({"task_id": task_id}), UpdateExpression=expression,
                            ExpressionAttributeNames=names, ExpressionAttributeValues=serialize(values))

    async def get(self, task_id: str) -> Item | None:
        return await self._get({"task_id": task_id}, ConsistentRead=True)

    async def by_status(self, status: str, *, older_than: float | None = None, limit: int = 100) -> list[Item]:
        cond = "#status = :s"
        values: dict[str, Any] = {":s": status}
        if older_than is not None:
            cond += " AND updated_at < :t"
            values[":t"] = older_than
        items, _ = await self._query_page(IndexName="status-index", KeyConditionExpression=cond,
                                          ExpressionAttributeNames={"#status": "status"},
                                          ExpressionAttributeValues=serialize(values), Limit=limit)
        return items
