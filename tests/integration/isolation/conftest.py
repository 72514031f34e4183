"""Isolation fixtures: one container over every real store (redis-server, moto's server, the
OpenSearch emulator), shared with the recall tests, and the chat app over it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import httpx
import pytest
from companion.api.chat_app import create_app
from companion.bootstrap import Container

from tests.integration.recall import conftest as recall_fixtures

JWT_SECRET = recall_fixtures.JWT_SECRET
opensearch_url = recall_fixtures.opensearch_url
memory_resources = recall_fixtures.memory_resources
recall_settings = recall_fixtures.recall_settings
container_factory = recall_fixtures.container_factory


@pytest.fixture()
def stores(container_factory: Callable[..., Container]) -> Container:
    # No embedding model: the tests give documents their vectors, and loading one is slow.
    return container_factory(embedding_provider="none", opensearch_index="ltm-isolation-tests")


@pytest.fixture()
async def chat_http(stores: Container) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(stores)),
                                 base_url="http://chat.test", timeout=30) as http:
        yield http
