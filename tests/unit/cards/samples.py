"""Test cards written for these tests, shaped as the specs and SillyTavern shape them (no community cards)."""

from __future__ import annotations

import io
from typing import Any

from PIL import Image


def v1_card() -> dict[str, Any]:
    return {"name": "Momo", "description": "{{char}} is a cheerful baker.", "personality": "cheerful",
            "scenario": "A bakery at dawn.", "first_mes": "Good morning, <USER>!",
            "mes_example": "<START>\n{{user}}: Bread?\n{{char}}: Fresh from the oven.",
            "avatar": "none", "talkativeness": "0.5"}


def v2_card() -> dict[str, Any]:
    """A complete V2 card as SillyTavern exports one: the V1 fields mirrored at the top, ST extensions."""
    data: dict[str, Any] = {
        "name": "Aria", "description": "{{char}} navigates the starship Aurora.", "personality": "calm, precise",
        "scenario": "On the bridge with {{user}}.", "first_mes": "Course plotted, {{user}}.",
        "mes_example": ("<START>\n{{user}}: Status?\n{{char}}: All green.\n"
                        "<START>\n{{user}}: ETA?\n{{char}}: Two hours."),
        "creator_notes": "Best with a slow pace.", "system_prompt": "You are {{char}}. Never speak for {{user}}.",
        "post_history_instructions": "Stay in character as {{char}}.",
        "alternate_greetings": ["Welcome aboard, {{user}}.", "Systems nominal."],
        "character_book": {
            "name": "Aurora lore", "scan_depth": 3, "token_budget": 800, "recursive_scanning": False,
            "extensions": {"world": "aurora"},
            "entries": [
                {"id": 0, "keys": ["Aurora", "ship"], "secondary_keys": [], "comment": "the ship",
                 "content": "The Aurora is a deep-space cruiser.", "constant": False, "selective": False,
                 "insertion_order": 100, "enabled": True, "position": "before_char", "use_regex": True,
                 "extensions": {"position": 0, "exclude_recursion": False, "display_index": 0, "probability": 100,
                                "useProbability": True, "depth": 4, "selectiveLogic": 0, "group": "",
                                "sticky": None, "cooldown": None, "delay": None, "role": None,
                                "match_whole_words": None, "case_sensitive": None, "automation_id": ""}},
                {"id": 1, "keys": ["secret"], "content": "A disabled entry.", "enabled": False,
                 "insertion_order": 10, "extensions": {}},
                {"id": 2, "keys": ["storm"], "content": "Storms knock out the sensors.", "enabled": True,
                 "insertion_order": 50, "position": "after_char",
                 "extensions": {"position": 4, "depth": 2, "role": 1}},
            ],
        },
        "tags": ["scifi", "space"], "creator": "tester", "character_version": "1.2",
        "extensions": {"talkativeness": "0.5", "fav": False, "world": "aurora",
                       "depth_prompt": {"prompt": "Keep it short.", "depth": 4, "role": "system"},
                       "x_custom": {"nested": [1, 2.5, None, {"deep": True}]}},
        "x_unknown_data_field": {"kept": "yes"},
    }
    return {"name": data["name"], "description": data["description"], "personality": data["personality"],
            "scenario": data["scenario"], "first_mes": data["first_mes"], "mes_example": data["mes_example"],
            "creatorcomment": data["creator_notes"], "avatar": "none", "chat": "Aria - 2025-4-16",
            "talkativeness": "0.5", "fav": False, "tags": ["scifi", "space"], "create_date": "2025-4-16",
            "spec": "chara_card_v2", "spec_version": "2.0", "data": data}


def v3_card() -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "林月", "nickname": "小月", "description": "{{char}}是一位住在山里的画家。",
        "personality": "安静、温柔", "scenario": "{{user}}来到山中小屋。",
        "first_mes": "你来啦，{{user}}，先喝杯茶吧。",
        "mes_example": "<START>\n{{user}}：你在画什么？\n{{char}}：山上的云。", "creator_notes": "慢节奏。",
        "creator_notes_multilingual": {"zh": "慢节奏。", "en": "Slow paced."},
        "system_prompt": "你是{{char}}。", "post_history_instructions": "保持{{char}}的语气。",
        "alternate_greetings": ["下雨了，{{user}}进来坐。"], "group_only_greetings": ["大家好。"],
        "tags": ["治愈"], "creator": "tester", "character_version": "3", "source": ["https://example.com/cards/1"],
        "creation_date": 1744790400, "modification_date": 1744800000,
        "assets": [{"type": "icon", "uri": "ccdefault:", "name": "main", "ext": "png"},
                   {"type": "background", "uri": "https://example.com/bg.webp", "name": "mountain", "ext": "webp",
                    "x_note": "kept"}],
        "extensions": {"risuai": {"utilityBot": False}},
        "character_book": {
            "name": "山", "extensions": {},
            "entries": [
                {"keys": ["茶"], "content": "@@depth 4\n@@role system\n小屋里总有热茶。", "extensions": {},
                 "enabled": True, "insertion_order": 1, "use_regex": False, "constant": False},
                {"keys": ["/雨|雪/"], "content": "山里天气多变。", "extensions": {}, "enabled": True,
                 "insertion_order": 2, "use_regex": True, "case_sensitive": False},
                {"keys": ["画"], "content": "@@activate_only_after 3\n她的画从不署名。",
                 "extensions": {}, "enabled": True, "insertion_order": 3, "use_regex": False},
            ],
        },
    }
    return {"spec": "chara_card_v3", "spec_version": "3.0", "data": data}


def png(size: tuple[int, int] = (12, 9), mode: str = "RGBA", texts: dict[str, str] | None = None,
        itxt: dict[str, str] | None = None) -> bytes:
    """A small image with a gradient (so pixels can be compared) and the given text chunks."""
    from PIL.PngImagePlugin import PngInfo

    img = Image.new(mode, size)
    for x in range(size[0]):
        for y in range(size[1]):
            img.putpixel((x, y), (x * 20 % 256, y * 25 % 256, 128, 200) if mode == "RGBA" else (x * 20 % 256, 0, 0))
    info = PngInfo()
    for k, v in (texts or {}).items():
        info.add_text(k, v)
    for k, v in (itxt or {}).items():
        info.add_itxt(k, v)
    out = io.BytesIO()
    img.save(out, format="PNG", pnginfo=info)
    return out.getvalue()


def pixels(png_bytes: bytes) -> tuple[str, tuple[int, int], bytes]:
    img = Image.open(io.BytesIO(png_bytes))
    return img.mode, img.size, img.tobytes()


def text_chunks(png_bytes: bytes) -> dict[str, str]:
    img = Image.open(io.BytesIO(png_bytes))
    img.load()
    return dict(img.text)  # type: ignore[attr-defined]  # PngImageFile has .text
