"""One error shape for every HTTP API: ``{"error": {"code", "message"}}`` with a fitting status.

Both apps install the same handlers: the chat function (Starlette) through
``exception_handlers()``, the memory API (FastAPI) through ``install_error_handlers``.
FastAPI is imported only inside the latter, so the chat function's cold start never pays for it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ..errors import AppError, StoreUnavailable
from ..observability import logger
from .requests import describe_validation_errors

if TYPE_CHECKING:
    from fastapi import FastAPI

Handler = Callable[[Request, Exception], Awaitable[Response]]


def error_response(status: int, code: str, message: str, *, headers: Mapping[str, str] | None = None,
                   details: Any = None) -> JSONResponse:
    err: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        err["details"] = details
    return JSONResponse({"error": err}, status_code=status, headers=headers)


async def _app_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, AppError)
    return JSONResponse(exc.body(), status_code=exc.status, headers=exc.headers)


async def _store_unavailable(_: Request, exc: Exception) -> Response:
    # Any store an adapter could not reach, on any route: the caller may retry, nothing is wrong with the request.
    logger.warning("store unavailable: %s", exc)
    return error_response(503, "store_unavailable", "a data store is unavailable, please retry")


class Responder(Protocol):
    def __call__(self, status: int, code: str, message: str, *,
                 headers: Mapping[str, str] | None = None) -> Response: ...


def routing_handlers(respond: Responder) -> tuple[Handler, Handler]:
    """The handlers for an unknown route or method and for an unexpected exception, in the shape
    ``respond`` writes: the same words in every API, whatever its error shape."""

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        if exc.status_code == 404:
            return respond(404, "not_found", f"there is no route {request.method} {request.url.path}")
        if exc.status_code == 405:
            return respond(405, "method_not_allowed", f"{request.method} is not allowed on {request.url.path}",
                           headers=exc.headers)
        return respond(exc.status_code, "http_error", str(exc.detail), headers=exc.headers)

    async def unexpected(_: Request, exc: Exception) -> Response:
        logger.exception("unhandled error")
        return respond(500, "internal_error", "something went wrong on our side")

    return http_error, unexpected


async def _request_validation(_: Request, exc: Exception) -> Response:
    errors = exc.errors() if hasattr(exc, "errors") else []
    return error_response(422, "invalid_request", "the request is not valid",
                          details=describe_validation_errors(errors, located=True))


def exception_handlers() -> dict[Any, Handler]:
    """The handlers both apps use, most specific first (Starlette looks them up by the exception's MRO)."""
    http_error, unexpected = routing_handlers(error_response)
    return {AppError: _app_error, StoreUnavailable: _store_unavailable, HTTPException: http_error,
            Exception: unexpected}


def install_error_handlers(app: FastAPI) -> None:
    from fastapi.exceptions import RequestValidationError

    for exc_type, handler in exception_handlers().items():
        app.add_exception_handler(exc_type, handler)
    app.add_exception_handler(RequestValidationError, _request_validation)
