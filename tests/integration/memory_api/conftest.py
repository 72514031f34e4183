"""Memory API fixtures: the memory API's own container over the shared stores (moto, redis-server,
the OpenSearch emulator) behind an HTTP client. Seeding goes through the shared ``seeder``."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from companion.api.memory_api.app import create_app
from companion.auth import issue_token
from companion.bootstrap import MemoryApiContainer, build_memory_api_container
from companion.config import Settings

from tests.fixtures.stores import JWT_SECRET

__all__ = ["JWT_SECRET"]  # the secret the shared settings sign with, as the tests import it


@dataclass
class Api:
    container: MemoryApiContainer
    http: httpx.AsyncClient
    user_id: str
    headers: dict[str, str] = field(default_factory=dict)

    def auth(self, user_id: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {issue_token(JWT_SECRET, user_id or self.user_id)}"}

    async def call(self, method: str, path: str, *, user: str | None = None, **kw: Any) -> httpx.Response:
        return await self.http.request(method, path, headers=self.auth(user), **kw)


@pytest.fixture()
async def memory_api_container_factory(recall_settings: Callable[..., Settings]
                                       ) -> AsyncIterator[Callable[..., MemoryApiContainer]]:
    """``make(**settings_overrides)``: a memory API container over the shared stores, closed after the test."""
    made: list[MemoryApiContainer] = []

    def make(**overrides: Any) -> MemoryApiContainer:
        made.append(build_memory_api_container(recall_settings(**overrides)))
        return made[-1]

    yield make
    for c in made:
        await c.aclose()


@pytest.fixture()
async def api(memory_api_container_factory: Callable[..., MemoryApiContainer], user_id: str) -> AsyncIterator[Api]:
    container = memory_api_container_factory()
    app = create_app(container)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api.test",
                                 timeout=30) as http:
        yield Api(container, http, user_id)
