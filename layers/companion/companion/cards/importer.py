"""A card's JSON → a Character, checked field by field, every field kept.

Kinds: V1 (flat: ``name``, ``description``, … at the top; also the old ``char_name`` /
``char_persona`` form SillyTavern reads), V2 (``spec: "chara_card_v2"``, fields in ``data``), V3
(``spec: "chara_card_v3"``; its ``assets``, ``nickname``, ``group_only_greetings``,
``creator_notes_multilingual``, ``source``, ``creation_date``, ``modification_date``). Unknown
keys, in ``data``, beside it, and in every ``extensions``, are kept for export; lore entries are
kept exactly as given. A field of the wrong type fails with its path
(``data.alternate_greetings[2] must be a string``, code ``invalid_card``); a card over a size
limit (``limits.py``) fails with the limit. What the card asks that Companion does not do is
returned as ``warnings`` (machine-readable codes, see ``CardWarning``), never silently dropped.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, NoReturn

from pydantic import BaseModel

from ..chat.macros import is_time_zone
from ..errors import AppError, ValidationFailed
from ..models import AvatarRef, CardAsset, CardOrigin, Character, Lorebook, now_s
from ..text import is_blank
from . import limits as L
from .lorebook import LoreEntry

Loc = tuple[str | int, ...]
SPECS = ("chara_card_v2", "chara_card_v3")
V1_FIELDS = ("name", "description", "personality", "scenario", "first_mes", "mes_example")
# The old Gradio/Pygmalion flat form: its key → the V1 field.
_GRADIO_FIELDS = {"char_name": "name", "char_persona": "description", "world_scenario": "scenario",
                  "char_greeting": "first_mes", "example_dialogue": "mes_example"}
_TEXT_FIELDS = ("description", "personality", "scenario", "first_mes", "mes_example", "creator_notes",
                "system_prompt", "post_history_instructions", "creator", "character_version")
_DATA_FIELDS = frozenset({*_TEXT_FIELDS, "name", "nickname", "alternate_greetings", "group_only_greetings", "tags",
                          "source", "creator_notes_multilingual", "creation_date", "modification_date",
                          "extensions", "assets", "character_book"})
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


class CardWarning(BaseModel):
    """Something of the card Companion keeps but does not act on (or had to drop)."""

    code: str  # lore_decorator_ignored | lore_position_approximated | invalid_regex_key | unsafe_regex_key |
    #            asset_dropped | embedded_assets_not_kept | newer_spec_version | invalid_time_zone |
    #            ccv3_chunk_unreadable
    field: str  # where, e.g. data.character_book.entries[3].content
    message: str


@dataclass
class AvatarImage:
    """The image of a PNG card, re-encoded without its card chunks (pixels unchanged)."""

    png: bytes
    width: int
    height: int
    sha256: str

    def ref(self, key: str) -> AvatarRef:
        """The character's reference to these bytes once they are stored under ``key``."""
        return AvatarRef(key=key, size=len(self.png), sha256=self.sha256, width=self.width, height=self.height)


@dataclass
class CardImport:
    character: Character
    warnings: list[CardWarning] = field(default_factory=list)
    avatar: AvatarImage | None = None  # PNG cards: store it, then set character.avatar = avatar.ref(key)


def invalid(loc: Loc, problem: str) -> NoReturn:
    where = path(loc) or "the card"
    raise ValidationFailed(f"{where} {problem}", code="invalid_card", details=[{"loc": list(loc), "msg": problem}])


def path(loc: Loc) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def parse_json(raw: bytes | str) -> Any:
    """A card file's bytes → JSON (UTF-8, a BOM allowed); NaN and Infinity are not JSON."""
    if len(raw) > L.MAX_IMAGE_BYTES:
        raise AppError(f"a card file must be at most {L.MAX_IMAGE_BYTES // (1024 * 1024)} MiB",
                       code="card_too_large", status=413)
    try:
        text = raw.decode("utf-8-sig") if isinstance(raw, bytes) else raw
        return json.loads(text, parse_constant=_no_constant)
    except RecursionError as exc:
        raise ValidationFailed(f"the card is nested more than {L.MAX_CARD_DEPTH} levels deep",
                               code="invalid_card") from exc
    except (UnicodeDecodeError, ValueError) as exc:
        raise ValidationFailed("the card is not valid JSON (UTF-8)", code="invalid_card") from exc


