"""The rule extractor's Chinese matchers: one function per kind of statement, each reading one
clause ("我家的猫叫豆豆", "今天考试没考好") into ``_Found``. Precise rather than exhaustive."""

from __future__ import annotations

import re

from .dates import cn_number, find_date
from .roles import zh_role
from .rules_common import (
    _NAME_STOP,
    _OBJ_STOP,
    _ZH_ACHIEVE,
    _ZH_ACT,
    _ZH_BOUND,
    _ZH_CITIES,
    _ZH_FAV_NOUN,
    _ZH_FOODS,
    _ZH_JOB_SUFFIX,
    _ZH_LIFE,
    _ZH_REL,
    _ZH_REL_RE,
    _ZH_ROLE_MENTION,
    _clean_zh,
    _emotion_cue,
    _fmt_md,
    _Found,
    _last_favorite,
    _Matcher,
    _name_pet,
    _others,
    _role_subject,
    _strip_dates,
)
from .schema import USER

_ZH_NAME = re.compile(r"(?:我(?:的)?(?:名字|真名|本名|全名|大名|真实姓名)(?:是|叫)|我叫|我名叫|叫我)"
                      rf"\s*([\u4e00-\u9fffA-Za-z·]{{1,8}}?){_ZH_BOUND}")
_ZH_AGE = re.compile(r"我(?:今年|已经|快|都)?(\d{1,3}|[一二三四五六七八九十两]{1,3})(?:周)?岁")
_ZH_PREF = re.compile(
    r"我(?:也|还|一直|真的|其实)?(?P<neg>不太|不怎么|很不|最不|特别不|不)?"
    r"(?P<deg>最|很|超级|超|特别|非常|好|挺|蛮|真的)?(?P<verb>喜欢|热爱|爱|讨厌|厌恶|受不了|反感)"
    r"(?P<act>吃|喝|听|看|玩|读|养|唱|穿|去|打)?(?P<obj>[^，,。！!？?；;]+)")
_ZH_FAV = re.compile(r"我最(?:喜欢|爱)(?P<act>吃|喝|听|看|玩|读)?的(?P<noun>[\u4e00-\u9fff]{1,4}?)??"
                     r"(?:其实|还是|应该|一直)?(?:是|就是)(?P<obj>[^，,。！!？?；;]+)")
_ZH_JOB = re.compile(r"我(?:现在|目前)?(?:是|做|当)(?:一名|一个|一位|名|个)?(?P<job>[\u4e00-\u9fffA-Za-z]{1,10}?)"
                     r"(?=，|,|。|！|!|$|啦|哦|呀|啊|了)")
_ZH_JOB2 = re.compile(r"我(?:的)?(?:工作|职业)是(?P<job>[^，,。！!？?]+)|我是(?:做|搞|干)(?P<job2>[^，,。！!？?]+?)的")
_ZH_WORK_AT = re.compile(r"我(?:现在|目前)?在(?P<place>[^，,。！!？?]{1,20}?)"
                         r"(?P<verb>工作|上班|实习|上学|读书|念书|读大学|上大学|读研|读博)")
_ZH_WORK_AS = re.compile(r"我(?:现在|目前)?在(?:一家|一个|一所)?(?P<place>[\u4e00-\u9fffA-Za-z]{1,10}?)(?:当|做)"
                         r"(?P<job>[\u4e00-\u9fff]{1,8}?)(?=$|呢|啦|了|哦|呀)")
_ZH_LIVE = re.compile(r"我(?:们)?(?:现在|目前)?(?:住在|定居在|生活在)(?P<place>[^，,。！!？?]{1,20})")
_ZH_IN_CITY = re.compile(r"^我(?:现在|目前)?在(?P<place>[\u4e00-\u9fff]{2,6}?)(?:呢|啦|了)?$")
_ZH_FROM = re.compile(r"我(?:是(?P<a>[\u4e00-\u9fff]{2,6}?)人|来自(?P<b>[^，,。！!？?]{1,20})"
                      r"|老家(?:是|在)(?P<c>[^，,。！!？?]{1,20}))")
