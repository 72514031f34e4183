"""Index and document APIs through opensearch-py: response shapes, versions, refresh semantics."""

from __future__ import annotations

import pytest
from opensearchpy import ConflictError, NotFoundError, OpenSearch, RequestError, helpers


def _create(client: OpenSearch, name: str, **props: dict) -> None:
    client.indices.create(index=name, body={"mappings": {"properties": props}})


def test_create_exists_get_mapping_delete(os_client: OpenSearch, index_name: str) -> None:
    mappings = {"properties": {"user_id": {"type": "keyword"}, "content": {"type": "text", "analyzer": "cjk"}}}
    resp = os_client.indices.create(index=index_name, body={"settings": {"index.knn": True}, "mappings": mappings})
    assert resp == {"acknowledged": True, "shards_acknowledged": True, "index": index_name}
    assert os_client.indices.exists(index=index_name) is True
    assert os_client.indices.get_mapping(index=index_name)[index_name]["mappings"] == mappings
    settings = os_client.indices.get_settings(index=index_name)[index_name]["settings"]["index"]
    assert settings["knn"] == "true"
    assert os_client.indices.delete(index=index_name) == {"acknowledged": True}
    assert os_client.indices.exists(index=index_name) is False


def test_create_twice_is_resource_already_exists(os_client: OpenSearch, index_name: str) -> None:
    os_client.indices.create(index=index_name)
    with pytest.raises(RequestError) as err:
        os_client.indices.create(index=index_name)
    assert err.value.status_code == 400
    assert err.value.error == "resource_already_exists_exception"
    assert err.value.info["error"]["root_cause"][0]["index"] == index_name


def test_missing_index_errors(os_client: OpenSearch) -> None:
    with pytest.raises(NotFoundError) as err:
        os_client.search(index="no-such-index", body={"query": {"match_all": {}}})
    assert err.value.error == "index_not_found_exception"
    assert err.value.info["error"]["reason"] == "no such index [no-such-index]"
    with pytest.raises(NotFoundError):
        os_client.indices.delete(index="no-such-index")


def test_invalid_index_name(os_client: OpenSearch) -> None:
    with pytest.raises(RequestError) as err:
        os_client.indices.create(index="UpperCase")
    assert err.value.error == "invalid_index_name_exception"


def test_index_get_update_delete_versions(os_client: OpenSearch, index_name: str) -> None:
    _create(os_client, index_name, user_id={"type": "keyword"}, n={"type": "long"})
    created = os_client.index(index=index_name, id="a", body={"user_id": "u1", "n": 1})
    assert (created["result"], created["_version"], created["_seq_no"]) == ("created", 1, 0)
    updated = os_client.index(index=index_name, id="a", body={"user_id": "u1", "n": 2})
    assert (updated["result"], updated["_version"], updated["_seq_no"]) == ("updated", 2, 1)
    got = os_client.get(index=index_name, id="a")
    assert got["found"] is True and got["_source"] == {"user_id": "u1", "n": 2} and got["_version"] == 2

    partial = os_client.update(index=index_name, id="a", body={"doc": {"n": 3}})
    assert partial["result"] == "updated" and partial["_version"] == 3
    assert os_client.get(index=index_name, id="a")["_source"] == {"user_id": "u1", "n": 3}
    noop = os_client.update(index=index_name, id="a", body={"doc": {"n": 3}})
    assert noop["result"] == "noop" and noop["_version"] == 3

    deleted = os_client.delete(index=index_name, id="a")
    assert deleted["result"] == "deleted" and deleted["_version"] == 4
    with pytest.raises(NotFoundError) as err:
        os_client.get(index=index_name, id="a")
    assert err.value.info["found"] is False


