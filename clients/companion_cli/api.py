"""Companion's HTTP API as the terminal client uses it: the chat function and the memory API."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx


class ClientError(Exception):
    """An answer in the API's error shape, or a transport failure put in the client's words."""

    def __init__(self, message: str, *, code: str = "error", status: int | None = None,
                 retry_after: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.status = status
        self.retry_after = retry_after


class NotRunning(ClientError):
    pass


@dataclass(frozen=True)
class StreamEvent:
    kind: str  # "delta", "done" or "error"
    data: dict[str, Any]


def _raise_for(resp: httpx.Response) -> None:
    if resp.status_code < 400:
        return
    try:
        err = resp.json().get("error") or {}
    except (ValueError, AttributeError):
        err = {}
    raise ClientError(str(err.get("message") or f"HTTP {resp.status_code}"), code=str(err.get("code") or "error"),
                      status=resp.status_code, retry_after=resp.headers.get("retry-after"))


def sse_events(lines: Iterator[str]) -> Iterator[StreamEvent]:
    """Server-Sent Events as the chat stream writes them (``event:`` then ``data:``)."""
    event, data = "message", ""
    for line in lines:
        if line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("data:"):
            data += line[5:].strip()
        elif not line.strip() and data:
            payload = json.loads(data)
            if event == "error":
                yield StreamEvent("error", payload)
            else:
                yield StreamEvent("done" if payload.get("done") else "delta", payload)
            event, data = "message", ""


class CompanionClient:
    def __init__(self, chat_url: str, memory_url: str, token: str, *, timeout_s: float = 60) -> None:
        self.chat_url = chat_url.rstrip("/")
        self.memory_url = memory_url.rstrip("/")
        self._http = httpx.Client(headers={"Authorization": f"Bearer {token}"},
                                  timeout=httpx.Timeout(timeout_s, connect=5))

    def close(self) -> None:
        self._http.close()

    def _request(self, method: str, url: str, **kw: Any) -> dict[str, Any]:
        try:
            resp = self._http.request(method, url, **kw)
        except httpx.ConnectError as exc:
            raise NotRunning(f"nothing answers at {httpx.URL(url).copy_with(path='/', query=None)}",
                             code="not_running") from exc
        except httpx.TimeoutException as exc:
            raise ClientError("the server did not answer in time", code="timeout") from exc
        _raise_for(resp)
        return dict(resp.json())

    def say(self, character_id: str, message: str) -> Iterator[StreamEvent]:
        url = f"{self.chat_url}/api/v1/chat/stream"
        try:
            with self._http.stream("POST", url, json={"character_id": character_id, "message": message}) as resp:
                if resp.status_code >= 400:
                    resp.read()
                    _raise_for(resp)
                yield from sse_events(resp.iter_lines())
        except httpx.ConnectError as exc:
            raise NotRunning(f"nothing answers at {self.chat_url}", code="not_running") from exc
        except (httpx.ReadError, httpx.RemoteProtocolError, httpx.TimeoutException) as exc:
            raise ClientError("the connection dropped in the middle of the reply", code="connection_lost") from exc

    def character(self, character_id: str) -> dict[str, Any]:
        return self._request("GET", f"{self.memory_url}/api/v1/characters/{quote(character_id, safe='')}")

    def history(self, character_id: str, limit: int = 20) -> list[dict[str, Any]]:
        got = self._request("GET", f"{self.chat_url}/api/v1/chat/history",
                            params={"character_id": character_id, "limit": limit})
        return list(got.get("messages") or [])

    def end_session(self, character_id: str) -> dict[str, Any]:
        return self._request("POST", f"{self.chat_url}/api/v1/chat/sessions/{quote(character_id, safe='')}/end")

    def memories(self, character_id: str) -> dict[str, list[dict[str, Any]]]:
        out: dict[str, list[dict[str, Any]]] = {}
        for kind in ("facts", "events", "summaries"):
            got = self._request("GET", f"{self.memory_url}/api/v1/memory/{kind}", params={"character_id": character_id})
            out[kind] = list(got.get("items") or [])
        return out

    def forget(self, character_id: str) -> dict[str, Any]:
        return self._request("DELETE", f"{self.memory_url}/api/v1/memory", params={"character_id": character_id})
