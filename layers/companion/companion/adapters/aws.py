"""boto3 clients, created once per execution environment and reused, and the one way to call them.

Every boto3 client of the package is made here (DynamoDB, S3, SQS, Bedrock), so timeouts,
retries and pool sizes are set in one place. boto3 is imported lazily: it costs ~150 ms of
import time that the chat path's cold start should not pay before the first request needs
it. ``AWS_ENDPOINT_URL`` (moto, LocalStack) is honoured by boto3 itself.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache, partial
from typing import Any, TypeVar

from ..errors import StoreUnavailable

T = TypeVar("T")

_lock = threading.Lock()

# The threads that run boto3 calls, and each client's connection pool: one connection per thread, so
# a call never waits for a connection (botocore's default pool of 10 would queue the other threads).
POOL_THREADS = 64

# Error codes that answer the request (a failed condition, a malformed request) rather than say
# the service is away: callers see the ClientError itself, never StoreUnavailable.
_ANSWERS = frozenset({"ConditionalCheckFailedException", "TransactionCanceledException", "ValidationException"})


@lru_cache(maxsize=1)
def _session() -> Any:
    import boto3

    return boto3.session.Session()


def client(service: str, *, endpoint_url: str | None = None, region: str | None = None,
           connect_timeout: float = 1.0, read_timeout: float = 3.0, max_attempts: int = 2) -> Any:
    """A cached client; ``endpoint_url`` None lets boto3 use AWS_ENDPOINT_URL or the real AWS,
    ``region`` None the environment's region."""
    return _client(service, endpoint_url, region, connect_timeout, read_timeout, max_attempts)


def bedrock_runtime(region: str | None, *, read_timeout: float, max_attempts: int) -> Any:
    """The bedrock-runtime client (models and embeddings): a slower service than the stores."""
    return client("bedrock-runtime", region=region, connect_timeout=5.0, read_timeout=read_timeout,
                  max_attempts=max_attempts)


@lru_cache(maxsize=32)
def _client(service: str, endpoint_url: str | None, region: str | None, connect_timeout: float,
            read_timeout: float, max_attempts: int) -> Any:
    from botocore.config import Config

    # A fixed user agent and no client-side parameter validation: botocore otherwise rebuilds the
    # user-agent string and walks the request's shapes on every call, CPU each chat turn pays
    # several times (benchmarks/bench_turn_cpu.py); the service still validates every request.
    cfg = Config(connect_timeout=connect_timeout, read_timeout=read_timeout,
                 retries={"max_attempts": max_attempts, "mode": "standard"},
                 max_pool_connections=POOL_THREADS, parameter_validation=False,
                 user_agent="companion")
    with _lock:  # boto3 session creation of clients is not thread-safe
        return _session().client(service, config=cfg, endpoint_url=endpoint_url, region_name=region)


def error_code(exc: BaseException) -> str:
    """The AWS error code of a botocore ClientError ("" for any other exception)."""
    response = getattr(exc, "response", None)
    return str((response.get("Error") or {}).get("Code", "")) if isinstance(response, dict) else ""


# boto3 is blocking; a dedicated pool sized for I/O keeps many concurrent turns from queueing
# behind asyncio's small default executor (min(32, cpus + 4) threads).
_POOL = ThreadPoolExecutor(max_workers=POOL_THREADS, thread_name_prefix="aws")


async def call(fn: Callable[..., T], /, **kwargs: Any) -> T:
    """Run a blocking boto3 call off the event loop; connection failures become StoreUnavailable."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        return await asyncio.get_running_loop().run_in_executor(_POOL, partial(fn, **kwargs))
    except ClientError as exc:
        code = error_code(exc)
        if code in _ANSWERS:
            raise
        raise StoreUnavailable(f"aws: {code or exc}") from exc
    except BotoCoreError as exc:
        raise StoreUnavailable(f"aws: {exc}") from exc