def test_update_missing_document_and_upsert(os_client: OpenSearch, index_name: str) -> None:
    _create(os_client, index_name, n={"type": "long"})
    with pytest.raises(NotFoundError) as err:
        os_client.update(index=index_name, id="x", body={"doc": {"n": 1}})
    assert err.value.error == "document_missing_exception"
    resp = os_client.update(index=index_name, id="x", body={"doc": {"n": 1}, "doc_as_upsert": True})
    assert resp["result"] == "created"
    assert os_client.get(index=index_name, id="x")["_source"] == {"n": 1}


def test_op_type_create_on_existing_id_conflicts(os_client: OpenSearch, index_name: str) -> None:
    _create(os_client, index_name)
    os_client.index(index=index_name, id="1", body={"a": 1})
    with pytest.raises(ConflictError) as err:
        os_client.index(index=index_name, id="1", body={"a": 2}, op_type="create")
    assert err.value.status_code == 409
    assert err.value.error == "version_conflict_engine_exception"
    assert "document already exists" in err.value.info["error"]["reason"]
    with pytest.raises(ConflictError):
        os_client.create(index=index_name, id="1", body={"a": 3})


def test_optimistic_concurrency(os_client: OpenSearch, index_name: str) -> None:
    _create(os_client, index_name)
    first = os_client.index(index=index_name, id="1", body={"a": 1})
    os_client.index(index=index_name, id="1", body={"a": 2}, if_seq_no=first["_seq_no"], if_primary_term=1)
    with pytest.raises(ConflictError):
        os_client.index(index=index_name, id="1", body={"a": 3}, if_seq_no=first["_seq_no"], if_primary_term=1)


def test_documents_are_searchable_only_after_refresh(os_client: OpenSearch, index_name: str) -> None:
    os_client.indices.create(index=index_name, body={"settings": {"index.refresh_interval": "-1"}})
    os_client.index(index=index_name, id="1", body={"tag": "x"})
    assert os_client.get(index=index_name, id="1")["found"] is True  # GET is realtime
    assert os_client.count(index=index_name)["count"] == 0
    os_client.indices.refresh(index=index_name)
    assert os_client.count(index=index_name)["count"] == 1
    os_client.index(index=index_name, id="2", body={"tag": "y"}, refresh=True)
    assert os_client.count(index=index_name)["count"] == 2


def test_auto_id_routing_and_mget(os_client: OpenSearch, index_name: str) -> None:
    _create(os_client, index_name, user_id={"type": "keyword"})
    resp = os_client.index(index=index_name, body={"user_id": "u1"}, routing="u1", refresh=True)
    assert resp["result"] == "created" and len(resp["_id"]) >= 20
    got = os_client.get(index=index_name, id=resp["_id"], routing="u1")
    assert got["_routing"] == "u1"
    hits = os_client.search(index=index_name, body={"query": {"term": {"user_id": "u1"}}}, routing="u1")
    assert hits["hits"]["hits"][0]["_routing"] == "u1"
    docs = os_client.mget(index=index_name, body={"ids": [resp["_id"], "missing"]})["docs"]
    assert [d["found"] for d in docs] == [True, False]


def test_bulk_partial_failures(os_client: OpenSearch, index_name: str) -> None:
    os_client.indices.create(
        index=index_name,
        body={
            "settings": {"index.knn": True},
            "mappings": {"properties": {"v": {"type": "knn_vector", "dimension": 2}, "n": {"type": "long"}}},
        },
    )
    actions = [
        {"_index": index_name, "_id": "ok1", "_source": {"v": [1.0, 2.0], "n": 1}},
        {"_index": index_name, "_id": "bad-dim", "_source": {"v": [1.0, 2.0, 3.0]}},
        {"_index": index_name, "_id": "bad-num", "_source": {"n": "not a number"}},
        {"_op_type": "create", "_index": index_name, "_id": "ok1", "_source": {"n": 5}},
        {"_op_type": "update", "_index": index_name, "_id": "absent", "doc": {"n": 1}},
        {"_op_type": "delete", "_index": index_name, "_id": "ok1"},
        {"_index": index_name, "_id": "ok2", "_source": {"n": 2}},
    ]
    ok, errors = helpers.bulk(os_client, actions, raise_on_error=False, refresh=True)
    assert ok == 3
    by_id = {next(iter(e.values()))["_id"]: next(iter(e.values())) for e in errors}
    assert by_id["bad-dim"]["status"] == 400
    assert by_id["bad-dim"]["error"]["type"] == "mapper_parsing_exception"
    assert "Vector dimension mismatch" in by_id["bad-dim"]["error"]["caused_by"]["reason"]
    assert by_id["bad-num"]["error"]["type"] == "mapper_parsing_exception"
    assert by_id["ok1"]["status"] == 409
    assert by_id["ok1"]["error"]["type"] == "version_conflict_engine_exception"
    assert by_id["absent"]["status"] == 404
    assert by_id["absent"]["error"]["type"] == "document_missing_exception"
    remaining = os_client.search(index=index_name, body={"query": {"match_all": {}}})
    assert [h["_id"] for h in remaining["hits"]["hits"]] == ["ok2"]


