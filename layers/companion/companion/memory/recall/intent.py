"""Recall decision: does this chat turn need long-term memory, and what to search for.

Runs before retrieval on every turn, so the rules are plain regexes (microseconds).

Public API:
    decide(message, *, recent_user_messages=None) -> RecallDecision
        Rule-based, zh + en. ``recent_user_messages`` (oldest first) lets a bare
        follow-up ("后来呢？", "and then?") inherit the previous turn's recall need and
        lets a short query borrow content words from it.
    needs_context(message) -> bool
        True when ``decide`` would use ``recent_user_messages`` for this message.
    should_recall(decision, policy) -> bool
        policy "intent": follow ``decision.need``; "always": recall on every turn that
        has something to search for.

RecallDecision.query is the message with filler removed (pronouns, particles,
"do you remember", time words, question words), plus a few expansion keywords for
typical personal questions (e.g. "我是做什么的" adds "工作 职业"). It is meant for BM25 and
is fine for k-NN; it is never empty for a non-empty message (falls back to the message).
Kinds: "profile" stable facts about the user, "event" dated happenings, "history"
earlier conversations, "mixed" more than one, "none" no recall needed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from ...text import detect_language

RecallKind = Literal["none", "profile", "event", "history", "mixed"]
RecallPolicy = Literal["intent", "always"]

MAX_QUERY_CHARS = 100


@dataclass(slots=True)
class RecallDecision:
    need: bool
    kind: RecallKind
    query: str
    language: str
    reasons: list[str] = field(default_factory=list)  # matched rule names, for logs/tests


# --------------------------------------------------------------------------- rules
# (name, kind, pattern). Chinese rules run on the raw text, English ones on a lowercased
# copy with straight apostrophes. Names end up in RecallDecision.reasons.

_CJK = r"\u4e00-\u9fff"
# 之前/以前 only as a time adverb ("我之前说过", "很久以前"), not "睡觉之前" (before sleeping).
_BEFORE_ZH = r"(?:^|(?<=[我你他她们在就很久早，,。！？\s]))(?:之前|以前|从前)"

_ZH_RULES: list[tuple[str, RecallKind, str]] = [
    ("zh.remember", "history",
     r"还记得|你记得|记不记得|记得吗|记得不|记得我|你忘了|你忘记|忘了吗|忘记了吗|忘了没"),
    ("zh.told_before", "history",
     r"告诉过你|(?:跟|和|对|给)你(?:说|讲|提|聊)过|我们(?:聊|说|谈|讲)过|(?<!听)(?:说|提|讲|聊|谈)过"),
    ("zh.past_ref", "history", r"上次|上回|那次|那天|那时候|那会儿|当时|" + _BEFORE_ZH),
    ("zh.time_ref", "history",
     r"昨天|前天|前几天|上个?星期|上个?礼拜|上周|上个月|去年|前段时间|前阵子"),
    ("zh.name", "profile", r"我叫什么|叫我什么|我的名字|我名字|我是谁|我[" + _CJK + r"]{1,4}叫(?:什么|啥)"),
    ("zh.age", "profile", r"我几岁|我多大|我的年龄|我多少岁"),
    ("zh.birthday_mine", "profile", r"我的生日|我生日|我哪天生日"),
    ("zh.likes", "profile",
     r"我最喜欢|我最爱|我(?:喜欢|爱吃|爱喝|爱看|爱玩)(?:什么|啥|哪|的是)|"
     r"我(?:讨厌|不喜欢|不吃|不能吃|怕|对什么)(?:什么|啥|哪)|我的爱好|我的兴趣|我(?:对什么|对啥)过敏"),
    ("zh.job_home", "profile",
     r"我是做什么|我做什么工作|我的工作|我的职业|我的专业|我学什么|"
     r"我在哪(?:里|儿)?(?:工作|上班|上学|读书|住)|我住(?:在)?哪|我家在哪|我老家|我是哪(?:里|儿)人"),
    ("zh.you_know_me", "profile", r"你(?:知道|了解|清楚|猜猜?)(?:关于)?我"),
    ("zh.my_x_what", "profile",
     r"我的[" + _CJK + r"]{1,6}(?:是什么|是啥|叫什么|叫啥|是谁|在哪|是哪|几岁|多大)"),
    ("zh.dates", "event", r"生日|纪念日|周年|重要的日子"),
    ("zh.that_thing", "event", r"那件事|这件事|那个事|那事儿"),
    ("zh.follow_up", "event", r"后来怎么样|结果怎么样|怎么样了|后来呢|结果呢|进展如何|有进展"),
    ("zh.life_event", "event",
     r"面试|考试|考研|高考|答辩|婚礼|结婚|约会|旅行|旅游|出差|搬家|手术|住院|比赛|毕业|"
     r"升职|加薪|离职|辞职|分手|求婚|相亲|体检|复查|签证"),
]

_EN_RULES: list[tuple[str, RecallKind, str]] = [
    ("en.remember", "history",
     r"\b(?:remember|recall)(?:ed|s|ing)?\b|\b(?:you|u) (?:forgot|forget)\b|\bforgot(?:ten)? (?:about|what|my|that)\b"),
    ("en.told_before", "history",
     r"\b(?:told|tell|mentioned|said to) (?:you|ya)\b|\bwe (?:talked|spoke|chatted|discussed|talk about)\b|"
     r"\bwhat (?:did|have) i (?:say|said|tell|told|mention)|\bdid i (?:ever )?(?:tell|mention|say)\b|"
     r"\b(?:as|like) i (?:said|mentioned|told you)\b|\byou (?:said|told me|mentioned)\b"),
    ("en.past_ref", "history",
     r"\blast time\b|\bthe other day\b|\bearlier today\b|\bback then\b|\bthat (?:day|time|night)\b|"
     r"\ba while (?:ago|back)\b"),
    ("en.time_ref", "history",
     r"\byesterday\b|\blast (?:week|weekend|month|year|night|summer|winter|spring|fall|autumn|"
     r"monday|tuesday|wednesday|thursday|friday|saturday|sunday)\b|\b\d+ (?:days|weeks|months|years) ago\b"),
    ("en.name", "profile", r"\bmy name\b|\bwho am i\b|\bwhat (?:do|did) you call me\b"),
    ("en.whats_my", "profile", r"\bwhat(?:'s| is| was| are| were) my\b|\bwhich (?:is|was) my\b"),
    ("en.age", "profile", r"\bhow old am i\b|\bmy age\b"),
    ("en.birthday_mine", "profile", r"\bmy birthday\b|\bwhen (?:is|was) my\b"),
    ("en.favorite", "profile", r"\bfavou?rites?\b"),
    ("en.about_me", "profile",
     r"\bwhat (?:do|did) i (?:like|love|hate|enjoy|do|study|eat|drink|prefer|work)\b|"
     r"\bwhere (?:do|did) i (?:live|work|study|grow up|come from|go to school)\b|\bwhere am i from\b|"
     r"\bwhat (?:kind|type|sort) of \w+ (?:do|did) i\b|\bwhich \w+ (?:do|did) i\b|"
     r"\bwhat do i do for (?:a )?(?:living|work)\b"),
    ("en.you_know_me", "profile",
     r"\b(?:do|did) you know (?:what|where|who|how|when|which|if|whether|anything|about)? ?(?:i|me|my)\b|"
     r"\bwhat do you know about me\b|\byou know my\b"),
    ("en.my_people", "profile",
     r"\bmy (?:job|work|career|major|hometown|address|hobby|hobbies|pets?|dog|cat|wife|husband|girlfriend|"
     r"boyfriend|partner|mom|dad|mother|father|sister|brother|son|daughter|kids?|boss|roommate|best friend)"
     r"(?:'s)?\b"),
    ("en.dates", "event", r"\bbirthdays?\b|\banniversary\b"),
    ("en.that_thing", "event",
     r"\bthat thing\b|\bwhat happened\b|\bhow(?: did|'d) (?:it|the \w+|my \w+|your \w+) go\b|\bany news\b|"
     r"\bupdate on\b"),
    ("en.life_event", "event",
     r"\b(?:interviews?|exams?|wedding|trip|vacation|surgery|hospital|appointment|graduation|promotion|"
     r"break ?up|broke up|job offer|concert|deadline|presentation|funeral)\b"),
]

_ZH_COMPILED = [(n, k, re.compile(p)) for n, k, p in _ZH_RULES]
_EN_COMPILED = [(n, k, re.compile(p)) for n, k, p in _EN_RULES]

# Bare follow-ups that refer to the previous turn's topic.
_FOLLOW_UP = re.compile(
    r"^\s*(?:那|那么|所以)?(?:后来|然后|结果|之后|那个|那件事)(?:呢|怎么样了?|如何)?[？?。.!！]*\s*$|"
    r"^\s*(?:and |so )?(?:then what|and then|what happened next|how did it go|what about (?:it|that|him|her|them)|"
    r"and after that|what then)\s*[?.!]*\s*$",
    re.IGNORECASE,
)

# Whole-message small talk: greetings, thanks, laughter, acknowledgements. Matched token
# by token in a loop that never backtracks (a nested regex like (哈+)+ is exponential).
_SMALL_TALK_WORDS = [
    "你好", "您好", "嗨", "哈喽", "哈啰", "早上好", "早安", "午安", "中午好", "下午好", "晚上好", "晚安", "早",
    "嗯+", "恩+", "哦+", "噢+", "喔+", "哈+", "呵+", "嘿+", "嘻+", "哇+", "好的", "好吧", "好滴", "好", "行",
    "可以", "谢谢", "多谢", "谢啦", "感谢", "没事", "没关系", "拜拜", "再见", "是的", "对的", "对啊", "对",
    "收到", "知道了", "明白了", "明白", "在吗", "在不在", "在么", "666+", "呀", "啊", "啦", "呢", "你", "您", "~",
    "hi+", "hello", "hey+", "yo", "sup", "ok", "okay", "k+", "cool", "nice", "great", "thanks", "thank you",
    "thx", "ty", "lol", "lmao", "rofl", "ha(?:ha)+", "hah", "he(?:he)+", "hm+", "um+", "yes", "yeah", "yep",
    "yup", "no", "nope", "sure", "bye", "goodbye", "good night", "gn", "good morning", "morning",
    "good evening", "night", "see you", "see ya", "cya", "alright", "fine", "wow", "oh", "ah", "right",
    "got it", "np", "you're welcome", "how are you", "how are u", "what's up", "whats up", "wassup",
    "how's it going", "there", "you", "too", "so much", "all",
]
_SMALL_TALK_TOKEN = re.compile(
    "(?:" + "|".join(sorted(_SMALL_TALK_WORDS, key=len, reverse=True)) + ")(?![a-z])", re.IGNORECASE
)
_SEPARATORS = re.compile(r"[\W_]+")

# ----------------------------------------------------------------------- query text
# Chinese filler, longest first so "你还记得" wins over "记得".
_ZH_FILLER = sorted(
    [
        "你还记不记得", "还记不记得", "你还记得", "还记得", "记不记得", "你记得", "记得吗", "记得不", "记得",
        "你知不知道", "你知道", "知不知道", "你猜猜", "你猜", "你了解", "告诉我", "告诉过你", "你忘了", "忘了",
        "上次", "上回", "那次", "那天", "那时候", "那会儿", "当时", "之前", "以前", "从前",
        "昨天", "前天", "前几天", "上星期", "上个星期", "上礼拜", "上个礼拜", "上周", "上个月", "去年",
        "前段时间", "前阵子", "请问", "一下", "是不是", "有没有", "是什么", "是啥", "什么", "啥",
        "哪里", "哪儿", "哪天", "为什么", "怎么样", "怎么", "多少", "后来", "结果",
        "我们", "咱们", "你们", "我的", "你的", "我", "你",
        "吗", "呢", "吧", "啊", "呀", "嘛", "哦", "喔", "么", "啦", "呗", "的", "还", "都", "也", "就", "又",
    ],
    key=len,
    reverse=True,
)
_ZH_TOLD = r"(?:跟|和|对|给)你(?:说|讲|提|聊)过|我们(?:聊|说|谈|讲)过|(?<!听)(?:说|提|讲|聊|谈)过"
_ZH_FILLER_RE = re.compile(_ZH_TOLD + "|" + "|".join(map(re.escape, _ZH_FILLER)) + r"|了(?=\W|$)|是(?=做|谁|哪)")

_EN_STOP_WORDS = """
    i me my mine myself you your yours u ya we us our ours he she they them his her their it its
    do does did done doing remember remembered remembers recall recalled still what whats which who whom
    where when how why is are was were am be been being the a an of to for in on at by with from about
    that this these those and or but so if can could would should will shall may might must tell told
    say said mention mentioned talk talked spoke speak chat chatted discussed last time yesterday ago ever
    again know knew hey hi hello please just really like any anything something thing happened happen
    week weekend month year night day other earlier back then there here some have has had forgot forget
    forgotten call called go went going get got s d ve ll re m t don didn doesn isn wasn aren
