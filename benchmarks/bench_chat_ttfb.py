"""Time to first byte of the chat stream on the local stack, with a zero-latency model.

Starts the local stack exactly as ``make dev`` does (redis-server, moto, the chat function
under uvicorn), with the fake OpenAI-compatible server as the only model (no delay), then
opens N concurrent streams per round and measures, per request, the time from sending the
request to the first byte of the SSE body. Each request uses its own user, so the per-user
rate limit (60/min) does not interfere; the global limit is raised for the run.

Beside each level it prints the CPU the turns cost (user + system time of the chat function's
processes, and of the whole stack with the fake model, over the level) and the bound that CPU
sets on this machine: a batch of N turns arriving at once cannot all see a first token sooner
than N × CPU per turn ÷ cores, the figure to compare with p99 (the last of the batch).

    uv run python benchmarks/bench_chat_ttfb.py [--levels 1,50,200] [--requests 400] [--single-requests 100]
                                                [--workers N] [--recall on|off]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "layers" / "companion")]

from companion.auth import issue_token  # noqa: E402

from infra.local.services import ManagedProcess, free_port  # noqa: E402
from infra.local.stack import LocalStack  # noqa: E402

TICK_S = 1 / os.sysconf("SC_CLK_TCK")


def group_cpu_s(pgids: set[int]) -> float:
    """User + system seconds of the live processes in these process groups (each local-stack child
    runs in its own group: uvicorn's workers are in their parent's)."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) in pgids:  # pgrp; utime and stime follow at 14 and 15 (1-based)
            total += (int(fields[11]) + int(fields[12])) * TICK_S
    return total


def own_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def one(http: httpx.AsyncClient, url: str, token: str, i: int
              ) -> tuple[float | None, float | None, str | None]:
    """(ms to the response headers, ms to the first byte of the SSE body, error).

    The app sends no body before the model's first token (no early comment or padding),
    so the first body byte is the first token's event: that is the figure that matters to
    a person waiting for a reply. The headers go out once the request is authenticated,
    rate-limited and its character resolved.
    """
    t0 = time.perf_counter()
    try:
        async with http.stream("POST", url, headers={"Authorization": f"Bearer {token}"},
                               json={"character_id": "luna", "message": f"hello number {i}"}) as resp:
            headers_ms = (time.perf_counter() - t0) * 1000
            if resp.status_code != 200:
                await resp.aread()
                return None, None, f"HTTP {resp.status_code}"
            first: float | None = None
            body = b""
            async for chunk in resp.aiter_raw():
                if first is None:
                    first = (time.perf_counter() - t0) * 1000
                    if b'"content": ""' in chunk.split(b"\n\n", 1)[0]:
                        return None, None, "first event had no text"
                body += chunk
            if b'"done": true' not in body:
                return None, None, "no done event"
            return headers_ms, first, None
    except httpx.HTTPError as exc:
        return None, None, type(exc).__name__


