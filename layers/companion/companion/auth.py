"""Bearer-token verification. The user id is the token's ``sub``, never a request field.

HS256 with a shared secret for local and development; RS256/ES256 against a JWKS
endpoint (e.g. a Cognito user pool) when ``JWT_JWKS_URL`` is set.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import jwt

from .config import Settings
from .errors import Unauthorized

LOCAL_DEV_SECRET = "companion-local-dev-secret-change-me"  # only used when APP_ENV is local/test


def resolve_secret(settings: Settings) -> str:
    if settings.jwt_secret:
        return settings.jwt_secret
    if settings.jwt_secret_param:
        from .secrets import read_secret

        return read_secret(settings.jwt_secret_param)
    if settings.is_local:
        return LOCAL_DEV_SECRET
    raise RuntimeError("no JWT key configured: set JWT_SECRET_PARAM or JWT_JWKS_URL")


# Claims an identity provider may put the person's own name in (OIDC standard claims), first found wins.
DISPLAY_NAME_CLAIMS = ("name", "nickname", "preferred_username", "given_name")
MAX_DISPLAY_NAME_CHARS = 64


@dataclass(frozen=True)
class Identity:
    user_id: str  # the token's ``sub``
    display_name: str | None = None  # what the token says the person is called, if it says


class TokenVerifier:
    def __init__(self, settings: Settings) -> None:
        self._s = settings

    @cached_property
    def _jwks(self) -> Any:
        return jwt.PyJWKClient(self._s.jwt_jwks_url, cache_keys=True, lifespan=3600)

    @cached_property
    def _secret(self) -> str:
        return resolve_secret(self._s)

    def verify(self, authorization: str | None) -> str:
        """Returns the user id for an ``Authorization: Bearer`` header value."""
        return self.identify(authorization).user_id

    def identify(self, authorization: str | None) -> Identity:
        """The user id and, when the token carries one, the person's display name."""
        if not authorization:
            raise Unauthorized("missing bearer token", code="missing_token")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("expected 'Authorization: Bearer <token>'", code="invalid_token")
        options: dict[str, Any] = {"require": ["sub", "exp"]}
        kwargs: dict[str, Any] = {"options": options, "leeway": 5}
        if self._s.jwt_audience:
            kwargs["audience"] = self._s.jwt_audience
        else:
            options["verify_aud"] = False
        if self._s.jwt_issuer:
            kwargs["issuer"] = self._s.jwt_issuer
        try:
            if self._s.jwt_jwks_url:
                key = self._jwks.get_signing_key_from_jwt(token.strip()).key
                claims = jwt.decode(token.strip(), key, algorithms=["RS256", "ES256"], **kwargs)
            else:
                claims = jwt.decode(token.strip(), self._secret, algorithms=["HS256"], **kwargs)
        except jwt.ExpiredSignatureError as exc:
            raise Unauthorized("token has expired", code="token_expired") from exc
        except jwt.PyJWTError as exc:
            # The library's reason names its internals; the client gets ours (the log keeps the cause).
            raise Unauthorized(_reason(exc), code="invalid_token") from exc
        sub = claims.get("sub")
        if not isinstance(sub, str) or not valid_user_id(sub):
            raise Unauthorized("token subject is not a valid user id", code="invalid_token")
        return Identity(sub, display_name(claims))


def display_name(claims: dict[str, Any]) -> str | None:
    """The first display-name claim that is a usable name: one line of text, whitespace collapsed, cut to 64."""
    for claim in DISPLAY_NAME_CLAIMS:
        value = claims.get(claim)
        if isinstance(value, str) and valid_user_id(value.strip()):
            return " ".join(value.split())[:MAX_DISPLAY_NAME_CHARS]
    return None


# Identity providers issue many forms (Cognito UUIDs, "auth0|…", "google-oauth2|…", e-mail
# addresses, ids with ':' or '#'): all are data, encoded where they meet a separator
# (adapters.keys). Only what no store or log line should hold is refused.
MAX_USER_ID_CHARS = 256


def valid_user_id(sub: str) -> bool:
    if not sub.strip() or len(sub) > MAX_USER_ID_CHARS:
        return False
    for ch in sub:
        code = ord(ch)
        if code < 0x20 or 0x7F <= code < 0xA0 or 0xD800 <= code <= 0xDFFF or ch in "\u2028\u2029":
            return False  # control characters, lone surrogates, line separators
    return True


def _reason(exc: Exception) -> str:
    if isinstance(exc, jwt.ImmatureSignatureError):
        return "token is not valid yet"
    if isinstance(exc, jwt.InvalidAudienceError):
        return "token is not meant for this service"
    if isinstance(exc, jwt.InvalidIssuerError):
        return "token was issued by an unknown issuer"
    if isinstance(exc, jwt.MissingRequiredClaimError):
        return "token lacks a required claim"
    if isinstance(exc, jwt.InvalidSignatureError):
        return "token signature does not match"
    if isinstance(exc, jwt.InvalidAlgorithmError):
        return "token is signed with an algorithm this service does not accept"
    if isinstance(exc, jwt.PyJWKClientError):
        return "token signing key could not be found"
    return "token is malformed or cannot be verified"


CURSOR_KEY_PURPOSE = b"companion-pagination-cursor-v1"


def resolve_cursor_secret(settings: Settings) -> bytes:
    """The key that signs pagination cursors: ``CURSOR_SECRET``, else one derived from the JWT
    key (a cursor key never doubles as a token key), else the local development key."""
    if settings.cursor_secret:
        return settings.cursor_secret.encode("utf-8")
    if settings.jwt_secret or settings.jwt_secret_param or settings.is_local:
        base = resolve_secret(settings).encode("utf-8")
        return hmac.new(base, CURSOR_KEY_PURPOSE, hashlib.sha256).digest()
    raise RuntimeError("no cursor key configured: set CURSOR_SECRET")


def issue_token(secret: str, user_id: str, *, ttl_s: int = 7 * 86400, **claims: Any) -> str:
    """An HS256 token for local development and tests."""
    now = int(time.time())
    return jwt.encode({"sub": user_id, "iat": now, "exp": now + ttl_s, **claims}, secret, algorithm="HS256")
