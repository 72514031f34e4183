"""Adapters: concrete implementations of ``companion.ports`` for Redis, DynamoDB, SQS, S3, OpenSearch."""
