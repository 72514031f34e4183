"""Chain construction from settings and API key resolution (Powertools Parameters stubbed)."""

from __future__ import annotations

from typing import Any

import pytest
from aws_lambda_powertools.utilities import parameters
from companion.config import ModelSpec, Settings
from companion.llm import factory
from companion.llm.bedrock import BedrockProvider
from companion.llm.breaker import InMemoryBreakerStore
from companion.llm.offline import OfflineProvider
from companion.llm.openai_compat import OpenAICompatProvider


@pytest.fixture()
def fake_parameters(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    calls: list[tuple[str, str]] = []

    def get_secret(name: str, **kw: Any) -> str:
        calls.append(("secret", name))
        return "sk-from-secret\n"

    def get_parameter(name: str, **kw: Any) -> str:
        assert kw.get("decrypt") is True
        calls.append(("ssm", name))
        return "sk-from-ssm"

    monkeypatch.setattr(parameters, "get_secret", get_secret)
    monkeypatch.setattr(parameters, "get_parameter", get_parameter)
    monkeypatch.setattr(factory, "_KEYS", {})
    return calls


def test_api_key_sources_and_caching(fake_parameters: list[tuple[str, str]]) -> None:
    assert factory.resolve_api_key(ModelSpec(name="a", api_key="literal", api_key_param="/x")) == "literal"
    ssm = ModelSpec(name="b", api_key_param="/companion/ark-key")
    assert factory.resolve_api_key(ssm) == "sk-from-ssm"
    assert factory.resolve_api_key(ssm) == "sk-from-ssm"
    assert factory.resolve_api_key(ModelSpec(name="c", api_key_param="secret:ark")) == "sk-from-secret"
    arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:ark-AbCd"
    assert factory.resolve_api_key(ModelSpec(name="d", api_key_param=arn)) == "sk-from-secret"
    assert fake_parameters == [("ssm", "/companion/ark-key"), ("secret", "ark"), ("secret", arn)]


def test_build_chain_providers_in_order(fake_parameters: list[tuple[str, str]]) -> None:
    settings = Settings(llm_chain=[
        {"name": "doubao", "base_url": "https://ark.cn-beijing.volces.com/api/v3", "api_key_param": "/k"},
        {"name": "claude", "provider": "bedrock", "model": "anthropic.claude-3-haiku"},
        {"name": "local", "provider": "offline"},
    ], breaker_failure_threshold=7, breaker_open_seconds=42)
    chain = factory.build_chain(settings, None)
    assert [type(p) for p in chain.providers] == [OpenAICompatProvider, BedrockProvider, OfflineProvider]
    assert chain.providers[0].url == "https://ark.cn-beijing.volces.com/api/v3/chat/completions"
    assert isinstance(chain.breaker, InMemoryBreakerStore)
    assert (chain.failure_threshold, chain.open_seconds) == (7, 42)


def test_empty_chain_is_offline_and_missing_base_url_is_rejected() -> None:
    chain = factory.build_chain(Settings(llm_chain="[]"), None)
    assert [p.name for p in chain.providers] == ["offline"]
    with pytest.raises(ValueError, match="base_url"):
        factory.build_chain(Settings(llm_chain=[{"name": "x", "api_key": "k"}]), None)