_ZH_MOVE = re.compile(r"我(?P<when>[^，,。！!？?搬不没]{0,6}?)搬(?:家)?(?:到|去)了?(?P<place>[^，,。！!？?]{1,20})")
_ZH_FUTURE = re.compile(r"要|打算|准备|想|会|将|计划|下个?月|明年|下周|下星期|以后|将来")
_ZH_PERSONALITY = re.compile(r"我(?:是)?(?:一个)?(?:很|比较|特别|有点|挺|非常)?"
                             r"(?P<t>内向|外向|社恐|慢热|乐观|悲观|急性子|"
                             r"完美主义|宅)(?:的人)?")
_ZH_REL_NAME = re.compile(rf"我(?:们)?(?:家)?(?:的)?(?P<rel>{_ZH_REL_RE})(?:叫|的名字是|名字叫|名叫)"
                          rf"(?P<name>[\u4e00-\u9fffA-Za-z·]{{1,8}}?)"
                          rf"{_ZH_BOUND}")
_ZH_REL_HAVE = re.compile(rf"我(?:们)?(?:家)?(?:还|也)?有(?P<n>一|两|三|1|2|3)?(?:个|只|位|条)?(?P<rel>{_ZH_REL_RE})")
# "养了一只柯基叫旺财": a pet named with its kind (a breed is no role word: the pet's species)
_ZH_PET_NAME = re.compile(r"我(?:家)?(?:还|也)?(?:养了|养的|养着|有)(?:一|两)?(?:只|条)(?P<kind>[\u4e00-\u9fff]{1,4}?)"
                          rf"[，,]?(?:叫|名叫|叫做|名字叫)(?P<name>[\u4e00-\u9fffA-Za-z·]{{1,6}}?){_ZH_BOUND}")
_ZH_PET_KIND = re.compile(r"我(?:家)?(?:还|也)?(?:养了|养着|新养了|有)(?:一|两)?(?:只|条)"
                          r"(?P<kind>[\u4e00-\u9fff]{1,4})$")
_ZH_IT_NAME = re.compile(rf"^(?:它|他|她)?(?:的)?(?:名字)?(?:叫|名叫|叫做)(?P<name>[\u4e00-\u9fffA-Za-z·]{{1,6}}?)"
                         rf"{_ZH_BOUND}")
# "我妈妈是小学老师" / "我老公是厨师": the job of the other, never the user's
_ZH_REL_JOB = re.compile(rf"^我(?:的|家的?)?(?P<rel>{_ZH_REL_RE})(?:现在|目前|也)?是(?:一名|一个|一位|名|个)?"
                         r"(?P<job>[\u4e00-\u9fff]{1,10}?)(?=$|啦|哦|呀|啊|了)")
_ZH_PRON_JOB = re.compile(r"^(?P<pron>他|她)(?:现在|目前|也)?是(?:一名|一个|一位|名|个)?(?P<job>[\u4e00-\u9fff]{1,10}?)"
                          r"(?=$|啦|哦|呀|啊|了)")
# "我妈今年五十岁了" / "猫三岁了": a role's age
_ZH_REL_AGE = re.compile(rf"^(?:我(?:的|家的?)?)?(?P<rel>{_ZH_REL_RE})(?:今年|已经|快|都|现在)?"
                         r"(?P<age>\d{1,3}|[一二三四五六七八九十两]{1,3})(?:周)?岁")
_ZH_DIET = re.compile(r"我(?:现在|已经|开始|一直|从小)*(?P<d>吃素|吃全素|是素食者|是素食主义者|是纯素)")
_ZH_ALLERGY = re.compile(r"我(?:对)?(?P<obj>[\u4e00-\u9fffA-Za-z]{1,6}?)(?:严重)?过敏")
_ZH_NOT_ALLERGEN = ("有", "很", "好", "容易", "特别", "不", "没", "你", "他", "她", "它")
_ZH_LEARN = re.compile(r"我(?:最近|现在|目前|一直)?(?:在|正在)学(?!校|习|生|期|院|会|到|了)"
                       r"(?P<obj>[\u4e00-\u9fffA-Za-z]{1,8}?)(?=$|呢|啦|了|哦|呀)")
_ZH_CORRECT = re.compile(r"^(?:不对|不是不是|说错了|错了|搞错了|我说错了)+$")
_ZH_CORRECTED = re.compile(r"^(?:其实|应该|我是说)?是(?P<v>[^，,。！!？?]{1,20})$")
_ZH_QUARREL = re.compile(r"(?:跟|和|与)(?P<who>[^，,。！!？?]{1,8}?)(?:吵架|吵了一架|大吵一架|闹矛盾|闹别扭|冷战|闹翻)")
_ZH_START_JOB = re.compile(r"开始(?:去|在)(?:一家|一个|一所)?(?P<place>[\u4e00-\u9fffA-Za-z]{1,10}?)"
                           r"(?:当|做|上班|工作)(?P<job>[\u4e00-\u9fff]{0,6})$")
