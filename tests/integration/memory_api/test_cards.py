"""Character cards through the memory API: import (V1/V2/V3 JSON, PNG as the raw body), export (JSON, PNG),
avatars in S3, limits and errors. The test cards are the card library's own (tests/unit/cards/samples.py)."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import unquote

import boto3
import pytest
from companion.cards import limits

from tests.unit.cards.samples import pixels, png, text_chunks, v1_card, v2_card, v3_card

from .conftest import Api

IMPORT = "/api/v1/characters/import"


def _b64(card: dict[str, Any]) -> str:
    return base64.b64encode(json.dumps(card, ensure_ascii=False).encode("utf-8")).decode()


def png_card(card: dict[str, Any], **kw: Any) -> bytes:
    """A PNG card as SillyTavern writes one: the card in a ``chara`` (V2) or ``ccv3`` (V3) tEXt chunk."""
    keyword = "ccv3" if card.get("spec") == "chara_card_v3" else "chara"
    return png(texts={keyword: _b64(card)}, **kw)


async def post_file(api: Api, raw: bytes, content_type: str | None, *, user: str | None = None,
                    **headers: str) -> Any:
    extra = {"Content-Type": content_type} if content_type else {}
    return await api.http.post(IMPORT, content=raw, headers={**api.auth(user), **extra, **headers})


async def export(api: Api, character_id: str, spec: str, fmt: str = "json", *, user: str | None = None) -> Any:
    return await api.call("GET", f"/api/v1/characters/{character_id}/card", user=user,
                          params={"spec": spec, "format": fmt})


# ------------------------------------------------------------------------------ JSON cards

@pytest.mark.parametrize("make", [v2_card, v3_card], ids=["v2", "v3"])
async def test_a_json_card_is_stored_and_exported_unchanged(api: Api, make: Any) -> None:
    """Imported, put in DynamoDB (None inside extensions included), read back: the export is the card."""
    card = make()
    r = await api.call("POST", IMPORT, json=card)
    assert r.status_code == 201, r.text
    cid = r.json()["character_id"]
    stored = await api.container.character_repo.get(cid)  # straight from DynamoDB, no cache between
    assert stored is not None and stored.card is not None and stored.card.spec == card["spec"]
    got = await export(api, cid, card["spec"])  # the first read: DynamoDB, through the API
    assert got.status_code == 200 and got.headers["content-type"].startswith("application/json")
    assert got.json() == card
    again = await export(api, cid, card["spec"])  # now through the Redis cache
    assert again.json() == card


async def test_null_extension_values_survive_dynamodb(api: Api) -> None:
    card = v2_card()
    r = await api.call("POST", IMPORT, json=card)
    stored = await api.container.character_repo.get(r.json()["character_id"])
    assert stored is not None
    entry_ext = stored.character_book[0]["extensions"]
    assert "sticky" in entry_ext and entry_ext["sticky"] is None and entry_ext["role"] is None
    assert stored.extensions["x_custom"] == {"nested": [1, 2.5, None, {"deep": True}]}
    s = api.container.settings
    raw = boto3.client("dynamodb", endpoint_url=s.aws_endpoint_url, region_name=s.aws_region).get_item(
        TableName=s.characters_table, Key={"character_id": {"S": stored.character_id}})["Item"]
    assert raw["character_book"]["L"][0]["M"]["extensions"]["M"]["sticky"] == {"NULL": True}  # stored as NULL
    assert "nickname" not in raw and "avatar" not in raw  # a None attribute of the item itself stays absent


async def test_json_card_fields_and_warnings_in_the_response(api: Api) -> None:
    r = await api.call("POST", IMPORT, json=v3_card())
    assert r.status_code == 201, r.text
    ch = r.json()
    assert (ch["name"], ch["nickname"], ch["language"], ch["owner_id"]) == ("林月", "小月", "zh", api.user_id)
    assert ch["alternate_greetings"] == ["下雨了，{{user}}进来坐。"] and ch["group_only_greetings"] == ["大家好。"]
    assert ch["warnings"] == [{"code": "lore_decorator_ignored", "field": "data.character_book.entries[2].content",
                               "message": "the decorator @@activate_only_after is kept but has no effect"}]
    assert ch["has_avatar"] is False and "card" not in ch and "avatar" not in ch  # internal fields stay inside
    got = (await api.call("GET", f"/api/v1/characters/{ch['character_id']}")).json()
    assert "warnings" not in got and got["first_mes"] == "你来啦，{{user}}，先喝杯茶吧。"


async def test_a_v1_card_imports_and_exports_as_v2(api: Api) -> None:
    r = await api.call("POST", IMPORT, json=v1_card())
    assert r.status_code == 201, r.text
    assert (r.json()["name"], r.json()["first_mes"]) == ("Momo", "Good morning, <USER>!")
    out = (await export(api, r.json()["character_id"], "chara_card_v2")).json()
    assert out["spec"] == "chara_card_v2" and out["data"]["scenario"] == "A bakery at dawn."
    assert out["avatar"] == "none"  # the V1 card's own keys come back beside the spec


@pytest.mark.parametrize(("card", "field", "message"), [
    ({"spec": "chara_card_v2", "data": {"name": "A", "tags": "x"}}, ["data", "tags"],
     "data.tags must be a list of strings"),
    ({"spec": "chara_card_v3", "data": {"name": "A", "alternate_greetings": ["hi", 3]}},
     ["data", "alternate_greetings", 1], "data.alternate_greetings[1] must be a string"),
    ({"spec": "chara_card_v2", "data": {"name": "A", "character_book": {"entries": [{"keys": ["k"], "content": 5}]}}},
     ["data", "character_book", "entries", 0, "content"], "data.character_book.entries[0].content must be a string"),
    ({"spec": "chara_card_v9", "data": {"name": "A"}}, ["spec"],
     "spec must be 'chara_card_v2' or 'chara_card_v3' (or absent, for a V1 card)"),
])
async def test_a_malformed_card_is_a_422_naming_the_field(api: Api, card: dict[str, Any], field: list[Any],
                                                          message: str) -> None:
    r = await api.call("POST", IMPORT, json=card)
    assert r.status_code == 422, r.text
    err = r.json()["error"]
    assert (err["code"], err["message"], err["details"][0]["loc"]) == ("invalid_card", message, field)
    assert await _own(api) == []


async def test_a_malformed_png_card_is_a_422_naming_the_field(api: Api) -> None:
    image = png_card({"spec": "chara_card_v2", "data": {"name": "A", "tags": "x"}})
    r = await post_file(api, image, "image/png")
    assert r.status_code == 422 and r.json()["error"] == {
        "code": "invalid_card", "message": "data.tags must be a list of strings",
        "details": [{"loc": ["data", "tags"], "msg": "must be a list of strings"}]}
    r = await post_file(api, png(), "image/png")
    assert r.status_code == 422 and r.json()["error"]["code"] == "no_card_in_image"
    assert await _own(api) == []


# ------------------------------------------------------------------------------- PNG cards

@pytest.mark.parametrize("make", [v2_card, v3_card], ids=["v2", "v3"])
async def test_png_card_import_and_export_round_trip(api: Api, make: Any) -> None:
    card = make()
    image = png_card(card)
    r = await post_file(api, image, "image/png")
    assert r.status_code == 201, r.text
    ch = r.json()
    assert ch["has_avatar"] is True and ch["name"] == card["data"]["name"]
    stored = await api.container.character_repo.get(ch["character_id"])
    assert stored is not None and stored.avatar is not None
    assert stored.avatar.key.startswith("avatars/") and (stored.avatar.width, stored.avatar.height) == (12, 9)
    avatar = await api.container.avatars.get(stored.avatar.key)
    assert avatar is not None and pixels(avatar) == pixels(image) and text_chunks(avatar) == {}  # no card in it

    out = await export(api, ch["character_id"], card["spec"], "png")
    assert out.status_code == 200 and out.headers["content-type"] == "image/png"
    assert pixels(out.content) == pixels(image)
    chunks = text_chunks(out.content)
    assert set(chunks) == ({"ccv3", "chara"} if card["spec"] == "chara_card_v3" else {"chara"})
    assert json.loads(base64.b64decode(chunks["ccv3" if "ccv3" in chunks else "chara"])) == card
    assert json.loads(base64.b64decode(chunks["chara"]))["spec"] == "chara_card_v2"  # the V2 copy old readers take

    back = await post_file(api, out.content, "image/png")  # the exported file imports again, the same card
    assert back.status_code == 201, back.text
    assert (await export(api, back.json()["character_id"], card["spec"])).json() == card


async def test_the_avatar_is_deleted_with_the_character(api: Api) -> None:
    r = await post_file(api, png_card(v2_card()), "image/png")
    cid = r.json()["character_id"]
    stored = await api.container.character_repo.get(cid)
    assert stored is not None and stored.avatar is not None
    key = stored.avatar.key
    assert await api.container.avatars.get(key) is not None
    assert (await api.call("DELETE", f"/api/v1/characters/{cid}", user=api.user_id + "-x")).status_code == 404
    assert await api.container.avatars.get(key) is not None  # someone else's delete touches nothing
    r = await api.call("DELETE", f"/api/v1/characters/{cid}")
    assert r.status_code == 200 and r.json()["deleted"] is True
    assert await api.container.avatars.get(key) is None
    assert (await export(api, cid, "chara_card_v2", "png")).status_code == 404


def test_avatar_keys_keep_users_apart(api: Api) -> None:
    key_for = api.container.avatars.key_for
    assert key_for("a/b", "c") == "avatars/a%2Fb/c/avatar.png" and key_for("a", "b/c") == "avatars/a/b%2Fc/avatar.png"
    assert key_for("..", "c") == "avatars/%2E%2E/c/avatar.png"  # no id climbs out of its prefix


async def test_a_put_keeps_the_avatar_and_the_rest_of_the_card(api: Api) -> None:
    card = v2_card()
    r = await post_file(api, png_card(card), "image/png")
    ch = r.json()
    body = {k: ch[k] for k in ("name", "description", "personality", "scenario", "first_mes", "mes_example",
                               "system_prompt", "post_history_instructions", "alternate_greetings", "tags",
                               "creator", "creator_notes", "character_version", "extensions", "character_book",
                               "lorebook", "language")}
    r = await api.call("PUT", f"/api/v1/characters/{ch['character_id']}", json={**body, "name": "Aria II"})
    assert r.status_code == 200, r.text
    assert r.json()["has_avatar"] is True and r.json()["name"] == "Aria II"
    out = (await export(api, ch["character_id"], "chara_card_v2")).json()
    assert out["data"]["name"] == "Aria II" and out["name"] == "Aria II"  # SillyTavern's top-level copy follows
    assert out["data"]["x_unknown_data_field"] == {"kept": "yes"} and out["chat"] == "Aria - 2025-4-16"
    assert out["data"]["character_book"] == card["data"]["character_book"]
    assert (await export(api, ch["character_id"], "chara_card_v2", "png")).status_code == 200


# ---------------------------------------------------------------------------- limits, types

async def test_a_body_over_the_image_limit_is_a_413_before_it_is_read(api: Api) -> None:
    big = png_card(v2_card()) + b"\0" * limits.MAX_IMAGE_BYTES
    r = await post_file(api, big, "image/png")
    assert r.status_code == 413 and r.json()["error"]["code"] == "card_too_large"
    assert r.json()["error"]["message"] == f"a card file must be at most {limits.MAX_IMAGE_BYTES // 2**20} MiB"

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: the cap holds while the body streams in
        for _ in range(limits.MAX_IMAGE_BYTES // 2**20 + 2):
            yield b"\0" * 2**20
    r = await api.http.post(IMPORT, content=chunks(), headers={**api.auth(), "Content-Type": "image/png"})
    assert r.status_code == 413 and r.json()["error"]["code"] == "card_too_large"
    big_json = json.dumps({"spec": "chara_card_v2", "data": {"name": "A", "description": "x" * limits.MAX_IMAGE_BYTES}})
    r = await post_file(api, big_json.encode(), "application/json")
    assert r.status_code == 413 and r.json()["error"]["code"] == "card_too_large"
    assert await _own(api) == []


async def test_a_card_over_the_json_limit_is_a_413_that_says_the_limit(api: Api) -> None:
    card = {"spec": "chara_card_v2", "data": {"name": "A", "extensions": {"x": ["y" * 30_000] * 10}}}
    r = await api.call("POST", IMPORT, json=card)
    assert r.status_code == 413 and r.json()["error"]["code"] == "card_too_large"
    assert f"at most {limits.MAX_CARD_BYTES // 1024} KiB" in r.json()["error"]["message"]


@pytest.mark.parametrize(("content_type", "raw", "code", "says"), [
    ("multipart/form-data; boundary=x", b"--x--", "unsupported_media_type", "not as a multipart form"),
    ("text/plain", b"{}", "unsupported_media_type", "Content-Type: image/png"),
    (None, b"{}", "unsupported_media_type", "Content-Type: application/json"),
    ("image/webp", b"RIFF\0\0\0\0WEBPVP8 ", "unsupported_card_format", "the file is a WebP image"),
])
async def test_unsupported_types_are_a_415(api: Api, content_type: str | None, raw: bytes, code: str,
                                           says: str) -> None:
    r = await post_file(api, raw, content_type)
    assert r.status_code == 415 and r.json()["error"]["code"] == code and says in r.json()["error"]["message"]


# ------------------------------------------------------------------------------------ export

async def test_a_builtin_character_exports_and_someone_elses_does_not(api: Api) -> None:
    r = await export(api, "xiaoyu", "chara_card_v3")
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["spec"] == "chara_card_v3" and out["data"]["name"] == "小雨"
    assert out["data"]["extensions"]["companion"]["time_zone"] == "Asia/Shanghai"
    assert unquote(r.headers["content-disposition"].split("filename*=UTF-8''")[1]) == "小雨.json"
    r = await export(api, "xiaoyu", "chara_card_v3", "png")
    assert r.status_code == 404 and r.json()["error"]["code"] == "no_avatar"

    mine = (await post_file(api, png_card(v2_card()), "image/png")).json()["character_id"]
    for fmt in ("json", "png"):
        r = await export(api, mine, "chara_card_v2", fmt, user=api.user_id + "-other")
        assert r.status_code == 404 and r.json()["error"]["code"] == "unknown_character"
    r = await export(api, mine, "chara_card_v4")
    assert r.status_code == 422 and r.json()["error"]["details"][0]["loc"] == ["query", "spec"]


async def test_the_download_gets_a_safe_file_name(api: Api) -> None:
    card = v2_card()
    card["data"]["name"] = '../Ari"a\\:\r\n 林'
    cid = (await api.call("POST", IMPORT, json=card)).json()["character_id"]
    disposition = (await export(api, cid, "chara_card_v2")).headers["content-disposition"]
    assert disposition.startswith('attachment; filename="Ari_a.json"; ')
    assert unquote(disposition.split("filename*=UTF-8''")[1]) == "_Ari_a__ 林.json"
    card["data"]["name"] = "林月"
    cid = (await api.call("POST", IMPORT, json=card)).json()["character_id"]
    disposition = (await export(api, cid, "chara_card_v2")).headers["content-disposition"]
    assert f'filename="{cid}.json"' in disposition  # no ASCII in the name: the id stands in


# ------------------------------------------------------------------------- create / PUT body

async def test_created_characters_take_the_card_fields(api: Api) -> None:
    body = {"name": "Momo", "nickname": "Mo", "first_mes": "Hi {{user}}!", "alternate_greetings": ["Hello again."],
            "tags": ["cafe"], "creator_notes": "for people", "extensions": {"x": {"y": None}},
            "character_book": [{"keys": ["latte"], "content": "Honey latte.", "enabled": True}],
            "lorebook": {"name": "Cafe", "scan_depth": 2}, "time_zone": "Europe/London", "language": "en"}
    r = await api.call("POST", "/api/v1/characters", json=body)
    assert r.status_code == 201, r.text
    ch = r.json()
    assert {k: ch[k] for k in body} == {**body, "lorebook": {"name": "Cafe", "description": None, "scan_depth": 2,
                                                              "token_budget": None, "recursive_scanning": None,
                                                              "extensions": {}}}
    out = (await export(api, ch["character_id"], "chara_card_v3")).json()["data"]
    assert (out["nickname"], out["alternate_greetings"], out["extensions"]["x"]) == ("Mo", ["Hello again."],
                                                                                      {"y": None})
    assert out["extensions"]["companion"]["time_zone"] == "Europe/London"
    r = await api.call("POST", "/api/v1/characters", json={"name": "Momo", "time_zone": "Mars/Olympus"})
    assert r.status_code == 422 and r.json()["error"]["details"][0]["loc"] == ["time_zone"]
    r = await api.call("POST", "/api/v1/characters", json={"name": "Momo", "avatar": {"key": "avatars/x"}})
    assert r.status_code == 422 and r.json()["error"]["details"][0]["msg"] == "avatar is not a field of this request"


async def test_a_put_that_would_outgrow_the_item_is_a_413(api: Api) -> None:
    """The card's leftovers stay on PUT: with a large body the character would pass what DynamoDB stores."""
    card = {"spec": "chara_card_v2", "data": {"name": "A"}, "x_blob": "b" * 200_000}
    cid = (await api.call("POST", IMPORT, json=card)).json()["character_id"]
    body = {"name": "A", **{f: "t" * limits.MAX_FIELD_CHARS for f in ("description", "personality", "scenario",
                                                                     "first_mes", "mes_example", "system_prompt")}}
    r = await api.call("PUT", f"/api/v1/characters/{cid}", json=body)
    assert r.status_code == 413 and r.json()["error"]["code"] == "character_too_large"
    assert (await api.call("GET", f"/api/v1/characters/{cid}")).json()["description"] == ""


async def _own(api: Api) -> list[dict[str, Any]]:
    r = await api.call("GET", "/api/v1/characters")
    return [c for c in r.json()["characters"] if not c["builtin"]]