"""
_EN_STOP = frozenset(_EN_STOP_WORDS.split())
_CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_TOKENS = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+|[A-Za-z0-9]+")

# Personal questions whose answer words differ from the question words.
_EXPANSIONS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"做什么的|做什么工作|什么工作|我的工作|职业|上班"), "工作 职业"),
    (re.compile(r"住(?:在)?哪|家在哪|哪(?:里|儿)人|老家"), "住 城市 老家"),
    (re.compile(r"叫什么|叫啥|名字|叫我"), "名字"),
    (re.compile(r"几岁|多大|年龄|多少岁"), "年龄"),
    (re.compile(r"喜欢|最爱|爱吃|爱喝"), "喜欢"),
    (re.compile(r"\bwhat (?:do|did) i do\b|\bmy (?:job|work|career)\b|\bfor (?:a )?living\b"), "job work"),
    (re.compile(r"\bwhere (?:do|did) i live\b|\bwhere am i from\b|\bhometown\b"), "live city hometown"),
    (re.compile(r"\bmy name\b|\bwho am i\b|\bcall me\b"), "name"),
    (re.compile(r"\bhow old\b|\bmy age\b"), "age"),
    (re.compile(r"\bfavou?rite\b|\bwhat (?:do|did) i (?:like|love|enjoy|prefer)\b"), "favorite like"),
]


def _en_view(message: str) -> str:
    return message.lower().replace("\u2019", "'").replace("\u2018", "'")


def _match_rules(message: str) -> list[tuple[str, RecallKind]]:
    low = _en_view(message)
    hits = [(name, kind) for name, kind, rx in _ZH_COMPILED if rx.search(message)]
    hits += [(name, kind) for name, kind, rx in _EN_COMPILED if rx.search(low)]
    return hits


def _kind_of(kinds: set[RecallKind]) -> RecallKind:
    kinds = kinds - {"none"}
    if not kinds:
        return "none"
    if len(kinds) == 1:
        return next(iter(kinds))
    return "mixed"


def is_small_talk(message: str) -> bool:
    text = message.strip()
    if not text:
        return True
    if len(text) > 40:  # long messages are never pure small talk
        return False
    low, pos = _en_view(text), 0
    while pos < len(low):
        sep = _SEPARATORS.match(low, pos)
        if sep and sep.end() > pos:
            pos = sep.end()
            continue
        word = _SMALL_TALK_TOKEN.match(low, pos)
        if not word or word.end() == pos:
            return False
        pos = word.end()
    return True


def extract_query(message: str) -> str:
    """Content words of ``message`` for search: filler removed, order kept, no duplicates."""
    low = _en_view(message)
    stripped = _ZH_FILLER_RE.sub(" ", low)
    words: list[str] = []
    for tok in _TOKENS.findall(stripped):
        # CJK runs are already filler-free; Latin tokens go through the stop list.
        if _CJK_RUN.fullmatch(tok) or (tok not in _EN_STOP and (len(tok) > 1 or tok.isdigit())):
            words.append(tok)
    for rx, extra in _EXPANSIONS:
        if rx.search(low):
            words.extend(extra.split())
    uniq = list(dict.fromkeys(words))  # first occurrence order
    return " ".join(uniq)[:MAX_QUERY_CHARS].strip()


def _fallback_query(message: str) -> str:
    return " ".join(message.split())[:MAX_QUERY_CHARS]


def _content_units(query: str) -> int:
    # A CJK character is one unit of search content, a Latin word (several letters) two.
    return sum(len(t) if _CJK_RUN.fullmatch(t) else 2 for t in query.split())


def decide(message: str, *, recent_user_messages: list[str] | None = None) -> RecallDecision:
    """Rule-based recall decision for one user message (zh and en)."""
    recent = [m for m in (recent_user_messages or []) if m and m.strip()]
    default_lang = detect_language(recent[-1]) if recent else "en"
    language = detect_language(message, default=default_lang)

    if is_small_talk(message):
        return RecallDecision(False, "none", _fallback_query(message), language, ["small_talk"])

    hits = _match_rules(message)
    reasons = [name for name, _ in hits]
    kinds: set[RecallKind] = {kind for _, kind in hits}
    query = extract_query(message)

    # A bare follow-up ("后来呢？") means whatever the previous turn was about; a recall
    # question with little content ("还记得吗？") borrows the words of the previous turn.
    follow_up = bool(_FOLLOW_UP.match(message))
    if recent and (follow_up or (kinds and _content_units(query) < 2)):
        window = recent[-3:]
        prev = next((m for m in reversed(window) if _match_rules(m)), window[-1])
        prev_kinds = {kind for _, kind in _match_rules(prev)}
        if follow_up and prev_kinds:
            kinds |= prev_kinds
            reasons.append("follow_up")
        if kinds and _content_units(query) < 2:
            query = " ".join(filter(None, [extract_query(prev), query]))[:MAX_QUERY_CHARS].strip()
            reasons.append("context_query")

    kind = _kind_of(kinds)
    return RecallDecision(kind != "none", kind, query or _fallback_query(message), language,
                          reasons or ["no_rule"])


def needs_context(message: str) -> bool:
    """Whether ``decide`` would read the recent user messages for this one: a bare follow-up
    ("后来呢？") or a memory question with almost no content ("还记得吗？"). The chat turn then
    waits for its short-term window before recalling; any other turn recalls in parallel."""
    if _FOLLOW_UP.match(message):
        return True
    return bool(_match_rules(message)) and _content_units(extract_query(message)) < 2


def should_recall(decision: RecallDecision, policy: RecallPolicy | str) -> bool:
    if policy == "intent":
        return decision.need
    if policy == "always":
        return bool(decision.query.strip())
    raise ValueError(f"unknown recall policy: {policy!r}")
