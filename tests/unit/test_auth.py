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
    with pytest.raises(Unauthorized) as exc:
        v.verify(f"Bearer {issue_token('s3cret', 'a#b')}")  # would break key layouts
    assert exc.value.code == "invalid_token"


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
