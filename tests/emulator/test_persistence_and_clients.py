"""Snapshots survive a restart; the async client works; the CLI snapshots on SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from opensearchpy import AsyncOpenSearch, OpenSearch

from infra.opensearch_emulator import EmulatorServer

MAPPING = {
    "settings": {"index.knn": True},
    "mappings": {
        "properties": {
            "embedding": {
                "type": "knn_vector",
                "dimension": 3,
                "method": {"name": "hnsw", "engine": "faiss", "space_type": "innerproduct"},
            },
            "user_id": {"type": "keyword"},
            "content": {"type": "text", "analyzer": "cjk"},
        }
    },
}


def test_data_survives_restart(tmp_path: Path) -> None:
    vec = [0.1, 0.2, 0.30000000000000004]
    with EmulatorServer(data_dir=tmp_path) as first:
        client = OpenSearch(first.url)
        client.indices.create(index="mem", body=MAPPING)
        client.index(index="mem", id="a", body={"embedding": vec, "user_id": "u1", "content": "我最喜欢吃火锅"})
        client.index(index="mem", id="a", body={"embedding": vec, "user_id": "u1", "content": "我最喜欢吃火锅"})
        client.index(index="mem", id="b", body={"embedding": [1, 0, 0], "user_id": "u2", "content": "x"})
        client.delete(index="mem", id="b")
        client.transport.perform_request(
            "PUT",
            "/_search/pipeline/p",
            body={
                "phase_results_processors": [{"normalization-processor": {"normalization": {"technique": "min_max"}}}]
            },
        )
        client.close()
    with EmulatorServer(data_dir=tmp_path) as second:
        client = OpenSearch(second.url)
        doc = client.get(index="mem", id="a")
        assert doc["_source"]["embedding"] == vec and doc["_version"] == 2
        assert client.indices.get_mapping(index="mem")["mem"]["mappings"] == MAPPING["mappings"]
        hits = client.search(index="mem", body={"query": {"match": {"content": "火锅"}}})["hits"]["hits"]
        assert [h["_id"] for h in hits] == ["a"]
        assert client.count(index="mem")["count"] == 1
        assert "p" in client.transport.perform_request("GET", "/_search/pipeline/p")
        client.close()


def test_in_memory_server_leaves_no_files(tmp_path: Path) -> None:
    server = EmulatorServer()
    server.start()
    assert server.snapshot() is False
    server.stop()


async def test_async_client(async_os_client: AsyncOpenSearch, index_name: str) -> None:
    await async_os_client.indices.create(index=index_name, body=MAPPING)
    await async_os_client.index(
        index=index_name,
        id="1",
        refresh=True,
        routing="u1",
        body={"embedding": [1, 0, 0], "user_id": "u1", "content": "hello"},
    )
    resp = await async_os_client.search(
        index=index_name,
        routing="u1",
        body={
            "query": {
                "knn": {
                    "embedding": {
                        "vector": [1, 0, 0],
                        "k": 5,
                        "filter": {"bool": {"filter": [{"term": {"user_id": "u1"}}]}},
                    }
                }
            }
        },
    )
    assert [h["_id"] for h in resp["hits"]["hits"]] == ["1"]
    assert resp["hits"]["hits"][0]["_score"] == 2.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_cli_snapshots_on_sigterm(tmp_path: Path) -> None:
    port = _free_port()
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "infra.opensearch_emulator",
            "--port",
            str(port),
            "--data-dir",
            str(tmp_path),
            "--snapshot-interval",
            "3600",
        ],
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
    )
    try:
        client = OpenSearch(f"http://127.0.0.1:{port}")
        deadline = time.monotonic() + 20
        while not client.ping():
            assert time.monotonic() < deadline and proc.poll() is None
            time.sleep(0.1)
        client.index(index="cli", id="1", body={"a": 1})
        client.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
    assert (tmp_path / "snapshot" / "cli" / "docs.jsonl").read_text().count("\n") == 1
