"""Scores and ordering as the OpenSearch / k-NN / Lucene documentation define them, via opensearch-py.

Expected values are computed here from the documented formulas, not taken from the emulator.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest
from opensearchpy import OpenSearch

K1, B = 1.2, 0.75


def bm25(tf: float, dl: float, avgdl: float, n_docs: int, doc_freq: int) -> float:
    """OpenSearch's BM25: idf * (k1 + 1) * tf / (tf + k1 * (1 - b + b * dl / avgdl))."""
    idf = math.log(1 + (n_docs - doc_freq + 0.5) / (doc_freq + 0.5))
    return idf * (K1 + 1) * tf / (tf + K1 * (1 - B + B * dl / avgdl))


def _scores(resp: dict) -> dict[str, float]:
    return {h["_id"]: h["_score"] for h in resp["hits"]["hits"]}


@pytest.fixture()
def text_index(os_client: OpenSearch, index_name: str) -> str:
    os_client.indices.create(
        index=index_name,
        body={
            "mappings": {
                "properties": {
                    "body": {"type": "text"},
                    "tag": {"type": "keyword"},
                    "zh": {"type": "text", "analyzer": "cjk"},
                }
            }
        },
    )
    docs = {
        "1": {"body": "the quick brown fox", "tag": "a", "zh": "我最喜欢吃火锅"},
        "2": {"body": "the lazy dog sleeps all day long", "tag": "a", "zh": "今天天气很好"},
        "3": {"body": "quick quick quick fox jumps", "tag": "b", "zh": "火锅店在哪里"},
        "4": {"body": "a dog and a fox", "tag": "b", "zh": "我们去散步吧"},
    }
    for doc_id, doc in docs.items():
        os_client.index(index=index_name, id=doc_id, body=doc)
    os_client.indices.refresh(index=index_name)
    return index_name


def test_bm25_single_term_matches_formula(os_client: OpenSearch, text_index: str) -> None:
    resp = os_client.search(index=text_index, body={"query": {"match": {"body": "quick"}}})
    lengths = {"1": 4, "2": 7, "3": 5, "4": 5}  # standard analyzer keeps stop words
    avgdl = sum(lengths.values()) / 4
    expected = {"1": bm25(1, 4, avgdl, 4, 2), "3": bm25(3, 5, avgdl, 4, 2)}
    got = _scores(resp)
    assert got.keys() == expected.keys()
    for doc_id, score in expected.items():
        assert got[doc_id] == pytest.approx(score, rel=1e-5)
    assert [h["_id"] for h in resp["hits"]["hits"]] == ["3", "1"]
    assert resp["hits"]["max_score"] == pytest.approx(expected["3"], rel=1e-5)


def test_bm25_or_query_sums_term_scores(os_client: OpenSearch, text_index: str) -> None:
    lengths = {"1": 4, "2": 7, "3": 5, "4": 5}
    avgdl = sum(lengths.values()) / 4
    got = _scores(os_client.search(index=text_index, body={"query": {"match": {"body": "fox dog"}}}))
    fox_df, dog_df = 3, 2
    expected_4 = bm25(1, 5, avgdl, 4, fox_df) + bm25(1, 5, avgdl, 4, dog_df)
    assert got["4"] == pytest.approx(expected_4, rel=1e-5)
    assert got["2"] == pytest.approx(bm25(1, 7, avgdl, 4, dog_df), rel=1e-5)
    both = os_client.search(
        index=text_index, body={"query": {"match": {"body": {"query": "fox dog", "operator": "and"}}}}
    )
    assert [h["_id"] for h in both["hits"]["hits"]] == ["4"]


