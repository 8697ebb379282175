"""The OpenAPI document: generated from the route tables, valid 3.1, exactly the served routes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from infra.http_routes import Operation, Reply
from streams.settings import StreamSettings
from tests.web_twins import twin_deps
from web.app import ALL_OPERATIONS, create_app
from web.bootstrap import build_web_deps
from web.openapi import docs_html, document, mounted_routes

SETTINGS = StreamSettings.from_env({"C360_ENV": "dev", "C360_REDIS_URL": "redis://127.0.0.1:1"})


def _served() -> web.Application:
    """The app as web.service builds it: real deps (building them opens no connection)."""
    return create_app(SETTINGS, build_web_deps(SETTINGS, {"C360_ENV": "dev"}))


def _coverage(app: web.Application, ops: tuple[Operation, ...]) -> tuple[set, set]:
    """(served but not declared, declared but not served)."""
    served, declared = set(mounted_routes(app)), {op.key for op in ops}
    return served - declared, declared - served


def test_every_served_route_is_declared_and_every_declared_one_served():
    """The router of the real app and the route tables name the same (method, path) pairs;
    the document lists exactly them."""
    app = _served()
    assert _coverage(app, ALL_OPERATIONS) == (set(), set())
    routes = set(mounted_routes(app))
    assert {("GET", "/health"), ("GET", "/ready"), ("POST", "/v1/ingest/{source}")} <= routes
    doc = document(ALL_OPERATIONS)
    assert {(m.upper(), p) for p, ops in doc["paths"].items() for m in ops} == routes


def test_a_route_without_a_declaration_is_caught():
    """A route added to the router but to no table fails the coverage check (so a new
    route cannot ship undocumented); a declaration without a route does too."""
    app = _served()
    app.router.add_put("/v1/new-thing", lambda _r: web.Response())
    ghost = Operation("GET", "/v1/ghost", "Nothing serves this", "x", {200: Reply("ok")})
    assert _coverage(app, (*ALL_OPERATIONS, ghost)) == (
        {("PUT", "/v1/new-thing")},
        {("GET", "/v1/ghost")},
    )


def test_an_operation_declared_twice_is_refused():
    """Two tables declaring one (method, path) is a mistake, not a merge."""
    with pytest.raises(ValueError, match="declared twice"):
        document((*ALL_OPERATIONS, replace(ALL_OPERATIONS[0], summary="again")))


def test_the_document_is_valid_openapi_3_1():
    """openapi-spec-validator accepts the document; components come from the models."""
    validator = pytest.importorskip("openapi_spec_validator")
    doc = document(ALL_OPERATIONS)
    assert doc["openapi"] == "3.1.0"
    validator.validate(doc)
    schemas = doc["components"]["schemas"]
    assert {"Timeline", "TimelineItem", "Insights", "Journey", "Interaction", "Error"} <= set(
        schemas
    )
    timeline = doc["paths"]["/v1/timeline"]["get"]
    assert timeline["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Timeline"
    }
    params = {p["name"]: p for p in timeline["parameters"]}
    assert params["identifier"]["required"] is True
    assert params["limit"]["schema"] == {"type": "integer", "minimum": 1, "maximum": 200}
    assert doc["paths"]["/v1/ingest/{source}"]["post"]["security"] == [
        {"bearer": []},
        {"c360Signature": []},
        {"twilioSignature": []},
    ]


def test_docs_page_lists_every_operation_offline():
    """/docs is plain HTML (no external script or stylesheet) naming every operation."""
    doc = document(ALL_OPERATIONS)
    page = docs_html(doc)
    for path, ops in doc["paths"].items():
        for method in ops:
            assert f"{method.upper()} {path}" in page.replace("&#x27;", "'")
    assert "<script" not in page and "http://" not in page and "https://" not in page


@pytest.fixture
async def http() -> AsyncIterator[TestClient[web.Request, web.Application]]:
    """create_app on twins (no Redis, no broker)."""
    async with TestClient(TestServer(create_app(SETTINGS, twin_deps()))) as client:
        yield client


async def test_the_served_document_and_docs_page(http):
    """/openapi.json is the generated document (valid); /docs renders it."""
    validator = pytest.importorskip("openapi_spec_validator")
    resp = await http.get("/openapi.json")
    assert resp.status == 200
    served = await resp.json()
    assert served == document(ALL_OPERATIONS)
    validator.validate(served)
    page = await http.get("/docs")
    assert page.status == 200
    assert page.content_type == "text/html"
    assert "GET /v1/timeline" in await page.text()
