"""Request bodies of the memory API, their examples (Chinese and English), and the error shape, for the docs.

Bodies are parsed by the handlers with ``parse_body`` (so bad JSON, a wrong content type or a
lone surrogate get the project's 400/415 answers, not FastAPI's), which FastAPI cannot see:
``json_body`` declares each one in the OpenAPI spec, and ``BODY_MODELS`` are the schemas the
app adds to the spec's components.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from ...cards import limits as L
from ...chat.macros import is_time_zone
from ...models import CardAsset, Lorebook
from ..requests import DATE_PATTERN, ID_PATTERN, VisibleText

# ------------------------------------------------------------------------------ bodies


class RecallRequest(BaseModel):
    """What recall would inject into a turn for ``query``, with each memory's scores."""

    character_id: str = Field(pattern=ID_PATTERN, description="the character whose memories of you are searched")
    query: VisibleText = Field(min_length=1, max_length=2000, description="a message as you would send it")
    top_k: int = Field(default=5, ge=1, le=20, description="at most this many memories")
    policy: Literal["intent", "always"] = Field(
        default="always", description="`always` searches even for small talk (a preview); `intent` as a chat turn")
    language: Literal["zh", "en"] | None = Field(default=None, description="default: detected from the query")


class ItemPatch(BaseModel):
    """The fields to change of one memory item; which ones apply depends on the item."""

    model_config = ConfigDict(extra="forbid")

    value: VisibleText | None = Field(default=None, min_length=1, max_length=500, description="a fact's value")
    title: VisibleText | None = Field(default=None, min_length=1, max_length=200, description="an event's title")
    summary: str | None = Field(default=None, max_length=2000, description="an event's or a summary's text")
    date: str | None = Field(default=None, pattern=DATE_PATTERN, description="an event's date")
    importance: int | None = Field(default=None, ge=0, le=10, description="an event's importance")
    content: VisibleText | None = Field(default=None, min_length=1, max_length=4000,
                                        description="a conversation turn's text")


Text = Annotated[str, Field(max_length=L.MAX_FIELD_CHARS)]
Tag = Annotated[str, Field(max_length=L.MAX_TAG_CHARS)]
Link = Annotated[str, Field(max_length=L.MAX_ASSET_URI_CHARS)]


def _time_zone(value: str | None) -> str | None:
    if value is not None and not is_time_zone(value):
        raise ValueError("not an IANA time zone")
    return value


class CharacterIn(BaseModel):
    """A character of your own (``POST /characters``, or all of its fields with ``PUT``).

    The fields of a Character Card V2/V3 ``data``, with the specs' names and shapes and the card
    importer's limits (an imported character can be sent back as it is), plus Companion's
    ``language`` and ``time_zone``. ``PUT`` keeps what the body cannot set: the avatar of an
    imported PNG card and what the card held beyond these fields (given back on export).
    """

    model_config = ConfigDict(extra="forbid")

    name: VisibleText = Field(min_length=1, max_length=L.MAX_NAME_CHARS)
    nickname: str | None = Field(default=None, max_length=L.MAX_NAME_CHARS,
                                 description="what `{{char}}` becomes instead of the name (V3)")
    description: Text = ""
    personality: Text = ""
    scenario: Text = ""
    system_prompt: Text = Field(default="", description="the card's system prompt (instead of the default one)")
    first_mes: Text = Field(default="", description="the greeting: the conversation's first message")
    alternate_greetings: list[Text] = Field(default_factory=list, max_length=L.MAX_GREETINGS,
                                            description="other greetings a conversation may start with")
    group_only_greetings: list[Text] = Field(default_factory=list, max_length=L.MAX_GREETINGS)
    mes_example: Text = Field(default="", description="example dialogue, each block starting with `<START>`")
    post_history_instructions: Text = Field(default="", description="instructions placed after the history")
    creator_notes: Text = Field(default="", description="for people; never sent to the model")
    creator_notes_multilingual: dict[str, Text] | None = Field(default=None,
                                                               description="creator notes by language code")
    tags: list[Tag] = Field(default_factory=list, max_length=L.MAX_TAGS)
    creator: Text = ""
    character_version: Text = ""
    source: list[Link] | None = Field(default=None, max_length=L.MAX_SOURCES, description="where the card comes from")
    creation_date: int | float | None = Field(default=None, description="unix seconds")
    modification_date: int | float | None = Field(default=None, description="unix seconds")
    extensions: dict[str, Any] = Field(default_factory=dict, description="any tool's data, kept and exported as given")
    assets: list[CardAsset] | None = Field(default=None, max_length=L.MAX_ASSETS,
                                           description="V3 assets (links; their files are not stored)")
    character_book: list[dict[str, Any]] = Field(
        default_factory=list, max_length=L.MAX_LORE_ENTRIES,
        description="lorebook entries as a card has them: keys, content, enabled, insertion_order, extensions, ...")
    lorebook: Lorebook | None = Field(default=None,
                                      description="the lorebook's other fields (name, scan_depth, token_budget, ...)")
    language: Literal["zh", "en", "auto"] = Field(default="auto", description="`auto`: the user's language")
    time_zone: Annotated[str | None, AfterValidator(_time_zone)] = Field(
        default=None, description="an IANA time zone (`Asia/Shanghai`) for the time the character knows, "
                                  "when the client sends none")


