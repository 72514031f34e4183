"""The rule extractor's English matchers: one function per kind of statement, each reading one
clause ("My dog's name is Biscuit", "I have a job interview next Tuesday") into ``_Found``."""

from __future__ import annotations

import re

from .dates import find_date
from .rules_common import (
    _EN_ACHIEVE,
    _EN_ACT,
    _EN_FOODS,
    _EN_JOBS,
    _EN_LIFE,
    _EN_NOT_JOB,
    _EN_REL,
    _EN_REL_RE,
    _NAME_STOP,
    _OBJ_STOP,
    _clean_en,
    _clean_place,
    _emotion_cue,
    _fmt_md,
    _Found,
    _Matcher,
    _name_pet,
    _others,
    _role_subject,
    _strip_dates,
    _third,
)

_I_AM = r"\b(?:i'm|i am|im)\b"
_EN_NAME = re.compile(r"(?i:\bmy name is|\bmy name's|\bcall me|\bi'm|\bi am|\bthis is)\s+"
                      r"([A-Z][a-zA-Z'\-]+(?:\s[A-Z][a-zA-Z'\-]+)?)(?=\s*(?:[,.!?;]|$|\band\b|\bbtw\b))")
_EN_AGE = re.compile(rf"(?:{_I_AM}\s+(\d{{1,3}})(?:\s*(?:years?\s+old|yrs?\s+old|yo))?(?=\s*(?:$|[,;]|and\b|but\b))"
                     r"|\bi(?:'ve| have)?\s+just\s+turned\s+(\d{1,3})\b"
                     rf"|{_I_AM}\s+(\d{{1,3}})\s+years?\s+old)", re.I)
_EN_FAV = re.compile(r"\bmy\s+(?:favou?rite|fave)\s+(?P<noun>[a-z]+(?:\s[a-z]+)?)\s+is\s+(?P<obj>.+)", re.I)
_EN_PREF = re.compile(r"\bi\s+(?:also\s+|really\s+|absolutely\s+|totally\s+|just\s+|still\s+|actually\s+|kinda\s+|"
                      r"genuinely\s+|do\s+)?"
                      r"(?P<neg>don't|do not|dont|never)?\s*(?:really\s+)?"
                      r"(?P<verb>love|like|enjoy|adore|hate|dislike|can't stand|cannot stand|detest)\s+"
                      rf"(?:(?P<act>{'|'.join(sorted(_EN_ACT, key=len, reverse=True))})\s+)?(?P<obj>.+)", re.I)
_EN_JOB = re.compile(r"(?:\bi\s+(?:currently\s+|now\s+)?work|^i\b[^.;]*?,\s*(?:currently\s+|now\s+)?working"
                     r"|^i'?m?\b[^.;,]*?\band\s+work)"
                     r"(?:\s+remotely|\s+full[- ]time|\s+part[- ]time|\s+freelance)?\s+as\s+(?:an?\s+)?(?P<job>.+)",
                     re.I)
_EN_JOB2 = re.compile(rf"{_I_AM}\s+(?:an?\s+)(?P<job>(?:[a-z\-]+\s+){{0,2}}[a-z\-]+)"
                      r"\s*(?:[,.!?;]|$|\bat\b|\bin\b)", re.I)
_EN_WORK_AT = re.compile(r"\bi\s+work\s+(?:at|for)\s+(?P<place>.+)", re.I)
_EN_LIVE = re.compile(rf"(?:\bi\s+(?:currently\s+|now\s+)?live\s+in|{_I_AM}\s+(?:now\s+)?(?:based|living)\s+in"
                      r"|\bi(?:'ve|\s+have)\s+been\s+(?:living|based)\s+in)\s+(?P<place>.+)", re.I)
_EN_FROM = re.compile(rf"(?:{_I_AM}\s+(?:originally\s+)?from|\bi\s+come\s+from|\bi\s+grew\s+up\s+in)\s+(?P<place>.+)",
                      re.I)
_EN_MOVE = re.compile(r"(?:\bi(?:'ve|\s+have)?\s+(?:just\s+|recently\s+|finally\s+)?|^i\b[^.;]*?,\s*(?:and\s+)?"
                      r"(?:just\s+|recently\s+)?)moved\s+(?:back\s+)?(?:home\s+)?to\s+(?P<place>.+)", re.I)
