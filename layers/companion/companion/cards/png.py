"""PNG character cards: the card in a ``tEXt``/``iTXt`` chunk, read and written with Pillow.

The chunks are the ones SillyTavern reads and writes: ``chara`` holds a V2 card and ``ccv3`` a V3
card, each base64 of the card's UTF-8 JSON; keywords match case-insensitively; ``ccv3`` wins when
both are there. Export writes ``ccv3`` and a ``chara`` backfill (V3), or ``chara`` alone (V2).

Pillow is imported inside the functions: this module is reachable from ``companion.cards``, and
the chat path must not pay Pillow's import.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import json
from typing import TYPE_CHECKING, Any

from ..errors import AppError, ValidationFailed
from ..models import Character
from . import limits as L
from .exporter import CardSpec, export_card
from .importer import AvatarImage, CardImport, CardWarning, card_to_character, parse_json

if TYPE_CHECKING:
    from PIL.Image import Image

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_ASSET_PREFIX = "chara-ext-asset_"
# A base64 card a little over the JSON limit is still read, so the error can say how large it is.
_MAX_CHUNK_CHARS = L.MAX_CARD_BYTES * 4 // 3 + 1024


def is_png(data: bytes) -> bool:
    return data.startswith(PNG_SIGNATURE)


def import_png_card(data: bytes, *, character_id: str, owner_id: str | None, now: float | None = None) -> CardImport:
    """A PNG card → the character, the avatar (the image without its card chunks) and warnings."""
    img = _open(data)
    texts = {key.lower(): value for key, value in _text_chunks(img).items()}
    warnings: list[CardWarning] = []
    card: Any = None
    for keyword in ("ccv3", "chara"):
        if keyword not in texts:
            continue
        try:
            card = _decode_chunk(keyword, texts[keyword])
            break
        except ValidationFailed:
            if keyword == "chara" or "chara" not in texts:
                raise
            warnings.append(CardWarning(code="ccv3_chunk_unreadable", field="png:ccv3",
                                        message="the ccv3 chunk is not base64 JSON; the chara (V2) chunk was read"))
    if card is None:
        raise ValidationFailed("the PNG holds no character card (no 'chara' or 'ccv3' text chunk)",
                               code="no_card_in_image")
    assets = [k for k in texts if k.startswith(_ASSET_PREFIX)]
    result = card_to_character(card, character_id=character_id, owner_id=owner_id, now=now)
    if assets:
        warnings.append(CardWarning(code="embedded_assets_not_kept", field="png:" + _ASSET_PREFIX,
                                    message=f"{len(assets)} asset(s) embedded in the PNG are not kept; "
                                            "only the image itself is"))
    clean = _encode(img, {})
    result.warnings[:0] = warnings
    result.avatar = AvatarImage(png=clean, width=img.width, height=img.height,
                                sha256=hashlib.sha256(clean).hexdigest())
    return result


def export_png_card(character: Character, avatar_png: bytes, spec: CardSpec = "chara_card_v3") -> bytes:
    """The avatar with the card written into it (pixels unchanged)."""
    img = _open(avatar_png)
    chunks = {"chara": _encode_chunk(export_card(character, "chara_card_v2"))}
    if spec == "chara_card_v3":
        chunks["ccv3"] = _encode_chunk(export_card(character, "chara_card_v3"))
    return _encode(img, chunks)


def _open(data: bytes) -> Image:
    if len(data) > L.MAX_IMAGE_BYTES:
        raise AppError(f"a PNG card must be at most {L.MAX_IMAGE_BYTES // (1024 * 1024)} MiB",
                       code="card_too_large", status=413)
    if not is_png(data):
        raise ValidationFailed("the file is not a PNG image", code="invalid_image")
    from PIL import Image, UnidentifiedImageError

    try:
        img = Image.open(io.BytesIO(data), formats=["PNG"])
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise ValidationFailed("the file is not a readable PNG image", code="invalid_image") from exc
    width, height = img.size
    if max(width, height) > L.MAX_IMAGE_SIDE or width * height > L.MAX_IMAGE_PIXELS:
        raise AppError(f"the image is {width}×{height}; at most {L.MAX_IMAGE_SIDE} pixels a side and "
                       f"{L.MAX_IMAGE_PIXELS:,} pixels are taken", code="card_too_large", status=413)
    try:
        img.load()
    except (OSError, ValueError, SyntaxError) as exc:  # truncated data, a bad chunk, text too large
        raise ValidationFailed("the PNG image is damaged or incomplete", code="invalid_image") from exc
    return img


def _text_chunks(img: Image) -> dict[str, str]:
    try:
        text: dict[str, Any] = getattr(img, "text", {})
    except (OSError, ValueError) as exc:
        raise ValidationFailed("the PNG's text chunks cannot be read", code="invalid_image") from exc
    return {str(k): str(v) for k, v in text.items()}


def _decode_chunk(keyword: str, value: str) -> Any:
    if len(value) > _MAX_CHUNK_CHARS:
        raise AppError(f"the card in the PNG's '{keyword}' chunk is over {L.MAX_CARD_BYTES // 1024} KiB",
                       code="card_too_large", status=413)
    value = value.strip()
    if value.startswith("{"):  # some old tools wrote the JSON itself
        return parse_json(value)
    try:
        raw = base64.b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError) as exc:
        raise ValidationFailed(f"the PNG's '{keyword}' chunk is not base64", code="invalid_card") from exc
    try:
        return parse_json(raw)
    except ValidationFailed as exc:
        raise ValidationFailed(f"the PNG's '{keyword}' chunk is not base64 of JSON (UTF-8)",
                               code="invalid_card") from exc


def _encode_chunk(card: dict[str, Any]) -> str:
    return base64.b64encode(json.dumps(card, ensure_ascii=False, separators=(",", ":")).encode("utf-8")).decode()


def _encode(img: Image, chunks: dict[str, str]) -> bytes:
    """Re-encode the image (same mode, pixels, palette, transparency, ICC profile) with only ``chunks`` as text."""
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    for keyword, value in chunks.items():
        info.add_text(keyword, value)  # base64 is Latin-1, so these are tEXt chunks, as SillyTavern writes
    params: dict[str, Any] = {k: img.info[k] for k in ("icc_profile", "transparency", "dpi") if k in img.info}
    if getattr(img, "is_animated", False):
        params.update(save_all=True, default_image=img.info.get("default_image", False))
        img.seek(0)
    out = io.BytesIO()
    img.save(out, format="PNG", pnginfo=info, **params)
    return out.getvalue()
