"""Opaque, verifiable pagination cursors.

A cursor carries only the sort key a page ended at; the partition is known from the
request. It is signed (HMAC-SHA256) over the listing it was issued for (the user and
character's partition, the record kind, the order), so a cursor that was altered, made up,
or issued to another user or for another listing is refused with ``ValueError``, never sent
to DynamoDB. The whole is base64url, so the key layout is not readable as-is.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Sequence

_VERSION = b"\x01"
_TAG_BYTES = 16
_MAX_CURSOR_CHARS = 4096


class CursorSigner:
    def __init__(self, secret: bytes) -> None:
        if not secret:
            raise ValueError("a cursor key is required")
        self._secret = secret

    def _tag(self, sort_key: bytes, scope: Sequence[str]) -> bytes:
        mac = hmac.new(self._secret, _VERSION, hashlib.sha256)
        for part in (*scope, ""):
            raw = part.encode("utf-8")
            mac.update(len(raw).to_bytes(4, "big") + raw)  # length-prefixed: parts cannot run together
        mac.update(sort_key)
        return mac.digest()[:_TAG_BYTES]

    def issue(self, sort_key: str, scope: Sequence[str]) -> str:
        raw = sort_key.encode("utf-8")
        token = _VERSION + self._tag(raw, scope) + raw
        return base64.urlsafe_b64encode(token).rstrip(b"=").decode("ascii")

    def open(self, cursor: str, scope: Sequence[str], prefix: str = "") -> str:
        """The sort key of a cursor issued for ``scope``; ValueError for any other string."""
        if not cursor or len(cursor) > _MAX_CURSOR_CHARS:
            raise ValueError("invalid cursor")
        try:
            token = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        except (binascii.Error, ValueError, UnicodeEncodeError) as exc:
            raise ValueError("invalid cursor") from exc
        version, tag, raw = token[:1], token[1:1 + _TAG_BYTES], token[1 + _TAG_BYTES:]
        if version != _VERSION or not raw or not hmac.compare_digest(tag, self._tag(raw, scope)):
            raise ValueError("invalid cursor")
        sort_key = raw.decode("utf-8")  # signed by us, so valid UTF-8
        if not sort_key.startswith(prefix):
            raise ValueError("invalid cursor")
        return sort_key
