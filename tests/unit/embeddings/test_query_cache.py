"""Query vectors are reused within a scope (the asking user), never across scopes; blank queries are shared."""

from __future__ import annotations

import pytest
from companion.embeddings import base
from companion.embeddings.base import Embedder, Kind


class CountingEmbedder(Embedder):
    name = "counting"
    dim = 3

    def __init__(self) -> None:
        self.seen: list[str] = []

    async def _embed(self, texts: list[str], kind: Kind) -> list[list[float]]:
        self.seen.extend(texts)
        return [[1.0, float(len(t)), float(sum(map(ord, t)) % 7)] for t in texts]


async def test_a_repeat_in_the_same_scope_is_not_embedded_again() -> None:
    emb = CountingEmbedder()
    first = await emb.embed_query("哈哈", scope="alice")
    again = await emb.embed_query("哈哈", scope="alice")
    assert again == first and emb.seen == ["哈哈"]


async def test_scopes_never_share_a_vector() -> None:
    emb = CountingEmbedder()
    await emb.embed_query("我想你了", scope="alice")
    await emb.embed_query("我想你了", scope="bob")
    assert emb.seen == ["我想你了", "我想你了"]


async def test_without_a_scope_every_query_is_embedded() -> None:
    emb = CountingEmbedder()
    await emb.embed_query("hello")
    await emb.embed_query("hello")
    assert emb.seen == ["hello", "hello"]


async def test_whitespace_is_collapsed_before_embedding_and_matching() -> None:
    emb = CountingEmbedder()
    a = await emb.embed_query("  good \n night ", scope="alice")
    b = await emb.embed_query("good night", scope="alice")
    assert a == b and emb.seen == ["good night"]


async def test_a_blank_query_is_embedded_once_for_everyone() -> None:
    emb = CountingEmbedder()
    vectors = [await emb.embed_query(text, scope=scope) for text, scope in [("", "alice"), (" \n", "bob"), ("", None)]]
    assert vectors[0] == vectors[1] == vectors[2] and emb.seen == [""]


async def test_the_cache_holds_a_bounded_number_of_vectors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(base, "QUERY_CACHE_SIZE", 2)
    emb = CountingEmbedder()
    for text in ("one", "two", "three"):
        await emb.embed_query(text, scope="alice")
    await emb.embed_query("three", scope="alice")  # still held
    await emb.embed_query("one", scope="alice")  # the oldest went
    assert emb.seen == ["one", "two", "three", "one"]


async def test_a_caller_changing_its_vector_does_not_change_the_next_one() -> None:
    emb = CountingEmbedder()
    vector = await emb.embed_query("ok", scope="alice")
    expected = list(vector)
    vector[0] = 42.0
    assert await emb.embed_query("ok", scope="alice") == expected
