"""Amazon Titan Text Embeddings V2 via bedrock-runtime ``invoke_model``.

The client is made by ``companion.adapters.aws`` (one place for boto3 configuration) and passed in.

Titan V2 embeds one text per request, so a batch is sent as concurrent requests (bounded
by ``concurrency``), each in a worker thread because boto3 is synchronous.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from .base import Embedder, EmbeddingError, Kind

TITAN_V2 = "amazon.titan-embed-text-v2:0"
TITAN_DIMS = (256, 512, 1024)
_MAX_CHARS = 50_000  # Titan V2 input limit
_RETRYABLE = {"ThrottlingException", "ServiceUnavailableException", "ModelNotReadyException",
              "InternalServerException", "ModelTimeoutException"}


class BedrockEmbedder(Embedder):
    def __init__(self, *, client: Any, model_id: str = TITAN_V2, dimensions: int = 1024, batch_size: int = 16,
                 concurrency: int = 8) -> None:
        if dimensions not in TITAN_DIMS:
            raise ValueError(f"Titan V2 dimensions must be one of {TITAN_DIMS}, got {dimensions}")
        self.model_id = model_id
        self.name = f"bedrock/{model_id}"
        self.dim = dimensions
        self.batch_size = batch_size
        self._client = client
        self._concurrency = concurrency

    def _invoke(self, text: str) -> list[float]:
        body = json.dumps({"inputText": text[:_MAX_CHARS] or " ", "dimensions": self.dim, "normalize": True})
        try:
            resp = self._client.invoke_model(modelId=self.model_id, body=body, contentType="application/json",
                                                accept="application/json")
        except Exception as exc:  # botocore errors; the SDK is imported lazily so match by attribute
            code = getattr(exc, "response", {}).get("Error", {}).get("Code", type(exc).__name__)
            raise EmbeddingError(f"{self.name}: {code}: {exc}", retryable=code in _RETRYABLE
                                 or "Timeout" in code or "Connection" in code) from exc
        raw = resp["body"].read() if hasattr(resp["body"], "read") else resp["body"]
        return [float(x) for x in json.loads(raw)["embedding"]]

    async def _embed(self, texts: list[str], kind: Kind) -> list[list[float]]:
        del kind  # Titan V2 embeds queries and passages alike
        sem = asyncio.Semaphore(self._concurrency)  # per call: Lambda may run each event in a new loop

        async def one(text: str) -> list[float]:
            async with sem:
                return await asyncio.to_thread(self._invoke, text)

        return list(await asyncio.gather(*(one(t) for t in texts)))
