"""A model's read timeout follows the chain's complete timeout, so a slow whole answer is not cut first."""

from __future__ import annotations

from companion.config import ModelSpec, Settings
from companion.llm.factory import build_chain
from companion.llm.openai_compat import OpenAICompatProvider


def _chain(complete_timeout_s: float, **extra: object):  # type: ignore[no-untyped-def]
    spec = ModelSpec(name="m", provider="openai", base_url="http://127.0.0.1:9/v1", api_key="k",
                     extra_body=dict(extra))
    return build_chain(Settings(llm_complete_timeout_s=complete_timeout_s), specs=[spec])


def test_a_long_complete_timeout_raises_the_read_timeout() -> None:
    [provider] = _chain(300).providers
    assert isinstance(provider, OpenAICompatProvider) and provider.read_timeout_s == 300


def test_the_read_timeout_never_drops_below_its_default_and_a_spec_sets_its_own() -> None:
    [default] = _chain(60).providers
    [own] = _chain(300, timeout_s=30).providers
    assert isinstance(default, OpenAICompatProvider) and default.read_timeout_s == 120
    assert isinstance(own, OpenAICompatProvider) and own.read_timeout_s == 30
