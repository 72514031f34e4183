"""CORS for both apps, exactly as template.yaml configures it on AWS.

On AWS the chat Function URL (``FunctionUrlConfig.Cors``) and the HTTP API
(``CorsConfiguration``) answer preflights and set the CORS headers themselves, overriding any
the function returns. Locally, and in a container, nothing stands in front of the apps, so
the apps do the same with Starlette's middleware. The methods, headers and max age below are
the template's (tests/browser/test_cors.py compares them); the origins come from
``CORS_ALLOW_ORIGINS``, which the template fills from its ``AllowedOrigins`` parameter.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from starlette.applications import Starlette
from starlette.middleware.cors import CORSMiddleware

from ..config import Settings


@dataclass(frozen=True)
class CorsRules:
    methods: tuple[str, ...]
    headers: tuple[str, ...]
    expose: tuple[str, ...]
    max_age: int


# ``retry-after`` is exposed so a page on another origin can say when to try again after a 429.
CHAT_FUNCTION_URL = CorsRules(methods=("GET", "POST", "DELETE"),
                              headers=("authorization", "content-type", "idempotency-key", "last-event-id"),
                              expose=("retry-after", "x-request-id"), max_age=600)
HTTP_API = CorsRules(methods=("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"),
                     headers=("authorization", "content-type", "idempotency-key"),
                     expose=("retry-after", "x-request-id"), max_age=600)
RULES: dict[str, CorsRules] = {"chat": CHAT_FUNCTION_URL, "memory": HTTP_API}


def allowed_origins(settings: Settings) -> list[str]:
    origins = [o.strip() for o in settings.cors_allow_origins.split(",") if o.strip()]
    return ["*"] if "*" in origins else origins


def add_cors(app: Starlette, settings: Settings, front_door: Literal["chat", "memory"]) -> None:
    """Adds the CORS middleware (outermost, so error responses carry the headers too)."""
    rules = RULES[front_door]
    app.add_middleware(CORSMiddleware, allow_origins=allowed_origins(settings), allow_methods=list(rules.methods),
                       allow_headers=list(rules.headers), expose_headers=list(rules.expose),
                       allow_credentials=False, max_age=rules.max_age)