def _no_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not JSON")


def card_to_character(card: Any, *, character_id: str, owner_id: str | None,
                      now: float | None = None) -> CardImport:
    """Check a parsed card and build the Character; ``ValidationFailed`` (``invalid_card``) names the bad field."""
    if not isinstance(card, Mapping):
        invalid((), "must be a JSON object")
    _check_tree(card)
    warnings: list[CardWarning] = []
    spec = card.get("spec")
    data: Mapping[str, Any]
    if spec is None:
        data, envelope, origin_spec, version = _v1(card)
        base: Loc = ()
    elif spec in SPECS:
        version = card.get("spec_version", "")
        if not isinstance(version, str):
            invalid(("spec_version",), "must be a string")
        if spec == "chara_card_v3" and _newer(version):
            warnings.append(CardWarning(code="newer_spec_version", field="spec_version",
                                        message=f"the card follows Character Card {version}; read as 3.0"))
        if not isinstance(card.get("data"), Mapping):
            invalid(("data",), "is required and must be a JSON object")
        data = card["data"]
        envelope = {k: copy.deepcopy(v) for k, v in card.items() if k not in ("spec", "spec_version", "data")}
        origin_spec, base = spec, ("data",)
    else:
        invalid(("spec",), "must be 'chara_card_v2' or 'chara_card_v3' (or absent, for a V1 card)")
    t = _Reader(warnings)
    name = t.text(data, base, "name", max_chars=L.MAX_NAME_CHARS)
    if not name or is_blank(name):
        invalid((*base, "name"), "is required and must hold visible text")
    fields: dict[str, Any] = {f: t.text(data, base, f) or "" for f in _TEXT_FIELDS}
    ext = t.obj(data, base, "extensions") or {}
    fields.update(
        nickname=t.text(data, base, "nickname", max_chars=L.MAX_NAME_CHARS),
        alternate_greetings=t.texts(data, base, "alternate_greetings", L.MAX_GREETINGS, L.MAX_FIELD_CHARS) or [],
        group_only_greetings=t.texts(data, base, "group_only_greetings", L.MAX_GREETINGS, L.MAX_FIELD_CHARS) or [],
        tags=t.texts(data, base, "tags", L.MAX_TAGS, L.MAX_TAG_CHARS) or [],
        source=t.texts(data, base, "source", L.MAX_SOURCES, L.MAX_ASSET_URI_CHARS),
        creator_notes_multilingual=t.text_map(data, base, "creator_notes_multilingual"),
        creation_date=t.number(data, base, "creation_date"),
        modification_date=t.number(data, base, "modification_date"),
        extensions=copy.deepcopy(dict(ext)),
        assets=t.assets(data, base),
    )
    entries, book = t.book(data, base)
    fields.update(character_book=entries, lorebook=book)
    stamp = now_s() if now is None else now
    extra = {k: copy.deepcopy(v) for k, v in data.items() if k not in _DATA_FIELDS} if spec is not None else {}
    language, time_zone = _companion_settings(ext, name, fields, warnings, base)
    character = Character(
        character_id=character_id, owner_id=owner_id, name=name, language=language, time_zone=time_zone,
        card=CardOrigin(spec=origin_spec, spec_version=version, imported_at=stamp, extra=extra, envelope=envelope),
        updated_at=stamp, **fields)
    return CardImport(character=character, warnings=warnings)


def _v1(card: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any], Literal["chara_card_v1"], str]:
    if "name" not in card and "char_name" not in card:
        invalid((), "has no 'spec' and no 'name': it is not a character card")
    data: dict[str, Any] = {}
    envelope: dict[str, Any] = {}
    for key, value in card.items():
        target = key if key in V1_FIELDS else _GRADIO_FIELDS.get(key)
        if target and (target not in data or key == target):  # a V1 field wins over its Gradio twin
            data[target] = value
        elif not target:
            envelope[key] = copy.deepcopy(value)
    return data, envelope, "chara_card_v1", ""


def _newer(version: str) -> bool:
    try:
        return float(version) > 3.0
    except ValueError:
        return False


def derive_language(name: str, description: str, first_mes: str) -> Literal["zh", "auto"]:
    """Chinese when the card's name, description or greeting is written in it; else the user's language."""
    return "zh" if _CJK.search(" ".join([name, description, first_mes])) else "auto"


