"""Keep the local stack's AWS data across restarts, consistent with Redis and OpenSearch.

moto keeps DynamoDB and S3 in memory only, while redis-server and the OpenSearch emulator
persist to ``<data_dir>``. Losing one side but not the other is worse than losing both: the
message log's ``seq`` restarts at 1 while indexed turns are keyed by (user, character, seq),
so new turns would overwrite old ones. So the stack snapshots moto at start, periodically
while it runs (when something changed) and on a clean stop, and restores the latest snapshot
at start: a killed run costs at most the writes since the last periodic snapshot, and Redis
and the index are kept. Only with no snapshot at all (a data dir whose snapshot was deleted)
are Redis and the memory index emptied, so all three stores start from the same state.

SQS messages are not kept: tasks that were queued or being processed are restored as
``unsent``, which the session sweeper resends (``MemoryTaskScheduler.resend_unsent``).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import boto3
import httpx
import redis

SNAPSHOT_FILE = "snapshot.json"
VERSION = 1
# Task statuses whose SQS message died with moto; "unsent" is what the sweeper resends.
REQUEUE_STATUSES = frozenset({"queued", "processing"})
_BATCH = 25  # BatchWriteItem's limit


def _clients(endpoint: str, region: str) -> tuple[Any, Any]:
    session = boto3.session.Session(region_name=region)
    return session.client("dynamodb", endpoint_url=endpoint), session.client("s3", endpoint_url=endpoint)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _encode(value: Any) -> Any:
    # DynamoDB binary attributes ("B", "BS") come back as bytes, which JSON cannot hold.
    if isinstance(value, bytes | bytearray):
        return {"__b64__": _b64(bytes(value))}
    raise TypeError(f"cannot snapshot a {type(value).__name__}")


def _decode(obj: dict[str, Any]) -> Any:
    return base64.b64decode(obj["__b64__"]) if obj.keys() == {"__b64__"} else obj


def save_snapshot(endpoint: str, path: Path, tables: Iterable[str], buckets: Iterable[str], *,
                  region: str = "us-east-1") -> dict[str, int]:
    """Write every item of ``tables`` and every object of ``buckets`` to ``path``; return the counts."""
    data = collect_snapshot(endpoint, tables, buckets, region=region)
    return write_snapshot(path, data)


def snapshot_digest(data: dict[str, Any]) -> str:
    """What the snapshot holds, without when it was taken (unchanged data need not be rewritten)."""
    body = json.dumps({"tables": data["tables"], "buckets": data["buckets"]}, default=_encode, sort_keys=True)
    return hashlib.sha256(body.encode()).hexdigest()


def collect_snapshot(endpoint: str, tables: Iterable[str], buckets: Iterable[str], *,
                     region: str = "us-east-1") -> dict[str, Any]:
    """Every item of ``tables`` and every object of ``buckets``, ready for ``write_snapshot``."""
    ddb, s3 = _clients(endpoint, region)
    data: dict[str, Any] = {"version": VERSION, "saved_at": time.time(), "tables": {}, "buckets": {}}
    for table in tables:
        items: list[dict[str, Any]] = []
        for page in ddb.get_paginator("scan").paginate(TableName=table, ConsistentRead=True):
            items.extend(page.get("Items", []))
        data["tables"][table] = items
    for bucket in buckets:
        objects: list[dict[str, Any]] = []
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            for entry in page.get("Contents", []):
                obj = s3.get_object(Bucket=bucket, Key=entry["Key"])
                objects.append({"key": entry["Key"], "body": _b64(obj["Body"].read()),
                                "content_type": obj.get("ContentType"), "metadata": obj.get("Metadata") or {}})
        data["buckets"][bucket] = objects
    return data


def write_snapshot(path: Path, data: dict[str, Any]) -> dict[str, int]:
    # Temp file + rename: a write interrupted half-way (a kill) leaves the previous snapshot whole.
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(data, fh, default=_encode, ensure_ascii=False)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    return {"items": sum(map(len, data["tables"].values())), "objects": sum(map(len, data["buckets"].values()))}


def _requeue(item: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    if item.get("status", {}).get("S") in REQUEUE_STATUSES:
        # updated_at stays old, so the sweeper's "unsent for a minute" check picks it up at once.
        return {**item, "status": {"S": "unsent"}}, True
    return item, False


def _batch_write(ddb: Any, table: str, items: list[dict[str, Any]]) -> None:
    for start in range(0, len(items), _BATCH):
        pending: dict[str, Any] = {table: [{"PutRequest": {"Item": i}} for i in items[start:start + _BATCH]]}
        for attempt in range(8):
            pending = ddb.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
            if not pending:
                break
            time.sleep(0.05 * 2 ** attempt)
        if pending:
            raise RuntimeError(f"could not restore {len(pending[table])} items into {table}")


def restore_snapshot(endpoint: str, path: Path, *, tables: Iterable[str], buckets: Iterable[str],
                     tasks_table: str | None = None, region: str = "us-east-1") -> dict[str, Any]:
    """Put the snapshot's items and objects back (into existing tables/buckets); return the counts.

    Tables and buckets the stack no longer creates are skipped (listed under ``skipped``)
    rather than failing every start.
    """
    data = json.loads(path.read_text(encoding="utf-8"), object_hook=_decode)
    if data.get("version") != VERSION:
        raise ValueError(f"{path}: unknown snapshot version {data.get('version')!r}")
    ddb, s3 = _clients(endpoint, region)
    wanted_tables, wanted_buckets = set(tables), set(buckets)
    counts: dict[str, Any] = {"items": 0, "objects": 0, "requeued": 0, "skipped": []}
    for table, items in data["tables"].items():
        if table not in wanted_tables:
            counts["skipped"].append(table)
            continue
        if table == tasks_table:
            requeued = [_requeue(i) for i in items]
            items = [i for i, _ in requeued]
            counts["requeued"] += sum(changed for _, changed in requeued)
        _batch_write(ddb, table, items)
        counts["items"] += len(items)
    for bucket, objects in data["buckets"].items():
        if bucket not in wanted_buckets:
            counts["skipped"].append(bucket)
            continue
        for obj in objects:
            extra = {"ContentType": obj["content_type"]} if obj.get("content_type") else {}
            s3.put_object(Bucket=bucket, Key=obj["key"], Body=base64.b64decode(obj["body"]),
                          Metadata=obj.get("metadata") or {}, **extra)
        counts["objects"] += len(objects)
    return counts


def reset_if_inconsistent(snapshot: Path, redis_url: str, opensearch_url: str, index: str) -> list[str]:
    """Without a snapshot DynamoDB/S3 start empty: empty Redis and the memory index too.

    Returns what was cleared (nothing when there is a snapshot or the stores are already empty).
    The caller recreates the index afterwards.
    """
    if snapshot.exists():
        return []
    cleared: list[str] = []
    client = redis.Redis.from_url(redis_url)
    try:
        if client.dbsize():
            client.flushdb()
            cleared.append("Redis")
    finally:
        client.close()
    with httpx.Client(base_url=opensearch_url, timeout=30) as http:
        if http.head(f"/{index}").status_code == 200:
            http.delete(f"/{index}").raise_for_status()
            cleared.append(f"the OpenSearch index {index}")
    return cleared
