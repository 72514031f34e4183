"""``/api/v1/characters``: the built-in characters and your own (create, card import and export, edit, delete).

Cards go through ``companion.cards``: import takes the card file itself as the body (JSON, or
a PNG card as ``image/png``: no multipart form, so no form parser), export gives a V2 or V3
card as JSON or, when the character has an avatar, as a PNG. Pillow's work (reading and
writing a PNG card) runs in a worker thread, off the event loop.
"""

from __future__ import annotations

import re
import time
import unicodedata
import uuid
from contextlib import suppress
from functools import partial
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from ...bootstrap import MemoryApiContainer
from ...cards import CardSpec, export_card, export_png_card, import_card
from ...cards import limits as L
from ...characters import BUILTIN_CHARACTERS
from ...errors import AppError, Forbidden, NotFound, StoreUnavailable
from ...models import Character
from ..requests import is_json_media_type, json_object, parse_body
from .deps import ContainerDep, UserId, check_id
from .schemas import (
    CHARACTER_BODY_ERRORS,
    CHARACTER_EXAMPLES,
    ERRORS,
    EXPORT_RESPONSES,
    IMPORT_ERRORS,
    CharacterIn,
    card_body,
    json_body,
)
from .views import character_view

router = APIRouter(prefix="/api/v1/characters", tags=["characters"], responses=ERRORS)

# A character is one DynamoDB item (400 KB at most); its JSON stays under this, with room for
# DynamoDB's own accounting. A create/PUT body may be as large as an imported card.
MAX_STORED_BYTES = 350 * 1024
MAX_CHARACTER_BODY_BYTES = L.MAX_CARD_BYTES
_UNSAFE_IN_FILE_NAMES = re.compile(r'[\\/:*?"<>|]')


def _new_id() -> str:
    return f"c_{uuid.uuid4().hex[:16]}"


async def _visible(c: MemoryApiContainer, user_id: str, character_id: str) -> Character:
    """A character the caller may use: built-in or their own (someone else's answers 404)."""
    found = await c.characters.get(check_id(character_id, "character id"), user_id=user_id)
    if found.character.character_id != character_id:  # the stores are down and the default character stood in
        raise StoreUnavailable(f"characters: '{character_id}' could not be read")
    return found.character


async def _own(c: MemoryApiContainer, user_id: str, character_id: str) -> Character:
    """A character the caller may change: their own (someone else's answers 404, a built-in one 403)."""
    check_id(character_id, "character id")
    ch = await c.character_repo.get(character_id)
    if ch is None and character_id in BUILTIN_CHARACTERS:
        ch = BUILTIN_CHARACTERS[character_id]
    if ch is None or (ch.owner_id is not None and ch.owner_id != user_id):
        raise NotFound(f"character '{character_id}' not found", code="unknown_character")
    if ch.owner_id is None:
        raise Forbidden("built-in characters cannot be changed", code="builtin_character")
    return ch


async def _save(c: MemoryApiContainer, ch: Character) -> dict[str, Any]:
    if len(ch.model_dump_json().encode("utf-8")) > MAX_STORED_BYTES:
        raise AppError(f"the character is larger than the {MAX_STORED_BYTES // 1024} KiB a character may take",
                       code="character_too_large", status=413)
    await c.character_repo.put(ch)
    await c.characters.invalidate(ch.character_id)
    return character_view(ch)


@router.get("")
async def list_characters(user_id: UserId, c: ContainerDep) -> dict[str, Any]:
    """The built-in characters and your own."""
    try:
        chars = await c.character_repo.list(owner_id=user_id)
    except StoreUnavailable:
        chars = []  # the built-in ones still answer
    seen = {ch.character_id for ch in chars}
    chars += [b for b in BUILTIN_CHARACTERS.values() if b.character_id not in seen]
    chars = [ch for ch in chars if ch.owner_id in (None, user_id)]
    chars.sort(key=lambda ch: (ch.owner_id is not None, ch.name))
    return {"characters": [character_view(ch) for ch in chars]}


@router.get("/{character_id}")
async def get_character(character_id: str, user_id: UserId, c: ContainerDep) -> dict[str, Any]:
    """One character you may talk to: built-in or your own."""
    return character_view(await _visible(c, user_id, character_id))


@router.post("", status_code=201, openapi_extra=json_body(CharacterIn, CHARACTER_EXAMPLES),
             responses=CHARACTER_BODY_ERRORS)
async def create_character(request: Request, user_id: UserId, c: ContainerDep) -> dict[str, Any]:
    """Create a character of your own."""
    body = await parse_body(request, CharacterIn, max_bytes=MAX_CHARACTER_BODY_BYTES)
    return await _save(c, Character(character_id=_new_id(), owner_id=user_id, **body.model_dump()))


