"""Secrets through Powertools Parameters against moto's server (SSM and Secrets Manager over HTTP)."""

from __future__ import annotations

import boto3
from companion.secrets import read_secret


def test_read_secret_from_ssm_and_secrets_manager(moto_endpoint: str) -> None:
    ssm = boto3.client("ssm", endpoint_url=moto_endpoint, region_name="us-east-1")
    ssm.put_parameter(Name="/companion/test/jwt", Value="jwt-key-from-ssm", Type="SecureString", Overwrite=True)
    sm = boto3.client("secretsmanager", endpoint_url=moto_endpoint, region_name="us-east-1")
    arn = sm.create_secret(Name="companion-test-ark-key", SecretString="sk-from-secrets-manager")["ARN"]

    assert read_secret("/companion/test/jwt") == "jwt-key-from-ssm"
    assert read_secret("secret:companion-test-ark-key") == "sk-from-secrets-manager"
    assert read_secret(arn) == "sk-from-secrets-manager"