_ZH_OTHER_AGE = re.compile(r"^(?:它|他|她)?(?:今年|已经|快|都|现在)?(\d{1,3}|[一二三四五六七八九十两]{1,3})(?:周)?岁")
_ZH_AVOID = re.compile(r"我(?:已经|现在)?(?:(?:不再|不|戒了)(?P<act>吃|喝)(?P<obj>[\u4e00-\u9fff]{1,6}?)了"
                       r"|戒了(?P<obj2>[\u4e00-\u9fff]{1,6}?)了?$|(?:已经)?戒(?P<obj3>烟|酒|咖啡|奶茶|糖|甜食)了?$)")
_ZH_EXAM = re.compile(r"考试|期末考|期中考|高考|中考|考研|面试|答辩|笔试|科目[一二三四]|驾考|路考|考驾照"
                      r"|雅思|托福|四级|六级")
_ZH_EXAM_BAD = re.compile(r"没考好|考砸|考得不好|考得很差|挂了|挂科|没过|没通过|失败|搞砸|不及格")
_ZH_PLAN = re.compile(r"(?:打算|准备|计划|想要|决定|将要|要去|要)(?P<what>[^，,。！!？?；;]+)")
_ZH_PLAN_VERB = re.compile(r"打算|准备|计划|想要|决定|将要")


def _zh_name(c: str, f: _Found) -> None:
    if m := _ZH_NAME.search(c):
        name = _clean_zh(m.group(1))
        if name and name not in _NAME_STOP and not name.startswith(("外卖", "车")):
            key = "nickname" if c[m.start():].startswith("叫我") else "name"
            f.fact("basic_info", key, name, 0.9, f"用户希望被叫作{name}" if key == "nickname" else f"用户名叫{name}")


def _zh_age(c: str, f: _Found) -> None:
    if (m := _ZH_AGE.search(c)) and (age := cn_number(m.group(1))) and 3 <= age <= 120:
        f.fact("basic_info", "age", str(age), 0.85, f"今年{age}岁")


def _zh_other_age(c: str, f: _Found) -> None:
    """"我家的猫叫豆豆，今年三岁了" / "豆豆今年三岁": the age of the other, never the user's."""
    subject, rest = f.other, c
    for name in [*_others(f), *f.kinds]:
        if c.startswith(name):  # "豆豆今年三岁" / "兔子今年两岁啦" (the kind the segment named)
            subject, rest = f.kinds.get(name, name), c[len(name):]
    if (m := _ZH_REL_AGE.match(c)) and (age := cn_number(m.group("age"))) is not None and 0 < age <= 120:
        who = zh_role(_ZH_REL[m.group("rel")])  # postprocess gives it the role's name when one is known
        f.fact("basic_info", "age", str(age), 0.8, f"{who}{age}岁", subject=who)
        return
    if "我" in c or not subject:
        return
    if (m := _ZH_OTHER_AGE.match(rest)) and (age := cn_number(m.group(1))) is not None and 0 < age <= 120:
        f.fact("basic_info", "age", str(age), 0.8, f"{subject}{age}岁", subject=subject)


def _zh_avoid(c: str, f: _Found) -> None:
    if m := _ZH_AVOID.search(c):
        obj = m.group("obj") or m.group("obj2") or m.group("obj3")
        f.drop_like(obj)
        act = m.group("act")
        key = "avoids_food" if act == "吃" else "avoids_drink" if act == "喝" else "avoids"
        f.fact("preference", key, obj, 0.8, f"不{act}{obj}了" if act else f"戒了{obj}")


_ZH_BIRTHDAY = re.compile(r"生日|大寿|寿辰|过寿")
_ZH_REL_BIRTHDAY = re.compile(rf"(?P<rel>{_ZH_REL_RE})(?:(?P<name>[\u4e00-\u9fff]{{2,3}}|[A-Z][a-z]+)的|的)?"
                              r"(?:生日|大寿|寿辰)")
_ZH_NOT_NAME = re.compile(r"^(?:今天|明天|后天|昨天|下周|这周|本周|上周|下个|这个|每年|今年|明年|去年|过|的|也|还|要)")


