"""Pairs of (user, character) that the old key layouts ran together stay apart in every store.

Each pair below gave both conversations one key somewhere: ``{user:character}`` in Redis,
``user#character`` in DynamoDB, ``user/character/`` in S3. Every test writes for the victim,
acts as the other user, and checks the victim's data is neither seen nor touched.
"""

from __future__ import annotations

import time
import uuid

import httpx
import pytest
import redis.crc
from companion.adapters.keys import decode_id, encode_id, partition_key, redis_tag, task_group_id
from companion.adapters.redis_short_term import messages_key, meta_key, unlogged_key
from companion.adapters.s3_archive import archive_key
from companion.auth import issue_token
from companion.bootstrap import Container, builders
from companion.memory.documents import MemoryDoc
from companion.memory.records import FactRecord
from companion.memory.scheduler import task_id_for
from companion.models import ChatMessage

from .conftest import JWT_SECRET

# (attacker's pair, victim's pair); users get a per-test prefix so runs never share data.
COLLIDING = {
    "colon": (("P", "x:luna"), ("P:x", "luna")),
    "hash": (("P", "x#luna"), ("P#x", "luna")),
    "slash": (("P", "x/luna"), ("P/x", "luna")),
    "braces": (("P}", "{luna"), ("P", "}:{luna")),
    "percent": (("P%3Ax", "luna"), ("P:x", "luna")),
}


@pytest.fixture(params=list(COLLIDING), ids=list(COLLIDING))
def pairs(request: pytest.FixtureRequest) -> tuple[tuple[str, str], tuple[str, str]]:
    run = uuid.uuid4().hex[:8]
    (au, ac), (vu, vc) = COLLIDING[request.param]
    return (run + au, ac), (run + vu, vc)


def msg(text: str, seq: int = 0) -> ChatMessage:
    return ChatMessage(role="user", content=text, session_id="s1", seq=seq)


def fact(user_id: str, character_id: str, value: str) -> FactRecord:
    now = time.time()
    return FactRecord(user_id=user_id, character_id=character_id, type="preference", key="food", value=value,
                      confidence=0.9, since=now, updated_at=now, source_task_id="t1")


# -- the key functions ------------------------------------------------------------------

def test_every_key_of_a_colliding_pair_differs() -> None:
    for (au, ac), (vu, vc) in COLLIDING.values():
        assert partition_key(au, ac) != partition_key(vu, vc)
        assert redis_tag(au, ac) != redis_tag(vu, vc)
        assert archive_key(au, ac, "s", 0, 1, 2) != archive_key(vu, vc, "s", 0, 1, 2)
        assert task_group_id(au, ac) != task_group_id(vu, vc)
        assert task_id_for(au, ac, 1, 2) != task_id_for(vu, vc, 1, 2)


def test_plain_ids_keep_their_keys_and_encoding_round_trips() -> None:
    assert partition_key("u-1_A", "xiaoyu") == "u-1_A#xiaoyu"
    assert messages_key("u-1_A", "xiaoyu") == "chat:{u-1_A:xiaoyu}:messages"
    for raw in ["auth0|5f1c", "google-oauth2|1093", "ana@example.com", "a:b#c/d{e}f%g", "..", "用户"]:
        assert decode_id(encode_id(raw)) == raw
        assert not set(encode_id(raw)) & set(":#/{}")


def test_braces_in_ids_keep_one_conversation_in_one_cluster_slot() -> None:
    user, character = "{P}", "x}:{y"
    keys = [messages_key(user, character), meta_key(user, character), unlogged_key(user, character)]
    tag = keys[0][keys[0].index("{") + 1:keys[0].index("}")]
    assert tag == f"{encode_id(user)}:{encode_id(character)}"  # the whole pair is the slot tag
    assert len({redis.crc.key_slot(k.encode()) for k in keys}) == 1


# -- Redis ------------------------------------------------------------------------------

async def test_short_term_window_is_per_pair(stores: Container, pairs) -> None:  # type: ignore[no-untyped-def]
    (au, ac), (vu, vc) = pairs
    await stores.short_term.append(vu, vc, [msg("victim's secret")])
    assert await stores.short_term.window(au, ac, 10) == []
    await stores.short_term.append(au, ac, [msg("attacker's line")])
    await stores.short_term.clear(au, ac)
    assert [m.content for m in await stores.short_term.window(vu, vc, 10)] == ["victim's secret"]


async def test_memory_bundle_cache_is_per_pair(stores: Container, pairs) -> None:  # type: ignore[no-untyped-def]
    (au, ac), (vu, vc) = pairs
    repo = stores.memory_repo
    assert repo is not None
    await repo.save([fact(vu, vc, "victim likes hotpot")])
    facts, _, _ = await repo.load(vu, vc)  # now cached in Redis
    assert [f.value for f in facts.values()] == ["victim likes hotpot"]
    facts, _, _ = await repo.load(au, ac)
    assert facts == {}
    await repo.delete_all(au, ac)
    facts, _, _ = await repo.load(vu, vc)
    assert [f.value for f in facts.values()] == ["victim likes hotpot"]


