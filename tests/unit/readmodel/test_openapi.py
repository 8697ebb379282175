"""The OpenAPI document: every route of the HTTP service described, valid OpenAPI 3.1."""

from __future__ import annotations

import pytest

from streams.settings import StreamSettings
from web.openapi import docs_html, spec
from web.read_routes import mounted_routes
from web.service import build_app


def _service_routes() -> list[tuple[str, str]]:
    """(method, path) of every route web.service serves (building the app opens no connection)."""
    settings = StreamSettings.from_env({"C360_ENV": "dev", "C360_REDIS_URL": "redis://127.0.0.1:1"})
    return mounted_routes(build_app(settings))


def test_every_route_of_the_service_is_described():
    """Health, readiness, ingest, desktop and read routes all have a real operation."""
    routes = _service_routes()
    assert {("GET", "/health"), ("GET", "/ready"), ("POST", "/v1/ingest/{source}")} <= set(routes)
    doc = spec(routes)
    listed = {(m.upper(), p) for p, ops in doc["paths"].items() for m in ops}
    assert listed == set(routes)
    undocumented = [
        (m, p)
        for p, ops in doc["paths"].items()
        for m, op in ops.items()
        if "undocumented" in op["tags"]
    ]
    assert undocumented == []


def test_a_route_nobody_described_still_appears():
    """A mounted route without a description is listed (flagged), never silently missing."""
    doc = spec([("GET", "/v1/timeline"), ("PUT", "/v1/new-thing")])
    assert set(doc["paths"]) == {"/v1/timeline", "/v1/new-thing"}
    assert doc["paths"]["/v1/new-thing"]["put"]["tags"] == ["undocumented"]


@pytest.mark.parametrize("mounted", [None, "service"])
def test_the_document_is_valid_openapi_3_1(mounted):
    """openapi-spec-validator accepts the full document and the one of the running service."""
    validator = pytest.importorskip("openapi_spec_validator")
    doc = spec(_service_routes() if mounted else None)
    assert doc["openapi"] == "3.1.0"
    validator.validate(doc)


def test_docs_page_lists_every_operation_offline():
    """/docs is plain HTML (no external script or stylesheet) naming every operation."""
    doc = spec(_service_routes())
    page = docs_html(doc)
    for path, ops in doc["paths"].items():
        for method in ops:
            assert f"{method.upper()} {path}" in page.replace("&#x27;", "'")
    assert "<script" not in page and "http://" not in page and "https://" not in page
