"""boto3 clients, created once per execution environment and reused.

boto3 is imported lazily: it costs ~150 ms of import time that the chat path's cold
start should not pay before the first request needs it. ``AWS_ENDPOINT_URL`` (moto,
LocalStack) is honoured by boto3 itself.
"""

from __future__ import annotations

import threading
from functools import lru_cache
from typing import Any

_lock = threading.Lock()


@lru_cache(maxsize=1)
def _session() -> Any:
    import boto3

    return boto3.session.Session()


def client(service: str, *, endpoint_url: str | None = None, connect_timeout: float = 1.0,
           read_timeout: float = 3.0, max_attempts: int = 2) -> Any:
    """A cached client; ``endpoint_url`` None lets boto3 use AWS_ENDPOINT_URL or the real AWS."""
    return _client(service, endpoint_url, connect_timeout, read_timeout, max_attempts)


@lru_cache(maxsize=32)
def _client(service: str, endpoint_url: str | None, connect_timeout: float, read_timeout: float,
            max_attempts: int) -> Any:
    from botocore.config import Config

    cfg = Config(connect_timeout=connect_timeout, read_timeout=read_timeout,
                 retries={"max_attempts": max_attempts, "mode": "standard"},
                 max_pool_connections=50)
    with _lock:  # boto3 session creation of clients is not thread-safe
        return _session().client(service, config=cfg, endpoint_url=endpoint_url)


def reset_clients() -> None:
    """Forget cached clients (tests that change AWS_ENDPOINT_URL)."""
    _client.cache_clear()
    _session.cache_clear()
