"""OpenAI-compatible chat completions over SSE (Volcano Engine Ark, OpenAI, DeepSeek, vLLM, Ollama).

Plain httpx instead of the openai SDK: the SDK costs a few hundred ms of import on a
cold start, and all we need is one POST and an SSE line parser.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import ssl
from collections.abc import AsyncIterator
from typing import Any, Literal

import httpx

from ..config import ModelSpec
from .base import Completion, LLMProvider, Prompt, ProviderError, StreamChunk, Usage

JsonMode = Literal["json_schema", "json_object", "none"]

# After ``[DONE]``: how long and how much to read before giving the connection up.
DRAIN_TIMEOUT_S = 0.5
DRAIN_MAX_BYTES = 64 * 1024

# Per process and model: a stream holds its connection until the reply ends, so this bounds the
# concurrent streams one process gives a model; kept-alive ones cover a process's usual concurrency.
MAX_CONNECTIONS = 1000
MAX_KEEPALIVE = 200

# Keys of ModelSpec.extra_body that configure this adapter and are not sent to the server.
_ADAPTER_KEYS = ("json_mode", "timeout_s", "connect_timeout_s")


def _retryable_status(status: int) -> bool:
    return status in (408, 409, 425, 429) or status >= 500



class OpenAICompatProvider(LLMProvider):
    """One model behind an OpenAI-compatible ``{base_url}/chat/completions`` endpoint.

    ``json_mode`` (or ``spec.extra_body["json_mode"]``) says how ``complete(json_schema=…)``
    asks for JSON: ``json_schema`` (OpenAI, Ark, vLLM), ``json_object`` (servers that only
    know JSON mode; the schema then goes into a system message) or ``none``.
    """

    def __init__(self, spec: ModelSpec, api_key: str, client: httpx.AsyncClient | None = None,
                 *, json_mode: JsonMode | None = None, read_timeout_s: float = 120.0) -> None:
        self.spec = spec
        self.name = spec.name
        self.model = spec.model or spec.name
        self.url = spec.base_url.rstrip("/") + "/chat/completions"
        self._api_key = api_key
        extra = dict(spec.extra_body)
        self.json_mode: JsonMode = json_mode or extra.get("json_mode") or "json_schema"
        self.read_timeout_s = float(extra.get("timeout_s", read_timeout_s))
        self._connect_timeout_s = float(extra.get("connect_timeout_s", 5.0))
        self._extra_body = {k: v for k, v in extra.items() if k not in _ADAPTER_KEYS}
        self._client = client
        self._owns_client = client is None

    # One client per provider instance, reused across invocations so the TLS connection to
    # the model endpoint survives between warm Lambda invocations.
    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            # A full pool fails within the connect timeout, as a model that cannot be reached: the turn
            # fails over instead of waiting behind other users' streams for the whole read timeout.
            self._client = httpx.AsyncClient(
                timeout=httpx.Timeout(self.read_timeout_s, connect=self._connect_timeout_s,
                                      pool=self._connect_timeout_s),
                limits=httpx.Limits(max_connections=MAX_CONNECTIONS, max_keepalive_connections=MAX_KEEPALIVE),
                verify=_ssl_context(),
            )
        return self._client

    def warm(self) -> None:
        """Create the HTTP client now (at Lambda init) instead of on the first request."""
        self._http()

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "Accept": "text/event-stream"}
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        return headers

    def _body(self, messages: list[dict[str, str]], max_tokens: int, temperature: float,
              stream: bool) -> dict[str, Any]:
        body: dict[str, Any] = {"model": self.model, "messages": messages, "max_tokens": max_tokens,
                                "temperature": temperature, "stream": stream}
        if stream:
            body["stream_options"] = {"include_usage": True}
        body.update(self._extra_body)
        return body

    async def _raise_for_status(self, resp: httpx.Response) -> None:
        if resp.status_code < 400:
            return
        try:
            detail = (await resp.aread()).decode("utf-8", "replace")[:300]
        except httpx.HTTPError:
            detail = ""
        raise ProviderError(f"{self.name}: HTTP {resp.status_code} {detail}".strip(),
                            retryable=_retryable_status(resp.status_code), status=resp.status_code)

    def _encode(self, body: dict[str, Any]) -> bytes:
        # Encoded here, not by httpx, so text no model can take fails as what it is: the request's fault.
        try:
            return json.dumps(body, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError as exc:
            raise ProviderError(f"{self.name}: the prompt holds text that cannot be encoded as UTF-8",
                                retryable=False, provider_fault=False) from exc

    def _transport_error(self, exc: httpx.HTTPError) -> ProviderError:
        kind = "timeout" if isinstance(exc, httpx.TimeoutException) else "connection error"
        return ProviderError(f"{self.name}: {kind}: {type(exc).__name__} {exc}", retryable=True)

    async def stream(self, prompt: Prompt) -> AsyncIterator[StreamChunk]:
        max_tokens = min(prompt.max_tokens, self.spec.max_tokens) if self.spec.max_tokens else prompt.max_tokens
        content = self._encode(self._body(prompt.messages, max_tokens, prompt.temperature, stream=True))
        parts: list[str] = []
        usage: Usage | None = None
        try:
            async with self._http().stream("POST", self.url, content=content, headers=self._headers()) as resp:
                await self._raise_for_status(resp)
                finished: str | None = None
                lines = _sse_lines(resp)
                async for line in lines:
                    data = _sse_data(line)
                    if data is None:
                        continue
                    if data == b"[DONE]":
                        finished = finished or "[DONE]"
                        await _drain(lines)
                        break
                    text, chunk_usage, reason = self._parse_event(data.decode("utf-8", "replace"))
                    finished = finished or reason
                    if chunk_usage is not None:
                        usage = chunk_usage
                    if text:
                        parts.append(text)
                        yield StreamChunk(text=text)
                if not finished:
                    raise ProviderError(f"{self.name}: stream ended without [DONE] or finish_reason")
                if finished == "content_filter" and not parts:
                    # The provider is well; it declined this content.
                    raise ProviderError(f"{self.name}: the content filter declined the request",
                                        retryable=False, provider_fault=False)
        except httpx.HTTPError as exc:
            raise self._transport_error(exc) from exc
        if usage is None:
            usage = Usage.estimate(prompt.messages, "".join(parts))
        yield StreamChunk(usage=usage)

    def _parse_event(self, data: str) -> tuple[str, Usage | None, str | None]:
        """(delta text, usage if reported, the finish_reason if one was given) of one SSE event."""
        try:
            event = json.loads(data)
        except json.JSONDecodeError as exc:
            raise ProviderError(f"{self.name}: malformed stream event: {data[:120]!r}") from exc
        if not isinstance(event, dict):
            raise ProviderError(f"{self.name}: malformed stream event: {data[:120]!r}")
        if event.get("error"):
            raise ProviderError(f"{self.name}: error in stream: {str(event['error'])[:200]}")
        usage = _usage(event.get("usage"))
        text, reason = "", None
        for choice in event.get("choices") or []:
            if not isinstance(choice, dict):
                raise ProviderError(f"{self.name}: malformed stream event: {data[:120]!r}")
            delta = choice.get("delta") or {}
            content = delta.get("content")
            if isinstance(content, str):
                text += content
            reason = reason or (str(choice["finish_reason"]) if choice.get("finish_reason") else None)
        return text, usage, reason

    async def complete(self, messages: list[dict[str, str]], *, json_schema: dict[str, Any] | None = None,
                       max_tokens: int = 2048, temperature: float = 0.2) -> Completion:
        messages = list(messages)
        body = self._body(messages, max_tokens, temperature, stream=False)
        if json_schema is not None and self.json_mode == "json_schema":
            body["response_format"] = {"type": "json_schema", "json_schema": _named_schema(json_schema)}
        elif json_schema is not None and self.json_mode == "json_object":
            # JSON mode alone does not carry the schema, so the model reads it from the prompt.
            schema_text = json.dumps(_named_schema(json_schema).get("schema", json_schema), ensure_ascii=False)
            body["messages"] = [{"role": "system", "content": f"Answer with one JSON object matching this "
                                 f"JSON schema:\n{schema_text}"}, *messages]
            body["response_format"] = {"type": "json_object"}
        content = self._encode(body)
        try:
            resp = await self._http().post(self.url, content=content, headers=self._headers())
            await self._raise_for_status(resp)
            payload = resp.json()
        except httpx.HTTPError as exc:
            raise self._transport_error(exc) from exc
        except ValueError as exc:
            raise ProviderError(f"{self.name}: response is not JSON") from exc
        try:
            text = payload["choices"][0]["message"].get("content") or ""
        except (KeyError, IndexError, TypeError, AttributeError) as exc:
            raise ProviderError(f"{self.name}: unexpected response shape") from exc
        usage = _usage(payload.get("usage")) or Usage.estimate(body["messages"], text)
        return Completion(text=text, usage=usage, model=self.name)

    async def aclose(self) -> None:
        if self._client is not None and self._owns_client:
            await self._client.aclose()
            self._client = None


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    # Loading the CA bundle costs tens of ms; do it once for all providers.
    return httpx.create_ssl_context()


async def _sse_lines(resp: httpx.Response) -> AsyncIterator[bytes]:
    """The body's lines (ended by LF, CRLF or CR), as bytes: a reply is one event a line, and httpx's
    text and line decoders would add two layers of work to each."""
    pending = b""
    async for data in resp.aiter_bytes():
        lines = (pending + data).splitlines(keepends=True)
        pending = lines.pop() if lines and not lines[-1].endswith((b"\n", b"\r")) else b""
        for line in lines:
            yield line.rstrip(b"\r\n")
    if pending:
        yield pending


async def _drain(lines: AsyncIterator[bytes]) -> None:
    """Read what follows ``[DONE]`` (normally only the body's end) so the connection goes back to the
    pool: a response closed unread closes its connection, and the next turn would pay a new TCP (and
    TLS) handshake. A server that keeps sending is not waited for: its connection is closed instead."""
    received = 0
    with contextlib.suppress(TimeoutError, httpx.HTTPError):
        async with asyncio.timeout(DRAIN_TIMEOUT_S):
            async for line in lines:
                received += len(line) + 1
                if received > DRAIN_MAX_BYTES:
                    return


def _sse_data(line: bytes) -> bytes | None:
    """The payload of a ``data:`` line; None for comments, other fields and blank lines."""
    if not line.startswith(b"data:"):
        return None
    return line[5:].strip() or None


def _usage(raw: Any) -> Usage | None:
    if not isinstance(raw, dict):
        return None
    try:
        return Usage(prompt_tokens=int(raw.get("prompt_tokens") or 0),
                     completion_tokens=int(raw.get("completion_tokens") or 0))
    except (TypeError, ValueError):
        return None


def _named_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """Accept either a bare JSON schema or OpenAI's ``{name, schema, strict}`` wrapper."""
    if "schema" in schema and "name" in schema:
        return schema
    return {"name": str(schema.get("title") or "response"), "schema": schema}
