"""Powertools Logger, Metrics (EMF) and Tracer, created once per execution environment.

Logs never carry message contents: only ids, counts, timings and error classes.
"""

from __future__ import annotations

import contextlib
import os
from functools import cache, lru_cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

SERVICE = "companion"
logger = Logger(service=SERVICE)
metrics = Metrics(namespace="Companion", service=SERVICE)


@cache
def function_logger(service: str) -> Logger:
    """A function's own logger, ``service`` naming the function in every line. Powertools keeps the
    keys a handler appends (its Lambda context) per logger: functions sharing one process (the
    local worker poller runs the sweeper beside the worker) would otherwise tag each other's lines."""
    return Logger(service=service)


@lru_cache(maxsize=1)
def tracer() -> Any:
    """The X-Ray tracer, imported on first use (aws-xray-sdk is slow to import)."""
    from aws_lambda_powertools import Tracer

    return Tracer(service=SERVICE)


class PowertoolsTelemetry:
    """``ports.Telemetry`` over Powertools Metrics (EMF) and the X-Ray tracer: keeps them out of the domain."""

    tracing = False  # set by the chat app when CHAT_TRACING is on (the handlers trace by decorator)

    def span(self, name: str) -> contextlib.AbstractAsyncContextManager[Any]:
        """An X-Ray subsegment around a phase of work when tracing is on; else nothing."""
        if not self.tracing:
            return contextlib.nullcontext()
        return tracer().provider.in_subsegment_async(name)

    def count(self, name: str, value: float = 1) -> None:
        with contextlib.suppress(Exception):  # metrics must never fail a turn
            metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)

    def millis(self, name: str, value: float) -> None:
        with contextlib.suppress(Exception):
            metrics.add_metric(name=name, unit=MetricUnit.Milliseconds, value=value)

    def flush(self) -> None:
        with contextlib.suppress(Exception):
            metrics.flush_metrics()


telemetry = PowertoolsTelemetry()


TRACE_HEADER_ENV = "_X_AMZN_TRACE_ID"


def adopt_trace_header(header: str | None) -> None:
    """Under the Lambda Web Adapter the app runs as its own process: the invocation's trace id
    arrives as the ``X-Amzn-Trace-Id`` request header, not in the environment the X-Ray SDK reads.
    One invocation at a time per environment, so a process-wide variable is safe here."""
    telemetry.tracing = True
    if header:
        os.environ[TRACE_HEADER_ENV] = header
