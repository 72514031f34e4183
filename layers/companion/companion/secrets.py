"""Secrets from SSM Parameter Store or Secrets Manager via Powertools Parameters (cached).

The one way the project reads a secret (JWT key, model and embedding API keys). Powertools
is imported on first use: most environments read no secret on the hot path.
"""

from __future__ import annotations


def read_secret(name: str, *, max_age_s: int = 300) -> str:
    """``secret:<id>`` or a Secrets Manager ARN → Secrets Manager; anything else → SSM (decrypted)."""
    from aws_lambda_powertools.utilities import parameters

    if name.startswith("secret:"):
        value = parameters.get_secret(name.removeprefix("secret:"), max_age=max_age_s)
    elif name.startswith("arn:aws:secretsmanager:"):
        value = parameters.get_secret(name, max_age=max_age_s)
    else:
        value = parameters.get_parameter(name, decrypt=True, max_age=max_age_s)
    return value.decode() if isinstance(value, bytes) else str(value)
