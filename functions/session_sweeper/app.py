"""Session sweeper (scheduled, every few minutes): enqueue memory tasks nobody else will.

* conversations idle for ``session_idle_minutes`` with unprocessed messages -> trigger "idle";
* conversations whose unprocessed messages are ~23 h old -> trigger "ttl_guard" (they would
  otherwise outlive the 24 h Redis window; the durable log has them, this just makes sure
  memory generation happens within a day even for a conversation that never idles);
* tasks claimed but never sent (SQS was down) -> resent.

Claims go through ``MemoryTaskScheduler.schedule(force=True)``: the compare-and-set on the
watermark means a sweep racing a chat turn's trigger processes each message once.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from companion.config import Settings, get_settings
from companion.errors import StoreUnavailable
from companion.observability import logger, metrics, telemetry, tracer
from companion.worker_bootstrap import SweeperContainer, build_sweeper

TTL_GUARD_S = 23 * 3600
RESEND_AFTER_S = 60

_container: SweeperContainer | None = None


def configure(settings: Settings | None = None) -> SweeperContainer:
    global _container
    _container = build_sweeper(settings or get_settings())
    return _container


async def sweep(container: SweeperContainer, *, now: float | None = None, limit: int = 100) -> dict[str, int]:
    now = time.time() if now is None else now
    s = container.settings
    counts = {"idle": 0, "ttl_guard": 0, "resent": 0, "errors": 0}
    idle_before = now - s.session_idle_minutes * 60
    seen: set[tuple[str, str]] = set()
    for conv in await container.message_log.pending_conversations(idle_before, limit=limit):
        pair = (str(conv.get("user_id", "")), str(conv.get("character_id", "")))
        if not all(pair) or pair in seen:
            continue
        seen.add(pair)
        try:
            if await container.scheduler.schedule(*pair, "idle", force=True):
                counts["idle"] += 1
        except StoreUnavailable:
            counts["errors"] += 1
    # Active conversations (not idle) whose last activity is older than the guard were already
    # swept above; the guard catches busy conversations whose *first* pending message is old.
    counts["ttl_guard"] = await _ttl_guard(container, now, seen, limit)
    try:
        counts["resent"] = await container.scheduler.resend_unsent(older_than=now - RESEND_AFTER_S)
    except StoreUnavailable:
        counts["errors"] += 1
    return counts


async def _ttl_guard(container: SweeperContainer, now: float, seen: set[tuple[str, str]], limit: int) -> int:
    """Busy conversations (never idle) with a pending message older than ~23 h."""
    scheduled = 0
    # pending_conversations orders by last activity; a conversation active in the last
    # minute still appears when we ask for "idle before now".
    for conv in await container.message_log.pending_conversations(now, limit=limit):
        pair = (str(conv.get("user_id", "")), str(conv.get("character_id", "")))
        if not all(pair) or pair in seen:
            continue
        first = int(conv.get("processed_upto", 0)) + 1
        try:
            oldest = await container.message_log.range(*pair, first, first)
            if oldest and now - oldest[0].timestamp >= TTL_GUARD_S:
                seen.add(pair)
                scheduled += bool(await container.scheduler.schedule(*pair, "ttl_guard", force=True))
        except StoreUnavailable:
            continue
    return scheduled


@tracer().capture_lambda_handler
@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: Any) -> dict[str, int]:
    container = _container or configure()
    counts = asyncio.run(sweep(container))
    for name, value in counts.items():
        telemetry.count(f"Sweeper.{name}", value)
    logger.info("session sweep", extra=counts)
    return counts
