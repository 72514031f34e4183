"""Rule-based memory extraction (zh + en) for the offline provider: no model, no network.

    outcome = extract_with_rules(messages, now=datetime(2026, 11, 21))
    # "我叫小林，下个月15号是我生日，我最喜欢吃火锅" ->
    #   facts: basic_info/name=小林, basic_info/birthday=12月15日, preference/favorite_food=火锅
    #   events: birthday "生日" 2026-12-15 (recurring)

Same ``ExtractionOutcome`` shape as the LLM extractor (``llm_calls=0``, ``method="rules"``).
Only the user's messages are mined (what the assistant says is not a fact about the
user). Values are copied from the user's words, so they stay in the user's language;
generated text (summary, titles, emotion, topics) uses the conversation's language.
Patterns are precise rather than exhaustive: a missed fact costs less than a wrong one.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from ...models import ChatMessage
from ...text import detect_language
from .dates import DateMatch, cn_number, find_date, message_date
from .postprocess import is_placeholder, postprocess
from .schema import USER, EventType, ExtractedEvent, ExtractedFact, ExtractionOutcome, ExtractionResult, FactType

# ---------------------------------------------------------------- lexicons

_ZH_REL = {
    "女朋友": "girlfriend", "男朋友": "boyfriend", "老婆": "wife", "妻子": "wife", "太太": "wife",
    "老公": "husband", "丈夫": "husband", "妈妈": "mother", "母亲": "mother", "老妈": "mother",
    "爸爸": "father", "父亲": "father", "老爸": "father", "哥哥": "brother", "弟弟": "brother",
    "姐姐": "sister", "妹妹": "sister", "儿子": "son", "女儿": "daughter", "奶奶": "grandmother",
    "外婆": "grandmother", "姥姥": "grandmother", "爷爷": "grandfather", "外公": "grandfather",
    "闺蜜": "best_friend", "最好的朋友": "best_friend", "好朋友": "friend", "朋友": "friend",
    "同事": "coworker", "老板": "boss", "领导": "boss", "室友": "roommate", "猫咪": "cat", "猫": "cat",
    "狗狗": "dog", "狗": "dog", "妈": "mother", "爸": "father",
}
_EN_REL = {
    "girlfriend": "girlfriend", "boyfriend": "boyfriend", "wife": "wife", "husband": "husband",
    "mom": "mother", "mum": "mother", "mother": "mother", "dad": "father", "father": "father",
    "sister": "sister", "brother": "brother", "son": "son", "daughter": "daughter",
    "grandma": "grandmother", "grandmother": "grandmother", "grandpa": "grandfather",
    "grandfather": "grandfather", "best friend": "best_friend", "friend": "friend", "boss": "boss",
    "coworker": "coworker", "colleague": "coworker", "roommate": "roommate", "partner": "partner",
    "cat": "cat", "dog": "dog",
}
_ZH_REL_RE = "|".join(sorted(_ZH_REL, key=len, reverse=True))
_EN_REL_RE = "|".join(sorted(_EN_REL, key=len, reverse=True))

_ZH_JOB_SUFFIX = ("员", "师", "生", "工", "家", "医生", "护士", "经理", "总监", "主管", "老板", "司机", "记者",
                  "会计", "警察", "主播", "模特", "演员", "歌手", "销售", "客服", "运营", "军人", "白领", "码农",
                  "宝妈", "全职妈妈", "农民", "保安", "自由职业者", "创业者", "博士")
_EN_JOBS = {"nurse", "doctor", "teacher", "student", "engineer", "developer", "programmer", "designer",
            "lawyer", "accountant", "chef", "cook", "writer", "artist", "musician", "scientist", "pilot",
            "driver", "cashier", "waiter", "waitress", "barista", "manager", "consultant", "analyst",
            "architect", "dentist", "pharmacist", "firefighter", "journalist", "photographer", "farmer",
            "librarian", "translator", "freelancer", "entrepreneur", "professor", "researcher", "intern",
            "mechanic", "electrician", "plumber", "soldier", "officer", "therapist", "vet"}
_EN_NOT_JOB = {"fan", "lover", "beginner", "member", "person", "bit", "little", "lot", "mess", "wreck",
               "big", "huge", "night", "morning", "owl", "foodie", "introvert", "extrovert"}
_ZH_CITIES = {"北京", "上海", "广州", "深圳", "杭州", "成都", "重庆", "武汉", "南京", "西安", "天津", "苏州",
              "长沙", "郑州", "青岛", "厦门", "大连", "沈阳", "哈尔滨", "昆明", "合肥", "福州", "济南", "宁波",
              "无锡", "东莞", "佛山", "香港", "澳门", "台北", "东京", "纽约", "伦敦", "巴黎", "新加坡", "首尔"}
_ZH_FOODS = {"火锅", "烧烤", "麻辣烫", "寿司", "披萨", "拉面", "饺子", "串串", "小龙虾", "奶茶", "蛋糕", "冰淇淋",
             "炸鸡", "汉堡", "面条", "米饭", "牛排", "螺蛳粉", "烤鸭", "香菜", "榴莲", "巧克力", "甜食", "辣"}
_EN_FOODS = {"hotpot", "hot pot", "pizza", "sushi", "ramen", "noodles", "dumplings", "burgers", "chocolate",
             "ice cream", "cake", "steak", "pasta", "tacos", "bbq", "barbecue", "coffee", "tea", "spicy food",
             "cilantro", "durian", "seafood"}
_ZH_ACT = {"吃": "food", "喝": "drink", "听": "music", "看": "shows", "玩": "games", "读": "books",
           "养": "pets", "唱": "songs", "穿": "clothes", "去": "places", "打": "sports"}
_EN_ACT = {"eating": "food", "to eat": "food", "drinking": "drink", "to drink": "drink",
           "listening to": "music", "to listen to": "music", "watching": "shows", "to watch": "shows",
           "playing": "games", "to play": "games", "reading": "books", "to read": "books"}
_ZH_FAV_NOUN = {"食物": "food", "菜": "food", "吃的": "food", "美食": "food", "饮料": "drink", "喝的": "drink",
                "颜色": "color", "电影": "movie", "歌手": "singer", "歌": "song", "音乐": "music", "书": "book",
                "运动": "sport", "动物": "animal", "季节": "season", "游戏": "game", "城市": "city",
                "水果": "fruit", "作家": "author", "明星": "celebrity", "乐队": "band", "动漫": "anime"}
_OBJ_STOP = {"你", "你们", "他", "她", "它", "这个", "那个", "这样", "那样", "you", "it", "that", "this",
             "them", "him", "her", "so", "too", "very"}

_ZH_EMOTIONS: list[tuple[str, str, tuple[str, ...]]] = [  # (zh label, en label, cues)
    ("难过", "sad", ("不开心", "不高兴", "难过", "伤心", "哭", "失落", "沮丧", "郁闷", "心碎", "emo")),
    ("焦虑", "anxious", ("焦虑", "紧张", "担心", "害怕", "压力", "不安", "慌")),
    ("疲惫", "tired", ("好累", "很累", "累死", "累了", "太累", "疲惫", "困", "没精神", "心累")),
    ("生气", "angry", ("生气", "气死", "烦死", "愤怒", "火大", "讨厌死")),
    ("孤独", "lonely", ("孤独", "寂寞", "孤单")),
    ("开心", "happy", ("开心", "高兴", "快乐", "哈哈", "太好了", "兴奋", "激动", "幸福", "期待", "棒")),
]
_EN_EMOTIONS: list[tuple[str, str, tuple[str, ...]]] = [
    ("难过", "sad", ("not happy", "sad", "upset", "crying", "cried", "depressed", "heartbroken", "down")),
    ("焦虑", "anxious", ("anxious", "nervous", "worried", "stressed", "scared", "afraid", "panic")),
    ("疲惫", "tired", ("tired", "exhausted", "sleepy", "worn out", "drained")),
    ("生气", "angry", ("angry", "annoyed", "mad", "furious", "pissed")),
    ("孤独", "lonely", ("lonely", "alone")),
    ("开心", "happy", ("happy", "glad", "excited", "great", "awesome", "thrilled", "can't wait", "yay")),
]
_TOPICS: list[tuple[str, str, tuple[str, ...]]] = [  # (zh, en, cues in either language)
    ("工作", "work", ("工作", "上班", "加班", "老板", "同事", "面试", "job", "work", "boss", "interview", "office")),
    ("学习", "study", ("学习", "考试", "学校", "作业", "论文", "study", "exam", "school", "homework", "thesis")),
    ("美食", "food", ("吃", "火锅", "美食", "做饭", "food", "eat", "hotpot", "cook", "dinner", "restaurant")),
    ("生日", "birthday", ("生日", "birthday")),
    ("旅行", "travel", ("旅行", "旅游", "出差", "机票", "travel", "trip", "flight", "vacation")),
    ("家人", "family", ("妈妈", "爸爸", "家人", "父母", "老婆", "老公", "mom", "dad", "family", "parents",
                        "wife", "husband", "sister", "brother")),
    ("恋爱", "relationships", ("女朋友", "男朋友", "约会", "恋爱", "分手", "girlfriend", "boyfriend", "date",
                              "dating", "broke up")),
    ("健康", "health", ("生病", "医院", "感冒", "健身", "减肥", "sick", "hospital", "doctor", "gym", "workout")),
    ("美食", "food", (*_ZH_FOODS, *_EN_FOODS)),
    ("娱乐", "entertainment", ("电影", "音乐", "游戏", "追剧", "movie", "music", "game", "show", "song")),
    ("计划", "plans", ("打算", "计划", "准备", "plan", "going to")),
]
_EVENT_IMPORTANCE: dict[str, int] = {"birthday": 8, "anniversary": 8, "life_event": 7, "achievement": 7,
                                     "emotional": 6, "plan": 5, "memory": 4}

_ZH_LIFE = ("结婚", "订婚", "毕业", "入职", "离职", "辞职", "搬家", "分手", "怀孕", "退休", "生病", "住院", "手术",
            "去世", "出国", "留学", "失业", "被裁", "生了", "出生")
_ZH_ACHIEVE = ("考上", "通过了", "拿到了", "拿到", "升职", "加薪", "获奖", "得奖", "中了", "赢了", "上岸")
_EN_LIFE = ("got married", "getting married", "get married", "got engaged", "graduated", "graduate",
            "moved to", "quit my job", "lost my job", "got fired", "broke up", "pregnant", "retired",
            "passed away", "died", "in the hospital", "in hospital", "surgery", "sick", "new job")
_EN_ACHIEVE = ("got promoted", "got a promotion", "passed my", "passed the", "got accepted", "got into",
               "won", "got the job", "got an offer", "finished my")

_ZH_TAIL = re.compile(r"[了啊呀哦呢吧啦嘛哈的～~。！!？?，,\s]+$")
_EN_TAIL = re.compile(r"(?:\s+(?:too|as well|a lot|so much|very much|now|these days|right now|lol|haha))+$"
                      r"|[\s.,!?;:~]+$", re.I)
_NAME_STOP = {"外卖", "车", "了", "醒", "他", "她", "你", "Fine", "Good", "Okay", "Ok", "Sorry", "Tired", "Sad",
              "Happy", "Here", "Back", "Home", "Not", "So", "Just", "Very", "Really", "Going", "Done", "Glad"}


def _clean_zh(value: str) -> str:
    return _ZH_TAIL.sub("", value.strip()).strip()


def _clean_en(value: str) -> str:
    value = re.split(r"\s+(?:because|since|but|and then|so that)\s+", value.strip(), maxsplit=1, flags=re.I)[0]
    prev = None
    while prev != value:
        prev, value = value, _EN_TAIL.sub("", value).strip()
    return value


_THIRD = {"i": "they", "i'm": "they're", "me": "them", "my": "their", "mine": "theirs", "myself": "themselves",
          "am": "are", "i've": "they've", "i'll": "they'll"}


def _third(text: str) -> str:
    """First person -> third person, so generated English summaries read 'their sister'."""
    return re.sub(r"\b(?:i'm|i've|i'll|i|me|my|mine|myself)\b",
                  lambda m: _THIRD[m.group(0).lower()], text, flags=re.I)


def _fmt_md(d: date, lang: str) -> str:
    return f"{d.month}月{d.day}日" if lang == "zh" else f"{d:%B} {d.day}"


# ---------------------------------------------------------------- collection state


@dataclass
class _Found:
    lang: str  # conversation language: generated text uses it
    today: date  # the day of the message being read: its relative dates resolve against it
    facts: dict[tuple[str, str, str], tuple[ExtractedFact, str]] = field(default_factory=dict)
    events: list[ExtractedEvent] = field(default_factory=list)
    phrases: list[str] = field(default_factory=list)  # summary parts, in order of mention
    # The clause and message being read: an event takes its emotion from them, not the segment's.
    clause: str = ""
    message: str = ""
    # The named other ("豆豆", "Mochi") a message is about: its later clauses without a subject
    # ("今年三岁了", "she's 4") are about that other, never the user.
    other: str = ""

    def fact(self, type_: FactType, key: str, value: str, confidence: float, phrase: str, *,
             subject: str = USER) -> None:
        value = value.strip()
        if not value or value in _OBJ_STOP or len(value) > 60 or is_placeholder(value):
            return
        old = self.facts.pop((subject, type_, key), None)  # a later mention wins and moves to the end
        if old and old[1] in self.phrases:
            self.phrases.remove(old[1])
        fact = ExtractedFact(subject=subject, type=type_, key=key, value=value, confidence=confidence)
        self.facts[(subject, type_, key)] = (fact, phrase)
        self.phrases.append(phrase)

    def drop_like(self, value: str) -> None:
        """A later negation ("我不吃肉了") withdraws a like said earlier in the segment."""
        for k, (fact, phrase) in list(self.facts.items()):
            if fact.type == "preference" and k[2].startswith(("likes", "favorite")) and fact.value == value:
                del self.facts[k]
                if phrase in self.phrases:
                    self.phrases.remove(phrase)

    def event(self, type_: EventType, title: str, summary: str, when: DateMatch | None, *,
              recurring: bool = False, emotion: str = "", importance: int | None = None,
              in_summary: bool = True) -> None:
        title = title.strip()[:80]
        if not title or is_placeholder(title):
            return
        iso = when.value.isoformat() if when else None
        for e in self.events:  # the same thing said twice in one segment is one event
            if e.type == type_ and (e.title == title or (iso and e.date == iso)):
                return
        emotion = emotion or _emotion_cue(self.clause, self.lang) or _emotion_cue(self.message, self.lang) \
            or detect_emotion([], self.lang)
        self.events.append(ExtractedEvent(type=type_, title=title, summary=summary, date=iso,
                                          date_phrase=when.surface(self.clause) if when else "",
                                          recurring=recurring, emotion=emotion,
                                          importance=importance or _EVENT_IMPORTANCE[type_]))
        if in_summary:
            self.phrases.append(summary)


_Matcher = Callable[[str, _Found], None]

# ---------------------------------------------------------------- Chinese matchers

_ZH_BOUND = r"(?=今年|，|,|。|！|!|？|\?|、|是|在|住|喜欢|来自|就|哦|啊|呀|吧|啦|$)"
_ZH_NAME = re.compile(rf"(?:我(?:的名字|名字)(?:是|叫)|我叫|我名叫|叫我)\s*([\u4e00-\u9fffA-Za-z·]{{1,8}}?){_ZH_BOUND}")
_ZH_AGE = re.compile(r"我(?:今年|已经|快|都)?(\d{1,3}|[一二三四五六七八九十两]{1,3})(?:周)?岁")
_ZH_PREF = re.compile(
    r"我(?:也|还|一直|真的|其实)?(?P<neg>不太|不怎么|很不|最不|特别不|不)?"
    r"(?P<deg>最|很|超级|超|特别|非常|好|挺|蛮|真的)?(?P<verb>喜欢|热爱|爱|讨厌|厌恶|受不了|反感)"
    r"(?P<act>吃|喝|听|看|玩|读|养|唱|穿|去|打)?(?P<obj>[^，,。！!？?；;]+)")
_ZH_FAV = re.compile(r"我最(?:喜欢|爱)的(?P<noun>[\u4e00-\u9fff]{1,4}?)(?:是|就是)(?P<obj>[^，,。！!？?；;]+)")
_ZH_JOB = re.compile(r"我(?:现在|目前)?是(?:一名|一个|一位|名|个)?(?P<job>[\u4e00-\u9fffA-Za-z]{1,10}?)"
                     r"(?=，|,|。|！|!|$|啦|哦|呀|啊|了)")
_ZH_JOB2 = re.compile(r"我(?:的)?(?:工作|职业)是(?P<job>[^，,。！!？?]+)|我是(?:做|搞|干)(?P<job2>[^，,。！!？?]+?)的")
_ZH_WORK_AT = re.compile(r"我(?:现在|目前)?在(?P<place>[^，,。！!？?]{1,20}?)"
                         r"(?P<verb>工作|上班|实习|上学|读书|念书|读大学|上大学|读研|读博)")
_ZH_LIVE = re.compile(r"我(?:现在|目前)?(?:住在|定居在|生活在)(?P<place>[^，,。！!？?]{1,20})")
_ZH_IN_CITY = re.compile(r"^我(?:现在|目前)?在(?P<place>[\u4e00-\u9fff]{2,6}?)(?:呢|啦|了)?$")
_ZH_FROM = re.compile(r"我(?:是(?P<a>[\u4e00-\u9fff]{2,6}?)人|来自(?P<b>[^，,。！!？?]{1,20})"
                      r"|老家(?:是|在)(?P<c>[^，,。！!？?]{1,20}))")
_ZH_MOVE = re.compile(r"我(?:刚|刚刚|已经|下个月|明年)?(?:要)?搬(?:到|去)了?(?P<place>[^，,。！!？?]{1,20})")
_ZH_PERSONALITY = re.compile(r"我(?:是)?(?:一个)?(?:很|比较|特别|有点|挺|非常)?"
                             r"(?P<t>内向|外向|社恐|慢热|乐观|悲观|急性子|"
                             r"完美主义|宅)(?:的人)?")
_ZH_REL_NAME = re.compile(rf"我(?:们)?(?:家)?(?:的)?(?P<rel>{_ZH_REL_RE})(?:叫|的名字是|名字叫|名叫)"
                          rf"(?P<name>[\u4e00-\u9fffA-Za-z·]{{1,8}}?)"
                          rf"{_ZH_BOUND}")
_ZH_REL_HAVE = re.compile(rf"我有(?P<n>一|两|三|1|2|3)?(?:个|只|位)?(?P<rel>{_ZH_REL_RE})")
_ZH_OTHER_AGE = re.compile(r"^(?:它|他|她)?(?:今年|已经|快|都|现在)?(\d{1,3}|[一二三四五六七八九十两]{1,3})(?:周)?岁")
_ZH_AVOID = re.compile(r"我(?:已经|现在)?(?:不再|不|戒了)(?P<act>吃|喝)(?P<obj>[\u4e00-\u9fff]{1,6}?)了")
_ZH_EXAM = re.compile(r"考试|期末考|期中考|高考|中考|考研|面试|答辩")
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
    for name in _others(f):
        if c.startswith(name):
            subject, rest = name, c[len(name):]
    if "我" in c or not subject:
        return
    if (m := _ZH_OTHER_AGE.match(rest)) and (age := cn_number(m.group(1))) is not None and 0 < age <= 120:
        f.fact("basic_info", "age", str(age), 0.8, f"{subject}{age}岁", subject=subject)


def _others(f: _Found) -> list[str]:
    """The names of others the segment has named so far ("cat_name = 豆豆" -> "豆豆")."""
    return [fact.value for fact, _ in f.facts.values() if fact.type == "relationship" and fact.key.endswith("_name")]


def _zh_avoid(c: str, f: _Found) -> None:
    if m := _ZH_AVOID.search(c):
        obj = m.group("obj")
        f.drop_like(obj)
        f.fact("preference", "avoids_food" if m.group("act") == "吃" else "avoids_drink", obj, 0.8,
               f"不{m.group('act')}{obj}了")


def _zh_birthday(c: str, f: _Found) -> None:
    if "生日" not in c and not re.search(r"出生|生的", c):
        return
    when = find_date(c, f.today)
    rel = re.search(rf"(?P<rel>{_ZH_REL_RE})(?:的)?生日", c)
    if rel and not re.search(r"我(?:的)?生日", c):
        if when:
            who = rel.group("rel")
            md = _fmt_md(when.value, "zh")
            f.event("birthday", f"{who}的生日", f"用户{who}的生日是{md}", when, recurring=True, importance=7)
        return
    if when and (re.search(r"我(?:的)?生日|是我(?:的)?生日|我.*(?:出生|生的)", c) or c.startswith("生日")):
        md = _fmt_md(when.value, "zh")
        f.fact("basic_info", "birthday", md, 0.9, f"生日是{md}")
        f.event("birthday", "生日", f"用户的生日是{md}", when, recurring=True, in_summary=False)


def _zh_pref(c: str, f: _Found) -> None:
    if m := _ZH_FAV.search(c):
        obj = _clean_zh(m.group("obj"))
        noun = m.group("noun")
        f.fact("preference", f"favorite_{_ZH_FAV_NOUN.get(noun, 'thing')}", obj, 0.85, f"最喜欢的{noun}是{obj}")
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


def _zh_job(c: str, f: _Found) -> None:
    if m := _ZH_JOB2.search(c):
        job = _clean_zh(m.group("job") or m.group("job2") or "")
        f.fact("basic_info", "job", job, 0.8, f"职业是{job}")
        return
    if (m := _ZH_JOB.search(c)) and m.group("job").endswith(_ZH_JOB_SUFFIX):
        job = m.group("job")
        f.fact("basic_info", "job", job, 0.8, f"是一名{job}")
    if m := _ZH_WORK_AT.search(c):
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
        place = _clean_zh(m.group("place"))
        f.fact("basic_info", "city", place, 0.8, f"搬到了{place}")
        when = find_date(c, f.today)
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
    if m := _ZH_REL_NAME.search(c):
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
    if "生日" in c:
        return  # handled by _zh_birthday
    when = find_date(c, f.today)
    text = c
    if when:  # the title must not carry a relative date that goes stale
        text = (c[:when.start] + c[when.end:]).strip()
    text = re.sub(r"^(?:我们|我)", "", _clean_zh(text)).strip("，, ")
    if not text:
        return
    text = re.sub(r"^(?:其实|实际上)", "", text)
    if "纪念日" in c:
        f.event("anniversary", _clean_zh(text), f"用户提到{_clean_zh(text)}", when, recurring=True)
    elif any(k in c for k in _ZH_ACHIEVE):
        f.event("achievement", text, f"用户{text}", when, emotion="开心")
    elif (exam := _ZH_EXAM.search(c)) and not f.other:
        if _ZH_EXAM_BAD.search(c):  # "今天考试没考好": a bad day the companion should remember
            f.event("emotional", text, f"用户{text}", when,
                    emotion=_emotion_cue(f.clause, f.lang) or _emotion_cue(f.message, f.lang) or "难过")
        elif when and when.value >= f.today:  # "下周二有个面试": something to ask about afterwards
            title = re.sub(r"^(?:要|有个|有一个|有场|有一场|有)", "", text) or exam.group(0)
            f.event("plan", title, f"用户{when.value.month}月{when.value.day}日{text}", when)
    elif any(k in c for k in _ZH_LIFE) and "我" in c:
        f.event("life_event", text, f"用户{text}", when)
    elif (m := _ZH_PLAN.search(c)) and (_ZH_PLAN_VERB.search(c) or when) and not re.match(r"(?:你|他|她|它)", c):
        what = _clean_zh(m.group("what"))
        if when and when.start >= m.start("what"):
            what = _clean_zh((c[:when.start] + c[when.end:])[m.start("what"):])
        what = what.removeprefix("要")
        if len(what) >= 2:
            suffix = f"（{when.value.isoformat()}）" if when else ""
            f.event("plan", what, f"用户计划{what}{suffix}", when)


_ZH_MATCHERS: list[_Matcher] = [_zh_name, _zh_age, _zh_other_age, _zh_birthday, _zh_avoid, _zh_pref, _zh_job, _zh_place,
                                _zh_personality, _zh_relationship, _zh_events]

# ---------------------------------------------------------------- English matchers

_I_AM = r"\b(?:i'm|i am|im)\b"
_EN_NAME = re.compile(r"(?i:\bmy name is|\bmy name's|\bcall me|\bi'm|\bi am|\bthis is)\s+"
                      r"([A-Z][a-zA-Z'\-]+(?:\s[A-Z][a-zA-Z'\-]+)?)(?=\s*(?:[,.!?;]|$|\band\b|\bbtw\b))")
_EN_AGE = re.compile(rf"(?:{_I_AM}\s+(\d{{1,3}})(?:\s*(?:years?\s+old|yrs?\s+old|yo))?\s*$"
                     r"|\bi(?:'ve| have)?\s+just\s+turned\s+(\d{1,3})\b"
                     rf"|{_I_AM}\s+(\d{{1,3}})\s+years?\s+old)", re.I)
_EN_FAV = re.compile(r"\bmy\s+(?:favou?rite|fave)\s+(?P<noun>[a-z]+(?:\s[a-z]+)?)\s+is\s+(?P<obj>.+)", re.I)
_EN_PREF = re.compile(r"\bi\s+(?:also\s+|really\s+|absolutely\s+|totally\s+|just\s+)?"
                      r"(?P<neg>don't|do not|dont|never)?\s*(?:really\s+)?"
                      r"(?P<verb>love|like|enjoy|adore|hate|dislike|can't stand|cannot stand|detest)\s+"
                      rf"(?:(?P<act>{'|'.join(sorted(_EN_ACT, key=len, reverse=True))})\s+)?(?P<obj>.+)", re.I)
_EN_JOB = re.compile(r"\bi\s+work\s+as\s+(?:an?\s+)?(?P<job>.+)", re.I)
_EN_JOB2 = re.compile(rf"{_I_AM}\s+(?:an?\s+)(?P<job>(?:[a-z\-]+\s+){{0,2}}[a-z\-]+)"
                      r"\s*(?:[,.!?;]|$|\bat\b|\bin\b)", re.I)
_EN_WORK_AT = re.compile(r"\bi\s+work\s+(?:at|for)\s+(?P<place>.+)", re.I)
_EN_LIVE = re.compile(rf"(?:\bi\s+(?:currently\s+|now\s+)?live\s+in|{_I_AM}\s+(?:based|living)\s+in)\s+(?P<place>.+)",
                      re.I)
_EN_FROM = re.compile(rf"(?:{_I_AM}\s+(?:originally\s+)?from|\bi\s+come\s+from|\bi\s+grew\s+up\s+in)\s+(?P<place>.+)",
                      re.I)
_EN_MOVE = re.compile(r"\bi(?:'ve|\s+have)?\s+(?:just\s+)?moved\s+to\s+(?P<place>.+)", re.I)
_EN_PERSONALITY = re.compile(rf"{_I_AM}\s+(?:an?\s+)?(?:very\s+|quite\s+|pretty\s+|a\s+bit\s+|kind\s+of\s+)?"
                             r"(?P<t>introvert(?:ed)?|extrovert(?:ed)?|shy|optimistic|pessimistic|perfectionist|"
                             r"outgoing|homebody)\b", re.I)
_EN_REL_NAME = re.compile(rf"\bmy\s+(?P<rel>{_EN_REL_RE})(?:'s\s+name\s+is|\s+is\s+called|\s+is\s+named|,?\s+"
                          r"(?=[A-Z]))\s*(?P<name>[A-Z][a-z]+)", re.I)
_EN_REL_HAVE = re.compile(rf"\bi\s+(?:have|'ve\s+got|have\s+got)\s+(?P<n>an?|one|two|three)\s+"
                          rf"(?P<rel>{_EN_REL_RE})s?\b",
                          re.I)
_EN_PLAN = re.compile(rf"(?:{_I_AM}\s+(?:going\s+to|gonna|planning\s+to|planning\s+on|about\s+to)|\bi\s+plan\s+to|"
                      r"\bi\s+(?:want|intend|hope|decided)\s+to|\bi(?:'ll|\s+will)|\bi\s+have(?=\s+(?:an?|my)\s))\s+"
                      r"(?P<what>.+)", re.I)
_EN_OTHER_AGE = re.compile(r"\b(?:(?:she|he|it|they)(?:'s|\s+is|'re|\s+are)|(?P<name>[A-Z][a-z]+)\s+is)\s+"
                           r"(?P<age>\d{1,3})(?:\s+years?\s+old|\s+yrs?\s+old|\s*yo)?\s*$", re.I)
_EN_AVOID = re.compile(r"\bi\s+(?:don't|do not|dont|no longer|stopped|quit|gave up)\s+"
                       r"(?P<act>eat|eating|drink|drinking)\s+(?P<obj>[a-z][a-z ]{1,30}?)"
                       r"(?:\s+(?:anymore|any more|now))?\s*$", re.I)
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
    subject = name if name in _others(f) else (f.other if not name else "")
    if subject and 0 < (age := int(m.group("age"))) <= 120:
        f.fact("basic_info", "age", str(age), 0.8, f"{subject} is {age} years old", subject=subject)


def _en_avoid(c: str, f: _Found) -> None:
    if m := _EN_AVOID.search(c):
        obj = _clean_en(m.group("obj"))
        if not obj or obj.lower() in _OBJ_STOP:
            return
        f.drop_like(obj)
        food = m.group("act").lower().startswith("eat")
        f.fact("preference", "avoids_food" if food else "avoids_drink", obj, 0.8,
               f"no longer {'eats' if food else 'drinks'} {obj}")


def _en_birthday(c: str, f: _Found) -> None:
    low = c.lower()
    if "birthday" not in low and "born on" not in low and "born in" not in low:
        return
    when = find_date(c, f.today)
    if not when:
        return
    rel = re.search(rf"\bmy\s+(?P<rel>{_EN_REL_RE})'s\s+birthday", c, re.I)
    if rel:
        who = rel.group("rel").lower()
        f.event("birthday", f"{who.capitalize()}'s birthday", f"The user's {who}'s birthday is on "
                f"{_fmt_md(when.value, 'en')}.", when, recurring=True, importance=7)
        return
    if re.search(r"\bmy\s+birthday|\bi\s+was\s+born|\bit'?s\s+my\s+birthday|\bbirthday\s+is\s+mine", low):
        md = _fmt_md(when.value, "en")
        f.fact("basic_info", "birthday", md, 0.9, f"birthday is on {md}")
        f.event("birthday", "Birthday", f"The user's birthday is on {md}.", when, recurring=True,
                in_summary=False)


def _en_pref(c: str, f: _Found) -> None:
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
        place = _clean_en(m.group("place"))
        f.fact("basic_info", "workplace", place, 0.8, f"works at {place}")


def _en_place(c: str, f: _Found) -> None:
    if m := _EN_MOVE.search(c):
        place = _clean_en(m.group("place"))
        f.fact("basic_info", "city", place, 0.8, f"moved to {place}")
        f.event("life_event", f"Moved to {place}", f"The user moved to {place}.", find_date(c, f.today),
                in_summary=False)
    elif m := _EN_LIVE.search(c):
        place = _clean_en(m.group("place"))
        f.fact("basic_info", "city", place, 0.85, f"lives in {place}")
    if m := _EN_FROM.search(c):
        place = _clean_en(m.group("place"))
        f.fact("basic_info", "hometown", place, 0.8, f"is from {place}")


def _en_personality(c: str, f: _Found) -> None:
    if (m := _EN_PERSONALITY.search(c)) and not re.search(r"\bnot\b", c[: m.start("t")], re.I):
        f.fact("personality", "trait", m.group("t").lower(), 0.7, f"is {m.group('t').lower()}")


def _en_relationship(c: str, f: _Found) -> None:
    if (m := _EN_REL_NAME.search(c)) and m.group("name") not in _NAME_STOP and m.group("name").lower() not in {
            "is", "was", "and", "has", "just", "got", "said", "will"}:
        rel = m.group("rel").lower()
        f.fact("relationship", f"{_EN_REL[rel]}_name", m.group("name"), 0.85, f"{rel}'s name is {m.group('name')}")
        f.other = m.group("name")
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
    if _EN_MOVE.search(c):
        return  # the move is _en_place's event
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
        what = m.group("what")  # "I have a job interview next Tuesday": a plan with its day
        title = re.sub(r"^(?:an?|my)\s+", "", what, flags=re.I)
        f.event("plan", title[:1].upper() + title[1:], f"The user has {_third(what)} on {when.value.isoformat()}.",
                when)
    elif (m := _EN_PLAN.search(c)) and (_EN_PLAN_VERB.search(c) or when):
        what = m.group("what")
        if when and when.start >= m.start("what"):
            what = (c[:when.start] + c[when.end:])[m.start("what"):]
        what = _clean_en(re.sub(r"\s{2,}", " ", what))
        if len(what) >= 3:
            suffix = f" ({when.value.isoformat()})" if when else ""
            f.event("plan", what, f"The user plans to {_third(what)}{suffix}.", when)


_EN_MATCHERS: list[_Matcher] = [_en_name, _en_age, _en_birthday, _en_avoid, _en_pref, _en_job, _en_place,
                                _en_personality, _en_relationship, _en_other_age, _en_events]

# ---------------------------------------------------------------- assembly

_ZH_IMPLICIT_I = re.compile(r"(?:是|在|住|最|很|超|特别|喜欢|不喜欢|讨厌|今年|来自|有|打算|准备|计划|想|刚|已经"
                            r"|老家|也|还)")
_ZH_SPLIT = re.compile(r"[。！？!?；;\n，,]+")
_EN_SPLIT = re.compile(r"(?<=[.!?;])\s+|\n+|,\s*(?:and\s+|but\s+)?(?=(?:i|i'm|i've|my|it's|and)\b)"
                       r"|\s+and\s+(?=(?:i|my)\b)",
                       re.I)


def clauses(text: str, lang: str) -> list[str]:
    """Split a message into clauses the matchers read one at a time."""
    parts = _ZH_SPLIT.split(text) if lang == "zh" else _EN_SPLIT.split(text)
    return [p.strip(" \t.!?;") for p in parts if p and p.strip(" \t.!?;")]


def _emotion_cue(text: str, lang: str) -> str:
    """The emotion ``text`` itself voices, or "" when it has no cue (then a wider text decides)."""
    return detect_emotion([text], lang) if _emotion_scores([text]) else ""


def detect_emotion(texts: Sequence[str], lang: str) -> str:
    """The most frequent emotion cue in the user's texts (a zh/en lexicon); neutral if none."""
    scores = _emotion_scores(texts)
    if not scores:
        return "平静" if lang == "zh" else "neutral"
    zh, en = max(scores, key=lambda k: scores[k])  # insertion order breaks ties deterministically
    return zh if lang == "zh" else en


