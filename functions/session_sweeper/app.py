"""Session sweeper (scheduled, every few minutes): runs ``SessionSweeper.sweep`` (thin Lambda handler).

Async work runs on the environment's one event loop (``companion.lambda_runtime``).
"""

from __future__ import annotations

from typing import Any

from companion import lambda_runtime
from companion.bootstrap import SweeperContainer, build_sweeper
from companion.config import Settings, get_settings
from companion.observability import function_logger, metrics, telemetry, tracer

logger = function_logger("companion-session-sweeper")
_container: SweeperContainer | None = None


def configure(settings: Settings | None = None) -> SweeperContainer:
    """(Re)build the container: the local runner and tests pass their own settings."""
    global _container
    _container = build_sweeper(settings or get_settings())
    return _container


@tracer().capture_lambda_handler
@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: Any) -> dict[str, int]:
    container = _container or configure()
    counts = lambda_runtime.run(container.sweeper.sweep())
    for name, value in counts.items():
        telemetry.count(f"Sweeper.{name}", value)
    logger.info("session sweep", extra=counts)
    return counts
