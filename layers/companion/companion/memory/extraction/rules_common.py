"""What the rule extractor's zh and en matchers share: lexicons, value cleaning, the emotion
lexicon, and ``_Found``, the state of one segment's extraction (facts and events so far, the
message and clause being read, the others named and the one a clause is about)."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date

from ...models import ChatMessage
from .dates import DateMatch, find_all_dates, find_date
from .postprocess import is_placeholder
from .roles import EN_ROLES, PETS, ZH_ROLES, zh_role
from .schema import USER, EventType, ExtractedEvent, ExtractedFact, FactType

_ZH_REL = ZH_ROLES
_EN_REL = EN_ROLES
_ZH_REL_RE = "|".join(sorted(_ZH_REL, key=len, reverse=True))
_EN_REL_RE = "|".join(sorted(_EN_REL, key=len, reverse=True))
_ZH_JOB_SUFFIX = ("员", "师", "生", "工", "家", "医生", "护士", "经理", "总监", "主管", "老板", "司机", "记者",
                  "会计", "警察", "主播", "模特", "演员", "歌手", "销售", "客服", "运营", "军人", "白领", "码农",
                  "宝妈", "全职妈妈", "农民", "保安", "自由职业者", "创业者", "博士", "店长", "校长", "院长", "厂长",
                  "组长", "主厨", "厨子")
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
    ("难过", "sad", ("不开心", "不高兴", "难过", "难受", "伤心", "哭", "失落", "沮丧", "郁闷", "心碎", "emo")),
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
            "had a baby", "gave birth", "had twins", "had her baby", "had his baby",
            "passed away", "died", "in the hospital", "in hospital", "surgery", "sick", "new job")
_EN_ACHIEVE = ("got promoted", "got a promotion", "passed my", "passed the", "got accepted", "got into",
               "won", "got the job", "got an offer", "finished my")
_ZH_TAIL = re.compile(r"[了啊呀哦呢吧啦嘛哈的～~。！!？?，,\s]+$")
_EN_TAIL = re.compile(r"(?:\s+(?:too|as well|a lot|so much|very much|now|these days|right now|lol|haha|though|tho|"
                      r"anyway|tbh|honestly))+$"
                      r"|[\s.,!?;:~]+$", re.I)
_NAME_STOP = {"外卖", "车", "了", "醒", "他", "她", "你", "Fine", "Good", "Okay", "Ok", "Sorry", "Tired", "Sad",
              "Happy", "Here", "Back", "Home", "Not", "So", "Just", "Very", "Really", "Going", "Done", "Glad"}


def _clean_zh(value: str) -> str:
    return _ZH_TAIL.sub("", value.strip()).strip()


_EN_NEXT_CLAUSE = re.compile(r",\s*(?=(?:it|that|which|but|so|because|since|though|they|he|she|we|you|lol|haha|"
                             r"super|way|really|pretty|such|wish|can't|cannot|been|for)\b)", re.I)
_EN_PLACE_END = re.compile(r"[,;]|\s+(?:for|since|with|to|last|this|next|a\s+few|a\s+couple|two|three|recently|because|"
                           r"in\s+(?:january|february|march|april|may|june|july|august|september|october|november|"
                           r"december|the\s+summer|the\s+spring|the\s+winter|the\s+fall|\d{4}))\b", re.I)


def _clean_place(value: str) -> str:
    """"Porto last month, way cheaper rent" -> "Porto": a place ends where the sentence goes on."""
    return _clean_en(_EN_PLACE_END.split(value, maxsplit=1)[0])


def _clean_en(value: str) -> str:
    value = _EN_NEXT_CLAUSE.split(value.strip(), maxsplit=1)[0]  # "cilantro, it tastes like soap"
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


def _strip_dates(text: str, today: date) -> str:
    """``text`` without the date expressions it holds ("Paris next weekend" -> "Paris"): a title or a
    place must not carry a relative date that goes stale."""
    cuts = [(s.begin, s.finish) for s in find_all_dates(text, today)]
    if when := find_date(text, today):
        cuts.append((when.start, when.end))
    for start, end in sorted(set(cuts), reverse=True):
        text = text[:start] + " " + text[end:]
    text = re.sub(r"(?<=[\u3400-\u9fff]) +(?=[\u3400-\u9fff])", "", text)
    return re.sub(r"\s{2,}", " ", text).strip()


def union_seqs(a: Sequence[int], b: Sequence[int]) -> list[int]:
    """``a`` then what ``b`` adds, each position once."""
    return list(dict.fromkeys([*a, *b]))


def _fmt_md(d: date, lang: str) -> str:
    return f"{d.month}月{d.day}日" if lang == "zh" else f"{d:%B} {d.day}"


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
    named: list[tuple[str, str]] = field(default_factory=list)  # (role, name) in order of mention
    correcting: bool = False  # the message said "不对" / "wait no": its next "是X" replaces the last fact
    source: ChatMessage | None = None  # the message being read
    pet_kind: str = ""  # "我养了一只兔子，" : the next "名字叫雪球" / "Her name is Pepper" names it
    kinds: dict[str, str] = field(default_factory=dict)  # a pet's kind as said ("兔子", "kitten") -> its name
    topic: str = ""  # the person (not a pet) the message spoke of last ("我妈妈…", "my sister…"): 他/她's
    sources: list[ChatMessage | None] = field(default_factory=list)  # the message each event came from
    phrase_seqs: dict[str, list[int]] = field(default_factory=dict)  # summary part -> messages it came from

    def fact(self, type_: FactType, key: str, value: str, confidence: float, phrase: str, *,
             subject: str = USER) -> None:
        value = value.strip()
        if not value or value in _OBJ_STOP or len(value) > 60 or is_placeholder(value):
            return
        old = self.facts.pop((subject, type_, key), None)  # a later mention wins and moves to the end
        if old and old[1] in self.phrases:
            self.phrases.remove(old[1])
        seqs = self.here()
        if old and old[0].value == value:  # said again: both messages say it; a new value is the new one's
            seqs = union_seqs(old[0].source_seqs, seqs)
        fact = ExtractedFact(subject=subject, type=type_, key=key, value=value, confidence=confidence,
                             source_seqs=seqs)
        self.facts[(subject, type_, key)] = (fact, phrase)
        self.add_phrase(phrase, seqs)
        if type_ == "relationship" and subject == USER and key.endswith("_name"):
            self.named.append((key.removesuffix("_name"), value))

    def correct_last(self, value: str) -> None:
        """"不对，是杭州" / "wait no, it's Interstellar": the value said last is replaced."""
        if not self.facts or not value or is_placeholder(value):
            return
        (subject, _, key), (fact, phrase) = list(self.facts.items())[-1]
        self.fact(fact.type, key, value, max(fact.confidence, 0.85), phrase.replace(fact.value, value),
                  subject=subject)

    def last_named(self, *, pets: bool | None = None) -> str:
        """The other named last (``pets``: only a pet / only a person), "" when none."""
        for role, name in reversed(self.named):
            if pets is None or (role in PETS) == pets:
                return name
        return ""

    def drop_like(self, value: str) -> None:
        """A later negation ("我不吃肉了") withdraws a like said earlier in the segment."""
        for k, (fact, phrase) in list(self.facts.items()):
            if fact.type == "preference" and k[2].startswith(("likes", "favorite")) and fact.value == value:
                del self.facts[k]
                if phrase in self.phrases:
                    self.phrases.remove(phrase)

    def event(self, type_: EventType, title: str, summary: str, when: DateMatch | None, *,
              recurring: bool = False, emotion: str = "", importance: int | None = None,
              in_summary: bool = True, subject: str = USER) -> None:
        title = title.strip()[:80]
        if not title or is_placeholder(title):
            return
        iso = when.value.isoformat() if when else None
        for e in self.events:  # the same thing said twice in one segment is one event
            if e.type == type_ and e.subject == subject and (e.title == title or (iso and e.date == iso)):
                e.source_seqs = union_seqs(e.source_seqs, self.here())
                return
        emotion = emotion or _emotion_cue(self.clause, self.lang) or _emotion_cue(self.message, self.lang) \
            or detect_emotion([], self.lang)
        self.sources.append(self.source)
        self.events.append(ExtractedEvent(subject=subject, type=type_, title=title, summary=summary, date=iso,
                                          date_phrase=when.surface(self.clause) if when else "",
                                          recurring=recurring, emotion=emotion,
                                          importance=importance or _EVENT_IMPORTANCE[type_],
                                          source_seqs=self.here()))
        if in_summary:
            self.add_phrase(summary, self.here())

    def here(self) -> list[int]:
        """The log position of the message being read (none when it has no position yet)."""
        return [self.source.seq] if self.source is not None and self.source.seq > 0 else []

    def add_phrase(self, phrase: str, seqs: list[int]) -> None:
        self.phrases.append(phrase)
        self.phrase_seqs[phrase] = union_seqs(self.phrase_seqs.get(phrase, []), seqs)

    def summary_seqs(self, phrases: Sequence[str]) -> list[int]:
        """The messages the summary's ``phrases`` were taken from, in message order."""
        seqs: set[int] = set()
        for p in phrases:
            seqs.update(self.phrase_seqs.get(p, []))
        return sorted(seqs)


