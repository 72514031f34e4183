"""Property: k-NN with a filter equals brute force over the filtered documents."""

from __future__ import annotations

import uuid

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opensearchpy import OpenSearch, helpers


def _score(space: str, x: np.ndarray, q: np.ndarray) -> float:
    if space == "innerproduct":
        ip = float(x @ q)
        return 1 + ip if ip >= 0 else 1 / (1 - ip)
    if space == "cosinesimil":
        return (1 + float(x @ q) / (np.linalg.norm(x) * np.linalg.norm(q))) / 2
    return 1 / (1 + float(((x - q) ** 2).sum()))


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    n_docs=st.integers(1, 60),
    n_users=st.integers(1, 4),
    k=st.integers(1, 12),
    space=st.sampled_from(["innerproduct", "cosinesimil", "l2"]),
    seed=st.integers(0, 2**31 - 1),
)
def test_filtered_knn_equals_brute_force(
    os_client: OpenSearch, n_docs: int, n_users: int, k: int, space: str, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    dim = 8
    vectors = rng.normal(size=(n_docs, dim)).round(3)
    vectors[np.linalg.norm(vectors, axis=1) == 0] = 1.0
    users = [f"u{int(u)}" for u in rng.integers(0, n_users, size=n_docs)]
    name = f"prop-{uuid.uuid4().hex[:10]}"
    os_client.indices.create(
        index=name,
        body={
            "settings": {"index.knn": True},
            "mappings": {
                "properties": {
                    "emb": {
                        "type": "knn_vector",
                        "dimension": dim,
                        "method": {"name": "hnsw", "engine": "faiss", "space_type": space},
                    },
                    "user_id": {"type": "keyword"},
                }
            },
        },
    )
    try:
        helpers.bulk(
            os_client,
            (
                {"_index": name, "_id": str(i), "_source": {"emb": vectors[i].tolist(), "user_id": users[i]}}
                for i in range(n_docs)
            ),
            refresh=True,
        )
        query = rng.normal(size=dim).round(3)
        if not query.any():
            query[0] = 1.0
        target = users[0]
        resp = os_client.search(
            index=name,
            body={
                "size": 100,
                "query": {"knn": {"emb": {"vector": query.tolist(), "k": k, "filter": {"term": {"user_id": target}}}}},
            },
        )
        eligible = [i for i in range(n_docs) if users[i] == target]
        expected = {str(i): _score(space, vectors[i], query) for i in eligible}
        best = sorted(expected.values(), reverse=True)[: min(k, len(eligible))]
        hits = resp["hits"]["hits"]
        assert len(hits) == min(k, len(eligible))
        assert all(h["_id"] in expected for h in hits)
        got = [h["_score"] for h in hits]
        np.testing.assert_allclose(got, best, rtol=1e-5)
        for h in hits:
            np.testing.assert_allclose(h["_score"], expected[h["_id"]], rtol=1e-5)
    finally:
        os_client.indices.delete(index=name)
