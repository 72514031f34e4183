"""The test environment, and the shared fixtures (tests/fixtures) registered for every test."""

from __future__ import annotations

import os

# boto3 must never reach real AWS from the tests.
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.setdefault("AWS_REGION", "us-east-1")
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "CompanionTest")
os.environ.setdefault("POWERTOOLS_DEV", "false")
os.environ.setdefault("APP_ENV", "test")

pytest_plugins = ["tests.fixtures.services", "tests.fixtures.stores", "tests.fixtures.local_stack", "tests.served_apps"]
