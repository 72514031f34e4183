"""The embedding interface: every provider returns L2-normalized float vectors of ``dim``.

    embedder = build_embedder(settings)          # companion.embeddings.factory
    vectors = await embedder.embed_passages(["我最喜欢吃火锅", ...])   # stored memories
    query = await embedder.embed_query("你还记得我爱吃什么吗")          # recall

Providers implement ``_embed(texts, kind)`` for one batch; the base class splits the
input into ``batch_size`` batches and normalizes, so every provider behaves the same
(and cosine similarity is a dot product).

Query vectors are reused: a query is embedded with its whitespace collapsed, and a repeat of
the same text within the same ``scope`` (the asking user's id) is answered from a per-process
LRU instead of the model. Scoped, because a hit is faster than the model: a
cache shared by every user would let one time recall to learn whether someone else on the
same process had just sent a given text. A blank query (nothing to learn from) is shared.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from array import array
from collections import OrderedDict
from collections.abc import Sequence
from typing import Literal

Kind = Literal["passage", "query"]

QUERY_CACHE_SIZE = 512  # vectors (~3 KB each as float64) per process


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

    async def embed_query(self, text: str, *, scope: str | None = None) -> list[float]:
        """The query vector of ``text`` (whitespace collapsed); a repeat in the same ``scope`` is
        not embedded again. Without a scope only a blank text is reused."""
        text = " ".join(text.split())
        key = ("", "") if not text else (scope, text) if scope is not None else None
        cache = self._query_vectors()
        if key is not None and key in cache:
            cache.move_to_end(key)
            return cache[key].tolist()
        vector = (await self._batched([text], "query"))[0]
        if key is not None:
            cache[key] = array("d", vector)
            if len(cache) > QUERY_CACHE_SIZE:
                cache.popitem(last=False)
        return vector

    def _query_vectors(self) -> OrderedDict[tuple[str, str], array[float]]:
        # Made on first use: providers' constructors do not call the base's.
        cache: OrderedDict[tuple[str, str], array[float]] | None = self.__dict__.get("_query_cache")
        if cache is None:
            cache = self.__dict__["_query_cache"] = OrderedDict()
        return cache

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
