"""The web chat page on the chat app, and local sign-in for it.

* ``WEB_ROOT`` set (the local stack sets it): the folder's static files (``web/``) answer every
  path no route takes, so ``/`` is the page. They are the router's fallback rather than a
  ``Mount("/")``: a mount would take ``GET /api/v1/chat/stream`` too and answer 404 where the
  API answers 405. On AWS the page is served from S3 + CloudFront instead (README).
* Local mode only (``APP_ENV`` local/test): ``POST /dev/token`` ``{"user": name}`` →
  ``{"token": ...}``, signed with the key the verifier checks, so the page can sign in a name.
  Elsewhere the route does not exist: tokens come from the identity provider.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic_core import PydanticCustomError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.staticfiles import StaticFiles

from ..auth import issue_token, resolve_secret, valid_user_id
from ..config import Settings
from .requests import VisibleText, parse_body

MAX_NAME_CHARS = 64


def _usable_as_user_id(value: str) -> str:
    if not valid_user_id(value):
        raise PydanticCustomError("invalid_user", "must not hold control characters")
    return value


class DevTokenRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Any script: "小林", "Sam", "Zoë" are all names; the id is data wherever it is stored.
    user: Annotated[VisibleText, Field(min_length=1, max_length=MAX_NAME_CHARS), AfterValidator(_usable_as_user_id)]


def install_web(app: Starlette, settings: Settings) -> None:
    """Adds the local sign-in route and, with ``WEB_ROOT``, the page's files to the chat app."""
    if settings.is_local:
        async def dev_token(request: Request) -> Response:
            body = await parse_body(request, DevTokenRequest)
            name = body.user.strip()
            return JSONResponse({"user": name, "token": issue_token(resolve_secret(settings), name, name=name)})

        app.add_route("/dev/token", dev_token, methods=["POST"])
    if settings.web_root:
        # check_dir: a wrong WEB_ROOT fails at start-up, not on the first visit.
        app.router.default = StaticFiles(directory=settings.web_root, html=True, check_dir=True)