def test_bm25_uses_lucene_length_norm_quantization(os_client: OpenSearch, index_name: str) -> None:
    """Lucene stores field length in one byte (SmallFloat.intToByte4): a 100-token field counts as 96."""
    os_client.indices.create(index=index_name, body={"mappings": {"properties": {"t": {"type": "text"}}}})
    long_doc = "target " + " ".join(f"w{i}" for i in range(99))  # 100 tokens
    os_client.index(index=index_name, id="long", body={"t": long_doc})
    os_client.index(index=index_name, id="short", body={"t": "target x"})
    os_client.indices.refresh(index=index_name)
    got = _scores(os_client.search(index=index_name, body={"query": {"match": {"t": "target"}}}))
    avgdl = (100 + 2) / 2  # avgdl is exact (sumTotalTermFreq / docCount)
    assert got["long"] == pytest.approx(bm25(1, 96, avgdl, 2, 2), rel=1e-5)
    assert got["long"] != pytest.approx(bm25(1, 100, avgdl, 2, 2), rel=1e-5)
    assert got["short"] == pytest.approx(bm25(1, 2, avgdl, 2, 2), rel=1e-5)


def test_cjk_text_found_by_bm25(os_client: OpenSearch, text_index: str) -> None:
    resp = os_client.search(index=text_index, body={"query": {"match": {"zh": "火锅"}}})
    assert {h["_id"] for h in resp["hits"]["hits"]} == {"1", "3"}
    # cjk bigrams: 我最 最喜 喜欢 欢吃 吃火 火锅 (6) and 火锅 锅店 店在 在哪 哪里 (5); "火锅" is one term.
    avgdl = (6 + 5 + 5 + 5) / 4  # 今天 天天 天气 气很 很好 = 5, 我们 们去 去散 散步 步吧 = 5
    got = _scores(resp)
    assert got["1"] == pytest.approx(bm25(1, 6, avgdl, 4, 2), rel=1e-5)
    assert got["3"] == pytest.approx(bm25(1, 5, avgdl, 4, 2), rel=1e-5)


def test_cjk_with_standard_analyzer_unigrams(os_client: OpenSearch, index_name: str) -> None:
    os_client.indices.create(index=index_name, body={"mappings": {"properties": {"c": {"type": "text"}}}})
    os_client.index(index=index_name, id="1", body={"c": "我最喜欢吃火锅"}, refresh=True)
    os_client.index(index=index_name, id="2", body={"c": "锅里有水"}, refresh=True)
    resp = os_client.search(index=index_name, body={"query": {"match": {"c": "火锅"}}})
    assert [h["_id"] for h in resp["hits"]["hits"]] == ["1", "2"]  # 火 + 锅 beats 锅 alone


def test_bool_scoring_must_plus_should_filter_unscored(os_client: OpenSearch, text_index: str) -> None:
    def score_of(query: dict, doc_id: str) -> float:
        return _scores(os_client.search(index=text_index, body={"query": query}))[doc_id]

    must = {"match": {"body": "fox"}}
    should = {"match": {"body": "quick"}}
    combined = {"bool": {"must": [must], "should": [should], "filter": [{"term": {"tag": "b"}}]}}
    got = _scores(os_client.search(index=text_index, body={"query": combined}))
    assert set(got) == {"3", "4"}
    assert got["3"] == pytest.approx(score_of(must, "3") + score_of(should, "3"), rel=1e-6)
    assert got["4"] == pytest.approx(score_of(must, "4"), rel=1e-6)
    only_filter = _scores(os_client.search(index=text_index, body={"query": {"bool": {"filter": [must]}}}))
    assert set(only_filter.values()) == {0.0}
    negated = _scores(
        os_client.search(
            index=text_index, body={"query": {"bool": {"must": [must], "must_not": [{"term": {"tag": "b"}}]}}}
        )
    )
    assert set(negated) == {"1"}


def test_bool_minimum_should_match(os_client: OpenSearch, text_index: str) -> None:
    q = {
        "bool": {
            "should": [{"match": {"body": "quick"}}, {"match": {"body": "fox"}}, {"match": {"body": "dog"}}],
            "minimum_should_match": 2,
        }
    }
    assert set(_scores(os_client.search(index=text_index, body={"query": q}))) == {"1", "3", "4"}


