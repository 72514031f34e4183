"""Secrets from SSM Parameter Store or Secrets Manager via Powertools Parameters (cached)."""

from __future__ import annotations


def read_secret(name: str, *, max_age_s: int = 300) -> str:
    """``secret:<id>`` or a Secrets Manager ARN → Secrets Manager; anything else → SSM (decrypted)."""
    from aws_lambda_powertools.utilities import parameters

    if name.startswith("secret:"):
        return str(parameters.get_secret(name.removeprefix("secret:"), max_age=max_age_s))
    if name.startswith("arn:aws:secretsmanager:"):
        return str(parameters.get_secret(name, max_age=max_age_s))
    return str(parameters.get_parameter(name, decrypt=True, max_age=max_age_s))
