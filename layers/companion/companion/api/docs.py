"""The OpenAPI spec and a Swagger UI page for either HTTP app, with nothing fetched from a CDN.

``/openapi.json`` is always served. ``/docs`` and its assets (``/docs/assets/...``) come from the
``swagger-ui-bundle`` package, a dev dependency: the local stack serves the page, while the
deployed layer, which does not ship it, answers ``/docs`` with a 404 in the project's error shape.
Only Starlette is imported here (the chat function's cold start must not pay for FastAPI).
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Route

from .errors import error_response

# The files the page loads; everything else in the bundle (source maps, its demo page) stays unserved.
_ASSETS = {"swagger-ui.css": "text/css", "swagger-ui-bundle.js": "text/javascript",
           "favicon-32x32.png": "image/png", "favicon-16x16.png": "image/png"}

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<link rel="stylesheet" href="{assets}/swagger-ui.css">
<link rel="icon" type="image/png" href="{assets}/favicon-32x32.png" sizes="32x32">
</head>
<body>
<div id="swagger-ui"></div>
<script src="{assets}/swagger-ui-bundle.js"></script>
<script>
// validatorUrl null: the default badge would send the spec to validator.swagger.io.
window.ui = SwaggerUIBundle({{url: {spec}, dom_id: "#swagger-ui", validatorUrl: null,
  deepLinking: true, presets: [SwaggerUIBundle.presets.apis]}});
</script>
</body>
</html>
"""


def _swagger_ui_dir() -> Path | None:
    try:
        from swagger_ui_bundle import swagger_ui_path
    except ImportError:  # the deployed layer: docs are a local convenience
        return None
    return Path(str(swagger_ui_path))


def docs_routes(*, title: str, openapi: Callable[[], dict[str, Any]]) -> list[BaseRoute]:
    """``GET /openapi.json`` (``openapi()`` called per request: cache in it if building is costly),
    ``GET /docs`` and ``GET /docs/assets/{name}``. Paths honour the ASGI ``root_path``."""
    found: list[Path | None] = []

    def ui_dir() -> Path | None:  # looked up on the first docs request, not on the cold start
        if not found:
            found.append(_swagger_ui_dir())
        return found[0]

    async def spec(_: Request) -> Response:
        return JSONResponse(openapi())

    async def page(request: Request) -> Response:
        if ui_dir() is None:
            return error_response(404, "docs_not_served",
                                  "the API docs page is served by the local stack only (make dev); "
                                  "the OpenAPI spec is at /openapi.json")
        root = request.scope.get("root_path", "").rstrip("/")
        return HTMLResponse(_PAGE.format(title=html.escape(title), assets=f"{root}/docs/assets",
                                         spec=json.dumps(f"{root}/openapi.json")))

    async def asset(request: Request) -> Response:
        name = request.path_params["name"]
        folder = ui_dir()
        if folder is None or name not in _ASSETS:
            return error_response(404, "not_found", f"there is no docs asset '{name}'")
        return FileResponse(folder / name, media_type=_ASSETS[name],
                            headers={"cache-control": "public, max-age=86400"})

    return [Route("/openapi.json", spec, methods=["GET"], include_in_schema=False),
            Route("/docs", page, methods=["GET"], include_in_schema=False),
            Route("/docs/assets/{name}", asset, methods=["GET"], include_in_schema=False)]