async def test_rate_limit_is_per_user(stores: Container) -> None:
    run = uuid.uuid4().hex[:8]
    limiter = stores.rate_limiter
    for _ in range(2):
        assert (await limiter.hit(f"user:{run}P}}", 2, 60)).allowed
    assert not (await limiter.hit(f"user:{run}P}}", 2, 60)).allowed
    for victim in [f"{run}P", f"{run}P}}x", f"{run}P:x"]:
        assert (await limiter.hit(f"user:{victim}", 2, 60)).allowed


# -- DynamoDB ---------------------------------------------------------------------------

async def test_message_log_is_per_pair(stores: Container, pairs) -> None:  # type: ignore[no-untyped-def]
    (au, ac), (vu, vc) = pairs
    log = stores.message_log
    await log.append(vu, vc, "s1", [msg("victim's turn")])
    assert await log.history(au, ac) == []
    assert await log.conversation(au, ac) is None
    await log.append(au, ac, "s2", [msg("attacker's turn")])
    assert await log.delete_conversation(au, ac) == 1
    assert [m.content for m in await log.history(vu, vc)] == ["victim's turn"]


async def test_memory_table_is_per_pair(stores: Container, pairs) -> None:  # type: ignore[no-untyped-def]
    (au, ac), (vu, vc) = pairs
    repo = stores.memory_repo
    assert repo is not None
    await repo.save([fact(vu, vc, "victim's birthday is in May")])
    items, _ = await repo.list_facts(au, ac)
    assert items == []
    await repo.save([fact(au, ac, "attacker's fact")])
    assert await repo.inner.delete_all(au, ac) == 1
    items, _ = await repo.list_facts(vu, vc)
    assert [f.value for f in items] == ["victim's birthday is in May"]


# -- OpenSearch -------------------------------------------------------------------------

async def test_index_is_per_pair(stores: Container, pairs) -> None:  # type: ignore[no-untyped-def]
    (au, ac), (vu, vc) = pairs
    index = stores.memory_index
    assert index is not None
    vector = [1.0] + [0.0] * (index.dim - 1)

    def doc(user: str, character: str, text: str) -> MemoryDoc:
        return MemoryDoc(memory_id=f"turn_{uuid.uuid4().hex}", user_id=user, character_id=character,
                         memory_type="turn", content=text, timestamp=time.time(), embedding=vector)

    await index.bulk_upsert([doc(vu, vc, "victim hotpot secret"), doc(au, ac, "attacker hotpot line")],
                            refresh=True)
    for search in (index.bm25_search(au, ac, "hotpot"), index.knn_search(au, ac, vector)):
        assert [h.content for h in await search] == ["attacker hotpot line"]
    await index.delete_for(au, ac, refresh=True)
    assert [h.content for h in await index.bm25_search(vu, vc, "hotpot")] == ["victim hotpot secret"]


# -- S3 ---------------------------------------------------------------------------------

async def test_archive_is_per_pair(stores: Container, pairs) -> None:  # type: ignore[no-untyped-def]
    (au, ac), (vu, vc) = pairs
    archive = builders.conversation_archive(stores.settings)  # the chat container has no archive
    assert archive is not None
    ts = time.time()
    await archive.put(archive_key(vu, vc, "s1", ts, 1, 2), {"owner": "victim"})
    await archive.put(archive_key(au, ac, "s1", ts, 1, 2), {"owner": "attacker"})
    assert [d["owner"] for d in await archive.session(au, ac, "s1", ts)] == ["attacker"]
    await archive.delete_for(au)  # every archive of the attacker, all characters
    assert [d["owner"] for d in await archive.session(vu, vc, "s1", ts)] == ["victim"]


# -- through the chat app ---------------------------------------------------------------

async def test_clearing_history_through_the_chat_app_is_per_pair(stores: Container,
                                                                 chat_http: httpx.AsyncClient) -> None:
    run = uuid.uuid4().hex[:8]
    (au, ac), (vu, vc) = (run + "P", "x:luna"), (run + "P:x", "luna")  # character ids the API accepts
    await stores.short_term.append(vu, vc, [msg("victim's window")])
    await stores.message_log.append(vu, vc, "s1", [msg("victim's logged turn")])

    def auth(user: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {issue_token(JWT_SECRET, user)}"}

    seen = await chat_http.get("/api/v1/chat/history", params={"character_id": ac}, headers=auth(au))
    assert seen.status_code == 200 and seen.json()["messages"] == []
    cleared = await chat_http.delete("/api/v1/chat/history", params={"character_id": ac}, headers=auth(au))
    assert cleared.status_code == 200 and cleared.json()["deleted_messages"] == 0
    assert [m.content for m in await stores.short_term.window(vu, vc, 10)] == ["victim's window"]
    kept = await chat_http.get("/api/v1/chat/history", params={"character_id": vc}, headers=auth(vu))
    assert [m["content"] for m in kept.json()["messages"]] == ["victim's logged turn"]
