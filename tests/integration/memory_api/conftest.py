"""Memory API fixtures: the recall fixtures (moto, redis-server, OpenSearch emulator) plus an HTTP client."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from companion.api.memory_app import create_app
from companion.auth import issue_token
from companion.bootstrap import Container

from tests.integration.recall import conftest as recall_fixtures

# The recall tests' fixtures, shared (pytest finds fixtures by name in this module).
JWT_SECRET = recall_fixtures.JWT_SECRET
opensearch_url = recall_fixtures.opensearch_url
memory_resources = recall_fixtures.memory_resources
recall_settings = recall_fixtures.recall_settings
container_factory = recall_fixtures.container_factory
container = recall_fixtures.container
seeder = recall_fixtures.seeder
user_id = recall_fixtures.user_id


@dataclass
class Api:
    container: Container
    http: httpx.AsyncClient
    user_id: str
    headers: dict[str, str] = field(default_factory=dict)

    def auth(self, user_id: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {issue_token(JWT_SECRET, user_id or self.user_id)}"}

    async def call(self, method: str, path: str, *, user: str | None = None, **kw: Any) -> httpx.Response:
        return await self.http.request(method, path, headers=self.auth(user), **kw)


@pytest.fixture()
async def api(container: Container, user_id: str) -> AsyncIterator[Api]:
    app = create_app(container)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api.test",
                                 timeout=30) as http:
        yield Api(container, http, user_id)