class CardData(BaseModel):
    """A card's ``data`` (V2 and V3): ``name`` and what else the card has; unknown fields are kept."""

    model_config = ConfigDict(extra="allow")

    name: str
    nickname: str | None = None
    description: str | None = None
    personality: str | None = None
    scenario: str | None = None
    first_mes: str | None = None
    alternate_greetings: list[str] | None = None
    group_only_greetings: list[str] | None = None
    mes_example: str | None = None
    system_prompt: str | None = None
    post_history_instructions: str | None = None
    creator_notes: str | None = None
    creator_notes_multilingual: dict[str, str] | None = None
    tags: list[str] | None = None
    creator: str | None = None
    character_version: str | None = None
    source: list[str] | None = None
    creation_date: int | float | None = None
    modification_date: int | float | None = None
    extensions: dict[str, Any] | None = None
    assets: list[dict[str, Any]] | None = None
    character_book: dict[str, Any] | None = Field(default=None, description="name, scan_depth, entries, ...")


class CharacterCard(BaseModel):
    """A Character Card JSON file, as SillyTavern and the card sites ship them.

    V2 (``spec: chara_card_v2``) and V3 (``chara_card_v3``) hold their fields in ``data``; a V1
    card has no ``spec`` and its fields (``name``, ``description``, ...) at the top. This documents
    the body: the card library (``companion.cards``) checks it field by field and keeps every key.
    """

    model_config = ConfigDict(extra="allow")

    spec: Literal["chara_card_v2", "chara_card_v3"] | None = Field(default=None, description="absent: a V1 card")
    spec_version: str | None = None
    data: CardData | None = None


BODY_MODELS: list[type[BaseModel]] = [RecallRequest, ItemPatch, CharacterIn, CharacterCard]


# ---------------------------------------------------------------------------- examples

RECALL_EXAMPLES = {
    "zh": {"summary": "中文：我是做什么工作的？",
           "value": {"character_id": "xiaoyu", "query": "我是做什么工作的？", "top_k": 5}},
    "en": {"summary": "English: what's my favourite food?",
           "value": {"character_id": "luna", "query": "What's my favorite food?", "top_k": 5, "language": "en"}},
}
PATCH_EXAMPLES = {
    "fact_zh": {"summary": "纠正一条事实（fact）", "value": {"value": "设计师"}},
    "fact_en": {"summary": "Correct a fact", "value": {"value": "designer"}},
    "event": {"summary": "Move an event / 修改事件日期", "value": {"date": "2030-01-12", "importance": 9}},
    "turn_zh": {"summary": "改写一轮对话（turn）", "value": {"content": "我家的猫叫年糕"}},
    "turn_en": {"summary": "Reword a conversation turn", "value": {"content": "My cat is called Mochi"}},
}
CHARACTER_EXAMPLES = {
    "zh": {"summary": "中文角色", "value": {
        "name": "小林", "description": "{{char}}是一位温柔的书店店员，喜欢推荐诗集。", "personality": "安静、细心",
        "first_mes": "欢迎光临，{{user}}！今天想读点什么？", "alternate_greetings": ["下雨了，进来躲躲雨吧。"],
        "tags": ["治愈", "日常"], "language": "zh", "time_zone": "Asia/Shanghai"}},
    "en": {"summary": "English character", "value": {
        "name": "Momo", "description": "{{char}} is a cheerful barista who remembers every regular's order.",
        "personality": "warm, curious", "first_mes": "Hi {{user}}! The usual today?",
        "mes_example": "<START>\n{{user}}: Surprise me.\n{{char}}: One honey latte, coming up!",
        "post_history_instructions": "Keep replies under three sentences.",
        "character_book": [{"keys": ["latte"], "content": "Momo's honey latte is the café's favourite.",
                            "enabled": True, "insertion_order": 10}],
        "language": "en", "time_zone": "Europe/London"}},
}
CARD_EXAMPLES = {
    "v2_en": {"summary": "Character Card V2 (English)", "value": {
        "spec": "chara_card_v2", "spec_version": "2.0", "data": {
            "name": "Aria", "description": "{{char}} navigates the starship Aurora.", "personality": "calm, precise",
            "scenario": "On the bridge of the Aurora with {{user}}.", "first_mes": "Course plotted, {{user}}.",
            "alternate_greetings": ["Welcome aboard."],
            "mes_example": "<START>\n{{user}}: Status?\n{{char}}: All green.",
            "system_prompt": "", "post_history_instructions": "", "creator_notes": "", "tags": ["scifi"],
            "creator": "", "character_version": "1.0", "extensions": {},
            "character_book": {"extensions": {}, "entries": [
                {"keys": ["Aurora"], "content": "The Aurora is a deep-space cruiser.", "extensions": {},
                 "enabled": True, "insertion_order": 100}]}}}},
    "v3_zh": {"summary": "角色卡 V3（中文）", "value": {
        "spec": "chara_card_v3", "spec_version": "3.0", "data": {
            "name": "阿青", "nickname": "青姐", "description": "{{char}}是江南小镇的茶馆老板娘。",
            "personality": "爽朗、健谈", "scenario": "", "first_mes": "客官，来壶龙井？",
            "alternate_greetings": ["{{user}}，又来啦！"], "group_only_greetings": [], "mes_example": "",
            "system_prompt": "", "post_history_instructions": "", "creator_notes": "", "tags": ["古风"],
            "creator": "", "character_version": "1", "extensions": {},
            "character_book": {"extensions": {}, "entries": [
                {"keys": ["龙井"], "content": "@@depth 2\n茶馆的龙井来自西湖边的茶园。", "extensions": {},
                 "enabled": True, "insertion_order": 1, "use_regex": False}]}}}},
    "v1": {"summary": "Character Card V1 (flat) / 旧版角色卡", "value": {
        "name": "Momo", "description": "A cheerful baker. 开朗的面包师。", "personality": "cheerful",
        "scenario": "A bakery at dawn.", "first_mes": "Good morning!", "mes_example": ""}},
}


