"""Store keys built from a user id and a character id, unambiguous for any pair.

User ids come from identity providers (``auth0|…``, e-mail addresses, ids with ``:`` or
``#``) and meet separators in every store: Redis (``{user:character}`` hash tags), DynamoDB
partitions (``user#character``), S3 paths (``user/character/…``), SQS group ids. Each
component is percent-encoded for the characters any of those layouts gives a meaning
(``% : # / { }``, control characters, and a component made only of dots, which a path
would read as ``.``/``..``), so distinct pairs never give the same key and braces cannot
break a Redis slot tag. Plain ids (letters, digits, ``-``, ``_``, ``.``, ``@``, ``|``,
non-Latin text) encode to themselves, so their keys are the ones the stores already hold.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from urllib.parse import unquote

_RESERVED = frozenset("%:#/{}")


def _escape(ch: str) -> str:
    return "".join(f"%{b:02X}" for b in ch.encode("utf-8"))


@lru_cache(maxsize=4096)  # a turn builds a dozen keys from the same two ids
def encode_id(value: str) -> str:
    """One id as a key component: reversible (``decode_id``) and free of every separator."""
    if value and set(value) == {"."}:
        return _escape(".") * len(value)
    return "".join(_escape(ch) if ch in _RESERVED or ord(ch) < 0x20 or ord(ch) == 0x7F else ch
                   for ch in value)


def decode_id(component: str) -> str:
    # Every '%' of a component starts an escape made by ``encode_id``, so unquote inverts it.
    return unquote(component)


def pair(user_id: str, character_id: str, sep: str) -> str:
    """``user`` + ``sep`` + ``character``, each encoded; ``sep`` must be a reserved character."""
    if sep not in _RESERVED:
        raise ValueError(f"separator {sep!r} is not escaped inside components")
    return f"{encode_id(user_id)}{sep}{encode_id(character_id)}"


def partition_key(user_id: str, character_id: str) -> str:
    """The DynamoDB partition of one conversation pair (message log and memory table)."""
    return pair(user_id, character_id, "#")


def redis_tag(user_id: str, character_id: str) -> str:
    """Hash tag putting one conversation's Redis keys in one cluster slot."""
    return "{" + pair(user_id, character_id, ":") + "}"


def redis_tag_of(key: str) -> str:
    """A free-form key (e.g. the rate limiter's ``user:<id>``) as a valid hash tag."""
    return "{" + "".join(_escape(ch) if ch in "%{}" else ch for ch in key) + "}"


def s3_prefix(user_id: str, character_id: str | None = None) -> str:
    """``user/`` or ``user/character/``: a user's prefix never contains another user's."""
    return encode_id(user_id) + "/" + (encode_id(character_id) + "/" if character_id is not None else "")


# SQS FIFO group ids allow only short strings of printable ASCII.
_GROUP_MAX = 128


def task_group_id(user_id: str, character_id: str) -> str:
    """The FIFO group of one pair's memory tasks (ordered per conversation)."""
    plain = pair(user_id, character_id, ":")
    if len(plain) <= _GROUP_MAX and all(0x21 <= ord(ch) <= 0x7E for ch in plain):
        return plain
    # Long or non-ASCII ids: a digest, which never contains ':' and so never equals a plain group.
    return "sha256-" + hashlib.sha256(plain.encode("utf-8")).hexdigest()
