"""Which provider failures count against a model: the classification providers give their errors."""

from __future__ import annotations

import pytest
from companion.config import ModelSpec
from companion.llm.base import Prompt, ProviderError
from companion.llm.openai_compat import OpenAICompatProvider


@pytest.mark.parametrize(("status", "fault"), [
    (None, True), (500, True), (502, True), (503, True), (429, True),
    (400, False), (401, False), (403, False), (404, False), (408, False), (413, False), (422, False),
])
def test_only_5xx_429_and_transport_failures_are_provider_faults(status: int | None, fault: bool) -> None:
    assert ProviderError("x", status=status).provider_fault is fault


def test_an_explicit_classification_wins_over_the_status() -> None:
    assert not ProviderError("content filter", provider_fault=False).provider_fault


async def test_text_that_cannot_be_encoded_fails_as_the_requests_fault_before_any_call() -> None:
    # The port is never contacted: the prompt is refused while it is encoded.
    spec = ModelSpec(name="m", provider="openai", model="m", base_url="http://127.0.0.1:9/v1", api_key="k")
    provider = OpenAICompatProvider(spec, "k")
    prompt = Prompt(messages=[{"role": "user", "content": "hi \ud800 x"}])
    try:
        with pytest.raises(ProviderError) as info:
            async for _ in provider.stream(prompt):
                pass
        assert not info.value.provider_fault and not info.value.retryable
        with pytest.raises(ProviderError) as info:
            await provider.complete(prompt.messages)
        assert not info.value.provider_fault
    finally:
        await provider.aclose()
