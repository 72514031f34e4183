"""Malformed requests get OpenSearch-shaped 4xx errors, never a 500 or a Python traceback."""

from __future__ import annotations

import json
import urllib.request
from urllib.error import HTTPError

import pytest
from opensearchpy import OpenSearch, TransportError


def _raw(url: str, method: str, path: str, body: bytes | None) -> tuple[int, dict]:
    req = urllib.request.Request(url + path, data=body, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req) as resp:
            return resp.status, json.loads(resp.read())
    except HTTPError as err:
        return err.code, json.loads(err.read())


@pytest.fixture()
def vec_index(os_client: OpenSearch, index_name: str) -> str:
    os_client.indices.create(
        index=index_name,
        body={
            "settings": {"index.knn": True},
            "mappings": {
                "properties": {
                    "v": {"type": "knn_vector", "dimension": 3},
                    "t": {"type": "text"},
                    "n": {"type": "long"},
                }
            },
        },
    )
    os_client.index(index=index_name, id="1", body={"v": [1, 2, 3], "t": "hello", "n": 1}, refresh=True)
    return index_name


BAD_SEARCHES = [
    ({"query": {"nope": {}}}, "parsing_exception"),
    ({"query": {"match": {"t": "a"}, "term": {"t": "b"}}}, "parsing_exception"),
    ({"query": {"bool": {"must": "x"}}}, "parsing_exception"),
    ({"query": {"bool": {"shoud": []}}}, "parsing_exception"),
    ({"querry": {}}, "parsing_exception"),
    ({"size": -1}, "illegal_argument_exception"),
    ({"from": 9999, "size": 10}, "illegal_argument_exception"),
    ({"query": {"knn": {"v": {"vector": [1, 2], "k": 1}}}}, "illegal_argument_exception"),
    ({"query": {"knn": {"v": {"vector": [1, 2, 3]}}}}, "illegal_argument_exception"),
    ({"query": {"knn": {"v": {"vector": "abc", "k": 1}}}}, "parsing_exception"),
    ({"query": {"match_all": {}}, "sort": [{"t": "asc"}]}, "illegal_argument_exception"),
    ({"query": {"range": {"n": {"gte": "not-a-number"}}}}, "query_shard_exception"),
    ({"aggs": {"x": {"terms": {"field": "n"}}}}, "illegal_argument_exception"),
    ({"query": {"bool": {"must": [{"hybrid": {"queries": []}}]}}}, "parsing_exception"),
]


@pytest.mark.parametrize(("body", "error_type"), BAD_SEARCHES)
def test_bad_search_bodies(os_client: OpenSearch, vec_index: str, body: dict, error_type: str) -> None:
    with pytest.raises(TransportError) as err:
        os_client.search(index=vec_index, body=body)
    assert err.value.status_code == 400
    info = err.value.info
    assert info["status"] == 400
    assert info["error"]["type"] == error_type
    assert info["error"]["root_cause"][0]["type"] == error_type
    assert "Traceback" not in json.dumps(info)


def test_invalid_json_bodies(emulator_url: str, vec_index: str) -> None:
    for method, path in [("POST", f"/{vec_index}/_search"), ("PUT", f"/{vec_index}/_doc/9"), ("PUT", "/another-index")]:
        status, body = _raw(emulator_url, method, path, b'{"query": {')
        assert status == 400, path
        assert body["error"]["type"] == "x_content_parse_exception"


def test_malformed_bulk_is_rejected_whole(emulator_url: str, vec_index: str) -> None:
    status, body = _raw(emulator_url, "POST", "/_bulk", b'{"frobnicate": {"_index": "x"}}\n{}\n')
    assert status == 400 and body["error"]["type"] == "illegal_argument_exception"
    assert "Malformed action/metadata line [1]" in body["error"]["reason"]


def test_wrong_vector_dimension_is_mapper_parsing(os_client: OpenSearch, vec_index: str) -> None:
    with pytest.raises(TransportError) as err:
        os_client.index(index=vec_index, id="2", body={"v": [1, 2]})
    assert err.value.status_code == 400
    assert err.value.error == "mapper_parsing_exception"
    assert err.value.info["error"]["caused_by"]["reason"] == "Vector dimension mismatch. Expected: 3, Given: 2"


def test_bad_mapping_and_unknown_route(os_client: OpenSearch, emulator_url: str, index_name: str) -> None:
    with pytest.raises(TransportError) as err:
        os_client.indices.create(index=index_name, body={"mappings": {"properties": {"x": {"type": "nonsense"}}}})
    assert err.value.error == "mapper_parsing_exception"
    status, body = _raw(emulator_url, "GET", "/_no_such_api/x/y", None)
    assert status == 400 and "no handler found" in body["error"]
