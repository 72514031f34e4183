"""Recall's Redis cache of a user's profile/events/summaries: hits, invalidation on every write, no stale refill."""

from __future__ import annotations

from companion.adapters.dynamodb_memory import DynamoMemoryRepository, sort_key
from companion.adapters.redis_client import create_redis
from companion.adapters.redis_memory_cache import CachedMemoryRepository, _keys
from companion.bootstrap import Container

from infra.local.services import ManagedProcess

from .support import event, fact, summary


async def test_load_is_served_from_redis_until_a_write_invalidates_it(container: Container, user_id: str) -> None:
    repo = container.memory_repo
    assert isinstance(repo, CachedMemoryRepository)
    await repo.save(facts=[fact(user_id, "luna", "name", "Anna")])
    facts, _, _ = await repo.load(user_id, "luna")
    assert facts[("basic_info", "name")].value == "Anna"

    # Changed behind the cache's back (straight in DynamoDB): the cached bundle still answers.
    await repo.inner.save(facts=[fact(user_id, "luna", "name", "Anneliese")])
    facts, _, _ = await repo.load(user_id, "luna")
    assert facts[("basic_info", "name")].value == "Anna"

    # A write through the repository (worker, memory API) invalidates: the next load is fresh.
    await repo.save(events=[event(user_id, "luna", "moved to Berlin", date="2026-12-01")])
    facts, events, _ = await repo.load(user_id, "luna")
    assert facts[("basic_info", "name")].value == "Anneliese"
    assert [e.title for e in events] == ["moved to Berlin"]

    # Deleting an item is visible at once.
    await repo.delete_item(user_id, "luna", sort_key(facts[("basic_info", "name")]))
    facts, _, _ = await repo.load(user_id, "luna")
    assert ("basic_info", "name") not in facts


async def test_a_load_racing_a_write_does_not_put_stale_memories_back(container: Container, user_id: str) -> None:
    repo = container.memory_repo
    assert isinstance(repo, CachedMemoryRepository)
    gen_key, bundle_key = _keys(user_id, "luna")
    stale_gen = await container.redis.get(gen_key) or "0"
    await repo.invalidate(user_id, "luna")  # a write lands while a load was in flight
    stored = await repo._set(keys=[gen_key, bundle_key], args=[stale_gen, '{"gen": "stale"}', 60])
    assert stored == 0 and await container.redis.get(bundle_key) is None


async def test_redis_down_falls_back_to_dynamodb(container: Container, own_redis: ManagedProcess,
                                                 user_id: str) -> None:
    inner = container.memory_repo.inner if isinstance(container.memory_repo, CachedMemoryRepository) else None
    assert isinstance(inner, DynamoMemoryRepository)
    redis = create_redis(f"redis://127.0.0.1:{own_redis.port}/0", timeout_s=0.2)
    repo = CachedMemoryRepository(inner, redis)
    await repo.save(facts=[fact(user_id, "luna", "city", "Berlin")])
    own_redis.stop()
    await repo.save(facts=[fact(user_id, "luna", "city", "Munich")])  # invalidation fails quietly
    facts, _, _ = await repo.load(user_id, "luna")
    assert facts[("basic_info", "city")].value == "Munich"
    await redis.aclose()


async def test_the_bundle_keeps_the_newest_summaries_only(container: Container, user_id: str) -> None:
    """Months of summaries do not all ride along on every turn: the newest N do (search finds the rest)."""
    assert isinstance(container.memory_repo, CachedMemoryRepository)
    repo = CachedMemoryRepository(container.memory_repo.inner, container.redis, recall_summaries=3)
    for age in (9, 1, 7, 3, 5):
        await repo.save(summary=summary(user_id, "luna", f"talked {age} days ago", age_days=age))
    await repo.save(facts=[fact(user_id, "luna", "name", "Anna")])
    facts, _, recent = await repo.load(user_id, "luna")
    assert sorted(s.summary for s in recent) == ["talked 1 days ago", "talked 3 days ago", "talked 5 days ago"]
    assert ("basic_info", "name") in facts
    _, _, cached = await repo.load(user_id, "luna")  # the same from Redis
    assert sorted(s.summary_id for s in cached) == sorted(s.summary_id for s in recent)
    _, _, every = await repo.load(user_id, "luna", summaries=True)  # the memory API's full read
    assert len(every) == 5
