"""The embedding interface: every provider returns L2-normalized float vectors of ``dim``.

    embedder = build_embedder(settings)          # companion.embeddings.factory
    vectors = await embedder.embed_passages(["我最喜欢吃火锅", ...])   # stored memories
    query = await embedder.embed_query("你还记得我爱吃什么吗")          # recall

Providers implement ``_embed(texts, kind)`` for one batch; the base class splits the
input into ``batch_size`` batches and normalizes, so every provider behaves the same
(and cosine similarity is a dot product).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Literal

Kind = Literal["passage", "query"]


class EmbeddingError(Exception):
    """The embedding provider failed; ``retryable`` tells the worker whether to retry."""

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable


def l2_normalize(vector: Sequence[float]) -> list[float]:
    norm = math.sqrt(sum(x * x for x in vector))
    return [float(x) / norm for x in vector] if norm > 0 else [0.0 for _ in vector]


class Embedder(ABC):
    name: str
    dim: int
    batch_size: int = 32

    @abstractmethod
    async def _embed(self, texts: list[str], kind: Kind) -> list[list[float]]:
        """Embed one batch (len <= batch_size), same order; need not be normalized."""

    async def embed_passages(self, texts: Sequence[str]) -> list[list[float]]:
        return await self._batched(list(texts), "passage")

    async def embed_query(self, text: str) -> list[float]:
        return (await self._batched([text], "query"))[0]

    async def _batched(self, texts: list[str], kind: Kind) -> list[list[float]]:
        out: list[list[float]] = []
        for i in range(0, len(texts), max(1, self.batch_size)):
            batch = texts[i:i + self.batch_size]
            vectors = await self._embed(batch, kind)
            if len(vectors) != len(batch) or any(len(v) != self.dim for v in vectors):
                raise EmbeddingError(f"{self.name}: expected {len(batch)} vectors of dim {self.dim}",
                                     retryable=False)
            out.extend(l2_normalize(v) for v in vectors)
        return out

    async def aclose(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""