def _companion_settings(ext: Mapping[str, Any], name: str, fields: dict[str, Any], warnings: list[CardWarning],
                        base: Loc) -> tuple[Literal["zh", "en", "auto"], str | None]:
    """``extensions.companion`` (what an export from Companion carries), else the language from the text."""
    own = ext.get("companion") if isinstance(ext.get("companion"), Mapping) else {}
    assert isinstance(own, Mapping)
    lang = own.get("language")
    language = lang if lang in ("zh", "en", "auto") else derive_language(name, fields["description"],
                                                                          fields["first_mes"])
    zone = own.get("time_zone")
    if zone is not None and not (isinstance(zone, str) and is_time_zone(zone)):
        warnings.append(CardWarning(code="invalid_time_zone", field=path((*base, "extensions", "companion",
                                                                           "time_zone")),
                                    message="not an IANA time zone such as Asia/Shanghai; ignored"))
        zone = None
    return language, zone


def _check_tree(card: Mapping[str, Any]) -> None:
    """Depth, valid Unicode everywhere (a lone surrogate is valid JSON, but no store takes it), total size."""
    stack: list[tuple[Any, Loc]] = [(card, ())]
    while stack:
        value, loc = stack.pop()
        if len(loc) > L.MAX_CARD_DEPTH:
            invalid(loc[: L.MAX_CARD_DEPTH], f"is nested more than {L.MAX_CARD_DEPTH} levels deep")
        if isinstance(value, str):
            _unicode(value, loc)
        elif isinstance(value, Mapping):
            for key, item in value.items():
                if not isinstance(key, str):
                    invalid(loc, "has a key that is not a string")
                _unicode(key, loc)
                stack.append((item, (*loc, key)))
        elif isinstance(value, list):
            stack.extend((item, (*loc, i)) for i, item in enumerate(value))
    size = len(json.dumps(card, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))
    if size > L.MAX_CARD_BYTES:
        raise AppError(f"the card's JSON is {size // 1024} KiB; at most {L.MAX_CARD_BYTES // 1024} KiB is taken",
                       code="card_too_large", status=413)


def _unicode(text: str, loc: Loc) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        invalid(loc, "holds text that is not valid Unicode (an unpaired surrogate such as \\ud800)")


