"""Raw conversation segments archived to S3 (seed 002 §2.3 format).

Key: ``conversations/{user}/{character}/{yyyy}/{mm}/{dd}/{session}.json`` as in the seed (ids
encoded by ``keys.encode_id``, so no id can reach into another user's prefix),
where the date is the segment's first message (UTC). A session usually spans several
memory tasks (every ``memory_segment_threshold`` messages, then the idle sweep), and S3
has no append, so each task's segment gets its own object named after the session and
the message range: ``{session}.{from_seq:08d}-{to_seq:08d}.json``. The key is
deterministic (a replay overwrites the same object), the objects sort by position inside
the session's prefix, and ``session(...)`` reads and joins them. Merging into one object
per session would need a read-modify-write that concurrent tasks of the same session
could lose; per-task objects need no coordination.

The body is the domain's segment document (``companion.memory.archive.archive_document``).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from . import aws
from .aws import call
from .keys import encode_id, s3_prefix


def session_prefix(user_id: str, character_id: str, session_id: str, ts: float) -> str:
    d = datetime.fromtimestamp(ts, UTC)
    session = encode_id(session_id or "nosession")
    return f"conversations/{s3_prefix(user_id, character_id)}{d:%Y}/{d:%m}/{d:%d}/{session}"


def archive_key(user_id: str, character_id: str, session_id: str, ts: float, from_seq: int, to_seq: int) -> str:
    return f"{session_prefix(user_id, character_id, session_id, ts)}.{from_seq:08d}-{to_seq:08d}.json"


class S3ConversationArchive:
    def __init__(self, bucket: str, endpoint_url: str | None = None) -> None:
        self._bucket = bucket
        self._endpoint = endpoint_url

    def key_for(self, user_id: str, character_id: str, session_id: str, start_ts: float, from_seq: int,
                to_seq: int) -> str:
        return archive_key(user_id, character_id, session_id, start_ts, from_seq, to_seq)

    @property
    def _s3(self) -> Any:
        return aws.client("s3", endpoint_url=self._endpoint, read_timeout=10.0)

    async def put(self, key: str, document: dict[str, Any]) -> str:
        body = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        await call(self._s3.put_object, Bucket=self._bucket, Key=key, Body=body,
                   ContentType="application/json; charset=utf-8")
        return key

    async def get(self, key: str) -> dict[str, Any] | None:
        try:
            resp = await call(self._s3.get_object, Bucket=self._bucket, Key=key)
        except Exception as exc:
            if "NoSuchKey" in str(exc) or "404" in str(exc):
                return None
            raise
        return json.loads(resp["Body"].read())

    async def keys(self, prefix: str) -> list[str]:
        out: list[str] = []
        kwargs: dict[str, Any] = {"Bucket": self._bucket, "Prefix": prefix}
        while True:
            resp = await call(self._s3.list_objects_v2, **kwargs)
            out.extend(o["Key"] for o in resp.get("Contents", []))
            if not resp.get("IsTruncated"):
                return out
            kwargs["ContinuationToken"] = resp["NextContinuationToken"]

    async def session(self, user_id: str, character_id: str, session_id: str, ts: float) -> list[dict[str, Any]]:
        """A session's archived segments of that day, in message order."""
        keys = sorted(await self.keys(session_prefix(user_id, character_id, session_id, ts) + "."))
        return [doc for k in keys if (doc := await self.get(k)) is not None]

    async def delete_for(self, user_id: str, character_id: str | None = None) -> int:
        """Delete a user's archives (one character, or all)."""
        prefix = "conversations/" + s3_prefix(user_id, character_id or None)
        keys = await self.keys(prefix)
        for start in range(0, len(keys), 1000):
            await call(self._s3.delete_objects, Bucket=self._bucket,
                       Delete={"Objects": [{"Key": k} for k in keys[start:start + 1000]], "Quiet": True})
        return len(keys)
