"""The memory API (HTTP API + Mangum): recall preview, browse/edit/delete/export memories,
characters (incl. Character Card V2 import) and chat history.

Every route takes the user from the JWT (``sub``), never from the body or the path; an id
that belongs to someone else answers 404 exactly like one that does not exist. Errors use
the project's shape ``{"error": {"code", "message"}}``.

Routes (all under /api/v1):
    POST   /memory/recall                     what recall would inject for a query, with scores
    GET    /memory/facts|events|summaries     ?character_id=&limit=&cursor=  (paginated)
    PATCH  /memory/items/{item_id}            edit one fact/event/summary/turn (DynamoDB + index)
    DELETE /memory/items/{item_id}            delete it everywhere
    DELETE /memory?character_id=              forget everything about a character
    DELETE /memory/characters/{character_id}  the same (fits the template's /memory/{proxy+} route)
    GET    /memory/export                     all of the caller's data as one JSON document
    GET    /characters, POST /characters, POST /characters/import
    GET|PUT|DELETE /characters/{character_id}
    GET|DELETE /chat/history, POST /chat/sessions/{character_id}/end
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from typing import Annotated, Any, Literal

from fastapi import FastAPI, Header, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from ..adapters.dynamodb_memory import from_item, sort_key
from ..adapters.opensearch_index import TURN_CONTEXT_CHARS, MemoryDoc
from ..bootstrap import Container, build_container
from ..characters import BUILTIN_CHARACTERS
from ..config import Settings
from ..errors import AppError, Forbidden, NotFound, StoreUnavailable, Unavailable
from ..memory.generation import MemoryGenerator, bounded_embedding_text, turn_id_at
from ..memory.recall.service import MemoryRecaller
from ..memory.records import EventRecord, FactRecord, FactVersion, SummaryRecord
from ..models import Character, MemoryTask, RecalledMemory
from .cors import add_cors
from .errors import install_error_handlers
from .middleware import CorrelationMiddleware
from .requests import DATE_PATTERN, ID_PATTERN, VisibleText, parse_body
from .views import history_page, message_view

_ID = re.compile(ID_PATTERN)
MAX_EXPORT_MESSAGES = 10_000
PREVIEW_BUDGET_MS = 8000
Record = FactRecord | EventRecord | SummaryRecord
# Module level: FastAPI resolves these (postponed) annotations in the module's namespace.
Auth = Annotated[str | None, Header()]
CharQ = Annotated[str, Query(pattern=ID_PATTERN)]
OptCharQ = Annotated[str | None, Query(pattern=ID_PATTERN)]


# ------------------------------------------------------------------------------ bodies

class RecallRequest(BaseModel):
    character_id: str = Field(pattern=ID_PATTERN)
    query: VisibleText = Field(min_length=1, max_length=2000)
    top_k: int = Field(default=5, ge=1, le=20)
    policy: Literal["intent", "always"] = "always"  # a preview searches even for small talk
    language: Literal["zh", "en"] | None = None


class ItemPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    value: VisibleText | None = Field(default=None, min_length=1, max_length=500)  # fact
    title: VisibleText | None = Field(default=None, min_length=1, max_length=200)  # event
    summary: str | None = Field(default=None, max_length=2000)  # event / summary
    date: str | None = Field(default=None, pattern=DATE_PATTERN)  # event
    importance: int | None = Field(default=None, ge=0, le=10)  # event
    content: VisibleText | None = Field(default=None, min_length=1, max_length=4000)  # turn


class CharacterIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: VisibleText = Field(min_length=1, max_length=100)
    description: str = Field(default="", max_length=10_000)
    personality: str = Field(default="", max_length=5_000)
    scenario: str = Field(default="", max_length=5_000)
    system_prompt: str = Field(default="", max_length=10_000)
    first_mes: str = Field(default="", max_length=5_000)
    mes_example: str = Field(default="", max_length=10_000)
    post_history_instructions: str = Field(default="", max_length=5_000)
    language: Literal["zh", "en", "auto"] = "auto"
    character_book: list[dict[str, Any]] = Field(default_factory=list, max_length=200)


class CardData(BaseModel):
    """Character Card V2 ``data`` (unknown fields such as creator notes are ignored)."""

    name: VisibleText = Field(min_length=1, max_length=100)
    description: str = ""
    personality: str = ""
    scenario: str = ""
    first_mes: str = ""
    mes_example: str = ""
    system_prompt: str = ""
    post_history_instructions: str = ""
    character_book: dict[str, Any] | None = None


class CardV2(BaseModel):
    spec: Literal["chara_card_v2"]
    spec_version: str = "2.0"
    data: CardData


def card_to_character(card: CardV2, *, owner_id: str, character_id: str) -> Character:
    d = card.data
    entries = []
    for entry in (d.character_book or {}).get("entries") or []:
        if isinstance(entry, dict) and entry.get("enabled", True) and str(entry.get("content", "")).strip():
            entries.append({"keys": [str(k) for k in entry.get("keys") or []], "content": str(entry["content"]),
                            "insertion_order": entry.get("insertion_order", 0),
                            "constant": bool(entry.get("constant", False))})
    text = " ".join([d.name, d.description, d.first_mes])
    language: Literal["zh", "en", "auto"] = "zh" if re.search(r"[\u4e00-\u9fff]", text) else "auto"
    return Character(character_id=character_id, owner_id=owner_id, name=d.name, description=d.description,
                     personality=d.personality, scenario=d.scenario, first_mes=d.first_mes,
                     mes_example=d.mes_example, system_prompt=d.system_prompt,
                     post_history_instructions=d.post_history_instructions, language=language,
                     character_book=entries)


# --------------------------------------------------------------------------- helpers

def _memory_view(m: RecalledMemory) -> dict[str, Any]:
    meta = {k: v for k, v in m.metadata.items() if k not in ("search_text", "source_scores")}
    return {"memory_id": m.memory_id, "memory_type": m.memory_type, "content": m.content, "timestamp": m.timestamp,
            "score": round(m.score, 6), "importance": m.importance, "source": m.source, "metadata": meta}


def _record_view(rec: Record) -> dict[str, Any]:
    data = rec.model_dump()
    if isinstance(rec, FactRecord):
        data["item_id"], data["item_type"] = rec.fact_id, "fact"
    elif isinstance(rec, EventRecord):
        data["item_id"], data["item_type"] = rec.event_id, "event"
    else:
        data["item_id"], data["item_type"] = rec.summary_id, "summary"
    data["content"] = rec.content
    return data


def _record_id(rec: Record) -> str:
    return rec.fact_id if isinstance(rec, FactRecord) else rec.event_id if isinstance(rec, EventRecord) \
        else rec.summary_id


def _index_doc(rec: Record) -> MemoryDoc:
    """The search document of a record, built exactly as the memory worker builds it."""
    task = MemoryTask(task_id="user_edit", user_id=rec.user_id, character_id=rec.character_id,
                      session_id=getattr(rec, "session_id", ""), trigger="manual", from_seq=0, to_seq=0)
    if isinstance(rec, FactRecord):
        return MemoryGenerator._documents(task, [], [rec], [], None)[0]
    if isinstance(rec, EventRecord):
        return MemoryGenerator._documents(task, [], [], [rec], None)[0]
    return MemoryGenerator._documents(task, [], [], [], rec)[0]


async def _store_call(coro: Awaitable[Any], what: str) -> Any:
    try:
        return await coro
    except StoreUnavailable as exc:
        raise Unavailable(f"{what} is unavailable, please retry", code="store_unavailable") from exc


class MemoryAdmin:
    """Browse, edit, delete and export one user's long-term memory (DynamoDB + index + archive)."""

    def __init__(self, c: Container) -> None:
        assert c.memory_repo is not None and c.memory_index is not None and c.archive is not None
        self.c = c
        self.repo = c.memory_repo
        self.index = c.memory_index
        self.archive = c.archive

    async def _find_record(self, user_id: str, item_id: str, character_id: str | None) -> Record | None:
        if character_id:
            facts, events, summaries = await self.repo.load(user_id, character_id, summaries=True)  # all, fresh
            records: list[Record] = [*facts.values(), *events, *summaries]
        else:  # the user-index GSI holds only this user's items: another user's id is never found
            records = [r for i in await self.repo.all_for_user(user_id) if (r := from_item(i)) is not None]
        return next((r for r in records if _record_id(r) == item_id and r.user_id == user_id), None)

    async def _find_turn(self, user_id: str, item_id: str) -> dict[str, Any] | None:
        src = await self.index.get_doc(user_id, item_id)
        return src if src and src.get("memory_type") == "turn" else None

    async def _reindex(self, rec: Record) -> None:
        await self._write(_index_doc(rec))

    async def edit(self, user_id: str, item_id: str, patch: ItemPatch, character_id: str | None) -> dict[str, Any]:
        changes = patch.model_dump(exclude_none=True)
        if not changes:
            raise AppError("nothing to change", code="invalid_request", status=422)
        rec = await self._find_record(user_id, item_id, character_id)
        now = time.time()
        if rec is None:
            return await self._edit_turn(user_id, item_id, changes, now)
        allowed = {FactRecord: {"value"}, EventRecord: {"title", "summary", "date", "importance"},
                   SummaryRecord: {"summary"}}[type(rec)]
        if extra := set(changes) - allowed:
            raise AppError(f"cannot change {', '.join(sorted(extra))} of a {type(rec).__name__[:-6].lower()}",
                           code="invalid_request", status=422)
        if isinstance(rec, FactRecord):
            # The user's correction supersedes the old value; the old one stays in the history.
            history = [*rec.history, FactVersion(value=rec.value, confidence=rec.confidence, from_ts=rec.since,
                                                 until_ts=now, source_task_id="user_edit")][-20:]
            rec = rec.model_copy(update={"value": changes["value"], "confidence": 1.0, "since": now,
                                         "updated_at": now, "source_task_id": "user_edit", "history": history})
        else:
            rec = rec.model_copy(update={**changes, **({"updated_at": now} if isinstance(rec, EventRecord) else {})})
        await self._reindex(rec)
        await (self.repo.save(facts=[rec]) if isinstance(rec, FactRecord)
               else self.repo.save(events=[rec]) if isinstance(rec, EventRecord) else self.repo.save(summary=rec))
        return _record_view(rec)

    async def _edit_turn(self, user_id: str, item_id: str, changes: dict[str, Any], now: float) -> dict[str, Any]:
        src = await self._find_turn(user_id, item_id)
        if src is None:
            raise NotFound("memory item not found", code="not_found")
        if set(changes) != {"content"}:
            raise AppError("only the content of a conversation turn can change", code="invalid_request", status=422)
        doc = await self._upsert_turn(src, content=changes["content"])
        await self._recontext_next(src, doc.content)
        return {"item_id": item_id, "item_type": "turn", "content": doc.content, "timestamp": doc.timestamp,
                "character_id": doc.character_id, "session_id": doc.session_id, "seq": doc.seq}

    async def _recontext_next(self, src: dict[str, Any], context: str | None) -> None:
        """The next turn was embedded after this one (its ``metadata.context``): an edit must reach
        that copy, and a delete must remove it, or deleted words would live on in its vector."""
        seq = int(src.get("seq") or 0)
        if seq <= 0:
            return
        nxt = await self._find_turn(src["user_id"], turn_id_at(src["user_id"], src["character_id"], seq + 1))
        if nxt is None or not (nxt.get("metadata") or {}).get("context"):
            return  # no next turn, or it starts another session/segment without context
        meta = {k: v for k, v in nxt["metadata"].items() if k != "context"}
        if context:
            meta["context"] = context[-TURN_CONTEXT_CHARS:]
        await self._upsert_turn(nxt, metadata=meta)

    async def _upsert_turn(self, src: dict[str, Any], **changes: Any) -> MemoryDoc:
        """A stored turn (its ``_source``) with ``changes``, embedded again and written back."""
        doc = MemoryDoc(**{**src, "timestamp": float(src.get("timestamp", 0)) / 1000.0, "embedding": None, **changes})
        await self._write(doc)
        return doc

    async def _write(self, doc: MemoryDoc) -> None:
        if self.c.embedder is not None:
            # The same bounded text the worker embeds, so an edit gives the vector a task would.
            text = bounded_embedding_text(doc, self.c.settings.memory_embed_max_chars)
            doc.embedding = (await self.c.embedder.embed_passages([text]))[0]
        await self.index.bulk_upsert([doc], refresh=self.c.settings.is_local)

    async def delete(self, user_id: str, item_id: str, character_id: str | None) -> dict[str, Any]:
        rec = await self._find_record(user_id, item_id, character_id)
        src = None
        if rec is not None:
            await self.repo.delete_item(user_id, rec.character_id, sort_key(rec))
        elif (src := await self.index.get_doc(user_id, item_id)) is None:  # a turn (or a doc without its record)
            raise NotFound("memory item not found", code="not_found")
        await self.index.delete_ids(user_id, [item_id], refresh=self.c.settings.is_local)
        if src is not None and src.get("memory_type") == "turn":
            await self._recontext_next(src, None)
        return {"item_id": item_id, "deleted": True}

    async def forget(self, user_id: str, character_id: str) -> dict[str, Any]:
        c = self.c
        memories, index_docs, archives, messages = await asyncio.gather(
            self.repo.delete_all(user_id, character_id), self.index.delete_for(user_id, character_id),
            self.archive.delete_for(user_id, character_id), c.message_log.delete_conversation(user_id, character_id))
        window = True
        try:
            await c.short_term.clear(user_id, character_id)
        except StoreUnavailable:
            window = False  # the window expires by TTL; everything durable is gone already
        return {"character_id": character_id, "deleted": {"memories": memories, "index_documents": index_docs,
                                                          "archives": archives, "messages": messages,
                                                          "short_term_window": window}}

    async def export(self, user_id: str, characters: list[Character]) -> dict[str, Any]:
        items = await self.repo.all_for_user(user_id)
        records = [r for i in items if (r := from_item(i)) is not None and r.user_id == user_id]
        docs = [{k: v for k, v in d.items() if k != "embedding"}
                for d in await self.index.get_docs(user_id, None, None, size=10_000) if d.get("user_id") == user_id]
        char_ids = sorted({c.character_id for c in characters} | {r.character_id for r in records}
                          | {str(d.get("character_id")) for d in docs} | set(BUILTIN_CHARACTERS))
        conversations = {}
        for cid in char_ids:
            msgs = await self._all_messages(user_id, cid)
            if msgs:
                conversations[cid] = msgs
        return {
            "user_id": user_id, "exported_at": time.time(), "format": "companion-export/1",
            "characters": [c.model_dump() for c in characters if c.owner_id == user_id],
            "memories": {
                "facts": [_record_view(r) for r in records if isinstance(r, FactRecord)],
                "events": [_record_view(r) for r in records if isinstance(r, EventRecord)],
                "summaries": [_record_view(r) for r in records if isinstance(r, SummaryRecord)],
            },
            "index_documents": docs,
            "conversations": conversations,
        }

    async def _all_messages(self, user_id: str, character_id: str) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        before: int | None = None
        while len(out) < MAX_EXPORT_MESSAGES:
            page = await self.c.message_log.history(user_id, character_id, limit=200, before_seq=before)
            if not page:
                break
            out[:0] = [message_view(m) for m in page]
            if page[0].seq <= 1:
                break
            before = page[0].seq
        return out


