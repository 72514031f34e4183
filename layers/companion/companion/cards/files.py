"""Reading a card file: PNG or JSON bytes, or an already parsed JSON card."""

from __future__ import annotations

from typing import Any

from ..errors import AppError
from .importer import CardImport, card_to_character, parse_json
from .png import import_png_card, is_png

_OTHER_FORMATS = ((b"RIFF", "a WebP image"), (b"\xff\xd8\xff", "a JPEG image"), (b"PK\x03\x04", "a CHARX/zip archive"),
                  (b"GIF8", "a GIF image"))


def import_card(source: bytes | Any, *, character_id: str, owner_id: str | None,
                now: float | None = None) -> CardImport:
    """A card file (PNG or JSON bytes) or an already parsed JSON card → the character."""
    if not isinstance(source, bytes):
        return card_to_character(source, character_id=character_id, owner_id=owner_id, now=now)
    if is_png(source):
        return import_png_card(source, character_id=character_id, owner_id=owner_id, now=now)
    for magic, what in _OTHER_FORMATS:
        if source.startswith(magic):
            raise AppError(f"the file is {what}; cards are taken as JSON or PNG", code="unsupported_card_format",
                           status=415)
    return card_to_character(parse_json(source), character_id=character_id, owner_id=owner_id, now=now)