@pytest.mark.parametrize(
    ("space", "formula"),
    [
        ("l2", lambda x, y: 1 / (1 + sum((a - b) ** 2 for a, b in zip(x, y, strict=True)))),
        (
            "innerproduct",
            lambda x, y: (lambda ip: 1 + ip if ip >= 0 else 1 / (1 - ip))(
                sum(a * b for a, b in zip(x, y, strict=True))
            ),
        ),
        (
            "cosinesimil",
            lambda x, y: (2 - (1 - sum(a * b for a, b in zip(x, y, strict=True)) / (math.hypot(*x) * math.hypot(*y))))
            / 2,
        ),
    ],
)
def test_knn_score_per_space_type(os_client: OpenSearch, index_name: str, space: str, formula: object) -> None:
    os_client.indices.create(
        index=index_name,
        body={
            "settings": {"index": {"knn": True}},
            "mappings": {
                "properties": {
                    "v": {
                        "type": "knn_vector",
                        "dimension": 2,
                        "method": {"name": "hnsw", "engine": "faiss", "space_type": space},
                    }
                }
            },
        },
    )
    # The k-NN documentation's example vectors.
    vectors = {"1": [1.5, 2.5], "2": [2.5, 3.5], "3": [3.5, 4.5], "4": [5.5, 6.5], "5": [4.5, 5.5], "6": [-1.0, -2.0]}
    for doc_id, vec in vectors.items():
        os_client.index(index=index_name, id=doc_id, body={"v": vec})
    os_client.indices.refresh(index=index_name)
    query = [2.0, 3.0]
    resp = os_client.search(index=index_name, body={"size": 10, "query": {"knn": {"v": {"vector": query, "k": 3}}}})
    expected = {i: formula(v, query) for i, v in vectors.items()}  # type: ignore[operator]
    best3 = sorted(expected, key=lambda i: (-expected[i], int(i)))[:3]
    assert [h["_id"] for h in resp["hits"]["hits"]] == best3
    for hit in resp["hits"]["hits"]:
        assert hit["_score"] == pytest.approx(expected[hit["_id"]], rel=1e-6)
    assert resp["hits"]["total"]["value"] == 3


def test_knn_filter_returns_top_k_of_filtered_set(os_client: OpenSearch, index_name: str) -> None:
    """Efficient filtering: k results among the documents matching the filter (k-NN docs, hotels example)."""
    os_client.indices.create(
        index=index_name,
        body={
            "settings": {"index": {"knn": True}},
            "mappings": {
                "properties": {
                    "location": {
                        "type": "knn_vector",
                        "dimension": 2,
                        "method": {"name": "hnsw", "engine": "lucene", "space_type": "l2"},
                    },
                    "parking": {"type": "boolean"},
                    "rating": {"type": "integer"},
                }
            },
        },
    )
    hotels = [
        ([5.2, 4.4], True, 5),
        ([5.2, 3.9], False, 4),
        ([4.9, 3.4], True, 9),
        ([4.2, 4.6], False, 6),
        ([3.3, 4.5], True, 8),
        ([6.4, 3.4], True, 9),
        ([4.2, 6.2], True, 5),
        ([2.4, 4.0], True, 8),
        ([1.4, 3.2], False, 5),
        ([7.0, 9.9], True, 9),
        ([3.0, 2.3], False, 6),
        ([5.0, 1.0], True, 3),
    ]
    for i, (loc, parking, rating) in enumerate(hotels, start=1):
        os_client.index(index=index_name, id=str(i), body={"location": loc, "parking": parking, "rating": rating})
    os_client.indices.refresh(index=index_name)
    filt = {"bool": {"must": [{"range": {"rating": {"gte": 8, "lte": 10}}}, {"term": {"parking": "true"}}]}}
    resp = os_client.search(
        index=index_name, body={"size": 3, "query": {"knn": {"location": {"vector": [5, 4], "k": 3, "filter": filt}}}}
    )
    eligible = {str(i): loc for i, (loc, p, r) in enumerate(hotels, start=1) if p and 8 <= r <= 10}
    dist = {i: (v[0] - 5) ** 2 + (v[1] - 4) ** 2 for i, v in eligible.items()}
    expected = sorted(dist, key=lambda i: (dist[i], int(i)))[:3]
    assert [h["_id"] for h in resp["hits"]["hits"]] == expected
    # A bool filter around the knn clause post-filters the k nearest instead (fewer than k may remain).
    post = os_client.search(
        index=index_name,
        body={"query": {"bool": {"must": [{"knn": {"location": {"vector": [5, 4], "k": 3}}}], "filter": [filt]}}},
    )
    all_dist = {str(i): (v[0] - 5) ** 2 + (v[1] - 4) ** 2 for i, (v, _, _) in enumerate(hotels, start=1)}
    top3 = sorted(all_dist, key=lambda i: (all_dist[i], int(i)))[:3]
    assert [h["_id"] for h in post["hits"]["hits"]] == [i for i in top3 if i in eligible]


