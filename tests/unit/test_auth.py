"""Token verification: HS256 with a shared key, and RS256 against a JWKS endpoint (e.g. Cognito)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import pytest
from companion.auth import TokenVerifier, issue_token
from companion.config import Settings
from companion.errors import Unauthorized
from cryptography.hazmat.primitives.asymmetric import rsa

KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def jwks_url() -> Iterator[str]:
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(KEY.public_key()))
    body = json.dumps({"keys": [{**jwk, "kid": "k1", "use": "sig", "alg": "RS256"}]}).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/.well-known/jwks.json"
    server.shutdown()


def _rs256(sub: str, *, ttl: int = 300, **claims: object) -> str:
    now = int(time.time())
    return jwt.encode({"sub": sub, "iat": now, "exp": now + ttl, **claims}, KEY, algorithm="RS256",
                      headers={"kid": "k1"})


def test_hs256_round_trip_and_failures() -> None:
    v = TokenVerifier(Settings(jwt_secret="s3cret"))
    assert v.verify(f"Bearer {issue_token('s3cret', 'alice')}") == "alice"
    with pytest.raises(Unauthorized) as exc:
        v.verify(f"Bearer {issue_token('other', 'alice')}")
    assert exc.value.code == "invalid_token"
    with pytest.raises(Unauthorized) as exc:
        v.verify(f"Bearer {issue_token('s3cret', 'alice', ttl_s=-30)}")
    assert exc.value.code == "token_expired"


SUBJECTS_FROM_PROVIDERS = [
    "4f1c2b9e-6a7d-4e3b-9c1a-2d5e8f0a1b3c",  # Cognito
    "auth0|5f1c2b9e6a7d4e3b9c1a2d5e",
    "google-oauth2|109348753298475329847",
    "ana.silva+companion@example.com",
    "tenant:42#user/7",
    "{braced}",
    "用户-小雨",
    "x" * 256,
]


@pytest.mark.parametrize("sub", SUBJECTS_FROM_PROVIDERS)
def test_subjects_real_identity_providers_issue_are_accepted(sub: str) -> None:
    v = TokenVerifier(Settings(jwt_secret="s3cret"))
    assert v.verify(f"Bearer {issue_token('s3cret', sub)}") == sub


@pytest.mark.parametrize("sub", ["", "   ", "x" * 257, "a\nb", "a\x00b", "a\x1fb", "a\x85b", "a\u2028b"])
def test_empty_overlong_and_control_character_subjects_are_refused(sub: str) -> None:
    v = TokenVerifier(Settings(jwt_secret="s3cret"))
    with pytest.raises(Unauthorized) as exc:
        v.verify(f"Bearer {issue_token('s3cret', sub)}")
    assert exc.value.code == "invalid_token"
    assert str(exc.value) == "token subject is not a valid user id"


def test_non_string_subject_is_refused() -> None:
    token = jwt.encode({"sub": 12345, "exp": int(time.time()) + 60}, "s3cret", algorithm="HS256")
    with pytest.raises(Unauthorized) as exc:
        TokenVerifier(Settings(jwt_secret="s3cret")).verify(f"Bearer {token}")
    assert exc.value.code == "invalid_token"


@pytest.mark.parametrize(("token", "message"), [
    (issue_token("other", "alice"), "token signature does not match"),
    ("not.a.jwt", "token is malformed or cannot be verified"),
    ("abc", "token is malformed or cannot be verified"),
    (issue_token("s3cret", "alice", nbf=int(time.time()) + 3600), "token is not valid yet"),
    (jwt.encode({"sub": "alice"}, "s3cret", algorithm="HS256"), "token lacks a required claim"),
])
def test_token_errors_are_told_in_the_projects_words(token: str, message: str) -> None:
    with pytest.raises(Unauthorized) as exc:
        TokenVerifier(Settings(jwt_secret="s3cret")).verify(f"Bearer {token}")
    assert exc.value.code == "invalid_token"
    assert str(exc.value) == message


def test_rs256_via_jwks_with_issuer_and_audience(jwks_url: str) -> None:
    v = TokenVerifier(Settings(jwt_jwks_url=jwks_url, jwt_issuer="https://issuer.test", jwt_audience="companion"))
    good = _rs256("cognito-user-1", iss="https://issuer.test", aud="companion")
    assert v.verify(f"Bearer {good}") == "cognito-user-1"
    for bad in (_rs256("u", iss="https://evil.test", aud="companion"), _rs256("u", iss="https://issuer.test",
                                                                              aud="someone-else")):
        with pytest.raises(Unauthorized):
            v.verify(f"Bearer {bad}")
    # an HS256 token signed with the public key must not pass (algorithm confusion)
    with pytest.raises(Unauthorized):
        v.verify(f"Bearer {issue_token('whatever', 'mallory')}")


def test_production_refuses_to_run_without_a_key() -> None:
    v = TokenVerifier(Settings(app_env="prod"))
    with pytest.raises(RuntimeError):
        v.verify(f"Bearer {issue_token('x', 'alice')}")
