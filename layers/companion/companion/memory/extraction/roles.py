"""The roles a user names others by (妈妈, my sister, 猫, my dog), in zh and en, shared by the rule
extractor and the post-processing: "猫三岁了" with ``cat_name = 豆豆`` known is a fact about 豆豆,
whichever extractor wrote the subject "猫" or "cat".

    canonical_role("老妈") -> "mother"; canonical_role("my dog") -> "dog"; canonical_role("Emma") -> None
    zh_role("mother") -> "妈妈"  (one display word per role, so "我妈"/"我妈妈" are one subject)
"""

from __future__ import annotations

import re

ZH_ROLES: dict[str, str] = {
    "女朋友": "girlfriend", "男朋友": "boyfriend", "老婆": "wife", "妻子": "wife", "太太": "wife",
    "老公": "husband", "丈夫": "husband", "妈妈": "mother", "母亲": "mother", "老妈": "mother",
    "爸爸": "father", "父亲": "father", "老爸": "father", "哥哥": "brother", "弟弟": "brother",
    "姐姐": "sister", "妹妹": "sister", "儿子": "son", "女儿": "daughter", "奶奶": "grandmother",
    "外婆": "grandmother", "姥姥": "grandmother", "爷爷": "grandfather", "外公": "grandfather",
    "闺蜜": "best_friend", "最好的朋友": "best_friend", "好朋友": "friend", "朋友": "friend",
    "同事": "coworker", "老板": "boss", "领导": "boss", "室友": "roommate", "猫咪": "cat", "猫": "cat",
    "小猫": "cat", "狗狗": "dog", "狗": "dog", "小狗": "dog", "宠物": "pet", "妈": "mother", "爸": "father",
}
EN_ROLES: dict[str, str] = {
    "girlfriend": "girlfriend", "boyfriend": "boyfriend", "wife": "wife", "husband": "husband",
    "mom": "mother", "mum": "mother", "mother": "mother", "dad": "father", "father": "father",
    "sister": "sister", "brother": "brother", "son": "son", "daughter": "daughter",
    "grandma": "grandmother", "grandmother": "grandmother", "grandpa": "grandfather",
    "grandfather": "grandfather", "best friend": "best_friend", "friend": "friend", "buddy": "friend",
    "boss": "boss", "coworker": "coworker", "colleague": "coworker", "roommate": "roommate",
    "partner": "partner", "cat": "cat", "kitten": "cat", "dog": "dog", "puppy": "dog", "pet": "pet",
}
PETS = frozenset({"cat", "dog", "pet"})
# The display word of a role: the first zh word listed for it.
_ZH_DISPLAY: dict[str, str] = {}
for _word, _role in ZH_ROLES.items():
    _ZH_DISPLAY.setdefault(_role, _word)

_OWNER = re.compile(r"^(?:(?:the\s+)?user's\s+|my\s+|our\s+|the\s+|我们家的?|我家的?|我的|我(?=.))", re.I)


def canonical_role(word: str) -> str | None:
    """The English role of ``word`` ("老妈", "my mum", "cat", "best_friend"), None for a name."""
    w = _OWNER.sub("", word.strip()).strip().casefold().replace("_", " ")
    if w in ZH_ROLES:
        return ZH_ROLES[w]
    if w in EN_ROLES:
        return EN_ROLES[w]
    return w.replace(" ", "_") if w.replace(" ", "_") in _ZH_DISPLAY else None


def zh_role(role: str) -> str:
    """The zh word shown for an English role ("mother" -> "妈妈"); the role itself if none."""
    return _ZH_DISPLAY.get(role, role)
