"""Fixtures: opensearch-py clients of the session's emulator (``emulator_url``), and a fresh index name per test."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
from opensearchpy import AsyncOpenSearch, OpenSearch


@pytest.fixture(scope="session")
def os_client(emulator_url: str) -> Iterator[OpenSearch]:
    client = OpenSearch(emulator_url, timeout=30)
    yield client
    client.close()


@pytest.fixture()
async def async_os_client(emulator_url: str) -> AsyncIterator[AsyncOpenSearch]:
    client = AsyncOpenSearch(emulator_url, timeout=30)
    yield client
    await client.close()


@pytest.fixture()
def index_name(os_client: OpenSearch) -> Iterator[str]:
    name = f"test-{uuid.uuid4().hex[:12]}"
    yield name
    os_client.indices.delete(index=name, ignore_unavailable=True)
