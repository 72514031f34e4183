"""Lore entries as the prompt reads them: decorators, SillyTavern placement, key matching and selection."""

from __future__ import annotations

from typing import Any

from companion.cards import import_card
from companion.cards.lorebook import LoreEntry, parse_decorators, select_lore
from companion.models import Character, Lorebook

from .samples import v2_card, v3_card


def _char(*entries: dict[str, Any], book: Lorebook | None = None) -> Character:
    return Character(character_id="c", name="Mira", character_book=list(entries), lorebook=book)


def _chosen(character: Character, *messages: str, **kw: Any) -> list[str]:
    return [e.content for e in select_lore(character, list(messages), **kw)]


def test_placement_decorators_are_read_and_removed_from_the_text() -> None:
    entry = LoreEntry.of({"keys": ["茶"], "content": "@@depth 4\n@@role assistant\n\n小屋里总有热茶。"})
    assert (entry.depth, entry.role, entry.content, entry.unsupported) == (4, "assistant", "小屋里总有热茶。", ())
    plain = LoreEntry.of({"keys": ["a"], "content": "No decorators.\n@@depth 2 is text here"})
    assert (plain.depth, plain.role, plain.content) == (None, "system", "No decorators.\n@@depth 2 is text here")


def test_a_fallback_decorator_stands_in_for_an_unknown_one() -> None:
    honoured, unsupported, body = parse_decorators("@@risu_only 4\n@@@depth 3\n@@role narrator\nText")
    assert honoured == {"depth": "3"} and unsupported == ["role"] and body == "Text"
    honoured, unsupported, _ = parse_decorators("@@depth 5\n@@@depth 9\n@@activate_only_every 2\nText")
    assert honoured == {"depth": "5"} and unsupported == ["activate_only_every"]


def test_sillytavern_depth_and_role_in_extensions() -> None:
    ch = import_card(v2_card(), character_id="c", owner_id=None).character
    ship, disabled, storm = (LoreEntry.of(e, i) for i, e in enumerate(ch.character_book))
    assert (ship.depth, ship.position) == (None, "before_char")
    assert (storm.depth, storm.role, storm.position) == (2, "user", "after_char")
    assert not disabled.enabled


def test_keys_match_in_chinese_and_english_case_insensitively() -> None:
    ch = _char({"keys": ["dragon", "龙"], "content": "Dragons are extinct.", "insertion_order": 2},
               {"keys": ["castle"], "content": "The castle lies north.", "insertion_order": 1},
               {"keys": [], "content": "Magic is rare.", "constant": True, "insertion_order": 0})
    assert _chosen(ch, "we saw a 龙 yesterday") == ["Magic is rare.", "Dragons are extinct."]
    assert _chosen(ch, "Where is the CASTLE?", "any dragons?") == [
        "Magic is rare.", "The castle lies north.", "Dragons are extinct."]
    assert _chosen(ch, "hello") == ["Magic is rare."]


def test_case_sensitive_whole_word_and_regex_keys() -> None:
    ch = _char({"keys": ["Ann"], "content": "case", "case_sensitive": True},
               {"keys": ["cat"], "content": "word", "extensions": {"match_whole_words": True}},
               {"keys": ["/colou?r/i"], "content": "slash regex"},
               {"keys": ["go+al"], "content": "raw regex", "use_regex": True},
               {"keys": ["(wink"], "content": "never: does not compile", "use_regex": True},
               {"keys": ["Mr. ?"], "content": "SillyTavern's plain key", "use_regex": True,
                "extensions": {"display_index": 0}})
    assert _chosen(ch, "ann and the concatenation") == []
    assert _chosen(ch, "Ann has a cat.") == ["case", "word"]
    assert _chosen(ch, "猫cat猫") == ["word"]  # a CJK neighbour is a word boundary, as in SillyTavern
    assert _chosen(ch, "COLOR me", "gooal") == ["slash regex", "raw regex"]
    assert _chosen(ch, "(wink) ;)") == []
    assert _chosen(ch, "Mr. ? said") == ["SillyTavern's plain key"] and _chosen(ch, "Mr said") == []


def test_selective_logic_and_decorator_keys() -> None:
    ch = _char({"keys": ["tea"], "secondary_keys": ["green", "black"], "selective": True, "content": "and any"},
               {"keys": ["tea"], "secondary_keys": ["milk"], "selective": True, "content": "not any",
                "extensions": {"selectiveLogic": 2}},
               {"keys": ["tea"], "content": "@@additional_keys cup,pot\n@@exclude_keys coffee\nneeds a cup"})
    assert _chosen(ch, "green tea in a cup") == ["and any", "not any", "needs a cup"]
    assert _chosen(ch, "tea with milk") == []
    assert _chosen(ch, "a pot of tea and coffee") == ["not any"]


def test_disabled_dont_activate_activate_and_empty_entries() -> None:
    ch = _char({"keys": ["x"], "content": "off", "enabled": False},
               {"keys": ["x"], "content": "@@dont_activate\nnever"},
               {"keys": [], "content": "@@activate\nalways"},
               {"keys": ["x"], "content": "   "})
    assert _chosen(ch, "x x x") == ["always"]


def test_scan_depth_limits_which_messages_are_read() -> None:
    ch = _char({"keys": ["old"], "content": "book depth"},
               {"keys": ["old"], "content": "@@scan_depth 3\nentry depth"},
               book=Lorebook(scan_depth=1))
    assert _chosen(ch, "old news", "new", "newer") == ["entry depth"]
    assert _chosen(ch, "new", "old") == ["book depth", "entry depth"]


def test_budget_and_insertion_order() -> None:
    ch = _char({"keys": ["k"], "content": "b " * 40, "insertion_order": 2},
               {"keys": ["k"], "content": "first", "insertion_order": 1},
               {"keys": ["k"], "content": "small", "insertion_order": 3},
               book=Lorebook(token_budget=10))
    assert _chosen(ch, "k") == ["first", "small"]  # the 20-token entry does not fit the book's 10
    assert len(_chosen(ch, "k", max_tokens=5)) == 2


def test_v3_sample_entries() -> None:
    ch = import_card(v3_card(), character_id="c", owner_id=None).character
    hits = select_lore(ch, ["外面下雪了", "来杯茶？"])
    assert [(e.content, e.depth) for e in hits] == [("小屋里总有热茶。", 4), ("山里天气多变。", None)]
