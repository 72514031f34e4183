"""Recall tests run on the shared fixtures (tests/fixtures: ``recall_settings``, ``container_factory``,
``container``, ``seeder``, ``user_id`` over redis-server, moto's server and the OpenSearch emulator)."""

from __future__ import annotations

from tests.fixtures.stores import JWT_SECRET

__all__ = ["JWT_SECRET"]  # the secret the shared settings sign with, as the tests import it
