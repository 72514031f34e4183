"""PNG cards: the card in tEXt/iTXt chunks as SillyTavern writes them; the avatar's pixels survive a round trip."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import companion
import pytest
from companion.cards import export_card, export_png_card, import_card, limits
from companion.errors import AppError

from .samples import pixels, png, text_chunks, v2_card, v3_card


def _b64(card: dict[str, Any]) -> str:
    return base64.b64encode(json.dumps(card, ensure_ascii=False).encode("utf-8")).decode()


def _import(data: bytes) -> Any:
    return import_card(data, character_id="c_png", owner_id="alice")


def _error(data: bytes) -> AppError:
    with pytest.raises(AppError) as info:
        _import(data)
    return info.value


def test_v2_png_card() -> None:
    image = png(texts={"chara": _b64(v2_card())})
    result = _import(image)
    assert result.character.name == "Aria" and result.warnings == []
    assert result.avatar is not None and (result.avatar.width, result.avatar.height) == (12, 9)
    assert pixels(result.avatar.png) == pixels(image)
    assert text_chunks(result.avatar.png) == {}  # the stored avatar carries no card
    ref = result.avatar.ref("avatars/c_png/x.png")
    assert (ref.key, ref.size, ref.sha256) == ("avatars/c_png/x.png", len(result.avatar.png), result.avatar.sha256)


def test_v3_chunk_wins_over_the_v2_backfill_and_keywords_ignore_case() -> None:
    backfill = v2_card()
    image = png(texts={"Chara": _b64(backfill), "CCv3": _b64(v3_card())})
    assert _import(image).character.name == "林月"
    assert _import(png(itxt={"ccv3": _b64(v3_card())})).character.nickname == "小月"  # an iTXt chunk is read too


def test_png_round_trip_keeps_the_pixels_and_the_card() -> None:
    for card in (v2_card(), v3_card()):
        image = png(texts={"chara" if card["spec"] == "chara_card_v2" else "ccv3": _b64(card)})
        first = _import(image)
        assert first.avatar is not None
        exported = export_png_card(first.character, first.avatar.png, card["spec"])
        assert pixels(exported) == pixels(image)
        chunks = text_chunks(exported)
        assert set(chunks) == ({"chara", "ccv3"} if card["spec"] == "chara_card_v3" else {"chara"})
        assert json.loads(base64.b64decode(chunks["chara"]))["spec"] == "chara_card_v2"
        again = _import(exported)
        assert export_card(again.character, card["spec"]) == card
        assert again.avatar is not None and pixels(again.avatar.png) == pixels(image)


def test_a_palette_image_keeps_its_palette_and_transparency() -> None:
    import io

    from PIL import Image

    img = Image.new("P", (6, 4))
    img.putpalette([0, 0, 0, 255, 0, 0, 0, 255, 0] + [0] * (256 * 3 - 9))
    img.putpixel((2, 1), 1)
    img.putpixel((3, 2), 2)
    buf = io.BytesIO()
    img.save(buf, format="PNG", transparency=0)
    result = _import(export_png_card(import_card(v2_card(), character_id="c", owner_id=None).character,
                                     buf.getvalue()))
    assert result.avatar is not None
    out = Image.open(io.BytesIO(result.avatar.png))
    assert out.mode == "P" and out.info.get("transparency") == 0 and out.tobytes() == img.tobytes()
    assert out.convert("RGB").getpixel((3, 2)) == (0, 255, 0)


def test_an_unreadable_ccv3_chunk_falls_back_to_chara_with_a_warning() -> None:
    result = _import(png(texts={"ccv3": "%%%not base64%%%", "chara": _b64(v2_card())}))
    assert result.character.name == "Aria"
    assert [(w.code, w.field) for w in result.warnings] == [("ccv3_chunk_unreadable", "png:ccv3")]


def test_embedded_asset_chunks_are_reported() -> None:
    result = _import(png(texts={"ccv3": _b64(v3_card()), "chara-ext-asset_:bg.png": "AAAA"}))
    assert [w.code for w in result.warnings] == ["embedded_assets_not_kept", "lore_decorator_ignored"]


@pytest.mark.parametrize(("data", "code", "status", "message"), [
    (png(), "no_card_in_image", 422, "the PNG holds no character card (no 'chara' or 'ccv3' text chunk)"),
    (png(texts={"chara": "!!!"}), "invalid_card", 422, "the PNG's 'chara' chunk is not base64 of JSON (UTF-8)"),
    (png(texts={"chara": base64.b64encode(b"{broken").decode()}), "invalid_card", 422,
     "the PNG's 'chara' chunk is not base64 of JSON (UTF-8)"),
    (png(texts={"chara": _b64({"spec": "chara_card_v2", "data": {"name": "A", "tags": "x"}})}), "invalid_card", 422,
     "data.tags must be a list of strings"),
    (png()[:60], "invalid_image", 422, "the PNG image is damaged or incomplete"),
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "invalid_image", 422, "the file is not a readable PNG image"),
    (png(size=(limits.MAX_IMAGE_SIDE + 1, 1), mode="RGB"), "card_too_large", 413,
     f"the image is {limits.MAX_IMAGE_SIDE + 1}×1; at most {limits.MAX_IMAGE_SIDE} pixels a side"),
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * limits.MAX_IMAGE_BYTES, "card_too_large", 413,
     f"a PNG card must be at most {limits.MAX_IMAGE_BYTES // (1024 * 1024)} MiB"),
])
def test_malformed_png_cards(data: bytes, code: str, status: int, message: str) -> None:
    err = _error(data)
    assert (err.code, err.status) == (code, status) and err.message.startswith(message)


def test_importing_the_package_does_not_import_pillow() -> None:
    code = ("import sys; import companion.cards, companion.cards.lorebook, companion.chat.macros; "
            "sys.exit(1 if [m for m in sys.modules if m == 'PIL' or m.startswith('PIL.')] else 0)")
    layer = Path(companion.__file__).resolve().parents[1]
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          env={"PYTHONPATH": str(layer)})
    assert proc.returncode == 0, proc.stderr or "companion.cards imported PIL"