# ---------------------------------------------------------------------------------- app

def create_app(container: Container | None = None) -> FastAPI:
    state: dict[str, Any] = {}

    def c() -> Container:
        if "c" not in state:
            state["c"] = container or build_container()
        return state["c"]

    def admin() -> MemoryAdmin:
        if "admin" not in state:
            state["admin"] = MemoryAdmin(c())
        return state["admin"]

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        if "c" in state and container is None:
            await state["c"].aclose()

    app = FastAPI(title="Companion memory API", version="1.0", lifespan=lifespan, docs_url=None, redoc_url=None)
    install_error_handlers(app)
    add_cors(app, container.settings if container else Settings(), "memory")

    app.add_middleware(CorrelationMiddleware)

    def user_of(authorization: str | None) -> str:
        return c().verifier.verify(authorization)

    def check_id(value: str, what: str = "id") -> str:
        if not _ID.match(value):
            raise AppError(f"invalid {what}", code="invalid_request", status=422)
        return value

    async def visible_character(user_id: str, character_id: str) -> Character:
        # A character the caller may use: built-in or their own (someone else's answers 404).
        return (await c().characters.get(character_id, user_id=user_id)).character

    # -- memory ---------------------------------------------------------------------------

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/api/v1/memory/recall")
    async def recall(request: Request, authorization: Auth = None) -> dict[str, Any]:
        user_id = user_of(authorization)
        body = await parse_body(request, RecallRequest)
        try:
            char_lang = (await visible_character(user_id, body.character_id)).language
        except NotFound:
            char_lang = "auto"  # recall is scoped to the caller anyway: nothing of anyone else can show
        recaller = c().recaller
        if not isinstance(recaller, MemoryRecaller):
            raise Unavailable("recall is not configured", code="recall_unavailable")
        from ..text import detect_language
        language = body.language or detect_language(body.query, default=char_lang if char_lang != "auto" else "en")
        candidates: list[RecalledMemory] = []
        result = await recaller.recall(user_id, body.character_id, body.query, language=language,
                                       policy=body.policy, max_memories=body.top_k, candidates_out=candidates,
                                       # A preview is not a chat turn: give slow sources room.
                                       budget_ms=max(c().settings.recall_budget_ms, PREVIEW_BUDGET_MS))
        return {"character_id": body.character_id, "query": body.query, "language": language,
                "memories": [_memory_view(m) for m in result.memories], "block": result.block,
                "candidates": len(candidates), "sources": result.sources, "degraded": result.degraded,
                "latency_ms": round(result.latency_ms, 1)}

    async def page(kind: str, user_id: str, character_id: str, limit: int, cursor: str | None) -> dict[str, Any]:
        repo = admin().repo
        fn = {"facts": repo.list_facts, "events": repo.list_events, "summaries": repo.list_summaries}[kind]
        try:
            items, nxt = await _store_call(fn(user_id, character_id, limit=limit, cursor=cursor), "the memory store")
        except ValueError as exc:
            raise AppError("invalid cursor", code="invalid_cursor", status=400) from exc
        return {"character_id": character_id, "items": [_record_view(r) for r in items], "next_cursor": nxt}

    @app.get("/api/v1/memory/facts")
    async def facts(character_id: CharQ, limit: Annotated[int, Query(ge=1, le=200)] = 50,
                    cursor: str | None = None, authorization: Auth = None) -> dict[str, Any]:
        return await page("facts", user_of(authorization), character_id, limit, cursor)

    @app.get("/api/v1/memory/events")
    async def events(character_id: CharQ, limit: Annotated[int, Query(ge=1, le=200)] = 50,
                     cursor: str | None = None, authorization: Auth = None) -> dict[str, Any]:
        return await page("events", user_of(authorization), character_id, limit, cursor)

    @app.get("/api/v1/memory/summaries")
    async def summaries(character_id: CharQ, limit: Annotated[int, Query(ge=1, le=200)] = 20,
                        cursor: str | None = None, authorization: Auth = None) -> dict[str, Any]:
        return await page("summaries", user_of(authorization), character_id, limit, cursor)

    @app.patch("/api/v1/memory/items/{item_id}")
    async def edit_item(item_id: str, request: Request, character_id: OptCharQ = None,
                        authorization: Auth = None) -> dict[str, Any]:
        user_id = user_of(authorization)
        patch = await parse_body(request, ItemPatch)
        return await _store_call(admin().edit(user_id, check_id(item_id, "item id"), patch, character_id),
                                 "the memory store")

    @app.delete("/api/v1/memory/items/{item_id}")
    async def delete_item(item_id: str, character_id: OptCharQ = None, authorization: Auth = None) -> dict[str, Any]:
        user_id = user_of(authorization)
        return await _store_call(admin().delete(user_id, check_id(item_id, "item id"), character_id),
                                 "the memory store")

    @app.delete("/api/v1/memory")
    async def forget(character_id: CharQ, authorization: Auth = None) -> dict[str, Any]:
        user_id = user_of(authorization)
        return await _store_call(admin().forget(user_id, character_id), "the memory store")

    # The same under the template's ``/api/v1/memory/{proxy+}`` route (which does not match
    # ``/api/v1/memory`` itself until the template adds that route).
    @app.delete("/api/v1/memory/characters/{character_id}")
    async def forget_character(character_id: str, authorization: Auth = None) -> dict[str, Any]:
        user_id = user_of(authorization)
        return await _store_call(admin().forget(user_id, check_id(character_id, "character id")),
                                 "the memory store")

    @app.get("/api/v1/memory/export")
    async def export(authorization: Auth = None) -> dict[str, Any]:
        user_id = user_of(authorization)
        chars = await _store_call(c().character_repo.list(owner_id=user_id), "the character store")
        return await _store_call(admin().export(user_id, chars), "the memory store")

    # -- characters -----------------------------------------------------------------------

    def character_view(ch: Character) -> dict[str, Any]:
        return {**ch.model_dump(exclude={"canned_reply_zh", "canned_reply_en"}), "builtin": ch.owner_id is None}

    async def owned(user_id: str, character_id: str) -> Character:
        check_id(character_id, "character id")
        ch = await _store_call(c().character_repo.get(character_id), "the character store")
        if ch is None and character_id in BUILTIN_CHARACTERS:
            ch = BUILTIN_CHARACTERS[character_id]
        if ch is None or (ch.owner_id is not None and ch.owner_id != user_id):
            raise NotFound(f"character '{character_id}' not found", code="unknown_character")
        if ch.owner_id is None:
            raise Forbidden("built-in characters cannot be changed", code="builtin_character")
        return ch

    async def save_character(ch: Character) -> Character:
        await _store_call(c().character_repo.put(ch), "the character store")
        await c().characters.invalidate(ch.character_id)
        return ch

    @app.get("/api/v1/characters")
    async def list_characters(authorization: Auth = None) -> dict[str, Any]:
        user_id = user_of(authorization)
        try:
            chars = await c().character_repo.list(owner_id=user_id)
        except StoreUnavailable:
            chars = []  # the built-in ones still answer
        seen = {ch.character_id for ch in chars}
        chars += [b for b in BUILTIN_CHARACTERS.values() if b.character_id not in seen]
        chars = [ch for ch in chars if ch.owner_id in (None, user_id)]
        chars.sort(key=lambda ch: (ch.owner_id is not None, ch.name))
        return {"characters": [character_view(ch) for ch in chars]}

    @app.get("/api/v1/characters/{character_id}")
    async def get_character(character_id: str, authorization: Auth = None) -> dict[str, Any]:
        user_id = user_of(authorization)
        return character_view(await visible_character(user_id, check_id(character_id, "character id")))

    @app.post("/api/v1/characters", status_code=201)
    async def create_character(request: Request, authorization: Auth = None) -> dict[str, Any]:
        user_id = user_of(authorization)
        body = await parse_body(request, CharacterIn)
        ch = Character(character_id=f"c_{uuid.uuid4().hex[:16]}", owner_id=user_id, **body.model_dump())
        return character_view(await save_character(ch))

    @app.post("/api/v1/characters/import", status_code=201)
    async def import_character(request: Request, authorization: Auth = None) -> dict[str, Any]:
        user_id = user_of(authorization)
        card = await parse_body(request, CardV2)
        ch = card_to_character(card, owner_id=user_id, character_id=f"c_{uuid.uuid4().hex[:16]}")
        return character_view(await save_character(ch))

    @app.put("/api/v1/characters/{character_id}")
    async def put_character(character_id: str, request: Request, authorization: Auth = None) -> dict[str, Any]:
        user_id = user_of(authorization)
        body = await parse_body(request, CharacterIn)  # a bad body is refused before any store is asked
        current = await owned(user_id, character_id)
        ch = current.model_copy(update={**body.model_dump(), "updated_at": time.time()})
        return character_view(await save_character(ch))

    @app.delete("/api/v1/characters/{character_id}")
    async def delete_character(character_id: str, authorization: Auth = None) -> dict[str, Any]:
        user_id = user_of(authorization)
        await owned(user_id, character_id)
        await _store_call(c().character_repo.delete(character_id), "the character store")
        await c().characters.invalidate(character_id)
        return {"character_id": character_id, "deleted": True}

    # -- chat history (the HTTP API serves it; the stream lives on the chat function) -------

    @app.get("/api/v1/chat/history")
    async def get_history(character_id: CharQ, limit: Annotated[int, Query(ge=1, le=200)] = 50,
                          before_seq: Annotated[int | None, Query(ge=1)] = None,
                          authorization: Auth = None) -> dict[str, Any]:
        user_id = user_of(authorization)
        messages = await _store_call(
            c().conversations.history(user_id, character_id, limit=limit, before_seq=before_seq), "the message log")
        return history_page(character_id, messages)

    @app.delete("/api/v1/chat/history")
    async def delete_history(character_id: CharQ, authorization: Auth = None) -> dict[str, Any]:
        user_id = user_of(authorization)
        return {"character_id": character_id,
                **await _store_call(c().conversations.clear_history(user_id, character_id), "the message log")}

    @app.post("/api/v1/chat/sessions/{character_id}/end")
    async def end_session(character_id: str, authorization: Auth = None) -> dict[str, Any]:
        user_id = user_of(authorization)
        check_id(character_id, "character id")
        return {"character_id": character_id,
                **await _store_call(c().conversations.end_session(user_id, character_id), "the memory queue")}

    return app
