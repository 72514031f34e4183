"""OpenSearch-shaped errors: every failure the emulator reports is one of these.

The HTTP layer turns them into OpenSearch's body shape:
``{"error": {"root_cause": [...], "type": ..., "reason": ...}, "status": N}``.
"""

from __future__ import annotations

from typing import Any


class OpenSearchError(Exception):
    """An error with OpenSearch's exception type name, reason and HTTP status."""

    def __init__(
        self,
        status: int,
        error_type: str,
        reason: str,
        *,
        extra: dict[str, Any] | None = None,
        caused_by: OpenSearchError | None = None,
    ) -> None:
        super().__init__(reason)
        self.status = status
        self.error_type = error_type
        self.reason = reason
        self.extra = extra or {}
        self.caused_by = caused_by

    def cause_body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"type": self.error_type, "reason": self.reason, **self.extra}
        if self.caused_by is not None:
            body["caused_by"] = self.caused_by.cause_body()
        return body

    def to_body(self) -> dict[str, Any]:
        root = {"type": self.error_type, "reason": self.reason, **self.extra}
        return {"error": {"root_cause": [root], **self.cause_body()}, "status": self.status}


def index_not_found(index: str) -> OpenSearchError:
    return OpenSearchError(
        404,
        "index_not_found_exception",
        f"no such index [{index}]",
        extra={"index": index, "resource.id": index, "resource.type": "index_or_alias", "index_uuid": "_na_"},
    )


def already_exists(index: str, uuid: str) -> OpenSearchError:
    return OpenSearchError(
        400,
        "resource_already_exists_exception",
        f"index [{index}/{uuid}] already exists",
        extra={"index": index, "index_uuid": uuid},
    )


def parsing(reason: str) -> OpenSearchError:
    return OpenSearchError(400, "parsing_exception", reason)


def x_content_parse(reason: str) -> OpenSearchError:
    return OpenSearchError(400, "x_content_parse_exception", reason)


def illegal_argument(reason: str) -> OpenSearchError:
    return OpenSearchError(400, "illegal_argument_exception", reason)


def mapper_parsing(reason: str, caused_by: OpenSearchError | None = None) -> OpenSearchError:
    return OpenSearchError(400, "mapper_parsing_exception", reason, caused_by=caused_by)


def version_conflict(index: str, doc_id: str, reason: str) -> OpenSearchError:
    return OpenSearchError(409, "version_conflict_engine_exception", f"[{doc_id}]: {reason}", extra={"index": index})


def document_missing(index: str, doc_id: str) -> OpenSearchError:
    return OpenSearchError(404, "document_missing_exception", f"[{doc_id}]: document missing", extra={"index": index})


def resource_not_found(reason: str) -> OpenSearchError:
    return OpenSearchError(404, "resource_not_found_exception", reason)