def json_body(model: type[BaseModel], examples: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """``openapi_extra`` declaring a route's JSON body (its handler parses it with ``parse_body``)."""
    return {"requestBody": {"required": True, "content": {"application/json": {
        "schema": {"$ref": f"#/components/schemas/{model.__name__}"}, "examples": examples}}}}


PNG_SCHEMA: dict[str, Any] = {"type": "string", "format": "binary"}


def card_body() -> dict[str, Any]:
    """The import route's body: a card as JSON, or a PNG card file as the raw body (no multipart form)."""
    body = json_body(CharacterCard, CARD_EXAMPLES)
    body["requestBody"]["description"] = (
        "The card file itself as the body: JSON (`application/json`) or a PNG card (`image/png`, the file's "
        f"bytes; no multipart form). Limits: {L.describe()}.")
    body["requestBody"]["content"]["image/png"] = {"schema": PNG_SCHEMA}
    return body


# ------------------------------------------------------------------------------ errors

class ErrorDetail(BaseModel):
    loc: list[str | int]
    msg: str


class ErrorInfo(BaseModel):
    code: str = Field(description="machine-readable, e.g. `invalid_request`, `not_found`, `store_unavailable`")
    message: str
    details: list[ErrorDetail] | None = Field(default=None, description="per field, for `invalid_request`")


class ErrorBody(BaseModel):
    """Every error of every Companion API."""

    error: ErrorInfo


def _error(description: str) -> dict[str, Any]:
    return {"model": ErrorBody, "description": description}


ERRORS: dict[int | str, dict[str, Any]] = {
    401: _error("no token, or one that is invalid or expired (`missing_token`, `invalid_token`, `token_expired`)"),
    404: _error("not found, or not yours: someone else's id answers exactly like one that does not exist"),
    422: _error("a parameter or a field is not valid (`invalid_request`, with `details`)"),
    503: _error("a data store is unavailable: retry (`store_unavailable`)"),
}
BODY_ERRORS: dict[int | str, dict[str, Any]] = {
    400: _error("the body is not JSON, is nested too deeply (`malformed_json`) or holds invalid text (`invalid_text`)"),
    413: _error("the body is larger than 64 KiB (`body_too_large`)"),
    415: _error("the body is not sent as `application/json` (`unsupported_media_type`)"),
}
CHARACTER_BODY_ERRORS: dict[int | str, dict[str, Any]] = {
    **BODY_ERRORS,
    413: _error(f"the body is larger than {L.MAX_CARD_BYTES // 1024} KiB (`body_too_large`), or the character "
                "is too large to store (`character_too_large`)"),
}
IMPORT_ERRORS: dict[int | str, dict[str, Any]] = {
    400: _error("a JSON body that is not JSON, is nested too deeply (`malformed_json`) or holds invalid text "
                "(`invalid_text`)"),
    413: _error(f"the card is over a limit (`card_too_large`): {L.describe()}"),
    415: _error("the body is neither `application/json` nor `image/png` (`unsupported_media_type`; a multipart "
                "form too: send the file itself as the body), or the image is not a PNG (`unsupported_card_format`)"),
    422: _error("the card is not valid: `invalid_card` names the field (`data.tags must be a list of strings`); "
                "`no_card_in_image` (a PNG without a `chara`/`ccv3` chunk), `invalid_image`"),
}
EXPORT_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "the card, as a download (`Content-Disposition: attachment`)",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/CharacterCard"}},
                      "image/png": {"schema": PNG_SCHEMA}}},
    404: _error("not found, not yours (`unknown_character`), or `format=png` for a character without an avatar "
                "image (`no_avatar`)"),
}