def _zh_birthday(c: str, f: _Found) -> None:
    if not _ZH_BIRTHDAY.search(c) and not re.search(r"出生|生的", c):
        return
    when = find_date(c, f.today)
    rel = _ZH_REL_BIRTHDAY.search(c) or re.match(rf"^(?:我(?:的|家的?)?)?(?P<rel>{_ZH_REL_RE})(?P<name>)", c)
    if rel and not re.search(r"我(?:的)?生日", c):
        name = rel.group("name") or ""
        if name and (_ZH_NOT_NAME.match(name) or find_date(name, f.today)):
            name = ""
        role = _ZH_REL[rel.group("rel")]
        if name:  # "我男朋友阿杰的生日": the name too
            f.fact("relationship", f"{role}_name", name, 0.85, f"{rel.group('rel')}叫{name}")
        if when:
            who = name or zh_role(role)
            md = _fmt_md(when.value, "zh")
            f.event("birthday", f"{who}的生日", f"用户的{rel.group('rel')}{name}的生日是{md}", when, recurring=True,
                    importance=7, subject=who)
        return
    if when and (re.search(r"我(?:的)?生日|是我(?:的)?生日|我.*(?:出生|生的)", c) or c.startswith("生日")):
        md = _fmt_md(when.value, "zh")
        f.fact("basic_info", "birthday", md, 0.9, f"生日是{md}")
        f.event("birthday", "生日", f"用户的生日是{md}", when, recurring=True, in_summary=False)


def _zh_pref(c: str, f: _Found) -> None:
    if m := _ZH_FAV.search(c):
        obj = _clean_zh(m.group("obj"))
        if not obj or obj in _OBJ_STOP:
            return
        noun, act = m.group("noun") or "", m.group("act") or ""
        cat = _ZH_FAV_NOUN.get(noun) if noun else _ZH_ACT.get(act) or ("food" if obj in _ZH_FOODS else "")
        key = f"favorite_{cat or 'thing'}" if noun or cat else _last_favorite(f) or "favorite"
        f.fact("preference", key, obj, 0.85, f"最喜欢的{noun or (act + '的' if act else '')}是{obj}")
        return
    m = _ZH_PREF.search(c)
    if not m:
        return
    obj = _clean_zh(m.group("obj"))
    obj = re.split(r"因为|但是|可是|所以", obj)[0]
    if not obj or obj in _OBJ_STOP or obj.startswith(("你", "他", "她")):
        return
    verb, act, neg, deg = m.group("verb"), m.group("act"), m.group("neg"), m.group("deg")
    negative = bool(neg) or verb in ("讨厌", "厌恶", "受不了", "反感")
    cat = _ZH_ACT.get(act or "") or ("food" if obj in _ZH_FOODS else "")
    surface = m.group(0)[1:]
    if negative:
        f.fact("preference", f"dislikes_{cat}" if cat else "dislikes", obj, 0.8, surface)
    elif deg == "最":
        f.fact("preference", f"favorite_{cat}" if cat else "favorite", obj, 0.85, surface)
    else:
        f.fact("preference", f"likes_{cat}" if cat else "likes", obj, 0.75, surface)


def _zh_correct(c: str, f: _Found) -> None:
    """"不对，是杭州": after a correction cue, "是X" replaces the value said last."""
    if _ZH_CORRECT.match(c):
        f.correcting = True
    elif f.correcting and (m := _ZH_CORRECTED.match(c)):
        f.correct_last(_clean_zh(m.group("v")))
        f.correcting = False


def _zh_diet_allergy_learning(c: str, f: _Found) -> None:
    if (m := _ZH_DIET.search(c)) and not re.search(r"(?:不|没|别)$", c[:m.start("d")]):
        f.fact("basic_info", "diet", m.group("d").removeprefix("是"), 0.85, m.group("d"))
    if (m := _ZH_ALLERGY.search(c)) and not m.group("obj").startswith(_ZH_NOT_ALLERGEN):
        f.fact("basic_info", "allergy", m.group("obj"), 0.85, f"对{m.group('obj')}过敏")
    if m := _ZH_LEARN.search(c):
        f.fact("preference", "learning", m.group("obj"), 0.75, f"在学{m.group('obj')}")


