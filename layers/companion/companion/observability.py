"""Powertools Logger, Metrics (EMF) and Tracer, created once per execution environment.

Logs never carry message contents: only ids, counts, timings and error classes.
"""

from __future__ import annotations

import contextlib
from functools import lru_cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

SERVICE = "companion"
logger = Logger(service=SERVICE)
metrics = Metrics(namespace="Companion", service=SERVICE)


@lru_cache(maxsize=1)
def tracer() -> Any:
    """The X-Ray tracer, imported on first use (aws-xray-sdk is slow to import)."""
    from aws_lambda_powertools import Tracer

    return Tracer(service=SERVICE)


class Telemetry:
    """The narrow metrics surface the domain uses; keeps Powertools out of domain code."""

    def count(self, name: str, value: float = 1) -> None:
        with contextlib.suppress(Exception):  # metrics must never fail a turn
            metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)

    def millis(self, name: str, value: float) -> None:
        with contextlib.suppress(Exception):
            metrics.add_metric(name=name, unit=MetricUnit.Milliseconds, value=value)

    def flush(self) -> None:
        with contextlib.suppress(Exception):
            metrics.flush_metrics()


telemetry = Telemetry()