_EN_PERSONALITY = re.compile(rf"{_I_AM}\s+(?:an?\s+)?(?:very\s+|quite\s+|pretty\s+|a\s+bit\s+|kind\s+of\s+)?"
                             r"(?P<t>introvert(?:ed)?|extrovert(?:ed)?|shy|optimistic|pessimistic|perfectionist|"
                             r"outgoing|homebody)\b", re.I)
_EN_REL_NAME = re.compile(rf"\bmy\s+(?P<rel>{_EN_REL_RE})(?:'s\s+name\s+is|\s+is\s+called|\s+is\s+named|,?\s+"
                          r"(?=(?-i:[A-Z])))\s*(?P<name>(?-i:[A-Z][a-z]+))", re.I)  # a name is capitalized
# "My cat Luna is 2 and ...": the age right after the name
_EN_NAMED_AGE = re.compile(r"^\s*(?:is|'s)\s+(?P<age>\d{1,3})(?:\s+(?:years?|yrs?)\s+old|\s*yo)?"
                           r"(?=\s*(?:$|[,.;!?]|and\b|but\b))", re.I)
_EN_REL_HAVE = re.compile(rf"\bi\s+(?:have|'ve\s+got|have\s+got)\s+(?P<n>an?|one|two|three)\s+"
                          rf"(?P<rel>{_EN_REL_RE})s?\b",
                          re.I)
_EN_PLAN = re.compile(rf"(?:{_I_AM}\s+(?:going\s+to|gonna|planning\s+to|planning\s+on|about\s+to)|\bi\s+plan\s+to|"
                      r"\bi\s+(?:want|intend|hope|decided)\s+to|\bi(?:'ll|\s+will)|\bi\s+have(?=\s+(?:an?|my)\s))\s+"
                      r"(?P<what>.+)", re.I)
_EN_OTHER_AGE = re.compile(r"\b(?:(?:she|he|it|they)(?:'s|\s+is|'re|\s+are)|(?P<name>[A-Z][a-z]+)\s+is)\s+"
                           r"(?P<age>\d{1,3})(?:\s+years?\s+old|\s+yrs?\s+old|\s*yo)?(?=\s*(?:$|[,.;!?]|and\b|but\b))",
                           re.I)
_EN_AVOID = re.compile(r"\bi\s+(?:don't|do not|dont|no longer|stopped|quit|gave up)\s+"
                       r"(?P<act>eat|eating|drink|drinking)\s+(?P<obj>[a-z][a-z ]{1,30}?)"
                       r"(?:\s+(?:anymore|any more|now))?\s*(?:$|[,;])", re.I)
_EN_DIET = re.compile(rf"(?:{_I_AM}|\bwent|\bi've\s+gone|\bi\s+became|\bi've\s+been|\bturned)\s+(?:a\s+|fully\s+)?"
                      r"(?P<d>vegetarian|vegan|pescatarian)\b", re.I)
_EN_ALLERGY = re.compile(rf"{_I_AM}\s+(?:really\s+|very\s+|severely\s+|deathly\s+|super\s+)?allergic\s+to\s+"
                         r"(?P<obj>[a-z][a-z ]{1,30})", re.I)
_EN_PERSON = re.compile(rf"{_I_AM}\s+(?:more\s+of\s+|such\s+|totally\s+|definitely\s+|really\s+)?an?\s+"
                        r"(?:big\s+|huge\s+|total\s+)?(?P<x>[a-z]+)\s+person\b", re.I)
_EN_NOT_LIKE_PERSON = {"morning", "night", "people", "early", "late", "social", "city", "country", "indoor",
                       "outdoor", "good", "bad", "nice", "different", "private", "shy", "quiet", "happy", "lucky"}
_EN_LEARN = re.compile(rf"(?:{_I_AM}|\bi've\s+been|\bi\s+have\s+been)\s+(?:currently\s+|also\s+)?learning\s+"
                       r"(?:(?:how\s+)?to\s+(?:play\s+)?)?(?:the\s+)?(?P<obj>[a-z][a-z ]{1,30})", re.I)
_EN_CORRECT = re.compile(r"^(?:(?:wait|no|nope|sorry|oops|oh|i\s+mean)[\s,]+)+(?:actually\s+|i\s+mean\s+)?"
                         r"(?:it's|it\s+is)\s+(?:actually\s+)?(?P<v>[^,.;!?]+)", re.I)