@router.post("/import", status_code=201, openapi_extra=card_body(), responses=IMPORT_ERRORS)
async def import_character(request: Request, user_id: UserId, c: ContainerDep) -> dict[str, Any]:
    """Import a Character Card (V1, V2 or V3 JSON, or a PNG card sent as the body) as a character of your own.

    Every field of the card is kept, so an export gives it back; ``warnings`` lists what the card
    asks that Companion keeps but does not act on (``code``, ``field``, ``message``). A PNG card's
    image becomes the character's avatar.
    """
    source = await _card_file(request)
    character_id = _new_id()
    result = await run_in_threadpool(partial(import_card, source, character_id=character_id, owner_id=user_id))
    ch = result.character
    if result.avatar is not None:
        key = c.avatars.key_for(user_id, character_id)
        await c.avatars.put(key, result.avatar.png, "image/png")
        ch = ch.model_copy(update={"avatar": result.avatar.ref(key)})
    try:
        view = await _save(c, ch)
    except BaseException:
        if ch.avatar is not None:  # no character will ever point at it
            with suppress(StoreUnavailable):
                await c.avatars.delete(ch.avatar.key)
        raise
    return {**view, "warnings": [w.model_dump() for w in result.warnings]}


async def _card_file(request: Request) -> bytes | dict[str, Any]:
    """The import body: a JSON card (parsed as every JSON body is) or an image file's bytes, within the limit."""
    content_type = request.headers.get("content-type") or ""
    media = content_type.partition(";")[0].strip().lower()
    if media == "multipart/form-data":
        raise AppError("send the card file itself as the request body, with its content type (Content-Type: "
                       "image/png or application/json), not as a multipart form", code="unsupported_media_type",
                       status=415)
    if is_json_media_type(content_type):
        return json_object(await _read_capped(request))
    if media.startswith("image/"):  # the card library says which images it takes (PNG) and what this one is
        return await _read_capped(request)
    raise AppError("send a card as the request body: JSON with Content-Type: application/json, or a PNG card "
                   "with Content-Type: image/png", code="unsupported_media_type", status=415)


async def _read_capped(request: Request) -> bytes:
    """The body, refused (413) as soon as it is over the card file limit, before it is all read."""
    limit = L.MAX_IMAGE_BYTES
    too_large = AppError(f"a card file must be at most {limit // (1024 * 1024)} MiB", code="card_too_large",
                         status=413)
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise too_large
    return bytes(body)


@router.get("/{character_id}/card", responses=EXPORT_RESPONSES)
async def export_character_card(
        character_id: str, user_id: UserId, c: ContainerDep,
        spec: Annotated[CardSpec, Query(description="the card version to write")] = "chara_card_v3",
        file_format: Annotated[Literal["json", "png"], Query(
            alias="format", description="`png`: the avatar with the card in it (V3 writes `ccv3` and a `chara` "
                                        "V2 copy, as SillyTavern does), for a character with an avatar")] = "json",
) -> Response:
    """A character you may use (built-in or your own) as a Character Card file to download."""
    ch = await _visible(c, user_id, character_id)
    if file_format == "json":
        return JSONResponse(export_card(ch, spec), headers=_download(ch, "json"))
    image = await c.avatars.get(ch.avatar.key) if ch.avatar is not None else None
    if image is None:
        raise NotFound(f"character '{character_id}' has no avatar image; export it as JSON", code="no_avatar")
    png = await run_in_threadpool(export_png_card, ch, image, spec)
    return Response(png, media_type="image/png", headers=_download(ch, "png"))


def _download(ch: Character, ext: str) -> dict[str, str]:
    """``Content-Disposition`` naming the file after the character: printable, no path or quote characters;
    an ASCII ``filename`` for old clients (the id when the name has no ASCII) and the UTF-8 ``filename*``."""
    name = "".join(c for c in unicodedata.normalize("NFC", ch.name) if c.isprintable())
    name = _UNSAFE_IN_FILE_NAMES.sub("_", name).strip(" .")[:80].strip(" .")
    ascii_name = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or re.sub(r"[^A-Za-z0-9_-]", "_", ch.character_id)
    full = f"{name or ascii_name}.{ext}"
    return {"Content-Disposition": f"attachment; filename=\"{ascii_name}.{ext}\"; "
                                   f"filename*=UTF-8''{quote(full, safe='')}",
            "X-Content-Type-Options": "nosniff"}


@router.put("/{character_id}", openapi_extra=json_body(CharacterIn, CHARACTER_EXAMPLES),
            responses=CHARACTER_BODY_ERRORS)
async def put_character(character_id: str, request: Request, user_id: UserId, c: ContainerDep) -> dict[str, Any]:
    """Replace every field of one of your characters (its avatar and the rest of an imported card stay)."""
    # A bad body is refused before any store is asked.
    body = await parse_body(request, CharacterIn, max_bytes=MAX_CHARACTER_BODY_BYTES)
    current = await _own(c, user_id, character_id)
    return await _save(c, Character.model_validate(
        {**current.model_dump(), **body.model_dump(), "updated_at": time.time()}))


@router.delete("/{character_id}")
async def delete_character(character_id: str, user_id: UserId, c: ContainerDep) -> dict[str, Any]:
    """Delete one of your characters and its avatar (your memories of it stay until you forget them)."""
    ch = await _own(c, user_id, character_id)
    if ch.avatar is not None:
        # The image first: if that fails the character is still there to delete again, never orphaned bytes.
        await c.avatars.delete(ch.avatar.key)
    await c.character_repo.delete(character_id)
    await c.characters.invalidate(character_id)
    return {"character_id": character_id, "deleted": True}
