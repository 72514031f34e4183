"""Benchmark of the local OpenSearch emulator, shaped like the project's long-term memory index.

Starts ``python -m infra.opensearch_emulator`` as a separate process (in memory), bulk-loads N documents
with 384-d normalized vectors over 1,000 users through opensearch-py, then measures filtered k-NN and
filtered BM25 latency and the server's resident memory.

    uv run python benchmarks/bench_opensearch_emulator.py [--docs 100000] [--queries 300]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from opensearchpy import OpenSearch

ROOT = Path(__file__).resolve().parents[1]
INDEX = "long_term_memory"
DIM = 384
_WORD_TEXT = (
    "memory coffee tea cat dog movie music travel beach mountain rain sunny birthday friend family work "
    "project deadline pizza hotpot noodles running swimming book novel guitar piano summer winter city "
    "train flight hotel museum garden flower dream weekend morning night spicy sweet"
)
WORDS = _WORD_TEXT.split()
ZH = ["我最喜欢吃火锅", "今天天气很好", "周末去爬山", "我养了一只猫", "明天要考试", "喜欢听音乐"]

MAPPING = {
    "settings": {"index": {"knn": True, "number_of_shards": 1, "number_of_replicas": 0}},
    "mappings": {
        "properties": {
            "embedding": {
                "type": "knn_vector",
                "dimension": DIM,
                "method": {
                    "name": "hnsw",
                    "engine": "faiss",
                    "space_type": "innerproduct",
                    "parameters": {"m": 16, "ef_construction": 128},
                },
            },
            "user_id": {"type": "keyword"},
            "character_id": {"type": "keyword"},
            "memory_type": {"type": "keyword"},
            "session_id": {"type": "keyword"},
            "content": {"type": "text", "analyzer": "cjk"},
            "timestamp": {"type": "long"},
            "importance": {"type": "float"},
        }
    },
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _unit(rng: np.random.Generator, n: int) -> np.ndarray:
    v = rng.normal(size=(n, DIM)).astype(np.float32)
    return (v / np.linalg.norm(v, axis=1, keepdims=True)).round(6)


def _docs(n: int, users: int, rng: np.random.Generator):  # type: ignore[no-untyped-def]
    batch = 2000
    for start in range(0, n, batch):
        m = min(batch, n - start)
        vecs = _unit(rng, m)
        for j in range(m):
            i = start + j
            text = " ".join(rng.choice(WORDS, size=12)) + " " + ZH[i % len(ZH)]
            yield {
                "_index": INDEX,
                "_id": f"m{i}",
                "_routing": f"u{i % users}",
                "_source": {
                    "embedding": vecs[j].tolist(),
                    "user_id": f"u{i % users}",
                    "character_id": f"c{i % 3}",
                    "memory_type": "episodic" if i % 2 else "semantic",
                    "session_id": f"s{i // 50}",
                    "content": text,
                    "timestamp": 1_700_000_000_000 + i,
                    "importance": float(i % 10) / 10,
                },
            }


def _send(client: OpenSearch, chunk: list[dict], ok: int, elapsed: float) -> tuple[int, float]:
    lines = []
    for a in chunk:
        lines.append(json.dumps({"index": {"_index": a["_index"], "_id": a["_id"], "routing": a["_routing"]}}))
        lines.append(json.dumps(a["_source"]))
    body = "\n".join(lines) + "\n"
    t = time.perf_counter()
    resp = client.bulk(body=body, request_timeout=300)
    elapsed += time.perf_counter() - t
    if resp["errors"]:
        raise SystemExit("bulk reported errors")
    return ok + len(chunk), elapsed


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--docs", type=int, default=100_000)
    parser.add_argument("--users", type=int, default=1_000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--chunk", type=int, default=500, help="documents per _bulk request")
    args = parser.parse_args()

    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "infra.opensearch_emulator", "--port", str(port)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    client = OpenSearch(f"http://127.0.0.1:{port}", timeout=300)
    try:
        deadline = time.monotonic() + 30
        while not client.ping():
            if time.monotonic() > deadline or proc.poll() is not None:
                raise SystemExit("emulator did not start")
            time.sleep(0.1)
        rss_empty = _rss_mb(proc.pid)
        client.indices.create(index=INDEX, body=MAPPING)
        rng = np.random.default_rng(7)

        # Bodies are serialized outside the timer: the figure is the emulator's ingest rate (HTTP + parse +
        # index), not the client's float-to-JSON speed, which on its own caps near ~1,500 docs/s here.
        t_bulk, ok, chunk = 0.0, 0, []
        for action in _docs(args.docs, args.users, rng):
            chunk.append(action)
            if len(chunk) == args.chunk:
                ok, t_bulk = _send(client, chunk, ok, t_bulk)
                chunk = []
        if chunk:
            ok, t_bulk = _send(client, chunk, ok, t_bulk)
        t1 = time.perf_counter()
        client.indices.refresh(index=INDEX)
        t_refresh = time.perf_counter() - t1
        assert ok == args.docs and client.count(index=INDEX)["count"] == args.docs

        queries = _unit(rng, args.queries)
        knn_ms, bm25_ms = [], []
        for q in range(args.queries):
            user = f"u{int(rng.integers(0, args.users))}"
            filt = {"bool": {"filter": [{"term": {"user_id": user}}, {"term": {"character_id": f"c{q % 3}"}}]}}
            body = {
                "size": 10,
                "_source": {"excludes": ["embedding"]},
                "query": {"knn": {"embedding": {"vector": queries[q].tolist(), "k": 10, "filter": filt}}},
            }
            t = time.perf_counter()
            resp = client.search(index=INDEX, body=body, routing=user)
            knn_ms.append((time.perf_counter() - t) * 1000)
            assert all(h["_source"]["user_id"] == user for h in resp["hits"]["hits"])
            body = {
                "size": 10,
                "_source": {"excludes": ["embedding"]},
                "query": {
                    "bool": {
                        "must": [{"match": {"content": f"{WORDS[q % len(WORDS)]} 火锅"}}],
                        "filter": filt["bool"]["filter"],
                    }
                },
            }
            t = time.perf_counter()
            client.search(index=INDEX, body=body, routing=user)
            bm25_ms.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        client.search(
            index=INDEX,
            body={
                "size": 10,
                "_source": False,
                "query": {"knn": {"embedding": {"vector": queries[0].tolist(), "k": 10}}},
            },
        )
        unfiltered_ms = (time.perf_counter() - t) * 1000
        rss = _rss_mb(proc.pid)
    finally:
        client.close()
        proc.terminate()
        proc.wait(timeout=60)

    rows = [
        ("documents", f"{args.docs:,} ({args.users:,} users, {DIM}-d)"),
        ("bulk ingest", f"{args.docs / t_bulk:,.0f} docs/s ({t_bulk:.1f} s, {args.chunk}/request, goal >= 2,000)"),
        ("refresh after ingest", f"{t_refresh * 1000:.0f} ms"),
        ("k-NN top-10 + user filter p50", f"{statistics.median(knn_ms):.2f} ms"),
        ("k-NN top-10 + user filter p95", f"{_percentile(knn_ms, 95):.2f} ms (goal <= 20 ms)"),
        ("BM25 match + user filter p50", f"{statistics.median(bm25_ms):.2f} ms"),
        ("BM25 match + user filter p95", f"{_percentile(bm25_ms, 95):.2f} ms"),
        ("k-NN top-10 unfiltered (1 query)", f"{unfiltered_ms:.1f} ms"),
        ("server RSS empty / loaded", f"{rss_empty:.0f} MB / {rss:.0f} MB"),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"{'metric':<{width}}  value")
    print(f"{'-' * width}  {'-' * 40}")
    for name, value in rows:
        print(f"{name:<{width}}  {value}")


if __name__ == "__main__":
    main()