_EN_TURNS = re.compile(r"(?:\bmy\s+(?P<rel>" + _EN_REL_RE + r")\s+)?\b(?P<who>(?-i:[A-Z][a-z]+)|he|she)\s+"
                       r"(?:turns|will\s+turn|is\s+turning|'s\s+turning)\s+(?P<age>\d{1,3})\b", re.I)
_EN_DUE = re.compile(r"\bmy\s+(?P<what>(?:[a-z]+\s+){0,2}?(?:exams?|test|interview|appointment|surgery|operation|"
                     r"flight|presentation|deadline|audition|finals|midterms?|recital|concert|wedding|party|match))"
                     r"\s+is\b", re.I)
_EN_START = re.compile(rf"^(?:{_I_AM}\s+|i\s+)?(?:start|starting)\s+"
                       r"(?:a\s+new\s+job\s+|my\s+new\s+job\s+|work\s+|working\s+)?(?:at|in)\s+"
                       r"(?P<place>(?:an?\s+|the\s+)?[A-Za-z][\w' ]{1,40}?)\s*$", re.I)
_EN_REL_JOB = re.compile(rf"^(?:my\s+(?P<rel>{_EN_REL_RE})|(?P<pron>he|she))(?:'s|\s+is)\s+an?\s+"
                         r"(?:retired\s+|former\s+)?(?P<job>[a-z]+)\b", re.I)
_EN_PET_KIND = re.compile(r"\bi\s+(?:just\s+)?(?:got|adopted|have|rescued)\s+an?\s+(?:new\s+|little\s+)?"
                          r"(?P<kind>kitten|cat|puppy|dog|hamster|rabbit|bunny|parrot|turtle|guinea\s+pig)\b", re.I)
_EN_IT_NAME = re.compile(r"^(?:her|his|its)\s+name(?:'s|\s+is)\s+(?P<name>(?-i:[A-Z][a-z]+))", re.I)
_EN_GOING = re.compile(r"^(?:going|heading|off)\s+(?:to\s+)?(?P<what>[a-z].+)$", re.I)
_EN_EXAM = re.compile(r"\b(?:exams?|tests?|interview|finals|midterms?|audition)\b", re.I)
_EN_EXAM_BAD = re.compile(r"\b(?:failed|bombed|flunked|messed up|screwed up|didn't pass|did not pass|went badly|"
                          r"went terribly|didn't go well|did not go well)\b", re.I)
_EN_PLAN_VERB = re.compile(r"going to|gonna|planning|plan to|intend|decided to", re.I)


def _en_name(c: str, f: _Found) -> None:
    m = _EN_NAME.search(c)
    if not m:
        return
    name = m.group(1)
    first = name.split()[0]
    if first in _NAME_STOP or first.lower() in _EN_JOBS or first.lower() in _EN_NOT_JOB:
        return
    lead = c[m.start():m.start(1)].lower()
    key = "nickname" if lead.startswith("call me") else "name"
    conf = 0.9 if lead.startswith(("my name", "call me")) else 0.75
    f.fact("basic_info", key, name, conf, f"name is {name}" if key == "name" else f"Likes to be called {name}")


def _en_age(c: str, f: _Found) -> None:
    if m := _EN_AGE.search(c):
        age = int(next(g for g in m.groups() if g))
        if 3 <= age <= 120:
            f.fact("basic_info", "age", str(age), 0.85, f"is {age} years old")


def _en_other_age(c: str, f: _Found) -> None:
    """"My cat is called Mochi, she's 4" / "Mochi is 4 years old": the other's age, never the user's."""
    m = _EN_OTHER_AGE.search(c)
    if not m:
        return
    name = m.group("name")
    subject = name if name in _others(f) else (f.other or f.topic if not name else "")
    if subject and 0 < (age := int(m.group("age"))) <= 120:
        f.fact("basic_info", "age", str(age), 0.8, f"{subject} is {age} years old", subject=subject)


def _en_avoid(c: str, f: _Found) -> None:
    if m := _EN_AVOID.search(c):
        obj = _clean_place(m.group("obj"))  # "alcohol in January" -> "alcohol"
        if not obj or obj.lower() in _OBJ_STOP:
            return
        f.drop_like(obj)
        food = m.group("act").lower().startswith("eat")
        f.fact("preference", "avoids_food" if food else "avoids_drink", obj, 0.8,
               f"no longer {'eats' if food else 'drinks'} {obj}")


