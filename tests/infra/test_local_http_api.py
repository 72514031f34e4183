"""infra/local/http_api.py as a gateway: concurrent connections with timeouts, bad bodies answered."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import httpx
import pytest

from infra.local import http_api
from infra.local.http_api import HttpApiServer, Route, _compile

ECHO = "tests/infra/echo_lambda.handler"


@pytest.fixture()
def server() -> Iterator[HttpApiServer]:
    pattern, params = _compile("/echo/{proxy+}")
    srv = HttpApiServer(port=0, routes=[Route("ANY", "/echo/{proxy+}", "Echo", ECHO, pattern, params)])
    srv.start()
    yield srv
    srv.stop()


def test_an_idle_client_does_not_block_other_requests(server: HttpApiServer) -> None:
    with socket.create_connection((server.host, server.port)), \
            socket.create_connection((server.host, server.port)) as half:  # the first sends nothing at all
        half.sendall(b"POST /echo/x HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")  # body never finished
        resp = httpx.post(f"{server.url}/echo/hello", json={"a": "你好"}, timeout=10)
        assert resp.status_code == 200
        assert resp.json() == {"path": "/echo/hello", "body": '{"a":"你好"}'}


def test_a_client_that_sends_nothing_is_dropped(server: HttpApiServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(http_api._RequestHandler, "timeout", 0.5)  # read per connection, at its start
    with socket.create_connection((server.host, server.port)) as idle:
        idle.settimeout(30)
        assert idle.recv(1) == b""  # closed by the server instead of holding a thread for ever


def test_a_body_that_is_not_utf8_answers_400_malformed_body(server: HttpApiServer) -> None:
    resp = httpx.post(f"{server.url}/echo/x", content=b'{"message": "\xff\xfe"}',
                      headers={"content-type": "application/json"}, timeout=10)
    assert resp.status_code == 400
    assert resp.json()["error"]["code"] == "malformed_body"
    assert resp.json()["error"]["message"]
    # the connection and the server keep working
    assert httpx.get(f"{server.url}/echo/y", timeout=10).json()["path"] == "/echo/y"
