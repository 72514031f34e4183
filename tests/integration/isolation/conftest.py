"""Isolation fixtures: one container over every real store (the shared ``container_factory``), and the chat
app over it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import httpx
import pytest
from companion.api.chat_app import create_app
from companion.bootstrap import Container

from tests.fixtures.stores import JWT_SECRET

__all__ = ["JWT_SECRET"]  # the secret the shared settings sign with, as the tests import it


@pytest.fixture()
def stores(container_factory: Callable[..., Container]) -> Container:
    # No embedding model: the tests give documents their vectors, and loading one is slow.
    return container_factory(embedding_provider="none", opensearch_index="ltm-isolation-tests")


@pytest.fixture()
async def chat_http(stores: Container) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(stores)),
                                 base_url="http://chat.test", timeout=30) as http:
        yield http