def _en_diet_allergy_learning(c: str, f: _Found) -> None:
    if (m := _EN_DIET.search(c)) and not re.search(r"\b(?:not|never|n't)\b[^,.;]*$", c[:m.start("d")], re.I):
        f.fact("basic_info", "diet", m.group("d").lower(), 0.85, f"is {m.group('d').lower()}")
    if m := _EN_ALLERGY.search(c):
        obj = _clean_en(m.group("obj"))
        if obj and obj.lower() not in _OBJ_STOP:
            f.fact("basic_info", "allergy", obj, 0.85, f"is allergic to {obj}")
    if m := _EN_LEARN.search(c):
        obj = _clean_en(m.group("obj"))
        if obj and obj.lower() not in _OBJ_STOP:
            f.fact("preference", "learning", obj, 0.75, f"is learning {obj}")


def _en_correct(c: str, f: _Found) -> None:
    """"My favorite movie is Inception... wait no, actually it's Interstellar": the value said last."""
    if m := _EN_CORRECT.match(c):
        f.correct_last(_clean_en(m.group("v")))


def _en_birthday(c: str, f: _Found) -> None:
    low = c.lower()
    if (m := _EN_TURNS.search(c)) and (when := find_date(c, f.today)) and when.value >= f.today:
        who = m.group("who")  # "my son Leo turns 6 next month": Leo's birthday
        if who.lower() in ("he", "she"):
            who = f.other or (m.group("rel") or "").lower()
        elif who not in _others(f) and not m.group("rel"):
            who = ""
        if who:
            md = _fmt_md(when.value, "en")
            f.event("birthday", f"{who}'s birthday", f"{who} turns {m.group('age')} on {md}.", when, recurring=True,
                    importance=7, subject=who)
            return
    if "birthday" not in low and "born on" not in low and "born in" not in low:
        return
    when = find_date(c, f.today)
    if not when:
        return
    rel = re.search(rf"\bmy\s+(?P<rel>{_EN_REL_RE})(?:\s+(?P<name>(?-i:[A-Z][a-z]+)))?'s\s+birthday", c, re.I)
    if rel:
        role = _EN_REL[rel.group("rel").lower()]
        who = rel.group("name") or role.replace("_", " ")
        if rel.group("name"):
            f.fact("relationship", f"{role}_name", who, 0.85, f"{rel.group('rel').lower()}'s name is {who}")
        f.event("birthday", f"{who[:1].upper() + who[1:]}'s birthday", f"The user's {rel.group('rel').lower()}"
                f"{' ' + who if rel.group('name') else ''}'s birthday is on {_fmt_md(when.value, 'en')}.", when,
                recurring=True, importance=7, subject=who)
        return
    if re.search(r"\bmy\s+birthday|\bi\s+was\s+born|\bit'?s\s+my\s+birthday|\bbirthday\s+is\s+mine", low):
        md = _fmt_md(when.value, "en")
        f.fact("basic_info", "birthday", md, 0.9, f"birthday is on {md}")
        f.event("birthday", "Birthday", f"The user's birthday is on {md}.", when, recurring=True,
                in_summary=False)


def _en_pref(c: str, f: _Found) -> None:
    if (m := _EN_PERSON.search(c)) and not re.search(r"\bnot\b|n't\b", c[:m.start()], re.I):
        x = m.group("x").lower()  # "I'm more of a pizza person"
        if x not in _EN_NOT_LIKE_PERSON and x not in _EN_JOBS:
            f.fact("preference", "likes_food" if x in _EN_FOODS else "likes", x, 0.7, f"is a {x} person")
    if m := _EN_FAV.search(c):
        noun = re.sub(r"[^a-z]+", "_", m.group("noun").lower()).strip("_")
        obj = _clean_en(m.group("obj"))
        f.fact("preference", f"favorite_{noun}", obj, 0.85, f"favorite {m.group('noun').lower()} is {obj}")
        return
    m = _EN_PREF.search(c)
    if not m:
        return
    obj = _clean_en(m.group("obj"))
    low = obj.lower()
    if not obj or low in _OBJ_STOP or low.split()[0] in {"you", "it", "that", "this", "to", "how", "when", "the way"}:
        return
    negative = bool(m.group("neg")) or m.group("verb").lower() in ("hate", "dislike", "can't stand", "cannot stand",
                                                                   "detest")
    cat = _EN_ACT.get((m.group("act") or "").lower()) or ("food" if low in _EN_FOODS else "")
    favorite = re.search(r"\bthe\s+most\b|\bmost\s+of\s+all\b", c, re.I)
    obj = re.sub(r"\s+(?:the\s+most|most\s+of\s+all)$", "", obj, flags=re.I)
    surface = f"{'dislikes' if negative else 'likes'} {obj}"
    if negative:
        f.fact("preference", f"dislikes_{cat}" if cat else "dislikes", obj, 0.8, surface)
    elif favorite:
        f.fact("preference", f"favorite_{cat}" if cat else "favorite", obj, 0.85, f"loves {obj} the most")
    else:
        f.fact("preference", f"likes_{cat}" if cat else "likes", obj, 0.75, surface)


