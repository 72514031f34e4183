"""Others' facts go to their names across messages (rules and post-processing), events are dated by
the message they came from, corrections replace what was said last, and unsure rules extract nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from companion.memory.extraction.postprocess import postprocess, source_message
from companion.memory.extraction.rules import extract_with_rules
from companion.memory.extraction.schema import ExtractedEvent, ExtractedFact, ExtractionResult
from companion.models import ChatMessage

NOW = datetime(2026, 12, 1, 20, 0, tzinfo=UTC)  # a Tuesday


def msgs(*texts: str, start: datetime = NOW) -> list[ChatMessage]:
    return [ChatMessage(role="user", content=t, timestamp=start.timestamp() + i) for i, t in enumerate(texts)]


def run(*texts: str, known: list[ExtractedFact] | None = None) -> ExtractionResult:
    return extract_with_rules(msgs(*texts), now=NOW, known_facts=known).result


def facts(result: ExtractionResult) -> dict[tuple[str, str], str]:
    return {(f.subject, f.key): f.value for f in result.facts}


def fact(key: str, value: str, subject: str = "user", type_: str = "basic_info") -> ExtractedFact:
    return ExtractedFact(subject=subject, type=type_, key=key, value=value, confidence=0.9)  # type: ignore[arg-type]


CAT = fact("cat_name", "豆豆", type_="relationship")


# ---------------------------------------------------------------- a role or a pronoun -> the name

@pytest.mark.parametrize("second", ["它今年三岁了", "它三岁了，特别黏人"])
def test_zh_pet_age_in_the_next_message_is_the_pets(second: str) -> None:
    f = facts(run("我家的猫叫豆豆", second))
    assert f[("豆豆", "age")] == "3" and ("user", "age") not in f


@pytest.mark.parametrize("text", ["猫三岁了", "我家的猫今年三岁了"])
def test_zh_role_age_goes_to_the_known_name(text: str) -> None:
    assert facts(run(text, known=[CAT]))[("豆豆", "age")] == "3"
    assert ("user", "age") not in facts(run(text, known=[CAT]))


def test_zh_role_without_a_name_is_one_subject_per_role() -> None:
    assert facts(run("我妈今年五十岁了"))[("妈妈", "age")] == "50"
    assert facts(run("我妈妈是小学老师"))[("妈妈", "job")] == "小学老师"


@pytest.mark.parametrize("texts", [("My dog's name is Max", "He is 4 and a golden retriever"),
                                   ("my dog Max is a total goofball", "he's 4"),
                                   ("My dog Max is 4 and loves the park",)])
def test_en_dog_age_is_the_dogs(texts: tuple[str, ...]) -> None:
    f = facts(run(*texts))
    assert f[("Max", "age")] == "4" and ("user", "age") not in f


def test_a_pronoun_after_a_person_is_not_given_to_a_pet() -> None:
    f = facts(run("我家的猫叫豆豆", "他是医生"))  # 他 is a person: not the cat, and no person was named
    assert ("豆豆", "job") not in f and ("user", "job") not in f


def test_clauses_after_a_relative_are_not_the_users() -> None:
    f = facts(run("我哥哥是律师，在上海工作"))
    assert f[("哥哥", "job")] == "律师" and ("user", "city") not in f and ("user", "workplace") not in f
    f = facts(run("My sister is a nurse in Dublin. I'm still in Cork"))
    assert f[("sister", "job")] == "nurse" and ("user", "job") not in f


def test_postprocess_maps_a_models_role_subject_and_role_key_to_the_name() -> None:
    result = ExtractionResult(summary="", topics=[], emotion="", events=[], facts=[
        fact("age", "3", subject="我家的猫"), fact("cat_age", "3"), fact("age", "50", subject="我妈"),
        fact("age", "4", subject="Buddy"), fact("age", "2", subject="my buddy")])
    known = [CAT, fact("friend_name", "Jake", type_="relationship")]
    out = facts(postprocess(result, msgs("猫三岁了"), now=NOW, known_facts=known))
    assert out == {("豆豆", "age"): "3", ("妈妈", "age"): "50", ("Buddy", "age"): "4", ("Jake", "age"): "2"}


def test_the_name_said_in_the_segment_wins_over_a_known_one() -> None:
    result = ExtractionResult(summary="", topics=[], emotion="", events=[], facts=[
        fact("cat_name", "Mochi", type_="relationship"), fact("age", "2", subject="cat")])
    out = facts(postprocess(result, msgs("my cat Mochi is 2"), now=NOW, known_facts=[CAT]))
    assert out[("Mochi", "age")] == "2"


# ---------------------------------------------------------------- the message an event came from

MONDAY = datetime(2026, 11, 23, 20, 0, tzinfo=UTC)
TWO_DAYS = [ChatMessage(role="user", content="下周二有个面试，好紧张", timestamp=MONDAY.timestamp()),
            ChatMessage(role="user", content="对了，下周二我妈妈也要去医院复查",
                        timestamp=(MONDAY + timedelta(days=8)).timestamp())]  # Tuesday 1 December


def _event(title: str) -> ExtractedEvent:
    return ExtractedEvent(type="plan", title=title, summary="", date_phrase="下周二", date=None, importance=5)


def test_llm_event_is_dated_by_the_message_that_talks_about_it() -> None:
    result = ExtractionResult(summary="", topics=[], emotion="", facts=[],
                              events=[_event("面试"), _event("妈妈去医院复查")])
    out = postprocess(result, TWO_DAYS, now=MONDAY + timedelta(days=8))
    assert [e.date for e in out.events] == ["2026-12-01", "2026-12-08"]


def test_on_a_tie_the_first_message_that_says_the_phrase_dates_the_event() -> None:
    assert source_message(_event("某事"), "下周二", TWO_DAYS) is TWO_DAYS[0]


def test_rule_events_are_dated_by_their_own_message() -> None:
    out = extract_with_rules(TWO_DAYS, now=MONDAY + timedelta(days=8)).result
    interview = next(e for e in out.events if "面试" in e.title)
    assert interview.date == "2026-12-01"


def test_a_given_source_wins_over_the_overlap_guess() -> None:
    result = ExtractionResult(summary="", topics=[], emotion="", facts=[], events=[_event("妈妈去医院复查")])
    out = postprocess(result, TWO_DAYS, now=MONDAY + timedelta(days=8), event_sources=[TWO_DAYS[0]])
    assert out.events[0].date == "2026-12-01"


# ---------------------------------------------------------------- corrections, and what is left out

def test_corrections_replace_the_value_said_last() -> None:
    assert facts(run("我最喜欢吃的是寿司", "不对不对，我最喜欢的其实是小龙虾，寿司排第二"))[
        ("user", "favorite_food")] == "小龙虾"
    assert facts(run("我住在北京", "不对，是上海"))[("user", "city")] == "上海"
    assert facts(run("My favorite movie is Inception... wait no, actually it's Interstellar"))[
        ("user", "favorite_movie")] == "Interstellar"


@pytest.mark.parametrize("text", ["我妈妈搬到了北京", "我下个月要搬到苏州", "Feeling down, my grandma passed away",
                                  "Not really a beach person tbh", "I'm not a beach person",
                                  "my buddy Jake is coming over"])
def test_unsure_rules_store_nothing_about_the_user(text: str) -> None:
    f = facts(run(text))
    assert not {k for k in f if k[0] == "user" and k[1] in ("city", "name", "likes", "grandmother_name")}


def test_a_future_move_is_a_plan_not_the_city() -> None:
    r = run("我下个月要搬到苏州")
    assert ("user", "city") not in facts(r) and [e.type for e in r.events] == ["plan"]


@pytest.mark.parametrize(("text", "key", "value"), [
    ("I'm allergic to peanuts though", "allergy", "peanuts"), ("我对花生过敏", "allergy", "花生"),
    ("I've been learning the piano", "learning", "piano"), ("我最近在学吉他", "learning", "吉他"),
    ("went vegetarian in the summer", "diet", "vegetarian"), ("现在开始吃素", "diet", "吃素"),
    ("I live in Lisbon, working remotely as a designer", "job", "designer"),
    ("actually I moved to Porto last month, way cheaper rent", "city", "Porto"),
])
def test_general_patterns(text: str, key: str, value: str) -> None:
    prefix = "" if text.startswith(("I", "i", "我", "a")) else ("我" if "\u4e00" <= text[0] <= "\u9fff" else "I ")
    assert facts(run(prefix + text))[("user", key)] == value


def test_others_birthdays_are_their_events_with_their_names() -> None:
    r = run("下周五是我男朋友阿杰的生日")
    assert facts(r)[("user", "boyfriend_name")] == "阿杰"
    assert [(e.subject, e.date, e.recurring) for e in r.events] == [("阿杰", "2026-12-11", True)]
    r = run("I'm 34 and my son Leo turns 6 next month, on the 12th")
    assert [(e.subject, e.date) for e in r.events] == [("Leo", "2026-12-12")]
    assert facts(r)[("user", "age")] == "34"


@pytest.mark.parametrize("texts", [("我对他过敏",), ("我妈妈下周开始在超市上班",), ("我妈妈跟我爸吵架了",),
                                   ("My boss is a jerk",)])
def test_what_is_someone_elses_or_no_fact_stays_out(texts: tuple[str, ...]) -> None:
    r = run(*texts)
    assert not [f for f in r.facts if f.subject == "user"] and not [e for e in r.events if e.subject == "user"]


def test_a_pending_pet_is_not_named_by_the_users_nickname() -> None:
    f = facts(run("我有一只猫", "叫我小林就好"))
    assert f[("user", "nickname")] == "小林" and ("user", "cat_name") not in f and ("user", "pet_name") not in f
    f = facts(run("我养了一只兔子，名字叫雪球", "兔子今年两岁啦"))
    assert f[("user", "pet_name")] == "雪球" and f[("雪球", "age")] == "2"


def test_a_role_prefixed_key_moves_only_for_an_attribute_of_the_other() -> None:
    result = ExtractionResult(summary="", topics=[], emotion="", events=[], facts=[
        fact("pet_peeve", "loud chewing", type_="personality"), fact("pet_age", "2")])
    out = facts(postprocess(result, msgs("my pet peeve is loud chewing"), now=NOW,
                            known_facts=[fact("pet_name", "Rex", type_="relationship")]))
    assert out == {("user", "pet_peeve"): "loud chewing", ("Rex", "age"): "2"}
