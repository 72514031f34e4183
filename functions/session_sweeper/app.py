"""Session sweeper (scheduled, every few minutes): the entry point of ``SessionSweeper``."""

from __future__ import annotations

import asyncio
from typing import Any

from companion.config import Settings, get_settings
from companion.memory.sweeper import SessionSweeper
from companion.observability import logger, metrics, telemetry, tracer
from companion.worker_bootstrap import SweeperContainer, build_sweeper

_container: SweeperContainer | None = None


def configure(settings: Settings | None = None) -> SweeperContainer:
    global _container
    _container = build_sweeper(settings or get_settings())
    return _container


async def sweep(container: SweeperContainer, *, now: float | None = None, limit: int = 100) -> dict[str, int]:
    sweeper = SessionSweeper(container.message_log, container.scheduler,
                             idle_minutes=container.settings.session_idle_minutes)
    return await sweeper.sweep(now=now, limit=limit)


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
