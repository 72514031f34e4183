"""The memory API's OpenAPI spec (request bodies with examples) and its docs page, served without a CDN."""

from __future__ import annotations

import re
import sys
from typing import Any

import pytest
from companion.api.memory_api.app import create_app
from companion.api.memory_api.schemas import CharacterCard, CharacterIn, ItemPatch, RecallRequest
from pydantic import BaseModel
from starlette.testclient import TestClient

# (method, path, the model its body is parsed with, or documented by for a card): every route that takes JSON.
BODY_ROUTES: list[tuple[str, str, type[BaseModel]]] = [
    ("post", "/api/v1/memory/recall", RecallRequest),
    ("patch", "/api/v1/memory/items/{item_id}", ItemPatch),
    ("post", "/api/v1/characters", CharacterIn),
    ("post", "/api/v1/characters/import", CharacterCard),
    ("put", "/api/v1/characters/{character_id}", CharacterIn),
]


@pytest.fixture(scope="module")
def client() -> TestClient:
    return TestClient(create_app())  # the docs never build the container: no store is needed


@pytest.fixture(scope="module")
def spec(client: TestClient) -> dict[str, Any]:
    r = client.get("/openapi.json")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    return r.json()


def _resolve(spec: dict[str, Any], ref: str) -> dict[str, Any]:
    assert ref.startswith("#/components/schemas/"), ref
    return spec["components"]["schemas"][ref.rsplit("/", 1)[1]]


@pytest.mark.parametrize(("method", "path", "model"), BODY_ROUTES)
def test_every_body_is_declared_with_valid_examples_in_both_languages(spec: dict[str, Any], method: str, path: str,
                                                                     model: type[BaseModel]) -> None:
    body = spec["paths"][path][method]["requestBody"]
    assert body["required"] is True
    content = body["content"]["application/json"]
    schema = _resolve(spec, content["schema"]["$ref"])
    assert set(schema["properties"]) == set(model.model_fields)
    examples = content["examples"]
    texts = " ".join(str(e["value"]) for e in examples.values())
    assert re.search(r"[\u4e00-\u9fff]", texts) and re.search(r"[A-Za-z]{4,}", texts)  # Chinese and English
    for example in examples.values():
        model.model_validate(example["value"])  # an example the route would accept


def test_recall_and_patch_bodies_say_what_they_take(spec: dict[str, Any]) -> None:
    recall = _resolve(spec, spec["paths"]["/api/v1/memory/recall"]["post"]["requestBody"]["content"]
                      ["application/json"]["schema"]["$ref"])
    assert recall["required"] == ["character_id", "query"]
    assert recall["properties"]["top_k"]["maximum"] == 20 and recall["properties"]["top_k"]["default"] == 5
    patch = spec["paths"]["/api/v1/memory/items/{item_id}"]["patch"]
    examples = patch["requestBody"]["content"]["application/json"]["examples"]
    assert {"value": "设计师"} in [e["value"] for e in examples.values()]
    assert _resolve(spec, "#/components/schemas/ItemPatch")["additionalProperties"] is False
    # The errors of a body route are documented in the project's shape.
    assert {"400", "401", "415", "422"} <= set(patch["responses"])
    assert patch["responses"]["415"]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorBody")


def test_every_route_asks_for_the_bearer_token(spec: dict[str, Any]) -> None:
    assert spec["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    operations = [op for item in spec["paths"].values() for op in item.values()]
    assert operations and all(op.get("security") == [{"HTTPBearer": []}] for op in operations)


def test_the_docs_page_loads_only_local_assets(client: TestClient) -> None:
    r = client.get("/docs")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "http://" not in r.text and "https://" not in r.text  # nothing from a CDN
    assert "validatorUrl: null" in r.text  # the default badge would send the spec to validator.swagger.io
    assets = re.findall(r'(?:src|href)="([^"]+)"', r.text)
    assert "/docs/assets/swagger-ui-bundle.js" in assets and "/docs/assets/swagger-ui.css" in assets
    for asset in assets:
        got = client.get(asset)
        assert got.status_code == 200 and got.content, asset
    js = client.get("/docs/assets/swagger-ui-bundle.js")
    assert js.headers["content-type"].startswith("text/javascript") and b"SwaggerUIBundle" in js.content
    assert '"/openapi.json"' in r.text


def test_only_the_pages_assets_are_served(client: TestClient) -> None:
    for name in ("index.html", "swagger-initializer.js", "..%2F__init__.py", "swagger-ui-bundle.js.map"):
        r = client.get(f"/docs/assets/{name}")
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found", name


def test_without_swagger_ui_the_page_says_where_docs_are_and_the_spec_is_still_served(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "swagger_ui_bundle", None)  # as in the deployed layer: not installed
    client = TestClient(create_app())
    r = client.get("/docs")
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "docs_not_served" and "/openapi.json" in r.json()["error"]["message"]
    assert client.get("/docs/assets/swagger-ui.css").status_code == 404
    spec = client.get("/openapi.json")
    assert spec.status_code == 200 and "/api/v1/memory/recall" in spec.json()["paths"]


def test_the_card_routes_document_png_bodies_and_downloads(spec: dict[str, Any]) -> None:
    body = spec["paths"]["/api/v1/characters/import"]["post"]["requestBody"]
    assert body["content"]["image/png"]["schema"] == {"type": "string", "format": "binary"}
    assert "no multipart form" in body["description"] and "4 MiB" in body["description"]
    examples = body["content"]["application/json"]["examples"]
    assert {e["value"].get("spec") for e in examples.values()} == {"chara_card_v2", "chara_card_v3", None}
    export = spec["paths"]["/api/v1/characters/{character_id}/card"]["get"]
    params = {p["name"]: p["schema"] for p in export["parameters"] if p["in"] == "query"}
    assert params["spec"]["enum"] == ["chara_card_v2", "chara_card_v3"] and params["spec"]["default"] == "chara_card_v3"
    assert params["format"]["enum"] == ["json", "png"] and params["format"]["default"] == "json"
    assert set(export["responses"]["200"]["content"]) == {"application/json", "image/png"}
    assert "no_avatar" in export["responses"]["404"]["description"]
