"""The OpenAPI 3.1 document assembled from the route modules' declarations, and /docs."""

from __future__ import annotations

import html
import json
from collections.abc import Iterable, Sequence
from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from infra.http_routes import ACCESS_REPLIES, JSON, Operation, Reply

INFO = {
    "title": "c360",
    "version": "1",
    "description": "Customer 360 for contact centres: timelines and insights (docs/api.md), "
    "ingest webhook (docs/ingest.md), agent desktop (docs/desktop.md), probes.",
}
SECURITY_SCHEMES = {
    "bearer": {
        "type": "http",
        "scheme": "bearer",
        "description": "An API key (`c360k_...`, `c360 keys create`), a desktop token "
        "(HS256, the gateway's), or an agent JWT of the configured OIDC issuer (RS/ES/PS). "
        "Each operation's `x-c360-scope` names the scope it needs (docs/api.md).",
    },
    # The ingest sources' request signatures (docs/ingest.md).
    "c360Signature": {"type": "apiKey", "in": "header", "name": "X-C360-Signature"},
    "twilioSignature": {"type": "apiKey", "in": "header", "name": "X-Twilio-Signature"},
}
_REF = "#/components/schemas/{model}"


def _models(operations: Sequence[Operation]) -> list[tuple[type[BaseModel], JsonSchemaMode]]:
    """Every body model once, with the mode it is described in (answers as written,
    request bodies as accepted)."""
    found: dict[tuple[type[BaseModel], JsonSchemaMode], None] = {}
    for op in operations:
        replies = [*op.responses.values(), *(ACCESS_REPLIES.values() if op.scope else ())]
        for reply in replies:
            if reply.model is not None:
                found[(reply.model, "serialization")] = None
        if op.body is not None and op.body.model is not None:
            found[(op.body.model, "validation")] = None
    return list(found)


def _parameters(op: Operation) -> list[dict[str, Any]]:
    out = []
    sources: tuple[tuple[Literal["path", "query", "header"], type[BaseModel] | None], ...] = (
        ("path", op.path_params),
        ("query", op.query),
        ("header", op.headers),
    )
    for where, model in sources:
        if model is None:
            continue
        doc = model.model_json_schema(by_alias=True)
        required = set(doc.get("required", ()))
        for name, prop in doc.get("properties", {}).items():
            out.append(
                {
                    "name": name,
                    "in": where,
                    "required": name in required or where == "path",
                    "description": prop.get("description", ""),
                    "schema": _param_schema(prop),
                }
            )
    return out


def _param_schema(prop: dict[str, Any]) -> dict[str, Any]:
    """A parameter's schema without the `| None` of an optional field (absent = not sent),
    its default null, and the description and title the parameter already carries."""
    schema = {k: v for k, v in prop.items() if k not in ("title", "description", "default")}
    branches = [b for b in schema.pop("anyOf", []) if b != {"type": "null"}]
    if len(branches) == 1:
        schema = {**branches[0], **schema}
    elif branches:
        schema["anyOf"] = branches
    return schema


def _content(media: str, model: type[BaseModel] | None, refs: dict[Any, Any], mode: str) -> Any:
    if model is not None:
        schema = refs[(model, mode)]
    elif media == JSON:
        schema = {"type": "object"}
    else:
        schema = {"type": "string"} if media.startswith("text/") else {}
    return {media: {"schema": schema}}