def _zh_job(c: str, f: _Found) -> None:
    m = _ZH_REL_JOB.match(c) or _ZH_PRON_JOB.match(c)
    if m and m.group("job").endswith(_ZH_JOB_SUFFIX):
        who = _role_subject(m.groupdict().get("rel"), m.groupdict().get("pron"), f, "zh")
        if who:
            f.fact("basic_info", "job", m.group("job"), 0.8, f"{who}是{m.group('job')}", subject=who)
        return
    if m := _ZH_JOB2.search(c):
        job = _clean_zh(m.group("job") or m.group("job2") or "")
        f.fact("basic_info", "job", job, 0.8, f"职业是{job}")
        return
    if (m := _ZH_JOB.search(c)) and m.group("job").endswith(_ZH_JOB_SUFFIX):
        job = m.group("job")
        f.fact("basic_info", "job", job, 0.8, f"是一名{job}")
    if (m := _ZH_WORK_AS.search(c)) and m.group("job").endswith(_ZH_JOB_SUFFIX):  # "我在一家医院当护士"
        f.fact("basic_info", "job", m.group("job"), 0.8, f"当{m.group('job')}")
        f.fact("basic_info", "workplace", m.group("place"), 0.75, f"在{m.group('place')}工作")
    elif m := _ZH_WORK_AT.search(c):
        place = _clean_zh(re.sub(r"^(?:一家|一个|一所)", "", m.group("place")))
        if m.group("verb") in ("工作", "上班", "实习"):
            if place in _ZH_CITIES:
                f.fact("basic_info", "city", place, 0.7, f"在{place}工作")
            else:
                f.fact("basic_info", "workplace", place, 0.8, f"在{place}{m.group('verb')}")
        else:
            f.fact("basic_info", "school", place, 0.8, f"在{place}{m.group('verb')}")


def _zh_place(c: str, f: _Found) -> None:
    if m := _ZH_MOVE.search(c):
        place = _clean_zh(_strip_dates(m.group("place"), f.today))
        when = find_date(c, f.today)
        if re.search(_ZH_REL_RE, m.group("when")):
            pass  # "我妈妈搬到了北京": someone else's move
        elif _ZH_FUTURE.search(m.group("when")):  # "我下个月要搬到苏州": a plan, not yet the city
            f.event("plan", f"搬到{place}", f"用户计划搬到{place}", when, in_summary=False)
        else:
            f.fact("basic_info", "city", place, 0.8, f"搬到了{place}")
            f.event("life_event", f"搬到{place}", f"用户搬到{place}", when, in_summary=False)
    elif m := _ZH_LIVE.search(c):
        place = _clean_zh(m.group("place"))
        f.fact("basic_info", "city", place, 0.85, f"住在{place}")
    elif (m := _ZH_IN_CITY.search(c)) and (m.group("place") in _ZH_CITIES or m.group("place").endswith("市")):
        f.fact("basic_info", "city", m.group("place"), 0.6, f"在{m.group('place')}")
    if m := _ZH_FROM.search(c):
        place = _clean_zh(m.group("a") or m.group("b") or m.group("c") or "")
        if place and not place.endswith(_ZH_JOB_SUFFIX):
            f.fact("basic_info", "hometown", place, 0.8, f"来自{place}")


def _zh_personality(c: str, f: _Found) -> None:
    if (m := _ZH_PERSONALITY.search(c)) and "不" not in c[: m.start("t")]:
        f.fact("personality", "trait", m.group("t"), 0.7, f"性格{m.group('t')}")


def _zh_relationship(c: str, f: _Found) -> None:
    if m := _ZH_PET_KIND.search(c):
        f.pet_kind = m.group("kind")  # named by a later clause; "我有一只猫" is still said below
    if (f.pet_kind and (m := _ZH_IT_NAME.match(c)) and (name := _clean_zh(m.group("name"))) not in _NAME_STOP
            and not name.startswith(("我", "你", "他", "她"))):  # "叫我小林" names the user
        _name_pet(f.pet_kind, name, f, "zh")
        return
    if (m := _ZH_PET_NAME.search(c)) and (name := _clean_zh(m.group("name"))) and name not in _NAME_STOP:
        _name_pet(m.group("kind"), name, f, "zh")
    elif m := _ZH_REL_NAME.search(c):
        rel, name = m.group("rel"), _clean_zh(m.group("name"))
        if name and name not in _NAME_STOP:
            f.fact("relationship", f"{_ZH_REL[rel]}_name", name, 0.85, f"{rel}叫{name}")
            f.other = name
    elif m := _ZH_REL_HAVE.search(c):
        rel = m.group("rel")
        unit = "只" if rel in ("猫", "狗", "猫咪", "狗狗") else "个"
        f.fact("relationship", _ZH_REL[rel], f"有{m.group('n') or '一'}{unit}{rel}",
               0.8, c.lstrip("我"))


