from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest
from companion.embeddings.base import EmbeddingError
from companion.embeddings.openai_embedder import OpenAIEmbedder


class _Handler(BaseHTTPRequestHandler):
    requests: ClassVar[list[dict]] = []
    status = 200

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).requests.append({"path": self.path, "auth": self.headers.get("Authorization"), "body": body})
        if type(self).status != 200:
            self.send_response(type(self).status)
            self.end_headers()
            self.wfile.write(b'{"error": "nope"}')
            return
        # Canned vectors [3, 4, i] (not normalized), returned in reverse order to test index sorting.
        data = [{"object": "embedding", "index": i, "embedding": [3.0, 4.0, float(i)]}
                for i in range(len(body["input"]))][::-1]
        out = json.dumps({"object": "list", "data": data, "model": body["model"]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture()
def server() -> Iterator[str]:
    _Handler.requests = []
    _Handler.status = 200
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    httpd.shutdown()
    httpd.server_close()


async def test_request_shape_batching_and_normalization(server):
    emb = OpenAIEmbedder(base_url=server, model="doubao-embedding", dim=3, api_key="k1", batch_size=2,
                         dimensions=3)
    vecs = await emb.embed_passages(["a", "b", "c"])
    await emb.aclose()
    assert [r["body"]["input"] for r in _Handler.requests] == [["a", "b"], ["c"]]
    first = _Handler.requests[0]
    assert first["path"] == "/v1/embeddings" and first["auth"] == "Bearer k1"
    assert first["body"]["model"] == "doubao-embedding" and first["body"]["dimensions"] == 3
    assert first["body"]["encoding_format"] == "float"
    assert vecs[0] == pytest.approx([0.6, 0.8, 0.0])  # index 0 after re-sorting, normalized
    assert vecs[1] == pytest.approx([3 / 26 ** 0.5, 4 / 26 ** 0.5, 1 / 26 ** 0.5])


async def test_query_prefix_and_no_dimensions_by_default(server):
    emb = OpenAIEmbedder(base_url=server, model="e5", dim=3, query_prefix="query: ", passage_prefix="passage: ")
    q = await emb.embed_query("hi")
    await emb.aclose()
    body = _Handler.requests[0]["body"]
    assert body["input"] == ["query: hi"] and "dimensions" not in body and _Handler.requests[0]["auth"] is None
    assert q == pytest.approx([0.6, 0.8, 0.0])


async def test_errors_and_dim_mismatch(server):
    _Handler.status = 429
    emb = OpenAIEmbedder(base_url=server, model="m", dim=3)
    with pytest.raises(EmbeddingError) as err:
        await emb.embed_query("x")
    assert err.value.retryable
    _Handler.status = 400
    with pytest.raises(EmbeddingError) as err:
        await emb.embed_query("x")
    assert not err.value.retryable
    _Handler.status = 200
    wrong = OpenAIEmbedder(base_url=server, model="m", dim=1024)
    with pytest.raises(EmbeddingError):
        await wrong.embed_query("x")
    await emb.aclose()
    await wrong.aclose()
