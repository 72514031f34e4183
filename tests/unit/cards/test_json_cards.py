"""Character Card V1/V2/V3 JSON: import keeps every field, export gives the card back, bad cards name the field."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from companion.cards import export_card, import_card, limits
from companion.characters import BUILTIN_CHARACTERS
from companion.errors import AppError, ValidationFailed
from companion.models import Character

from .samples import v1_card, v2_card, v3_card


def _import(card: Any, **kw: Any) -> Any:
    return import_card(card, character_id="c_1", owner_id="alice", **kw)


def _error(card: Any) -> AppError:
    with pytest.raises(AppError) as info:
        _import(card)
    return info.value


def test_v2_card_fields_reach_the_character() -> None:
    ch = _import(v2_card()).character
    assert (ch.name, ch.owner_id, ch.character_id) == ("Aria", "alice", "c_1")
    assert ch.system_prompt == "You are {{char}}. Never speak for {{user}}."
    assert ch.post_history_instructions == "Stay in character as {{char}}."
    assert ch.alternate_greetings == ["Welcome aboard, {{user}}.", "Systems nominal."]
    assert ch.greetings[0] == "Course plotted, {{user}}." and len(ch.greetings) == 3
    assert (ch.tags, ch.creator, ch.character_version) == (["scifi", "space"], "tester", "1.2")
    assert ch.creator_notes == "Best with a slow pace."
    assert ch.extensions["x_custom"] == {"nested": [1, 2.5, None, {"deep": True}]}
    assert [e["content"] for e in ch.character_book][1] == "A disabled entry."  # kept, though disabled
    assert ch.character_book[0]["extensions"]["sticky"] is None
    assert ch.lorebook is not None and ch.lorebook.scan_depth == 3 and ch.lorebook.extensions == {"world": "aurora"}
    assert ch.card is not None and ch.card.spec == "chara_card_v2"
    assert ch.card.extra == {"x_unknown_data_field": {"kept": "yes"}}
    assert ch.card.envelope["chat"] == "Aria - 2025-4-16" and ch.language == "auto"


@pytest.mark.parametrize("make", [v2_card, v3_card], ids=["v2", "v3"])
def test_round_trip_gives_the_same_card(make: Any) -> None:
    card = make()
    result = _import(copy.deepcopy(card))
    spec = card["spec"]
    assert export_card(result.character, spec) == card
    # The cache and the stores keep the character as its JSON: the export is the same after that too.
    stored = Character.model_validate_json(result.character.model_dump_json())
    assert export_card(stored, spec) == card
    again = _import(export_card(stored, spec)).character
    assert again.model_dump(exclude={"card", "updated_at"}) == result.character.model_dump(
        exclude={"card", "updated_at"})


def test_v3_card_fields_and_warnings() -> None:
    result = _import(v3_card())
    ch = result.character
    assert (ch.name, ch.nickname, ch.display_name) == ("林月", "小月", "小月")
    assert ch.group_only_greetings == ["大家好。"] and ch.source == ["https://example.com/cards/1"]
    assert ch.creator_notes_multilingual == {"zh": "慢节奏。", "en": "Slow paced."}
    assert (ch.creation_date, ch.modification_date) == (1744790400, 1744800000)
    assert ch.assets is not None and ch.assets[1].model_dump()["x_note"] == "kept"
    assert ch.language == "zh"  # the text is Chinese
    assert [(w.code, w.field) for w in result.warnings] == [
        ("lore_decorator_ignored", "data.character_book.entries[2].content")]
    assert "@@activate_only_after" in result.warnings[0].message


def test_v1_card_and_the_old_gradio_form() -> None:
    result = _import(v1_card())
    ch = result.character
    assert (ch.name, ch.first_mes, ch.scenario) == ("Momo", "Good morning, <USER>!", "A bakery at dawn.")
    assert ch.card is not None and ch.card.spec == "chara_card_v1"
    assert ch.card.envelope == {"avatar": "none", "talkativeness": "0.5"}
    out = export_card(ch, "chara_card_v2")
    assert out["spec"] == "chara_card_v2" and out["data"]["mes_example"].startswith("<START>")
    assert out["avatar"] == "none"  # a V1 card's own extras stay beside the data
    gradio = {"char_name": "Old", "char_persona": "An old bot.", "char_greeting": "Hi.", "world_scenario": "Here.",
              "example_dialogue": "You: hi"}
    old = _import(gradio).character
    assert (old.name, old.description, old.first_mes, old.scenario, old.mes_example) == (
        "Old", "An old bot.", "Hi.", "Here.", "You: hi")


def test_export_between_versions() -> None:
    v2 = _import(v2_card()).character
    as_v3 = export_card(v2, "chara_card_v3")
    assert (as_v3["spec"], as_v3["spec_version"]) == ("chara_card_v3", "3.0")
    assert as_v3["data"]["group_only_greetings"] == []  # required in V3
    assert all("use_regex" in e for e in as_v3["data"]["character_book"]["entries"])
    assert "modification_date" not in as_v3["data"]  # unchanged since import
    v3 = _import(v3_card()).character
    as_v2 = export_card(v3, "chara_card_v2")
    assert (as_v2["spec"], as_v2["spec_version"]) == ("chara_card_v2", "2.0")
    assert as_v2["data"]["nickname"] == "小月"  # SillyTavern keeps V3 fields in a V2 export too


def test_an_edit_after_import_shows_in_the_export() -> None:
    ch = _import(v3_card(), now=1_000_000.0).character
    edited = ch.model_copy(update={"name": "林月二", "updated_at": 1_000_500.0})
    out = export_card(edited, "chara_card_v3")
    assert out["data"]["name"] == "林月二" and out["data"]["modification_date"] == 1_000_500
    v2 = _import(v2_card()).character
    renamed = export_card(v2.model_copy(update={"name": "Aria II"}), "chara_card_v2")
    assert renamed["name"] == "Aria II" == renamed["data"]["name"]  # SillyTavern's top-level copy follows


def test_companion_settings_travel_in_extensions() -> None:
    luna = BUILTIN_CHARACTERS["luna"]
    out = export_card(luna, "chara_card_v3")
    assert out["data"]["extensions"]["companion"] == {"language": "en"}
    assert "modification_date" in out["data"] and out["data"]["first_mes"] == luna.first_mes
    back = _import(out).character
    assert (back.language, back.name, back.system_prompt) == ("en", "Luna", luna.system_prompt)
    xiaoyu = _import(export_card(BUILTIN_CHARACTERS["xiaoyu"])).character
    assert (xiaoyu.language, xiaoyu.time_zone) == ("zh", "Asia/Shanghai")
    card = v2_card()
    card["data"]["extensions"]["companion"] = {"time_zone": "Mars/Olympus"}
    result = _import(card)
    assert result.character.time_zone is None
    assert [w.code for w in result.warnings] == ["invalid_time_zone"]


def test_json_bytes_with_a_bom_are_read() -> None:
    raw = b"\xef\xbb\xbf" + json.dumps(v2_card(), ensure_ascii=False).encode("utf-8")
    assert import_card(raw, character_id="c", owner_id=None).character.name == "Aria"


def _v2(**data: Any) -> dict[str, Any]:
    return {"spec": "chara_card_v2", "spec_version": "2.0", "data": {"name": "Aria", **data}}


@pytest.mark.parametrize(("card", "message"), [
    (_v2(alternate_greetings=["a", "b", 3]), "data.alternate_greetings[2] must be a string"),
    (_v2(alternate_greetings="hello"), "data.alternate_greetings must be a list of strings"),
    (_v2(description=5), "data.description must be a string"),
    (_v2(extensions=[]), "data.extensions must be a JSON object"),
    (_v2(character_book={"entries": [{"keys": ["a"], "content": "x"}, {"keys": "a,b", "content": "y"}]}),
     "data.character_book.entries[1].keys must be a list of strings"),
    (_v2(character_book={"entries": [{"keys": ["a"], "content": "x", "insertion_order": "1"}]}),
     "data.character_book.entries[0].insertion_order must be a number"),
    (_v2(character_book={"entries": [{"keys": ["a"], "enabled": "yes"}]}),
     "data.character_book.entries[0].enabled must be true or false"),
    (_v2(character_book={"entries": {"0": {}}}), "data.character_book.entries must be a list of objects"),
    (_v2(tags=[["nested"]]), "data.tags[0] must be a string"),
    (_v2(creation_date=True), "data.creation_date must be a number"),
    (_v2(assets=[{"type": "icon"}]), "data.assets[0].uri is required and must be a string"),
    (_v2(name="   \u200b"), "data.name is required and must hold visible text"),
    ({"spec": "chara_card_v2", "data": {}}, "data.name is required and must hold visible text"),
    ({"spec": "chara_card_v2"}, "data is required and must be a JSON object"),
    ({"spec": "chara_card_v1", "data": {"name": "x"}}, "spec must be 'chara_card_v2' or 'chara_card_v3'"),
    ({"spec": "chara_card_v3", "spec_version": 3, "data": {"name": "x"}}, "spec_version must be a string"),
    ({"description": "no name"}, "the card has no 'spec' and no 'name'"),
    ({"name": "Momo", "first_mes": ["hi"]}, "first_mes must be a string"),
    (["not", "an", "object"], "the card must be a JSON object"),
    (_v2(description="\ud800"), "data.description holds text that is not valid Unicode"),
])
def test_a_malformed_card_names_the_field(card: Any, message: str) -> None:
    err = _error(card)
    assert isinstance(err, ValidationFailed) and err.code == "invalid_card" and err.status == 422
    assert err.message.startswith(message)


@pytest.mark.parametrize(("card", "message"), [
    (_v2(alternate_greetings=["hi"] * (limits.MAX_GREETINGS + 1)),
     f"data.alternate_greetings must have at most {limits.MAX_GREETINGS} items"),
    (_v2(first_mes="x" * (limits.MAX_FIELD_CHARS + 1)),
     f"data.first_mes must be at most {limits.MAX_FIELD_CHARS:,} characters"),
    (_v2(name="n" * (limits.MAX_NAME_CHARS + 1)), f"data.name must be at most {limits.MAX_NAME_CHARS} characters"),
    (_v2(character_book={"entries": [{"keys": [], "content": ""}] * (limits.MAX_LORE_ENTRIES + 1)}),
     f"data.character_book.entries must have at most {limits.MAX_LORE_ENTRIES} items"),
])
def test_count_and_field_limits_are_stated(card: Any, message: str) -> None:
    err = _error(card)
    assert err.code == "invalid_card" and err.message == message


def test_the_whole_card_and_its_nesting_are_limited() -> None:
    big = _v2(extensions={f"k{i}": "x" * 30_000 for i in range(10)})
    err = _error(big)
    assert (err.code, err.status) == ("card_too_large", 413) and f"{limits.MAX_CARD_BYTES // 1024} KiB" in err.message
    deep: Any = "leaf"
    for _ in range(limits.MAX_CARD_DEPTH + 1):
        deep = {"d": deep}
    err = _error(_v2(extensions=deep))
    assert err.code == "invalid_card" and f"nested more than {limits.MAX_CARD_DEPTH} levels" in err.message


@pytest.mark.parametrize("raw", [b"{not json", b'{"name": NaN}', b"\xff\xfe{}"])
def test_bytes_that_are_not_json(raw: bytes) -> None:
    err = _error(raw)
    assert err.code == "invalid_card" and err.message == "the card is not valid JSON (UTF-8)"


@pytest.mark.parametrize("raw", [b"RIFF\x00\x00\x00\x00WEBPVP8 ", b"\xff\xd8\xff\xe0", b"PK\x03\x04card.json"])
def test_other_file_kinds_are_refused_by_name(raw: bytes) -> None:
    err = _error(raw)
    assert (err.code, err.status) == ("unsupported_card_format", 415) and "JSON or PNG" in err.message


def test_warnings_for_what_is_kept_but_not_acted_on() -> None:
    card = _v2(
        assets=[{"type": "icon", "uri": "data:image/png;base64," + "A" * limits.MAX_ASSET_URI_CHARS, "name": "main",
                 "ext": "png"}],
        character_book={"entries": [
            {"keys": ["/[unclosed/"], "content": "a"},
            {"keys": ["(a+)+$"], "content": "b", "use_regex": True},
            {"keys": ["x"], "content": "c", "extensions": {"position": 2}},
        ]})
    card["spec"], card["spec_version"] = "chara_card_v3", "3.1"
    result = _import(card)
    assert [(w.code, w.field) for w in result.warnings] == [
        ("newer_spec_version", "spec_version"),
        ("asset_dropped", "data.assets[0].uri"),
        ("invalid_regex_key", "data.character_book.entries[0].keys"),
        ("unsafe_regex_key", "data.character_book.entries[1].keys"),
        ("lore_position_approximated", "data.character_book.entries[2].extensions.position"),
    ]
    assert result.character.assets == []