class _Reader:
    """Typed reads of card fields; an absent field or JSON null reads as None (the spec's default applies)."""

    def __init__(self, warnings: list[CardWarning]) -> None:
        self.warnings = warnings

    @staticmethod
    def text(obj: Mapping[str, Any], base: Loc, key: str, *, max_chars: int = L.MAX_FIELD_CHARS) -> str | None:
        value = obj.get(key)
        if value is None:
            return None
        if not isinstance(value, str):
            invalid((*base, key), "must be a string")
        if len(value) > max_chars:
            invalid((*base, key), f"must be at most {max_chars:,} characters")
        return value

    @staticmethod
    def texts(obj: Mapping[str, Any], base: Loc, key: str, max_items: int, max_chars: int) -> list[str] | None:
        value = obj.get(key)
        if value is None:
            return None
        if not isinstance(value, list):
            invalid((*base, key), "must be a list of strings")
        if len(value) > max_items:
            invalid((*base, key), f"must have at most {max_items} items")
        for i, item in enumerate(value):
            if not isinstance(item, str):
                invalid((*base, key, i), "must be a string")
            if len(item) > max_chars:
                invalid((*base, key, i), f"must be at most {max_chars:,} characters")
        return list(value)

    @staticmethod
    def obj(obj: Mapping[str, Any], base: Loc, key: str) -> Mapping[str, Any] | None:
        value = obj.get(key)
        if value is None:
            return None
        if not isinstance(value, Mapping):
            invalid((*base, key), "must be a JSON object")
        return value

    def text_map(self, obj: Mapping[str, Any], base: Loc, key: str) -> dict[str, str] | None:
        value = self.obj(obj, base, key)
        if value is None:
            return None
        for k in value:
            self.text(value, (*base, key), k)
        return {k: v for k, v in value.items() if isinstance(v, str)}

    @staticmethod
    def number(obj: Mapping[str, Any], base: Loc, key: str) -> int | float | None:
        value = obj.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            invalid((*base, key), "must be a number")
        return value

    @staticmethod
    def boolean(obj: Mapping[str, Any], base: Loc, key: str) -> bool | None:
        value = obj.get(key)
        if value is not None and not isinstance(value, bool):
            invalid((*base, key), "must be true or false")
        return value

    def assets(self, data: Mapping[str, Any], base: Loc) -> list[CardAsset] | None:
        value = data.get("assets")
        if value is None:
            return None
        loc = (*base, "assets")
        if not isinstance(value, list):
            invalid(loc, "must be a list of objects")
        if len(value) > L.MAX_ASSETS:
            invalid(loc, f"must have at most {L.MAX_ASSETS} items")
        out: list[CardAsset] = []
        for i, item in enumerate(value):
            if not isinstance(item, Mapping):
                invalid((*loc, i), "must be a JSON object")
            for key in ("type", "uri"):
                if not isinstance(item.get(key), str):
                    invalid((*loc, i, key), "is required and must be a string")
            for key in ("name", "ext"):
                self.text(item, (*loc, i), key, max_chars=L.MAX_NAME_CHARS)
            if len(item["uri"]) > L.MAX_ASSET_URI_CHARS:
                self.warnings.append(CardWarning(
                    code="asset_dropped", field=path((*loc, i, "uri")),
                    message=f"an asset URI longer than {L.MAX_ASSET_URI_CHARS} characters (inline data) is not "
                            "kept; host the file and link it"))
                continue
            out.append(CardAsset.model_validate(copy.deepcopy(dict(item))))
        return out

    def book(self, data: Mapping[str, Any], base: Loc) -> tuple[list[dict[str, Any]], Lorebook | None]:
        book = self.obj(data, base, "character_book")
        if book is None:
            return [], None
        loc = (*base, "character_book")
        for key in ("name", "description"):
            self.text(book, loc, key)
        for key in ("scan_depth", "token_budget"):
            self.number(book, loc, key)
        self.boolean(book, loc, "recursive_scanning")
        self.obj(book, loc, "extensions")
        raw = book.get("entries")
        if raw is None:
            raw = []
        if not isinstance(raw, list):
            invalid((*loc, "entries"), "must be a list of objects")
        if len(raw) > L.MAX_LORE_ENTRIES:
            invalid((*loc, "entries"), f"must have at most {L.MAX_LORE_ENTRIES} items")
        entries = [self.entry(e, (*loc, "entries", i), i) for i, e in enumerate(raw)]
        info = {k: copy.deepcopy(v) for k, v in book.items() if k != "entries" and v is not None}
        return entries, Lorebook.model_validate(info)

    def entry(self, entry: Any, loc: Loc, index: int) -> dict[str, Any]:
        if not isinstance(entry, Mapping):
            invalid(loc, "must be a JSON object")
        for key in ("keys", "secondary_keys"):
            self.texts(entry, loc, key, L.MAX_KEYS_PER_ENTRY, L.MAX_KEY_CHARS)
        self.text(entry, loc, "content")
        self.obj(entry, loc, "extensions")
        for key in ("enabled", "case_sensitive", "use_regex", "constant", "selective"):
            self.boolean(entry, loc, key)
        for key in ("insertion_order", "priority"):
            self.number(entry, loc, key)
        for key in ("name", "comment", "position"):
            self.text(entry, loc, key)
        if entry.get("id") is not None and (isinstance(entry["id"], bool)
                                            or not isinstance(entry["id"], int | float | str)):
            invalid((*loc, "id"), "must be a number or a string")
        self._lore_warnings(LoreEntry.of(entry, index), loc)
        return copy.deepcopy(dict(entry))

    def _lore_warnings(self, entry: LoreEntry, loc: Loc) -> None:
        where = path((*loc, "content"))
        for name in entry.unsupported:
            self.warnings.append(CardWarning(code="lore_decorator_ignored", field=where,
                                             message=f"the decorator @@{name} is kept but has no effect"))
        if entry.position_approximated:
            self.warnings.append(CardWarning(
                code="lore_position_approximated", field=path((*loc, "extensions", "position")),
                message="an author's-note or example-message anchor: the entry goes after the character instead"))
        for code, key in entry.regex_problems():
            problem = "does not compile" if code == "invalid_regex_key" else "repeats a repeated group (too slow)"
            self.warnings.append(CardWarning(code=code, field=path((*loc, "keys")),
                                             message=f"the regex key {key[:80]!r} {problem}; it never matches"))
