"""The provider interface every LLM adapter implements."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
from typing import Any

from pydantic import BaseModel, Field

from ..models import Character, RecalledMemory
from ..text import estimate_tokens


class Usage(BaseModel):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    estimated: bool = False  # True when the provider did not report usage

    @classmethod
    def estimate(cls, messages: list[dict[str, str]], completion: str) -> Usage:
        """What a provider that reports no usage is taken to have used: the project's token
        estimate, plus ~4 tokens of chat framing per message as OpenAI documents for its chat format."""
        return cls(prompt_tokens=sum(estimate_tokens(str(m.get("content", ""))) + 4 for m in messages),
                   completion_tokens=estimate_tokens(completion), estimated=True)


class Prompt(BaseModel):
    """What the model is asked, both as chat messages and in structured form.

    HTTP providers send ``messages``; the offline provider reads the structured
    fields so it can answer in the character's voice and show the memory it got.
    """

    messages: list[dict[str, str]]
    language: str = "en"
    character: Character | None = None
    memories: list[RecalledMemory] = Field(default_factory=list)
    history: list[dict[str, str]] = Field(default_factory=list)
    user_message: str = ""
    max_tokens: int = 1024
    temperature: float = 0.8


class StreamChunk(BaseModel):
    """A piece of a streamed reply: a text delta, and/or the final usage."""

    text: str = ""
    usage: Usage | None = None


class Completion(BaseModel):
    text: str
    usage: Usage
    model: str


def is_provider_fault_status(status: int) -> bool:
    """An HTTP answer that says the provider is failing (5xx) or overloaded (429)."""
    return status == 429 or status >= 500


class ProviderError(Exception):
    """A model call failed: the provider itself, or the provider refusing this request.

    ``provider_fault`` says which, and only provider faults count toward the model's
    breaker (shared by every user): connection errors, timeouts, HTTP 5xx and 429, a broken
    or malformed stream. A refusal of the request (HTTP 4xx other than 429, a content
    filter, an empty but well-formed reply) is the request's fault: it fails this turn only.
    Unset, it follows ``status``: no status (a transport or stream failure) is a provider fault.
    ``retryable``: whether the same request may succeed when tried again.
    """

    def __init__(self, message: str, *, retryable: bool = True, status: int | None = None,
                 provider_fault: bool | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.status = status  # HTTP status when the failure was an HTTP answer
        self.provider_fault = (provider_fault if provider_fault is not None
                               else status is None or is_provider_fault_status(status))

    @property
    def counts_against_model(self) -> bool:
        """Whether the breaker should count this failure."""
        return self.provider_fault


class LLMProvider(ABC):
    """One configured model. Instances are created once per execution environment."""

    name: str

    @abstractmethod
    def stream(self, prompt: Prompt) -> AsyncIterator[StreamChunk]:
        """Yield the reply as it is generated; raise ProviderError on failure."""

    @abstractmethod
    async def complete(self, messages: list[dict[str, str]], *, json_schema: dict[str, Any] | None = None,
                       max_tokens: int = 2048, temperature: float = 0.2) -> Completion:
        """One non-streamed completion (memory extraction), optionally JSON-constrained."""

    async def aclose(self) -> None:  # noqa: B027 - optional hook
        """Release connections (tests, local runner)."""
