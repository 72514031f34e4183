"""Shared fixtures: real redis-server and moto server processes, started once per session."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from infra.local.services import ManagedProcess, free_port, moto_process, redis_process

# boto3 must never reach real AWS from the tests.
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.setdefault("AWS_REGION", "us-east-1")
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "CompanionTest")
os.environ.setdefault("POWERTOOLS_DEV", "false")
os.environ.setdefault("APP_ENV", "test")


@pytest.fixture(scope="session")
def redis_proc() -> Iterator[ManagedProcess]:
    proc = redis_process(free_port()).start()
    yield proc
    proc.stop()


@pytest.fixture(scope="session")
def redis_url(redis_proc: ManagedProcess) -> str:
    return f"redis://127.0.0.1:{redis_proc.port}/0"


@pytest.fixture()
def own_redis() -> Iterator[ManagedProcess]:
    """A redis-server of the test's own, for tests that stop it mid-way."""
    proc = redis_process(free_port()).start()
    yield proc
    proc.stop()


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    proc = moto_process(free_port()).start(timeout_s=60)
    url = f"http://127.0.0.1:{proc.port}"
    os.environ["AWS_ENDPOINT_URL"] = url
    yield url
    proc.stop()
