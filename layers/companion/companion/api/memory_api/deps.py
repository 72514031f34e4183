"""What the memory API's routes depend on: the container, the caller, the memory admin service.

The container is built on the first request (creating the app connects to nothing, so a cold
start pays for the clients only when a request needs them) and lives as long as the app.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cached_property
from typing import Annotated

from fastapi import Depends, Query, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from ...bootstrap import MemoryApiContainer
from ...errors import AppError
from ...memory.admin import MemoryAdmin
from ..requests import ID_PATTERN

_ID = re.compile(ID_PATTERN)


class MemoryApiServices:
    """The app's container, built once on first use, and the services on it."""

    def __init__(self, build: Callable[[], MemoryApiContainer]) -> None:
        self._build = build

    @cached_property
    def container(self) -> MemoryApiContainer:
        return self._build()

    @property
    def built(self) -> bool:
        return "container" in self.__dict__

    @cached_property
    def admin(self) -> MemoryAdmin:
        c = self.container
        return MemoryAdmin(records=c.memory_repo, index=c.memory_index, archive=c.archive, messages=c.message_log,
                           short_term=c.short_term, embedder=c.embedder,
                           embed_max_chars=c.settings.memory_embed_max_chars, refresh_index=c.settings.is_local)


async def _services(request: Request) -> MemoryApiServices:
    services: MemoryApiServices = request.app.state.services
    return services


async def _container(services: Annotated[MemoryApiServices, Depends(_services)]) -> MemoryApiContainer:
    return services.container


async def _admin(services: Annotated[MemoryApiServices, Depends(_services)]) -> MemoryAdmin:
    return services.admin


# Declares the scheme in the docs ("Authorize"); the token itself is checked by the verifier,
# from the raw header, so a missing or malformed one gets the project's 401 in its words.
_bearer = HTTPBearer(auto_error=False, description="A JWT whose `sub` is your user id "
                                                   "(locally: `make token USER=alice`).")


async def _current_user(request: Request, c: Annotated[MemoryApiContainer, Depends(_container)],
                        _: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)]) -> str:
    return c.verifier.verify(request.headers.get("authorization"))


ContainerDep = Annotated[MemoryApiContainer, Depends(_container)]
AdminDep = Annotated[MemoryAdmin, Depends(_admin)]
UserId = Annotated[str, Depends(_current_user)]  # the caller, from the JWT's ``sub``: never from a body or path
CharacterQuery = Annotated[str, Query(pattern=ID_PATTERN, description="a character id, e.g. `xiaoyu`")]
OptionalCharacterQuery = Annotated[str | None, Query(
    pattern=ID_PATTERN, description="the item's character, when known (a faster, consistent read)")]


def check_id(value: str, what: str = "id") -> str:
    """A path id checked after the caller and the body, as every route does it."""
    if not _ID.match(value):
        raise AppError(f"invalid {what}", code="invalid_request", status=422)
    return value