def _reply(reply: Reply, refs: dict[Any, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"description": reply.description}
    if reply.media is not None:
        out["content"] = _content(reply.media, reply.model, refs, "serialization")
    if reply.headers:
        out["headers"] = {
            h: {"schema": {"type": "integer" if h == "Retry-After" else "string"}}
            for h in reply.headers
        }
    return out


def _operation(op: Operation, refs: dict[Any, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"summary": op.summary, "tags": [op.tag]}
    description = op.description
    responses = dict(op.responses)
    security = op.security
    if op.scope is not None:
        # Every scoped route is behind the one access check: its credential, its answers.
        need = f"Needs a credential carrying the `{op.scope}` scope (docs/api.md)."
        description = f"{description}\n\n{need}" if description else need
        responses = {**responses, **{s: r for s, r in ACCESS_REPLIES.items() if s != 503}}
        responses.setdefault(503, ACCESS_REPLIES[503])
        security = security or ("bearer",)
        out["x-c360-scope"] = op.scope
    if description:
        out["description"] = description
    out["parameters"] = _parameters(op)
    if op.body is not None:
        out["requestBody"] = {
            "required": True,
            "description": op.body.description,
            "content": _content(op.body.media, op.body.model, refs, "validation"),
        }
    out["responses"] = {str(s): _reply(r, refs) for s, r in sorted(responses.items())}
    if security:
        out["security"] = [{name: []} if name else {} for name in security]
    return out


def document(operations: Iterable[Operation]) -> dict[str, Any]:
    """The OpenAPI document of exactly these operations; components from their models."""
    ops = sorted(operations, key=lambda o: (o.path, o.method))
    seen = [op.key for op in ops]
    if len(seen) != len(set(seen)):
        dupes = sorted({k for k in seen if seen.count(k) > 1})
        raise ValueError(f"operations declared twice: {dupes}")
    refs, top = models_json_schema(_models(ops), ref_template=_REF)
    paths: dict[str, dict[str, Any]] = {}
    for op in ops:
        paths.setdefault(op.path, {})[op.method.lower()] = _operation(op, refs)
    return {
        "openapi": "3.1.0",
        "info": INFO,
        "paths": paths,
        "components": {
            "schemas": _absent_keys(top.get("$defs", {})),
            "securitySchemes": SECURITY_SCHEMES,
        },
    }


def _absent_keys(schema: Any) -> Any:
    """Drop `default: null` where null is not a value (a key that is left out, typed
    `X | Absent`): the document would otherwise contradict itself."""
    if isinstance(schema, list):
        return [_absent_keys(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: _absent_keys(v) for k, v in schema.items()}
    nullable = out.get("type") == "null" or any(
        b.get("type") == "null" for b in out.get("anyOf", ())
    )
    if "default" in out and out["default"] is None and not nullable:
        del out["default"]
    return out


def mounted_routes(app: web.Application) -> list[tuple[str, str]]:
    """(METHOD, path template) of every route the app serves (HEAD and catch-alls left out)."""
    found = []
    for route in app.router.routes():
        path = route.resource.canonical if route.resource is not None else ""
        if isinstance(route.resource, web.StaticResource):
            path += "/{filename}"
        if path and route.method not in ("HEAD", "*"):
            found.append((route.method, path))
    return found


def docs_html(doc: dict[str, Any]) -> str:
    """A dependency-free HTML page listing every operation and its parameters (works
    offline; the JSON document is the machine-readable source)."""
    esc = html.escape
    parts = [
        f"<h1>{esc(doc['info']['title'])}</h1>",
        '<p>Machine-readable: <a href="/openapi.json">/openapi.json</a></p>',
    ]
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            parts.append(f"<h2><code>{method.upper()} {esc(path)}</code></h2>")
            parts.append(
                f"<p>{esc(op['summary'])}</p><table><tr><th>name</th><th>in</th>"
                "<th>required</th><th>description</th></tr>"
            )
            for p in op.get("parameters", []):
                parts.append(
                    f"<tr><td><code>{esc(p['name'])}</code></td><td>{esc(p['in'])}"
                    f"</td><td>{'yes' if p['required'] else ''}</td>"
                    f"<td>{esc(p['description'])}</td></tr>"
                )
            body = op.get("requestBody")
            parts.append("</table>")
            if body:
                parts.append(
                    f"<p>Body: {esc(body.get('description') or ', '.join(body['content']))}</p>"
                )
            parts.append("<ul>")
            for status, resp in op["responses"].items():
                parts.append(f"<li><b>{esc(status)}</b> {esc(resp['description'])}</li>")
            parts.append("</ul>")
    style = (
        "body{font-family:sans-serif;max-width:60em;margin:auto}td,th{text-align:left;"
        "padding:2px 8px;border-bottom:1px solid #ddd}"
    )
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>c360 API</title>"
        f"<style>{style}</style></head><body>{''.join(parts)}</body></html>"
    )


OPERATIONS = (
    Operation(
        "GET",
        "/openapi.json",
        "This document (OpenAPI 3.1)",
        "documentation",
        {200: Reply("The OpenAPI document")},
    ),
    Operation(
        "GET",
        "/docs",
        "The OpenAPI document as an HTML page (no external assets)",
        "documentation",
        {200: Reply("HTML", media="text/html")},
    ),
)


def add_routes(app: web.Application, doc: dict[str, Any]) -> None:
    """Serve `doc` at /openapi.json and its HTML rendering at /docs (both rendered once)."""
    as_json, as_html = json.dumps(doc), docs_html(doc)

    async def openapi(_request: web.Request) -> web.Response:
        return web.Response(text=as_json, content_type="application/json")

    async def docs(_request: web.Request) -> web.Response:
        return web.Response(text=as_html, content_type="text/html")

    app.router.add_get("/openapi.json", openapi)
    app.router.add_get("/docs", docs)