def _emotion_scores(texts: Sequence[str]) -> dict[tuple[str, str], int]:
    scores: dict[tuple[str, str], int] = {}
    for raw in texts:
        text = raw.lower()
        for table in (_ZH_EMOTIONS, _EN_EMOTIONS):
            for zh, en, cues in table:  # table order: negated/negative cues consume text first
                for cue in cues:
                    pattern = re.escape(cue) if not cue.isascii() else rf"\b{re.escape(cue)}\b"
                    n = len(re.findall(pattern, text))
                    if n:
                        scores[(zh, en)] = scores.get((zh, en), 0) + n
                        text = re.sub(pattern, " ", text)
    return scores


def detect_topics(texts: Sequence[str], lang: str, limit: int = 5) -> list[str]:
    joined = " ".join(texts).lower()
    counts: dict[str, int] = {}
    for zh, en, cues in _TOPICS:
        count = sum(len(re.findall(re.escape(c) if not c.isascii() else rf"\b{re.escape(c)}\b", joined))
                    for c in cues)
        if count:
            label = zh if lang == "zh" else en
            counts[label] = counts.get(label, 0) + count
    ranked = sorted(counts, key=lambda t: -counts[t])  # stable: ties keep lexicon order
    return ranked[:limit]


def _summary(found: _Found, user_texts: list[str]) -> str:
    zh = found.lang == "zh"
    if found.phrases:
        parts = []
        for p in found.phrases[:8]:
            p = p.rstrip("。.")
            if zh:
                p = p.removeprefix("用户")
            elif p.startswith(("The user", "The user's")):
                p = p[0].lower() + p[1:]
            parts.append(p)
        return ("用户" + "；".join(parts) + "。") if zh else ("User: " + "; ".join(parts) + ".")
    first = " ".join(user_texts).strip()
    if not first:
        return ""
    limit = 80 if zh else 200
    clipped = first if len(first) <= limit else first[:limit].rstrip() + "…"
    return f"用户聊到：{clipped}" if zh else f"The user talked about: {clipped}"


