"""Long-term memory records (profile facts, events, summaries) in the DynamoDB memory table.

Layout (``MemoryTable``, pk = "{user}#{character}" from ``keys.partition_key``, ids encoded;
one partition per conversation pair so one Query serves recall and the worker's merge):

- ``sk = "EVENT#{event_id}"``                         an ``EventRecord``
- ``sk = "FACT#{type}#{key}"``                         a ``FactRecord`` (one item per profile slot)
- ``sk = "SUMMARY#{created_at:015.3f}#{summary_id}"``  a ``SummaryRecord`` (time-ordered)

Every item also carries ``user_id`` (GSI ``user-index`` on (user_id, sk): export and
"forget me" across characters) and ``kind``. Keys derive from the records' natural keys
and ``created_at`` comes from the task, so writing the same records twice is a no-op
overwrite: ``save`` is idempotent. EVENT < FACT < SUMMARY sorts, so the worker's
``load(..., summaries=False)`` reads facts and events with one ``sk < "SUMMARY"`` Query.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any

from ..memory.records import EventRecord, FactRecord, SummaryRecord
from .cursors import CursorSigner
from .dynamodb_codec import deserialize, serialize
from .dynamodb_table import DynamoTable, Item
from .keys import partition_key

FACT, EVENT, SUMMARY = "FACT#", "EVENT#", "SUMMARY#"
Facts = dict[tuple[str, str], FactRecord]


def fact_sk(type_: str, key: str) -> str:
    return f"{FACT}{type_}#{key}"


def event_sk(event_id: str) -> str:
    return f"{EVENT}{event_id}"


def summary_sk(created_at: float, summary_id: str) -> str:
    return f"{SUMMARY}{created_at:015.3f}#{summary_id}"


def sort_key(record: FactRecord | EventRecord | SummaryRecord) -> str:
    if isinstance(record, FactRecord):
        return fact_sk(record.type, record.key)
    if isinstance(record, EventRecord):
        return event_sk(record.event_id)
    return summary_sk(record.created_at, record.summary_id)


def to_item(record: FactRecord | EventRecord | SummaryRecord) -> dict[str, Any]:
    kind = "fact" if isinstance(record, FactRecord) else "event" if isinstance(record, EventRecord) else "summary"
    item = record.model_dump()
    item.update(pk=partition_key(record.user_id, record.character_id), sk=sort_key(record), kind=kind)
    if isinstance(record, FactRecord):
        item["fact_id"] = record.fact_id
    return item


def from_item(item: dict[str, Any]) -> FactRecord | EventRecord | SummaryRecord | None:
    sk = str(item.get("sk", ""))
    model: type[FactRecord] | type[EventRecord] | type[SummaryRecord]
    if sk.startswith(FACT):
        model = FactRecord
    elif sk.startswith(EVENT):
        model = EventRecord
    elif sk.startswith(SUMMARY):
        model = SummaryRecord
    else:
        return None
    return model.model_validate({k: v for k, v in item.items() if k in model.model_fields})


class DynamoMemoryRepository(DynamoTable):
    def __init__(self, table: str, endpoint_url: str | None = None, *,
                 cursor_secret: Callable[[], bytes] | None = None) -> None:
        """``cursor_secret`` gives the key that signs pagination cursors; it is called on the first
        paginated read only (it may read a secret store). Without it, cursors cannot be made."""
        super().__init__(table, endpoint_url)
        self._cursor_secret = cursor_secret
        self._signer: CursorSigner | None = None

    @property
    def cursors(self) -> CursorSigner:
        if self._signer is None:
            if self._cursor_secret is None:
                raise RuntimeError("this repository was built without a cursor key: pass cursor_secret")
            self._signer = CursorSigner(self._cursor_secret())
        return self._signer

    # -- reads ------------------------------------------------------------------------

    async def load(self, user_id: str, character_id: str, *, summaries: bool | int = True,
                   consistent: bool = True) -> tuple[Facts, list[EventRecord], list[SummaryRecord]]:
        """The pair's records: (facts by (type, key), events, summaries). ``summaries``: True for
        all (one paginated Query), False for none, N for the newest N (a second Query, in parallel)."""
        values: dict[str, Any] = {":pk": partition_key(user_id, character_id)}
        cond = "pk = :pk"
        newest: int | None = None
        if summaries is not True:
            cond += " AND sk < :s"
            values[":s"] = SUMMARY
            newest = int(summaries) if summaries is not False else None
        query = self._query_all(KeyConditionExpression=cond, ConsistentRead=consistent,
                                ExpressionAttributeValues=serialize(values))
        if newest:
            items, recent = await asyncio.gather(query, self._page(user_id, character_id, SUMMARY, newest, None,
                                                                   newest_first=True, consistent=consistent,
                                                                   with_cursor=False))
            items += recent[0]
        else:
            items = await query
        facts: Facts = {}
        events: list[EventRecord] = []
        sums: list[SummaryRecord] = []
        for item in items:
            rec = from_item(item)
            if isinstance(rec, FactRecord):
                facts[(rec.type, rec.key)] = rec
            elif isinstance(rec, EventRecord):
                events.append(rec)
            elif isinstance(rec, SummaryRecord):
                sums.append(rec)
        return facts, events, sums

    async def _page(self, user_id: str, character_id: str, prefix: str, limit: int, cursor: str | None,
                    newest_first: bool = False, consistent: bool = False,
                    with_cursor: bool = True) -> tuple[list[Item], str | None]:
        pk = partition_key(user_id, character_id)
        kwargs: dict[str, Any] = dict(
            KeyConditionExpression="pk = :pk AND begins_with(sk, :p)",
            ExpressionAttributeValues=serialize({":pk": pk, ":p": prefix}),
            Limit=max(1, min(limit, 1000)), ScanIndexForward=not newest_first, ConsistentRead=consistent)
        scope = (pk, prefix, "desc" if newest_first else "asc")
        if cursor:  # ValueError for a cursor this listing did not issue (the API answers 400)
            kwargs["ExclusiveStartKey"] = serialize({"pk": pk, "sk": self.cursors.open(cursor, scope, prefix)})
        items, last = await self._query_page(**kwargs)
        nxt = self.cursors.issue(deserialize(last)["sk"], scope) if last and with_cursor else None
        return items, nxt

    async def list_facts(self, user_id: str, character_id: str, limit: int = 100,
                         cursor: str | None = None) -> tuple[list[FactRecord], str | None]:
        items, nxt = await self._page(user_id, character_id, FACT, limit, cursor)
        return [FactRecord.model_validate(_fields(i, FactRecord)) for i in items], nxt

    async def list_events(self, user_id: str, character_id: str, limit: int = 100,
                          cursor: str | None = None) -> tuple[list[EventRecord], str | None]:
        items, nxt = await self._page(user_id, character_id, EVENT, limit, cursor)
        return [EventRecord.model_validate(_fields(i, EventRecord)) for i in items], nxt

    async def list_summaries(self, user_id: str, character_id: str, limit: int = 20,
                             cursor: str | None = None) -> tuple[list[SummaryRecord], str | None]:
        """Newest first."""
        items, nxt = await self._page(user_id, character_id, SUMMARY, limit, cursor, newest_first=True)
        return [SummaryRecord.model_validate(_fields(i, SummaryRecord)) for i in items], nxt

    async def get_item(self, user_id: str, character_id: str, sk: str) -> Item | None:
        return await self._get({"pk": partition_key(user_id, character_id), "sk": sk}, ConsistentRead=True)

    async def all_for_user(self, user_id: str) -> list[Item]:
        """Every memory item of a user across characters (export), via the user-index GSI."""
        return await self._query_all(IndexName="user-index", KeyConditionExpression="user_id = :u",
                                     ExpressionAttributeValues=serialize({":u": user_id}))

    async def records_for_user(self, user_id: str) -> list[FactRecord | EventRecord | SummaryRecord]:
        return [r for i in await self.all_for_user(user_id) if (r := from_item(i)) is not None]

    # -- writes -----------------------------------------------------------------------

    async def save(self, facts: Sequence[FactRecord] = (), events: Sequence[EventRecord] = (),
                   summary: SummaryRecord | Sequence[SummaryRecord] | None = None) -> int:
        """Upsert records (deterministic keys: a replay overwrites). Returns items written."""
        sums = [summary] if isinstance(summary, SummaryRecord) else list(summary or [])
        by_key: dict[tuple[str, str], dict[str, Any]] = {}
        records: list[FactRecord | EventRecord | SummaryRecord] = [*facts, *events, *sums]
        for rec in records:
            item = to_item(rec)
            by_key[(item["pk"], item["sk"])] = item  # BatchWriteItem rejects duplicate keys
        await self._batch_write(puts=by_key.values())
        return len(by_key)

    async def delete_item(self, user_id: str, character_id: str, sk: str) -> bool:
        resp = await self._request("delete_item", ReturnValues="ALL_OLD",
                                   Key=serialize({"pk": partition_key(user_id, character_id), "sk": sk}))
        return "Attributes" in resp

    async def delete_record(self, record: FactRecord | EventRecord | SummaryRecord) -> bool:
        return await self.delete_item(record.user_id, record.character_id, sort_key(record))

    async def delete_all(self, user_id: str, character_id: str) -> int:
        keys = await self._query_all(KeyConditionExpression="pk = :pk", ProjectionExpression="pk, sk",
                                     ExpressionAttributeValues=serialize({":pk": partition_key(user_id, character_id)}))
        await self._batch_write(deletes=keys)
        return len(keys)


def _fields(item: dict[str, Any], model: type[Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k in model.model_fields}
