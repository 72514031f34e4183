"""A Character → a Character Card V2 or V3 (JSON-ready dict).

An imported card comes back as it came in: its unknown ``data`` keys and top-level keys, every
``extensions`` and every lore entry unchanged, ``spec_version`` as written; SillyTavern's
top-level copies of the V1 fields follow the current values. As SillyTavern does, a V2 export
keeps V3-only fields that have a value (V2 readers ignore them). ``modification_date`` is set only
when the character changed after import (or was made in Companion), so an unchanged card
exports byte-for-byte equal data. Companion's own settings (language when it is not what the
text implies, time zone) travel in ``extensions.companion``.
"""

from __future__ import annotations

import copy
from typing import Any, Literal

from ..models import Character
from .importer import V1_FIELDS, derive_language

CardSpec = Literal["chara_card_v2", "chara_card_v3"]
SPEC_VERSIONS: dict[str, str] = {"chara_card_v2": "2.0", "chara_card_v3": "3.0"}
_ENTRY_DEFAULTS: dict[str, Any] = {"keys": [], "content": "", "extensions": {}, "enabled": True,
                                   "insertion_order": 0}


def export_card(character: Character, spec: CardSpec = "chara_card_v3") -> dict[str, Any]:
    ch = character
    v3 = spec == "chara_card_v3"
    data: dict[str, Any] = {
        "name": ch.name, "description": ch.description, "personality": ch.personality, "scenario": ch.scenario,
        "first_mes": ch.first_mes, "mes_example": ch.mes_example, "creator_notes": ch.creator_notes,
        "system_prompt": ch.system_prompt, "post_history_instructions": ch.post_history_instructions,
        "alternate_greetings": list(ch.alternate_greetings),
    }
    book = _book(ch, v3)
    if book is not None:
        data["character_book"] = book
    data.update(tags=list(ch.tags), creator=ch.creator, character_version=ch.character_version,
                extensions=_extensions(ch))
    if v3 or ch.group_only_greetings:
        data["group_only_greetings"] = list(ch.group_only_greetings)
    optional = {"nickname": ch.nickname, "creator_notes_multilingual": ch.creator_notes_multilingual,
                "source": ch.source, "creation_date": ch.creation_date,
                "modification_date": _modification_date(ch, v3),
                "assets": None if ch.assets is None else [a.model_dump() for a in ch.assets]}
    data.update({k: copy.deepcopy(v) for k, v in optional.items() if v is not None})
    origin = ch.card
    if origin is not None:
        data.update({k: copy.deepcopy(v) for k, v in origin.extra.items() if k not in data})
    version = origin.spec_version if origin is not None and origin.spec == spec and origin.spec_version \
        else SPEC_VERSIONS[spec]
    out: dict[str, Any] = {"spec": spec, "spec_version": version, "data": data}
    for key, value in (origin.envelope.items() if origin is not None else ()):
        out.setdefault(key, data[key] if key in V1_FIELDS else copy.deepcopy(value))
    return out


def _book(ch: Character, v3: bool) -> dict[str, Any] | None:
    if ch.lorebook is None and not ch.character_book:
        return None
    book: dict[str, Any] = ch.lorebook.model_dump(exclude_none=True) if ch.lorebook is not None else {}
    book.setdefault("extensions", {})
    entries = []
    for entry in ch.character_book:
        out = {**copy.deepcopy(_ENTRY_DEFAULTS), **copy.deepcopy(entry)}
        if v3:
            out.setdefault("use_regex", False)  # required in V3
        entries.append(out)
    book["entries"] = entries
    return book


def _extensions(ch: Character) -> dict[str, Any]:
    ext = copy.deepcopy(ch.extensions)
    own = dict(ext["companion"]) if isinstance(ext.get("companion"), dict) else {}
    if ch.language != derive_language(ch.name, ch.description, ch.first_mes) or "language" in own:
        own["language"] = ch.language
    if ch.time_zone:
        own["time_zone"] = ch.time_zone
    if own:
        ext["companion"] = own
    return ext


def _modification_date(ch: Character, v3: bool) -> int | float | None:
    origin = ch.card
    changed = origin is None or ch.updated_at > origin.imported_at + 1
    if changed and (v3 or ch.modification_date is not None):
        return int(ch.updated_at)
    return ch.modification_date