_Matcher = Callable[[str, _Found], None]
_ZH_BOUND = r"(?=今年|，|,|。|！|!|？|\?|、|是|在|住|喜欢|来自|就|哦|啊|呀|吧|啦|$)"


def _others(f: _Found) -> list[str]:
    """The names of others the segment has named so far ("cat_name = 豆豆" -> "豆豆")."""
    return [fact.value for fact, _ in f.facts.values() if fact.type == "relationship" and fact.key.endswith("_name")]


def _last_favorite(f: _Found) -> str:
    """The favourite said last in the segment: "我最喜欢的其实是X" corrects it."""
    keys = [k[2] for k in f.facts if k[0] == USER and k[2].startswith("favorite")]
    return keys[-1] if keys else ""


def _role_subject(rel: str | None, pronoun: str | None, f: _Found, lang: str) -> str:
    """The subject of "我哥哥…"/"my sister…" (its name when the segment gave one), or of a clause
    opening with 他/她/he/she: the person the message spoke of last; "" when unsure."""
    if rel:
        role = (_ZH_REL if lang == "zh" else _EN_REL)[rel if lang == "zh" else rel.lower()]
        return dict(f.named).get(role) or (zh_role(role) if lang == "zh" else role.replace("_", " "))
    return f.topic if pronoun else ""


def _name_pet(kind: str, name: str, f: _Found, lang: str) -> None:
    role = (_ZH_REL.get(kind) if lang == "zh" else _EN_REL.get(kind.lower())) or "pet"
    f.fact("relationship", f"{role}_name", name, 0.85, f"养了一只{kind}叫{name}" if lang == "zh" else
           f"{kind}'s name is {name}")
    if lang == "zh" and kind not in _ZH_REL:  # a breed or a species ("柯基", "仓鼠"): what the pet is
        f.fact("basic_info", "species", kind, 0.8, f"{name}是{kind}", subject=name)
    f.kinds[kind.lower()] = name
    f.other, f.pet_kind = name, ""


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


_ZH_ROLE_MENTION = re.compile(rf"我(?:的|家的?)?(?P<rel>{_ZH_REL_RE})")
_EN_ROLE_MENTION = re.compile(rf"\bmy\s+(?P<rel>{_EN_REL_RE})\b", re.I)
