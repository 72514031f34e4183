"""Hybrid query with a normalization-processor search pipeline (neural-search documentation semantics)."""

from __future__ import annotations

import pytest
from opensearchpy import OpenSearch, TransportError


@pytest.fixture()
def hybrid_index(os_client: OpenSearch, index_name: str) -> str:
    os_client.indices.create(
        index=index_name,
        body={
            "settings": {"index.knn": True},
            "mappings": {
                "properties": {
                    "text": {"type": "text"},
                    "emb": {
                        "type": "knn_vector",
                        "dimension": 2,
                        "method": {"name": "hnsw", "engine": "faiss", "space_type": "l2"},
                    },
                }
            },
        },
    )
    docs = [
        ("1", "the red apple", [1.0, 0.0]),
        ("2", "a green apple pie", [0.0, 1.0]),
        ("3", "red wine", [0.9, 0.1]),
        ("4", "blue sky", [0.5, 0.5]),
    ]
    for doc_id, text, emb in docs:
        os_client.index(index=index_name, id=doc_id, body={"text": text, "emb": emb})
    os_client.indices.refresh(index=index_name)
    return index_name


def _min_max(scores: dict[str, float]) -> dict[str, float]:
    lo, hi = min(scores.values()), max(scores.values())
    if hi == lo:
        return dict.fromkeys(scores, 1.0)
    return {k: ((v - lo) / (hi - lo)) or 0.001 for k, v in scores.items()}


def test_hybrid_min_max_arithmetic_mean(os_client: OpenSearch, hybrid_index: str) -> None:
    os_client.transport.perform_request(
        "PUT",
        "/_search/pipeline/nlp-test",
        body={
            "description": "hybrid",
            "phase_results_processors": [
                {
                    "normalization-processor": {
                        "normalization": {"technique": "min_max"},
                        "combination": {"technique": "arithmetic_mean", "parameters": {"weights": [0.3, 0.7]}},
                    }
                }
            ],
        },
    )
    lexical = {"match": {"text": "red apple"}}
    vector = {"knn": {"emb": {"vector": [1.0, 0.0], "k": 3}}}

    def scores(q: dict) -> dict[str, float]:
        hits = os_client.search(index=hybrid_index, body={"query": q})["hits"]["hits"]
        return {h["_id"]: h["_score"] for h in hits}

    lex, vec = _min_max(scores(lexical)), _min_max(scores(vector))
    expected = {d: (0.3 * lex.get(d, 0.0) + 0.7 * vec.get(d, 0.0)) / 1.0 for d in set(lex) | set(vec)}
    resp = os_client.search(
        index=hybrid_index,
        params={"search_pipeline": "nlp-test"},
        body={"query": {"hybrid": {"queries": [lexical, vector]}}},
    )
    got = {h["_id"]: h["_score"] for h in resp["hits"]["hits"]}
    assert got.keys() == expected.keys()
    for doc_id, value in expected.items():
        assert got[doc_id] == pytest.approx(value, rel=1e-5)
    order = [h["_id"] for h in resp["hits"]["hits"]]
    assert order == sorted(order, key=lambda d: -expected[d])
    assert resp["hits"]["total"]["value"] == len(expected)


def test_hybrid_l2_normalization(os_client: OpenSearch, hybrid_index: str) -> None:
    os_client.transport.perform_request(
        "PUT",
        "/_search/pipeline/nlp-l2",
        body={
            "phase_results_processors": [
                {
                    "normalization-processor": {
                        "normalization": {"technique": "l2"},
                        "combination": {"technique": "arithmetic_mean"},
                    }
                }
            ]
        },
    )
    q = {"match": {"text": "apple"}}
    raw = {h["_id"]: h["_score"] for h in os_client.search(index=hybrid_index, body={"query": q})["hits"]["hits"]}
    norm = sum(v * v for v in raw.values()) ** 0.5
    resp = os_client.search(
        index=hybrid_index,
        params={"search_pipeline": "nlp-l2"},
        body={"query": {"hybrid": {"queries": [q, {"match_none": {}}]}}},
    )
    got = {h["_id"]: h["_score"] for h in resp["hits"]["hits"]}
    assert got == pytest.approx({k: (v / norm) / 2 for k, v in raw.items()}, rel=1e-5)


def test_hybrid_requires_pipeline_and_valid_weights(os_client: OpenSearch, hybrid_index: str) -> None:
    with pytest.raises(TransportError) as err:
        os_client.search(index=hybrid_index, body={"query": {"hybrid": {"queries": [{"match_all": {}}]}}})
    assert err.value.status_code == 400
    with pytest.raises(TransportError) as err:
        os_client.transport.perform_request(
            "PUT",
            "/_search/pipeline/bad",
            body={
                "phase_results_processors": [
                    {
                        "normalization-processor": {
                            "combination": {"technique": "arithmetic_mean", "parameters": {"weights": [0.3, 0.3]}}
                        }
                    }
                ]
            },
        )
    assert err.value.status_code == 400
