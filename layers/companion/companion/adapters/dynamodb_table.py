"""The base of every DynamoDB adapter: what each table does the same way, written once.

One table and the environment's shared client (``aws.client``); requests off the event loop
with failures mapped to ``StoreUnavailable`` (``aws.call``); plain dicts in and out (the
codec); paginated queries; batch writes with one retry policy. Subclasses say only what
their table holds (as Powertools' ``BasePersistenceLayer`` leaves each backend its own
reads and writes).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

from ..errors import StoreUnavailable
from . import aws
from .dynamodb_codec import deserialize, serialize

Item = dict[str, Any]

BATCH_SIZE = 25  # BatchWriteItem's limit
BATCH_ATTEMPTS = 6  # throttled writes are resent with backoff: 0.05 s, 0.1 s, ... 0.8 s between attempts


def is_conditional_failure(exc: BaseException) -> bool:
    return aws.error_code(exc) in ("ConditionalCheckFailedException", "TransactionCanceledException")


class DynamoTable:
    def __init__(self, table: str, endpoint_url: str | None = None) -> None:
        self._table = table
        self._endpoint = endpoint_url

    @property
    def _ddb(self) -> Any:
        return aws.client("dynamodb", endpoint_url=self._endpoint)

    async def _request(self, operation: str, **kwargs: Any) -> dict[str, Any]:
        """One request to this table (``TableName`` is added); the raw response."""
        return await aws.call(getattr(self._ddb, operation), TableName=self._table, **kwargs)

    async def _get(self, key: Item, **kwargs: Any) -> Item | None:
        resp = await self._request("get_item", Key=serialize(key), **kwargs)
        return deserialize(resp["Item"]) if "Item" in resp else None

    async def _put(self, item: Item, **kwargs: Any) -> None:
        await self._request("put_item", Item=serialize(item), **kwargs)

    async def _query_page(self, **kwargs: Any) -> tuple[list[Item], dict[str, Any] | None]:
        """One page of a Query: its items, and the raw ``LastEvaluatedKey`` (None on the last page)."""
        resp = await self._request("query", **kwargs)
        return [deserialize(i) for i in resp.get("Items", [])], resp.get("LastEvaluatedKey")

    async def _query_all(self, **kwargs: Any) -> list[Item]:
        """Every item of a Query, page after page."""
        out: list[Item] = []
        while True:
            items, last = await self._query_page(**kwargs)
            out.extend(items)
            if last is None:
                return out
            kwargs["ExclusiveStartKey"] = last

    async def _batch_write(self, *, puts: Iterable[Item] = (), deletes: Iterable[Item] = ()) -> None:
        """Put items and delete keys, 25 a request; unprocessed ones are resent with backoff, and
        StoreUnavailable is raised when some are still unprocessed after ``BATCH_ATTEMPTS``."""
        requests = ([{"PutRequest": {"Item": serialize(i)}} for i in puts]
                    + [{"DeleteRequest": {"Key": serialize(k)}} for k in deletes])
        for start in range(0, len(requests), BATCH_SIZE):
            pending: dict[str, Any] = {self._table: requests[start:start + BATCH_SIZE]}
            for attempt in range(BATCH_ATTEMPTS):
                if attempt:
                    await asyncio.sleep(0.05 * 2 ** (attempt - 1))  # throttled: back off, resend the rest
                resp = await aws.call(self._ddb.batch_write_item, RequestItems=pending)
                pending = resp.get("UnprocessedItems") or {}
                if not pending:
                    break
            if pending:
                raise StoreUnavailable(f"dynamodb: unprocessed items in {self._table} after retries")