def test_knn_min_score_radial_search(os_client: OpenSearch, index_name: str) -> None:
    os_client.indices.create(
        index=index_name,
        body={
            "settings": {"index.knn": True},
            "mappings": {
                "properties": {
                    "v": {
                        "type": "knn_vector",
                        "dimension": 2,
                        "method": {"name": "hnsw", "engine": "faiss", "space_type": "l2"},
                    }
                }
            },
        },
    )
    for i, v in enumerate([[0, 0], [1, 0], [3, 0]]):
        os_client.index(index=index_name, id=str(i), body={"v": v})
    os_client.indices.refresh(index=index_name)
    resp = os_client.search(index=index_name, body={"query": {"knn": {"v": {"vector": [0, 0], "min_score": 0.5}}}})
    assert [h["_id"] for h in resp["hits"]["hits"]] == ["0", "1"]  # scores 1.0 and 0.5; 0.1 excluded


def test_sort_source_filter_paging_and_total(os_client: OpenSearch, index_name: str) -> None:
    os_client.indices.create(
        index=index_name,
        body={
            "mappings": {
                "properties": {
                    "n": {"type": "long"},
                    "d": {"type": "date"},
                    "k": {"type": "keyword"},
                    "t": {"type": "text"},
                }
            }
        },
    )
    for i in range(12):
        body = {"n": i % 4, "d": f"2024-01-{i + 1:02d}", "k": f"k{i:02d}", "t": "x", "secret": "s"}
        os_client.index(index=index_name, id=str(i), body=body)
    os_client.index(index=index_name, id="nodate", body={"k": "zz"})
    os_client.indices.refresh(index=index_name)
    resp = os_client.search(
        index=index_name,
        body={
            "sort": [{"n": "desc"}, {"d": {"order": "asc"}}],
            "size": 4,
            "from": 1,
            "_source": {"includes": ["n", "d"], "excludes": ["secret"]},
            "track_total_hits": True,
        },
    )
    hits = resp["hits"]["hits"]
    assert resp["hits"]["total"] == {"value": 13, "relation": "eq"} and resp["hits"]["max_score"] is None
    assert [h["_id"] for h in hits] == ["7", "11", "2", "6"]
    assert (
        hits[0]["sort"] == [3, int(datetime(2024, 1, 8, tzinfo=UTC).timestamp() * 1000)] and hits[0]["_score"] is None
    )
    assert hits[0]["_source"] == {"n": 3, "d": "2024-01-08"}
    last = os_client.search(index=index_name, body={"sort": [{"d": "desc"}], "size": 13})["hits"]["hits"]
    assert last[-1]["_id"] == "nodate"  # missing values sort last
    capped = os_client.search(index=index_name, body={"track_total_hits": 5, "size": 0})
    assert capped["hits"]["total"] == {"value": 5, "relation": "gte"}
    ranged = os_client.count(
        index=index_name, body={"query": {"range": {"d": {"gte": "2024-01-03", "lt": "2024-01-05"}}}}
    )
    assert ranged["count"] == 2


def test_terms_ids_exists_multi_match(os_client: OpenSearch, text_index: str) -> None:
    def ids(query: dict) -> set[str]:
        return {h["_id"] for h in os_client.search(index=text_index, body={"query": query})["hits"]["hits"]}

    assert ids({"terms": {"tag": ["b", "zzz"]}}) == {"3", "4"}
    assert ids({"ids": {"values": ["1", "4", "nope"]}}) == {"1", "4"}
    assert ids({"exists": {"field": "zh"}}) == {"1", "2", "3", "4"}
    assert ids({"multi_match": {"query": "火锅 lazy", "fields": ["body", "zh"]}}) == {"1", "2", "3"}
