"""Recall fixtures: moto (DynamoDB/S3/SQS), redis-server and the OpenSearch emulator, all real processes."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
import redis
from companion.bootstrap import Container, build_container
from companion.config import Settings

from infra.local.resources import create_local_resources
from infra.local.stack import seed_characters
from infra.opensearch_emulator import EmulatorServer

from .support import Seeder

JWT_SECRET = "test-secret-for-recall-tests"


@pytest.fixture(scope="session")
def opensearch_url() -> Iterator[str]:
    server = EmulatorServer()
    url = server.start()
    yield url
    server.stop()


@pytest.fixture(scope="session")
def memory_resources(moto_endpoint: str) -> dict[str, str]:
    created = create_local_resources(Settings(aws_endpoint_url=moto_endpoint))
    asyncio.run(seed_characters({"AWS_ENDPOINT_URL": moto_endpoint}))
    return created


@pytest.fixture()
def recall_settings(redis_url: str, moto_endpoint: str, memory_resources: dict[str, str],
                    opensearch_url: str) -> Callable[..., Settings]:
    with redis.Redis.from_url(redis_url) as r:
        r.flushdb()

    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = dict(
            app_env="test", redis_url=redis_url, aws_endpoint_url=moto_endpoint, opensearch_url=opensearch_url,
            opensearch_index="ltm-recall-tests", memory_queue_url=memory_resources["memory_queue_url"],
            jwt_secret=JWT_SECRET, llm_chain=[], memory_segment_threshold=1000, recall_policy="intent",
            # The test machine is shared and small: CPU-bound query embeddings can take seconds.
            recall_budget_ms=8000)
        values.update(overrides)
        return Settings(**values)

    return make


@pytest.fixture()
async def container_factory(recall_settings: Callable[..., Settings]) -> AsyncIterator[Callable[..., Container]]:
    made: list[Container] = []

    def make(**overrides: Any) -> Container:
        recaller = overrides.pop("recaller", None)
        c = build_container(recall_settings(**overrides), recaller=recaller)
        made.append(c)
        return c

    yield make
    for c in made:
        await c.aclose()


@pytest.fixture()
def container(container_factory: Callable[..., Container]) -> Container:
    return container_factory()


@pytest.fixture()
def seeder(container: Container) -> Seeder:
    return Seeder(container)


@pytest.fixture()
def user_id() -> str:
    return f"u-{uuid.uuid4().hex[:10]}"
