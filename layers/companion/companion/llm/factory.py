"""Build the LLM chain from settings, once per execution environment."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import Any

from ..config import ModelSpec, Settings
from ..ports import BreakerStateStore
from ..secrets import read_secret
from .base import LLMProvider
from .breaker import InMemoryBreakerStore
from .chain import ChainObserver, LLMChain
from .offline import OfflineProvider

log = logging.getLogger(__name__)

_KEYS: dict[str, str] = {}
_KEYS_LOCK = threading.Lock()


def resolve_api_key(spec: ModelSpec) -> str:
    """``spec.api_key``, else the parameter ``spec.api_key_param`` (read once, cached for life).

    ``arn:aws:secretsmanager:…`` or ``secret:<name>`` → Secrets Manager, anything else →
    SSM Parameter Store with decryption.
    """
    if spec.api_key or not spec.api_key_param:
        return spec.api_key
    name = spec.api_key_param
    with _KEYS_LOCK:
        if name in _KEYS:
            return _KEYS[name]
    key = read_secret(name, max_age_s=86400).strip()
    with _KEYS_LOCK:
        _KEYS[name] = key
    return key


def build_provider(spec: ModelSpec, http_client: Any = None, *, region: str | None = None,
                   read_timeout_s: float = 120.0) -> LLMProvider:
    """``read_timeout_s``: the longest wait for the model's bytes, unless the spec sets its own
    (``extra_body.timeout_s``); the chain passes at least its complete timeout, so a slow model's
    whole answer (no bytes until it is done) is not cut before the chain's own limit."""
    if spec.provider == "offline":
        return OfflineProvider(spec.name)
    if spec.provider == "bedrock":
        from ..adapters import aws
        from .bedrock import BedrockProvider

        # One attempt: the chain's failover is the retry, and a stream cannot be resumed.
        return BedrockProvider(spec, aws.bedrock_runtime(region, read_timeout=read_timeout_s, max_attempts=1))
    from .openai_compat import OpenAICompatProvider

    if not spec.base_url:
        raise ValueError(f"model {spec.name!r}: provider 'openai' needs base_url")
    provider = OpenAICompatProvider(spec, resolve_api_key(spec), client=http_client, read_timeout_s=read_timeout_s)
    provider.warm()
    return provider


def build_chain(settings: Settings, breaker_store: BreakerStateStore | None = None, *,
                on_event: ChainObserver | None = None, http_client: Any = None,
                specs: Sequence[ModelSpec] | None = None) -> LLMChain:
    """The chain of ``specs`` (default ``settings.llm_chain``; empty → the offline model only).

    ``breaker_store`` is where the breakers keep their state (the composition root passes a
    shared one, e.g. Redis behind an in-process fallback); without one it is in-process only.
    """
    specs = settings.llm_chain if specs is None else specs
    read_timeout_s = max(120.0, settings.llm_complete_timeout_s)
    providers = ([build_provider(spec, http_client, region=settings.aws_region, read_timeout_s=read_timeout_s)
                  for spec in specs] or [OfflineProvider()])
    log.info("llm chain: %s", [p.name for p in providers])
    return LLMChain(providers, breaker_store or InMemoryBreakerStore(),
                    first_token_timeout_s=settings.llm_first_token_timeout_s,
                    idle_timeout_s=settings.llm_stream_idle_timeout_s,
                    failure_threshold=settings.breaker_failure_threshold,
                    open_seconds=settings.breaker_open_seconds, on_event=on_event,
                    complete_timeout_s=settings.llm_complete_timeout_s)
