"""The extraction benchmark's scoring, and its run end to end on the rule extractor (no model)."""

from __future__ import annotations

from companion.memory.extraction import ExtractedFact

from benchmarks.bench_extraction import bench, load_dialogues, rules_extractor
from benchmarks.extraction.scoring import describe_fact, fact_matches, score


def _fact(key: str, value: str) -> ExtractedFact:
    return ExtractedFact(type="basic_info", key=key, value=value, confidence=0.9)


def test_scoring_counts_correct_missed_and_forbidden() -> None:
    expected = [{"subject": "user", "key": ["name"], "value": ["小林"]},
                {"subject": "user", "key": ["city"], "value": ["杭州"]}]
    forbidden = [{"subject": "user", "key": ["age"], "value": ["3"], "exact": True}]
    t = score([_fact("name", "小林"), _fact("age", "3"), _fact("age", "23")], expected, [], forbidden,
              fact_matches, describe_fact)
    assert (t.produced, t.correct, t.found, t.expected, t.forbidden) == (3, 1, 1, 2, 1)
    assert t.precision == 1 / 3 and t.recall == 0.5


def test_matching_normalizes_width_case_and_key_aliases() -> None:
    assert fact_matches({"key": ["city"], "value": ["porto"]}, _fact("location", " ＰＯＲＴＯ "))
    assert not fact_matches({"key": ["city"], "value": ["porto"], "subject": ["豆豆"]}, _fact("city", "Porto"))


async def test_rules_run_end_to_end_on_both_languages() -> None:
    dialogues = load_dialogues()
    assert {d["lang"] for d in dialogues} == {"zh", "en"}
    rows = await bench(dialogues, rules_extractor, "rules")
    assert {r["lang"] for r in rows} == {"zh", "en"}
    for r in rows:
        assert r["dialogues"] >= 15 and r["facts"].expected > 0 and r["facts"].found > 0
        assert 0 <= (r["facts"].precision or 0) <= 1


def test_a_stored_others_fact_is_matched_by_its_key_without_the_subject() -> None:
    from types import SimpleNamespace

    stored = SimpleNamespace(subject="Biscuit", key="Biscuit:age", base_key="age", value="4")  # as FactRecord
    assert fact_matches({"subject": ["Biscuit"], "key": ["age"], "value": ["4"]}, stored)
    assert describe_fact(stored) == "Biscuit.age=4"


async def test_the_rule_extractor_stores_nothing_forbidden_and_stays_precise() -> None:
    # A guard on the rules' precision-first rule: a change that stores wrong facts shows here.
    rows = await bench(load_dialogues(), rules_extractor, "rules")
    for r in rows:
        assert r["facts"].forbidden + r["events"].forbidden == 0, (r["lang"], r["facts"].wrong, r["events"].wrong)
        assert (r["facts"].precision or 0) >= 0.95 and (r["events"].precision or 0) >= 0.95, r["lang"]