def _en_job(c: str, f: _Found) -> None:
    if (m := _EN_REL_JOB.match(c)) and (who := _role_subject(m.group("rel"), m.group("pron"), f, "en")):
        if m.group("job").lower() in _EN_JOBS:  # "My sister is a nurse in Dublin": hers, never the user's
            job = m.group("job").lower()
            job = f"retired {job}" if re.search(r"\bretired\b", c, re.I) else job
            f.fact("basic_info", "job", job, 0.8, f"{who} is a {job}", subject=who)
        return
    if m := _EN_JOB.search(c):
        job = _clean_en(re.split(r"\s+(?:at|in|for)\s+", m.group("job"), maxsplit=1)[0])
        f.fact("basic_info", "job", job, 0.85, f"works as {job}")
    elif m := _EN_JOB2.search(c):
        job = m.group("job").lower()
        last = job.split()[-1]
        if last not in _EN_NOT_JOB and (last in _EN_JOBS or (re.search(r"(?:ist|ian|eer|er|or)$", last)
                                                             and job.split()[0] not in _EN_NOT_JOB)):
            f.fact("basic_info", "job", job, 0.8 if last in _EN_JOBS else 0.65, f"is a {job}")
    if m := _EN_WORK_AT.search(c):
        place = _clean_place(m.group("place"))
        f.fact("basic_info", "workplace", place, 0.8, f"works at {place}")


def _en_place(c: str, f: _Found) -> None:
    if m := _EN_MOVE.search(c):
        place = _clean_place(m.group("place"))
        f.fact("basic_info", "city", place, 0.8, f"moved to {place}")
        f.event("life_event", f"Moved to {place}", f"The user moved to {place}.", find_date(c, f.today),
                in_summary=False)
    elif m := _EN_LIVE.search(c):
        place = _clean_place(m.group("place"))
        f.fact("basic_info", "city", place, 0.85, f"lives in {place}")
    if m := _EN_FROM.search(c):
        place = _clean_place(m.group("place"))
        f.fact("basic_info", "hometown", place, 0.8, f"is from {place}")


def _en_personality(c: str, f: _Found) -> None:
    if (m := _EN_PERSONALITY.search(c)) and not re.search(r"\bnot\b", c[: m.start("t")], re.I):
        f.fact("personality", "trait", m.group("t").lower(), 0.7, f"is {m.group('t').lower()}")


def _en_relationship(c: str, f: _Found) -> None:
    if m := _EN_PET_KIND.search(c):  # "I got a kitten! Her name is Pepper"
        f.pet_kind = m.group("kind").lower()
    elif f.pet_kind and (m := _EN_IT_NAME.match(c)) and m.group("name") not in _NAME_STOP:
        _name_pet(f.pet_kind, m.group("name"), f, "en")
        return
    if (m := _EN_REL_NAME.search(c)) and m.group("name") not in _NAME_STOP and m.group("name").lower() not in {
            "is", "was", "and", "has", "just", "got", "said", "will"}:
        rel = m.group("rel").lower()
        f.fact("relationship", f"{_EN_REL[rel]}_name", m.group("name"), 0.85, f"{rel}'s name is {m.group('name')}")
        f.other = m.group("name")
        if (age := _EN_NAMED_AGE.match(c[m.end():])) and 0 < int(age.group("age")) <= 120:
            f.fact("basic_info", "age", age.group("age"), 0.8, f"{f.other} is {age.group('age')} years old",
                   subject=f.other)
        else:
            _en_other_age(c[m.end():], f)
    elif m := _EN_REL_HAVE.search(c):
        rel = m.group("rel").lower()
        n = m.group("n").lower()
        n = "a" if n == "one" else n
        f.fact("relationship", _EN_REL[rel], f"has {n} {rel}{'s' if n in ('two', 'three') else ''}", 0.8,
               f"has {n} {rel}")


