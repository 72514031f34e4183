"""The memory API's FastAPI app: the routers, the error handlers, CORS, the docs.

    app = create_app()            # the function's: the container is built on the first request
    app = create_app(container)   # tests: over a container they built (and close)
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic.json_schema import models_json_schema

from ...bootstrap import MemoryApiContainer, build_memory_api_container
from ...config import Settings
from ..cors import add_cors
from ..docs import docs_routes
from ..errors import install_error_handlers
from ..middleware import CorrelationMiddleware
from . import characters, history, memories
from .deps import MemoryApiServices
from .schemas import BODY_MODELS

TITLE = "Companion memory API"
VERSION = "1.0"
DESCRIPTION = """What a character remembers about you, and the characters themselves.

Every route takes the user from the bearer token (the JWT's `sub`), never from the body or the
path: an id that belongs to someone else answers 404, exactly like one that does not exist.
Errors have one shape, `{"error": {"code", "message", "details"?}}`. 记忆 API：每个请求的用户都来自令牌。
"""


def create_app(container: MemoryApiContainer | None = None) -> FastAPI:
    services = MemoryApiServices((lambda: container) if container is not None else build_memory_api_container)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        if container is None and services.built:  # ours to close; a container passed in is the caller's
            await services.container.aclose()

    app = FastAPI(title=TITLE, version=VERSION, description=DESCRIPTION, lifespan=lifespan,
                  openapi_url=None, docs_url=None, redoc_url=None)  # served by ``docs_routes`` below
    app.state.services = services
    install_error_handlers(app)
    add_cors(app, container.settings if container else Settings(), "memory")
    app.add_middleware(CorrelationMiddleware)

    @app.get("/health", include_in_schema=False)
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    for module in (memories, characters, history):
        app.include_router(module.router)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            spec = get_openapi(title=TITLE, version=VERSION, description=DESCRIPTION, routes=app.routes)
            # The bodies the handlers parse themselves (``schemas.json_body`` refers to these).
            _, defs = models_json_schema([(m, "validation") for m in BODY_MODELS],
                                         ref_template="#/components/schemas/{model}")
            spec.setdefault("components", {}).setdefault("schemas", {}).update(defs.get("$defs", {}))
            app.openapi_schema = spec
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented way to customise the spec
    app.router.routes.extend(docs_routes(title=TITLE, openapi=openapi))
    return app