def extract_with_rules(messages: Sequence[ChatMessage], *, now: datetime,
                       known_facts: Sequence[Any] | None = None) -> ExtractionOutcome:
    """Rule-based extraction of a conversation segment; deterministic for the same input.

    ``now`` is the conversation's date: relative dates resolve against ``now.date()``.
    ``known_facts`` only lets the shared ``postprocess`` recognise the user's name as a subject.
    """
    user_texts = [m.content for m in messages if m.role == "user" and m.content.strip()]
    lang = detect_language(" ".join(user_texts), default="en")
    found = _Found(lang=lang, today=now.date())
    for msg in messages:
        text = msg.content
        if msg.role != "user" or not text.strip():
            continue
        found.today, found.message, found.other = message_date(msg.timestamp, now), text, ""
        msg_lang = detect_language(text, default=lang)
        matchers = _ZH_MATCHERS if msg_lang == "zh" else _EN_MATCHERS
        first_person = "我" in text
        for clause in clauses(text, msg_lang):
            if (msg_lang == "zh" and first_person and not found.other and _ZH_IMPLICIT_I.match(clause)
                    and "我" not in clause):
                clause = "我" + clause  # "我叫小林，今年25岁": the later clauses drop the subject
            if re.search(r"我|\b(?:i|i'm|i've|im)\b", clause, re.I):
                found.other = ""  # the user speaks of themself again; a named other is set anew
            found.clause = clause
            for match in matchers:
                match(clause, found)
    emotion = detect_emotion(user_texts, lang)
    result = ExtractionResult(summary=_summary(found, user_texts), topics=detect_topics(user_texts, lang),
                              emotion=emotion, facts=[fact for fact, _ in found.facts.values()],
                              events=found.events)
    result = postprocess(result, messages, now=now, known_facts=known_facts)
    return ExtractionOutcome(result=result, llm_calls=0, method="rules", model="rules", language=lang)
