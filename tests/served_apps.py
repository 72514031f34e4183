"""The chat function and the memory API served as the local stack serves them, each a uvicorn
subprocess over the shared stores (tests/fixtures: redis-server, moto's server, the OpenSearch
emulator), for tests that drive them from outside (the browser, the terminal client). Registered
for every test by tests/conftest.py: ``stack`` and ``start_stack`` are fixtures everywhere."""

from __future__ import annotations

import concurrent.futures
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from companion.config import Settings

from infra.local.services import free_port, wait_for_port
from infra.local.worker_poller import WorkerPoller
from tests.fixtures.stores import JWT_SECRET

ROOT = Path(__file__).resolve().parents[1]


def server_env(settings: Settings, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("REDIS_", "OPENSEARCH_", "LLM_", "JWT_", "RATE_LIMIT_", "WEB_ROOT", "CORS_"))}
    env.update({
        "APP_ENV": "test", "REDIS_URL": settings.redis_url, "AWS_ENDPOINT_URL": str(settings.aws_endpoint_url),
        "OPENSEARCH_URL": settings.opensearch_url, "OPENSEARCH_INDEX": settings.opensearch_index,
        "MEMORY_QUEUE_URL": settings.memory_queue_url, "JWT_SECRET": JWT_SECRET,
        "LLM_CHAIN": "[]", "EMBEDDING_PROVIDER": "none", "WEB_ROOT": str(ROOT / "web"),
        # These tests do not test Redis timeouts; on a loaded 2-core box a reply can take longer
        # than the 0.5 s default, and the turn would report "redis" as degraded.
        "REDIS_TIMEOUT_S": "5",
        "PYTHONPATH": os.pathsep.join([str(ROOT / "layers" / "companion"), str(ROOT)]),
    })
    env.update(extra)
    return env


@dataclass
class Stack:
    chat_url: str
    memory_url: str
    settings: Settings

    def run_worker(self) -> dict[str, int]:
        """What the local stack's poller does: SQS → the worker handler, until the queue is idle."""
        def drain() -> dict[str, int]:
            from functions.memory_worker import app

            try:
                return WorkerPoller(self.settings, wait_s=1).drain(idle_polls=2, timeout_s=90)
            finally:  # the handler's clients live on its loop: close them there
                rt = app.runtime()
                rt.loop.run(rt.worker.aclose())

        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            return pool.submit(drain).result(timeout=120)


@pytest.fixture()
def start_stack(recall_settings: Callable[..., Settings]) -> Iterator[Callable[..., Stack]]:
    procs: list[subprocess.Popen[bytes]] = []

    def start(**extra_env: str) -> Stack:
        settings = recall_settings(embedding_provider="none")
        env = server_env(settings, **extra_env)
        urls = []
        for app in ("companion.api.chat_app:create_app", "companion.api.memory_api.app:create_app"):
            port = free_port()
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "uvicorn", app, "--factory", "--port", str(port), "--log-level", "warning"],
                cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE))
            urls.append(f"http://127.0.0.1:{port}")
            wait_for_port(port, timeout_s=60, proc=procs[-1])  # type: ignore[arg-type]
        return Stack(urls[0], urls[1], settings)

    yield start
    for p in procs:
        p.terminate()
        p.wait(timeout=10)


@pytest.fixture()
def stack(start_stack: Callable[..., Stack]) -> Stack:
    return start_stack()
