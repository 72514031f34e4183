"""Amazon Bedrock through the Converse API (``converse_stream`` / ``converse``).

boto3's event stream is a blocking iterator, so a worker thread iterates it and hands
events to the event loop through an asyncio queue. The bedrock-runtime client is made by
``companion.adapters.aws`` (one place for boto3 configuration) and passed in; botocore is
imported inside methods: the chat path imports this module only when a Bedrock model is
configured.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator, Iterable, Iterator
from typing import Any

from ..config import ModelSpec
from .base import Completion, LLMProvider, Prompt, ProviderError, StreamChunk, Usage, is_provider_fault_status

# Exception events a ConverseStream may carry instead of content.
_STREAM_ERRORS = ("internalServerException", "modelStreamErrorException", "validationException",
                  "throttlingException", "serviceUnavailableException")
_NOT_RETRYABLE = {"validationException", "ValidationException", "AccessDeniedException",
                  "ResourceNotFoundException"}
# Error codes (compared lower-case) that mean Bedrock itself is failing or throttling, whatever
# the HTTP status says; every other error code is a refusal of this request.
_PROVIDER_FAULTS = {"throttlingexception", "serviceunavailableexception", "internalserverexception",
                    "modelstreamerrorexception", "modeltimeoutexception", "modelnotreadyexception",
                    "servicequotaexceededexception"}
_END = object()


def to_converse(messages: list[dict[str, str]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Chat messages → (Converse ``system`` blocks, ``messages``).

    Converse wants user/assistant turns alternating and starting with the user, so
    consecutive same-role messages are merged and a leading assistant message (a
    character's greeting) gets a placeholder user turn before it.
    """
    system: list[dict[str, Any]] = []
    turns: list[dict[str, Any]] = []
    for message in messages:
        role, text = message.get("role", "user"), str(message.get("content", ""))
        if role == "system":
            if text:
                system.append({"text": text})
            continue
        role = "assistant" if role == "assistant" else "user"
        if not text:
            continue
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"][0]["text"] += "\n\n" + text
        else:
            turns.append({"role": role, "content": [{"text": text}]})
    if turns and turns[0]["role"] == "assistant":
        turns.insert(0, {"role": "user", "content": [{"text": "(start)"}]})
    return system, turns


def parse_converse_stream(events: Iterable[dict[str, Any]], model: str = "bedrock") -> Iterator[StreamChunk]:
    """ConverseStream events → text chunks, then one usage chunk (from ``metadata``)."""
    usage: Usage | None = None
    stopped = False
    for event in events:
        for name in _STREAM_ERRORS:
            if name in event:
                detail = event[name].get("message", "") if isinstance(event[name], dict) else ""
                raise ProviderError(f"{model}: {name}: {detail}", retryable=name not in _NOT_RETRYABLE,
                                    provider_fault=name.lower() in _PROVIDER_FAULTS)
        if "contentBlockDelta" in event:
            text = (event["contentBlockDelta"].get("delta") or {}).get("text")
            if text:
                yield StreamChunk(text=text)
        elif "messageStop" in event:
            stopped = True
        elif "metadata" in event:
            raw = event["metadata"].get("usage") or {}
            if raw:
                usage = Usage(prompt_tokens=int(raw.get("inputTokens", 0)),
                              completion_tokens=int(raw.get("outputTokens", 0)))
    if not stopped:
        raise ProviderError(f"{model}: stream ended without messageStop")
    if usage is not None:
        yield StreamChunk(usage=usage)