def _en_events(c: str, f: _Found) -> None:
    low = c.lower()
    if "birthday" in low:
        return
    when = find_date(c, f.today)
    text = (c[:when.start] + c[when.end:]) if when else c
    text = _clean_en(re.sub(r"\s{2,}", " ", text))
    if not text:
        return
    text = re.sub(r"^(?:actually|in fact)\b[\s,]*", "", text, flags=re.I)
    text = re.sub(r"\s+(?=[,.!?;])", "", text)
    text = re.sub(r"\s+(?:is|are|was|will\s+be)(?:\s+(?:on|in|at))?$", "", text, flags=re.I)
    if _EN_MOVE.search(c):
        return  # the move is _en_place's event
    third = re.match(r"(?:he|she|they|you|it)\b", c, re.I) or any(c.startswith(n) for _, n in f.named)
    day = when.value if when else None
    future = day is not None and day >= f.today
    if (m := _EN_START.match(text)) and not third:  # "Starting at a bookshop next Monday"
        place = _clean_en(m.group("place"))
        f.fact("basic_info", "workplace", place, 0.75, f"works at {place}")
        f.event("life_event", f"Starting at {place}", f"The user starts at {place}.", when, importance=7)
        return
    if (m := _EN_DUE.search(c)) and future:  # "My exam is in two weeks, on the 15th"
        what = m.group("what")
        f.event("plan", what[:1].upper() + what[1:], f"The user's {what} is on {day}.", when)
        return
    if (m := _EN_GOING.match(text)) and future and not third:  # "Going hiking with Jake this Saturday"
        what = _clean_en(_strip_dates(m.group("what"), f.today))
        if len(what) >= 3:
            f.event("plan", what[:1].upper() + what[1:], f"The user is going {_third(what)} ({day}).", when)
        return
    if "anniversary" in low:
        f.event("anniversary", text[:1].upper() + text[1:], f"The user mentioned: {_third(text)}.", when,
                recurring=True)
    elif any(k in low for k in _EN_ACHIEVE) and re.search(r"\bi\b|\bi'", low):
        f.event("achievement", text, f"The user said: {_third(text)}.", when, emotion="happy")
    elif any(k in low for k in _EN_LIFE) and re.search(r"\bi\b|\bi'|\bmy\b", low):
        f.event("life_event", text, f"The user said: {_third(text)}.", when)
    elif _EN_EXAM.search(c) and _EN_EXAM_BAD.search(c) and re.search(r"\bi\b|\bi'|\bmy\b", low):
        text = text.split(",")[0].strip()  # "I failed my exam, feeling sad": the feeling is the emotion
        f.event("emotional", text, f"The user said: {_third(text)}.", when,
                emotion=_emotion_cue(f.clause, f.lang) or _emotion_cue(f.message, f.lang) or "sad")
    elif (m := re.match(r"i\s+have\s+(?P<what>(?:an?|my)\s+.+)$", text, re.I)) and when and _EN_EXAM.search(c):
        what = _clean_en(m.group("what"))  # "I have a job interview next Tuesday": a plan with its day
        title = re.sub(r"^(?:an?|my)\s+", "", what, flags=re.I)
        f.event("plan", title[:1].upper() + title[1:], f"The user has {_third(what)} on {when.value.isoformat()}.",
                when)
    elif (m := _EN_PLAN.search(c)) and (_EN_PLAN_VERB.search(c) or when):
        what = m.group("what")
        if when and when.start >= m.start("what"):
            what = (c[:when.start] + c[when.end:])[m.start("what"):]
        what = _clean_en(_strip_dates(what, f.today))
        if len(what) >= 3:
            suffix = f" ({when.value.isoformat()})" if when else ""
            f.event("plan", what, f"The user plans to {_third(what)}{suffix}.", when)


_EN_MATCHERS: list[_Matcher] = [_en_correct, _en_name, _en_age, _en_birthday, _en_avoid, _en_diet_allergy_learning,
                                _en_pref, _en_job, _en_place, _en_personality, _en_relationship, _en_other_age,
                                _en_events]