def _zh_events(c: str, f: _Found) -> None:
    if _ZH_BIRTHDAY.search(c):
        return  # handled by _zh_birthday
    when = find_date(c, f.today)
    text = _strip_dates(c, f.today)  # the title must not carry a relative date that goes stale
    text = re.sub(r"^(?:我们|我)", "", _clean_zh(text)).strip("，, ")
    if not text:
        return
    text = re.sub(r"^(?:其实|实际上)", "", text)
    text = re.sub(r"^(?:上午|下午|晚上|早上|中午|傍晚|凌晨)", "", text) or text
    # About someone else ("他…", "豆豆…", "我妈妈下周开始…"): no event of the user's from these rules
    third = re.match(r"(?:你|他|她|它)", c) or any(c.startswith(n) for _, n in f.named) or _ZH_ROLE_MENTION.match(c)
    if (m := _ZH_START_JOB.search(text)) and not third:  # "下周一开始去一家咖啡店当店长"
        place = re.sub(r"^(?:一家|一个|一所)", "", m.group("place"))
        f.fact("basic_info", "workplace", place, 0.75, f"在{place}工作")
        if m.group("job").endswith(_ZH_JOB_SUFFIX):
            f.fact("basic_info", "job", m.group("job"), 0.75, f"当{m.group('job')}")
        f.event("life_event", text, f"用户{text}", when, importance=7)
        return
    if (m := _ZH_QUARREL.search(text)) and not third:  # "今天跟好朋友小美吵架了"
        f.event("emotional", text, f"用户{text}", when, emotion=_emotion_cue(f.message, f.lang) or "难过")
        return
    if "纪念日" in c:
        f.event("anniversary", _clean_zh(text), f"用户提到{_clean_zh(text)}", when, recurring=True)
    elif any(k in c for k in _ZH_ACHIEVE) and not _ZH_ROLE_MENTION.match(c):
        f.event("achievement", text, f"用户{text}", when, emotion="开心")
    elif (exam := _ZH_EXAM.search(c)) and not f.other:
        if _ZH_EXAM_BAD.search(c):  # "今天考试没考好": a bad day the companion should remember
            f.event("emotional", text, f"用户{text}", when,
                    emotion=_emotion_cue(f.clause, f.lang) or _emotion_cue(f.message, f.lang) or "难过")
        elif when and when.value >= f.today:  # "下周二有个面试": something to ask about afterwards
            title = re.sub(r"^(?:要|有个|有一个|有场|有一场|有)", "", text) or exam.group(0)
            f.event("plan", title, f"用户{when.value.month}月{when.value.day}日{text}", when)
    elif any(k in c for k in _ZH_LIFE) and "我" in c:
        who = _ZH_ROLE_MENTION.match(c)  # "我爸今年退休了": the father's event, under his name or role
        subject = _role_subject(who.group("rel"), None, f, "zh") if who else USER
        if who:
            text = subject + text[len(who.group(0)) - 1:] if text.startswith(who.group(0)[1:]) else text
        f.event("life_event", text, f"用户{text}" if subject == USER else f"用户的{text}", when, subject=subject)
    elif (m := _ZH_PLAN.search(c)) and (_ZH_PLAN_VERB.search(c) or when) and not re.match(r"(?:你|他|她|它)", c):
        what = _clean_zh(m.group("what"))
        if when and when.start >= m.start("what"):
            what = _clean_zh((c[:when.start] + c[when.end:])[m.start("what"):])
        what = what.removeprefix("要")
        if len(what) >= 2:
            suffix = f"（{when.value.isoformat()}）" if when else ""
            f.event("plan", what, f"用户计划{what}{suffix}", when)


_ZH_MATCHERS: list[_Matcher] = [_zh_correct, _zh_name, _zh_age, _zh_other_age, _zh_birthday, _zh_avoid, _zh_pref,
                                _zh_diet_allergy_learning, _zh_job, _zh_place, _zh_personality, _zh_relationship,
                                _zh_events]