def test_bulk_raw_response_shape(os_client: OpenSearch, index_name: str) -> None:
    body = (
        f'{{"index": {{"_index": "{index_name}", "_id": "1"}}}}\n{{"a": 1}}\n'
        f'{{"delete": {{"_index": "{index_name}", "_id": "nope"}}}}\n'
    )
    resp = os_client.bulk(body=body)
    assert resp["errors"] is False
    assert resp["items"][0]["index"]["status"] == 201 and resp["items"][0]["index"]["result"] == "created"
    assert resp["items"][1]["delete"]["status"] == 404 and resp["items"][1]["delete"]["result"] == "not_found"


def test_delete_by_query(os_client: OpenSearch, index_name: str) -> None:
    _create(os_client, index_name, user_id={"type": "keyword"})
    for i in range(5):
        os_client.index(index=index_name, id=str(i), body={"user_id": "a" if i < 3 else "b"})
    os_client.indices.refresh(index=index_name)
    resp = os_client.delete_by_query(index=index_name, body={"query": {"term": {"user_id": "a"}}}, refresh=True)
    assert resp["deleted"] == 3 and resp["failures"] == []
    assert os_client.count(index=index_name)["count"] == 2


def test_dynamic_mapping_text_with_keyword_subfield(os_client: OpenSearch, index_name: str) -> None:
    os_client.index(index=index_name, id="1", body={"title": "Hello World", "n": 3, "ok": True}, refresh=True)
    props = os_client.indices.get_mapping(index=index_name)[index_name]["mappings"]["properties"]
    assert props["title"]["type"] == "text" and props["title"]["fields"]["keyword"]["type"] == "keyword"
    assert props["n"]["type"] == "long" and props["ok"]["type"] == "boolean"
    hit = os_client.search(index=index_name, body={"query": {"term": {"title.keyword": "Hello World"}}})
    assert hit["hits"]["total"]["value"] == 1


def test_bulk_vectors_round_trip_exactly(os_client: OpenSearch, index_name: str) -> None:
    os_client.indices.create(
        index=index_name,
        body={
            "settings": {"index.knn": True},
            "mappings": {"properties": {"embedding": {"type": "knn_vector", "dimension": 3}}},
        },
    )
    sources = {
        "f": {"embedding": [0.1, -2.5e-7, 0.30000000000000004], "note": 'has "embedding": [1, 2] inside'},
        "i": {"embedding": [1, 2, 3]},
        "bad": {"embedding": [True, 2, 3]},
    }
    ok, errors = helpers.bulk(
        os_client,
        ({"_index": index_name, "_id": k, "_source": v} for k, v in sources.items()),
        raise_on_error=False,
        refresh=True,
    )
    assert ok == 2 and next(iter(errors[0].values()))["_id"] == "bad"
    for doc_id in ("f", "i"):
        source = os_client.get(index=index_name, id=doc_id)["_source"]
        assert source == sources[doc_id]
        assert [type(x) for x in source["embedding"]] == [type(x) for x in sources[doc_id]["embedding"]]
