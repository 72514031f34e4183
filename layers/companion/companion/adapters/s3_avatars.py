"""Characters' avatar images in S3, beside the archive (same bucket, ``avatars/`` prefix).

Key: ``avatars/{owner}/{character}/avatar.png`` (ids encoded by ``keys.encode_id``, so no id
reaches into another user's prefix). The bucket is versioned: a deleted avatar's bytes stay as
a noncurrent version until the template's ``avatars/`` lifecycle rule expires them (one day).
"""

from __future__ import annotations

from typing import Any

from ..errors import StoreUnavailable
from . import aws
from .keys import s3_prefix

PREFIX = "avatars/"
_MISSING = frozenset({"NoSuchKey", "404"})


class S3AvatarStore:
    def __init__(self, bucket: str, endpoint_url: str | None = None) -> None:
        self._bucket = bucket
        self._endpoint = endpoint_url

    @property
    def _s3(self) -> Any:
        # An avatar is up to a few MiB: more time to move it than a small object needs.
        return aws.client("s3", endpoint_url=self._endpoint, read_timeout=10.0)

    def key_for(self, owner_id: str, character_id: str) -> str:
        return f"{PREFIX}{s3_prefix(owner_id, character_id)}avatar.png"

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        await aws.call(self._s3.put_object, Bucket=self._bucket, Key=key, Body=data, ContentType=content_type)

    async def get(self, key: str) -> bytes | None:
        try:
            resp = await aws.call(self._s3.get_object, Bucket=self._bucket, Key=key)
        except StoreUnavailable as exc:
            if aws.error_code(exc.__cause__ or exc) in _MISSING:
                return None
            raise
        body: bytes = await aws.call(resp["Body"].read)
        return body

    async def delete(self, key: str) -> None:
        await aws.call(self._s3.delete_object, Bucket=self._bucket, Key=key)