class BedrockProvider(LLMProvider):
    def __init__(self, spec: ModelSpec, client: Any) -> None:
        """``client``: a bedrock-runtime client (``aws.bedrock_runtime``); boto3 clients are thread-safe."""
        self.spec = spec
        self.name = spec.name
        self.model_id = spec.model or spec.name
        self._client = client

    def _request(self, messages: list[dict[str, str]], max_tokens: int, temperature: float) -> dict[str, Any]:
        system, turns = to_converse(messages)
        request: dict[str, Any] = {"modelId": self.model_id, "messages": turns,
                                   "inferenceConfig": {"maxTokens": max_tokens, "temperature": temperature}}
        if system:
            request["system"] = system
        if self.spec.extra_body:
            request["additionalModelRequestFields"] = dict(self.spec.extra_body)
        return request

    def _error(self, exc: Exception) -> Exception:
        """botocore's error as a classified ``ProviderError``; any other exception is ours and stays as it is."""
        if isinstance(exc, ProviderError):
            return exc
        from botocore.exceptions import ClientError, HTTPClientError
        from botocore.exceptions import ConnectionError as BotoConnectionError

        if isinstance(exc, HTTPClientError | BotoConnectionError):  # timeouts, connection errors
            return ProviderError(f"{self.name}: connection error: {type(exc).__name__}", retryable=True)
        if not isinstance(exc, ClientError):
            return exc  # parameter validation, encoding, our bugs: never the provider's fault
        response: Any = exc.response if isinstance(exc.response, dict) else {}
        code = str((response.get("Error") or {}).get("Code", ""))
        status = (response.get("ResponseMetadata") or {}).get("HTTPStatusCode")
        fault = code.lower() in _PROVIDER_FAULTS or (isinstance(status, int) and is_provider_fault_status(status))
        return ProviderError(f"{self.name}: {code or type(exc).__name__}: {exc}", retryable=code not in _NOT_RETRYABLE,
                             status=status if isinstance(status, int) else None, provider_fault=fault)

    async def stream(self, prompt: Prompt) -> AsyncIterator[StreamChunk]:
        max_tokens = min(prompt.max_tokens, self.spec.max_tokens) if self.spec.max_tokens else prompt.max_tokens
        request = self._request(prompt.messages, max_tokens, prompt.temperature)
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Any] = asyncio.Queue()
        stop = threading.Event()

        def put(item: Any) -> None:
            loop.call_soon_threadsafe(queue.put_nowait, item)

        def pump() -> None:
            stream = None
            try:
                stream = self._client.converse_stream(**request)["stream"]
                for chunk in parse_converse_stream(_until(stream, stop), self.name):
                    put(chunk)
                put(_END)
            except ProviderError as exc:
                put(exc)
            except Exception as exc:  # botocore errors, connection errors
                put(self._error(exc))
            finally:
                if stream is not None and hasattr(stream, "close"):
                    stream.close()

        worker = threading.Thread(target=pump, name=f"bedrock-{self.name}", daemon=True)
        worker.start()
        parts: list[str] = []
        usage: Usage | None = None
        try:
            while True:
                item = await queue.get()
                if item is _END:
                    break
                if isinstance(item, Exception):
                    if stop.is_set():
                        break
                    raise item
                if item.usage is not None:
                    usage = item.usage
                if item.text:
                    parts.append(item.text)
                    yield item
        finally:
            stop.set()  # the consumer left (timeout, error): the thread stops at the next event
        yield StreamChunk(usage=usage or Usage.estimate(prompt.messages, "".join(parts)))

    async def complete(self, messages: list[dict[str, str]], *, json_schema: dict[str, Any] | None = None,
                       max_tokens: int = 2048, temperature: float = 0.2) -> Completion:
        if json_schema is not None:
            # Converse has no JSON mode for every model; the schema goes into the prompt.
            schema = json.dumps(json_schema, ensure_ascii=False)
            messages = [{"role": "system", "content": f"Answer with one JSON object only, matching this "
                         f"JSON schema:\n{schema}"}, *messages]
        request = self._request(messages, max_tokens, temperature)
        try:
            response = await asyncio.to_thread(lambda: self._client.converse(**request))
        except Exception as exc:
            error = self._error(exc)
            if error is exc:
                raise
            raise error from exc
        return completion_from_converse(response, self.name, messages)


def completion_from_converse(response: dict[str, Any], model: str,
                             messages: list[dict[str, str]]) -> Completion:
    try:
        blocks = response["output"]["message"]["content"]
    except (KeyError, TypeError) as exc:
        raise ProviderError(f"{model}: unexpected converse response") from exc
    text = "".join(b.get("text", "") for b in blocks if isinstance(b, dict))
    raw = response.get("usage") or {}
    usage = (Usage(prompt_tokens=int(raw.get("inputTokens", 0)), completion_tokens=int(raw.get("outputTokens", 0)))
             if raw else Usage.estimate(messages, text))
    return Completion(text=text, usage=usage, model=model)


def _until(events: Iterable[dict[str, Any]], stop: threading.Event) -> Iterator[dict[str, Any]]:
    for event in events:
        if stop.is_set():
            return
        yield event