async def run_level(url: str, secret: str, concurrency: int, total: int) -> dict[str, float | int]:
    # Idle connections are dropped before uvicorn's keep-alive timeout (5 s) closes them: a request sent on a
    # connection the server is closing fails with a ReadError that says nothing about the chat function.
    limits = httpx.Limits(max_connections=concurrency + 10, max_keepalive_connections=concurrency + 10,
                          keepalive_expiry=2.0)
    ttfb: list[float] = []
    heads: list[float] = []
    errors: dict[str, int] = {}
    async with httpx.AsyncClient(timeout=60, limits=limits) as http:
        sent = 0
        while sent < total:
            batch = min(concurrency, total - sent)
            tokens = [issue_token(secret, f"bench-{concurrency}-{sent + j}") for j in range(batch)]
            results = await asyncio.gather(*[one(http, url, tokens[j], sent + j) for j in range(batch)])
            for head, first, err in results:
                if err:
                    errors[err] = errors.get(err, 0) + 1
                elif first is not None and head is not None:
                    ttfb.append(first)
                    heads.append(head)
            sent += batch
    return {"concurrency": concurrency, "requests": total, "ok": len(ttfb), "errors": sum(errors.values()),
            "p50": pct(ttfb, 50), "p95": pct(ttfb, 95), "p99": pct(ttfb, 99), "mean": statistics.fmean(ttfb),
            "h50": pct(heads, 50), "h99": pct(heads, 99),
            "error_kinds": json.dumps(errors)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--levels", default="1,50,200")
    parser.add_argument("--requests", type=int, default=400, help="requests per concurrency level")
    parser.add_argument("--single-requests", type=int, default=100,
                        help="requests at one stream (sequential, so the slowest level to run)")
    parser.add_argument("--workers", type=int, default=None,
                        help="chat worker processes (default: what `make dev` runs, CHAT_WORKERS or the cores, max 4)")
    parser.add_argument("--recall", choices=("on", "off"), default="on",
                        help="off: RECALL_POLICY=intent, and the benchmark's messages ask for no memory")
    args = parser.parse_args()

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the finally blocks: stop every process
    # The fake model runs in its own process so it does not share this client's event loop.
    llm_port = free_port()
    fake = ManagedProcess("fake-llm", [sys.executable, "-m", "infra.fake_llm", "--port", str(llm_port)], llm_port,
                          env={"PYTHONPATH": str(ROOT)}).start()
    os.environ["LLM_CHAIN"] = json.dumps([{"name": "zero", "provider": "openai", "model": "zero",
                                           "base_url": f"http://127.0.0.1:{llm_port}/v1", "api_key": "bench"}])
    os.environ["RATE_LIMIT_GLOBAL_PER_SECOND"] = "100000"
    os.environ["RECALL_POLICY"] = "always" if args.recall == "on" else "intent"
    cores = len(os.sched_getaffinity(0))
    with tempfile.TemporaryDirectory() as tmp:
        stack = LocalStack(port=free_port(), redis_port=0, moto_port=0, opensearch_port=0, api_port=0,
                           data_dir=Path(tmp), quiet=True, chat_workers=args.workers)
        stack.start()
        try:
            url = f"{stack.url}/api/v1/chat/stream"
            secret = stack.env["JWT_SECRET"]
            chat = {p.proc.pid for p in stack.procs if p.name == "chat" and p.proc is not None}
            everything = {p.proc.pid for p in [*stack.procs, fake] if p.proc is not None}
            # Warm-up: connections, caches, imports, and each worker's embedding model.
            asyncio.run(run_level(url, secret, 5 * stack.chat_workers, 20 * stack.chat_workers))
            print(f"chat workers: {stack.chat_workers}, recall {args.recall}, {cores} cores, "
                  f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
            print("| concurrent streams | requests | errors | first token p50 ms | p95 ms | p99 ms "
                  "| headers p50 ms | p99 ms | chat CPU ms/turn | stack CPU ms/turn | client CPU ms/turn "
                  "| bound: N × chat CPU ÷ cores ms | N × all CPU ÷ cores ms | chat busy % | load 1 min |")
            print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
            for level in [int(x) for x in args.levels.split(",")]:
                total = args.single_requests if level == 1 else max(args.requests, level)
                before = group_cpu_s(chat), group_cpu_s(everything), own_cpu_s()
                started = time.perf_counter()
                r = asyncio.run(run_level(url, secret, level, total))
                wall_s = time.perf_counter() - started
                chat_ms, stack_ms, client_ms = (
                    (after - b) * 1000 / total
                    for after, b in zip((group_cpu_s(chat), group_cpu_s(everything), own_cpu_s()), before,
                                        strict=True))
                # The chat function alone can use one core per worker; with the stores, the fake model and
                # this client on the same machine, all of it shares the cores.
                bound = level * chat_ms / min(cores, stack.chat_workers)
                bound_all = level * (stack_ms + client_ms) / cores
                # How much of the cores it may use the chat function had: far below 100 on a loaded
                # machine, where the wall-clock figures are the other processes' as much as its own.
                busy = chat_ms * total / 1000 / wall_s / min(cores, stack.chat_workers) * 100
                print(f"| {level} | {r['requests']} | {r['errors']} {r['error_kinds'] if r['errors'] else ''} "
                      f"| {r['p50']:.1f} | {r['p95']:.1f} | {r['p99']:.1f} | {r['h50']:.1f} | {r['h99']:.1f} "
                      f"| {chat_ms:.1f} | {stack_ms:.1f} | {client_ms:.1f} | {bound:.0f} | {bound_all:.0f} "
                      f"| {busy:.0f} | {os.getloadavg()[0]:.2f} |", flush=True)
        finally:
            stack.stop()
            fake.stop()


if __name__ == "__main__":
    main()
