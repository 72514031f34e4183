"""Companion: the shared domain package of the AI companion chat backend.

The domain modules (``chat``, ``memory``, ``llm``, ``embeddings``, ``models``) talk to the
outside world only through the protocols in ``ports``; concrete adapters for Redis,
DynamoDB, SQS, S3 and OpenSearch live in ``adapters`` and are chosen by configuration
in ``bootstrap``.
"""

__version__ = "0.1.0"
