"""infra/local/snapshot.py against real servers: moto's data survives a restart, consistently.

Restoring needs an empty moto, so this module runs two moto servers of its own (A, then B)
instead of the session's shared one: the data written to A must come back in B.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
import redis
from companion.adapters.dynamodb_characters import DynamoCharacterRepository
from companion.adapters.dynamodb_tasks import DynamoTaskStatusStore
from companion.characters import BUILTIN_CHARACTERS
from companion.config import Settings
from companion.models import Character

from infra.local.resources import TABLES, create_local_resources
from infra.local.services import ManagedProcess, free_port, moto_process
from infra.local.snapshot import SNAPSHOT_FILE, reset_if_inconsistent, restore_snapshot, save_snapshot
from infra.local.stack import LocalStack, seed_characters
from infra.opensearch_emulator import EmulatorServer

BINARY = bytes(range(256))  # not UTF-8: proves bodies and "B" attributes survive JSON
TASK_STATUSES = {"t-queued": "queued", "t-processing": "processing", "t-completed": "completed",
                 "t-failed": "failed", "t-unsent": "unsent"}


def _moto() -> ManagedProcess:
    return moto_process(free_port()).start(timeout_s=60)


def _url(proc: ManagedProcess) -> str:
    return f"http://127.0.0.1:{proc.port}"


def _tables(settings: Settings) -> list[str]:
    return [getattr(settings, attr) for attr in TABLES.values()]


def _scan(endpoint: str, table: str) -> dict[str, dict[str, Any]]:
    """Every item of ``table`` keyed by its JSON form (order-free comparison)."""
    ddb = boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1")
    items: list[dict[str, Any]] = []
    for page in ddb.get_paginator("scan").paginate(TableName=table):
        items.extend(page["Items"])
    return {json.dumps(i, sort_keys=True, default=repr): i for i in items}


def _objects(endpoint: str, bucket: str) -> dict[str, tuple[bytes, str]]:
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    out = {}
    for entry in s3.list_objects_v2(Bucket=bucket).get("Contents", []):
        obj = s3.get_object(Bucket=bucket, Key=entry["Key"])
        out[entry["Key"]] = (obj["Body"].read(), obj["ContentType"])
    return out


async def _write(settings: Settings, endpoint: str) -> None:
    """What a session of use leaves behind: a custom character, memories, messages, tasks, archives."""
    await DynamoCharacterRepository(settings.characters_table, endpoint_url=endpoint).put(
        Character(character_id="c_custom", name="Mine", owner_id="u1", description="made by u1"))
    tasks = DynamoTaskStatusStore(settings.tasks_table, endpoint_url=endpoint)
    for task_id, status in TASK_STATUSES.items():
        await tasks.put(task_id, status, user_id="u1", character_id="xiaoyu", session_id="s1", trigger="idle",
                        from_seq=1, to_seq=4, retries=0, updated_at=1.0)
    ddb = boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1")
    # 60 memory items of 20 KB: several BatchWriteItem chunks of 25 and more than 1 MB to scan.
    for i in range(60):
        ddb.put_item(TableName=settings.memory_table, Item={
            "pk": {"S": "u1#xiaoyu"}, "sk": {"S": f"FACT#k{i:03d}"}, "user_id": {"S": "u1"},
            "value": {"S": "记" * 7000}, "n": {"N": str(i)}})
    ddb.put_item(TableName=settings.memory_table, Item={
        "pk": {"S": "u1#xiaoyu"}, "sk": {"S": "EVENT#bin"}, "user_id": {"S": "u1"}, "blob": {"B": BINARY}})
    for seq in range(1, 5):
        ddb.put_item(TableName=settings.messages_table, Item={
            "pk": {"S": "u1#xiaoyu"}, "sk": {"S": f"MSG#{seq:012d}"}, "seq": {"N": str(seq)},
            "content": {"S": f"turn {seq}"}})
    ddb.put_item(TableName=settings.messages_table, Item={
        "pk": {"S": "u1#xiaoyu"}, "sk": {"S": "CONV"}, "next_seq": {"N": "4"}, "processed_upto": {"N": "4"}})
    ddb.put_item(TableName=settings.idempotency_table, Item={
        "id": {"S": "worker#t-completed"}, "status": {"S": "COMPLETED"}, "expiration": {"N": "9999999999"}})
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    s3.put_object(Bucket=settings.archive_bucket, Key="archive/u1/xiaoyu/t-completed.json",
                  Body="{\"summary\": \"晚安\"}".encode(), ContentType="application/json; charset=utf-8")
    s3.put_object(Bucket=settings.archive_bucket, Key="segments/blob.bin", Body=BINARY,
                  ContentType="application/octet-stream")


@dataclass
class RoundTrip:
    settings: Settings  # names shared by A and B
    endpoint_b: str
    snapshot: Path
    saved: dict[str, int]
    restored: dict[str, Any]
    tables_a: dict[str, dict[str, dict[str, Any]]]
    tables_b: dict[str, dict[str, dict[str, Any]]]
    objects_a: dict[str, tuple[bytes, str]]
    objects_b: dict[str, tuple[bytes, str]]


@pytest.fixture(scope="module")
def round_trip(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RoundTrip]:
    suffix = uuid.uuid4().hex[:8]
    settings = Settings(aws_region="us-east-1", characters_table=f"s-characters-{suffix}",
                        memory_table=f"s-memory-{suffix}", messages_table=f"s-messages-{suffix}",
                        tasks_table=f"s-tasks-{suffix}", idempotency_table=f"s-idempotency-{suffix}",
                        memory_queue_name=f"s-memory-tasks-{suffix}.fifo", archive_bucket=f"s-archive-{suffix}")
    snapshot = tmp_path_factory.mktemp("data") / "moto" / SNAPSHOT_FILE
    moto_a = _moto()
    try:
        a = _url(moto_a)
        create_local_resources(settings.model_copy(update={"aws_endpoint_url": a}))
        asyncio.run(_write(settings, a))
        tables_a = {t: _scan(a, t) for t in _tables(settings)}
        objects_a = _objects(a, settings.archive_bucket)
        saved = save_snapshot(a, snapshot, _tables(settings), [settings.archive_bucket])
    finally:
        moto_a.stop()
    moto_b = _moto()
    try:
        b = _url(moto_b)
        create_local_resources(settings.model_copy(update={"aws_endpoint_url": b}))
        assert all(not _scan(b, t) for t in _tables(settings))  # B really starts empty
        restored = restore_snapshot(b, snapshot, tables=_tables(settings), buckets=[settings.archive_bucket],
                                    tasks_table=settings.tasks_table)
        yield RoundTrip(settings, b, snapshot, saved, restored, tables_a, {t: _scan(b, t) for t in _tables(settings)},
                        objects_a, _objects(b, settings.archive_bucket))
    finally:
        moto_b.stop()


def test_every_item_and_object_comes_back(round_trip: RoundTrip) -> None:
    rt, s = round_trip, round_trip.settings
    assert rt.saved == {"items": 1 + 61 + 5 + len(TASK_STATUSES) + 1, "objects": 2}
    assert rt.restored["items"] == rt.saved["items"] and rt.restored["objects"] == 2
    assert rt.restored["skipped"] == []
    assert not rt.snapshot.with_name(rt.snapshot.name + ".tmp").exists()
    for table in _tables(s):
        if table != s.tasks_table:
            assert rt.tables_b[table] == rt.tables_a[table], table
    assert len(rt.tables_b[s.memory_table]) == 61
    blob = next(i for i in rt.tables_b[s.memory_table].values() if i["sk"]["S"] == "EVENT#bin")
    assert blob["blob"]["B"] == BINARY
    assert rt.objects_b == rt.objects_a
    assert rt.objects_b["segments/blob.bin"] == (BINARY, "application/octet-stream")


def test_tasks_whose_message_was_lost_become_unsent(round_trip: RoundTrip) -> None:
    rt, s = round_trip, round_trip.settings
    statuses = {i["task_id"]["S"]: i["status"]["S"] for i in rt.tables_b[s.tasks_table].values()}
    assert statuses == {"t-queued": "unsent", "t-processing": "unsent", "t-completed": "completed",
                        "t-failed": "failed", "t-unsent": "unsent"}
    assert rt.restored["requeued"] == 2
    # Everything else about the tasks is unchanged.
    strip = [{k: v for k, v in i.items() if k != "status"} for i in rt.tables_b[s.tasks_table].values()]
    before = [{k: v for k, v in i.items() if k != "status"} for i in rt.tables_a[s.tasks_table].values()]
    assert sorted(map(repr, strip)) == sorted(map(repr, before))


async def test_the_sweeper_query_finds_the_requeued_tasks(round_trip: RoundTrip) -> None:
    store = DynamoTaskStatusStore(round_trip.settings.tasks_table, endpoint_url=round_trip.endpoint_b)
    # The exact query resend_unsent runs (status-index GSI, "unsent for a minute").
    found = await store.by_status("unsent", older_than=1e12)
    assert sorted(r["task_id"] for r in found) == ["t-processing", "t-queued", "t-unsent"]


async def test_seeding_after_the_restore_keeps_users_characters(round_trip: RoundTrip,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    s = round_trip.settings
    monkeypatch.setenv("CHARACTERS_TABLE", s.characters_table)
    assert await seed_characters({"AWS_ENDPOINT_URL": round_trip.endpoint_b}) == len(BUILTIN_CHARACTERS)
    repo = DynamoCharacterRepository(s.characters_table, endpoint_url=round_trip.endpoint_b)
    mine = await repo.get("c_custom")
    assert mine is not None and mine.owner_id == "u1" and mine.description == "made by u1"
    assert {c.character_id for c in await repo.list("u1")} == {"c_custom", *BUILTIN_CHARACTERS}


def test_a_failed_save_leaves_the_previous_snapshot(round_trip: RoundTrip, tmp_path: Path) -> None:
    path = tmp_path / SNAPSHOT_FILE
    shutil.copy(round_trip.snapshot, path)
    before = path.read_bytes()
    with pytest.raises(Exception, match="ResourceNotFound"):
        save_snapshot(round_trip.endpoint_b, path, ["no-such-table"], [])
    assert path.read_bytes() == before


# ---------------------------------------------------------------- no snapshot, old data: reset
@pytest.fixture(scope="module")
def opensearch_url() -> Iterator[str]:
    server = EmulatorServer()
    url = server.start()
    yield url
    server.stop()


def _index_exists(url: str, index: str) -> bool:
    return httpx.head(f"{url}/{index}").status_code == 200


def test_reset_only_without_a_snapshot(tmp_path: Path, own_redis: ManagedProcess, opensearch_url: str) -> None:
    redis_url = f"redis://127.0.0.1:{own_redis.port}/0"
    r = redis.Redis.from_url(redis_url)
    index = f"memory-{uuid.uuid4().hex[:8]}"
    r.set("stm:u1:xiaoyu", "old window")
    httpx.put(f"{opensearch_url}/{index}", json={}).raise_for_status()
    httpx.put(f"{opensearch_url}/{index}/_doc/u1-xiaoyu-1", json={"text": "old turn"}).raise_for_status()
    snapshot = tmp_path / SNAPSHOT_FILE

    snapshot.write_text("{}")  # a clean stop left one: Redis and the index belong with it
    assert reset_if_inconsistent(snapshot, redis_url, opensearch_url, index) == []
    assert r.get("stm:u1:xiaoyu") == b"old window" and _index_exists(opensearch_url, index)

    snapshot.unlink()  # killed: DynamoDB/S3 will start empty, so must these
    assert reset_if_inconsistent(snapshot, redis_url, opensearch_url, index) == [
        "Redis", f"the OpenSearch index {index}"]
    assert r.dbsize() == 0 and not _index_exists(opensearch_url, index)

    assert reset_if_inconsistent(snapshot, redis_url, opensearch_url, index) == []  # first run: nothing to say
    r.close()


def test_the_stack_restores_the_latest_snapshot_and_keeps_redis(round_trip: RoundTrip, tmp_path: Path,
                                                                  own_redis: ManagedProcess, opensearch_url: str,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """A kill finds the latest (periodic) snapshot: it is restored and Redis is never cleared."""
    redis_url = f"redis://127.0.0.1:{own_redis.port}/0"
    settings = round_trip.settings.model_copy(update={"redis_url": redis_url, "opensearch_url": opensearch_url,
                                                      "opensearch_index": f"memory-{uuid.uuid4().hex[:8]}"})
    data_dir = tmp_path / "data"
    snapshot = data_dir / "moto" / SNAPSHOT_FILE
    snapshot.parent.mkdir(parents=True)
    shutil.copy(round_trip.snapshot, snapshot)
    r = redis.Redis.from_url(redis_url)
    r.set("stm:u1:xiaoyu", "window")
    stack = LocalStack(data_dir=data_dir, port=0, api_port=0, redis_port=own_redis.port, moto_port=0,
                       opensearch_port=0)
    stack.env = {"AWS_ENDPOINT_URL": round_trip.endpoint_b}

    stack._restore_or_reset(settings)
    assert snapshot.exists()  # kept: the next start after a kill restores it (or a newer one)
    assert r.get("stm:u1:xiaoyu") == b"window"
    assert "restored 73 items and 2 objects" in capsys.readouterr().out

    stack._save_snapshot()  # what start() does once everything runs, and stop() before it stops moto
    assert json.loads(snapshot.read_text())["tables"].keys() == set(_tables(settings))
    in_moto = sum(len(_scan(round_trip.endpoint_b, t)) for t in _tables(settings))  # 73, + built-ins if seeded
    assert f"saved {in_moto} items and 2 objects" in capsys.readouterr().out

    # The periodic save rewrites the file only when the data changed.
    before = snapshot.stat().st_mtime_ns
    stack._save_snapshot(if_changed=True)
    assert snapshot.stat().st_mtime_ns == before
    ddb = boto3.client("dynamodb", endpoint_url=round_trip.endpoint_b, region_name="us-east-1")
    ddb.put_item(TableName=settings.messages_table, Item={
        "pk": {"S": "u1#xiaoyu"}, "sk": {"S": "MSG#000000000005"}, "content": {"S": "after the save"}})
    stack._save_snapshot(if_changed=True)
    saved = json.loads(snapshot.read_text())["tables"][settings.messages_table]
    assert any(i.get("content", {}).get("S") == "after the save" for i in saved)

    # The run is killed now: the next start restores that snapshot and keeps Redis as it is.
    stack._restore_or_reset(settings)
    assert r.get("stm:u1:xiaoyu") == b"window"
    assert "cleared" not in capsys.readouterr().out
    r.close()
