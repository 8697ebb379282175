"""The service's OpenAPI 3.1 document (read model in detail) and an offline HTML rendering."""

from __future__ import annotations

import html
from collections.abc import Iterable
from typing import Any

from core.query import MAX_LIMIT, PERIODS_MONTHS
from schemas.records import DIRECTIONS
from web.openapi_schemas import SCHEMAS
from web.openapi_service import service_paths


def _param(
    name: str, where: str, desc: str, schema: dict[str, Any], required: bool = False
) -> dict[str, Any]:
    return {"name": name, "in": where, "required": required, "description": desc, "schema": schema}


_STR = {"type": "string"}
TENANT = _param(
    "tenant",
    "query",
    "Tenant id (else header X-C360-Tenant, else the default).",
    {"type": "string", "pattern": "^[A-Za-z0-9_.-]{1,64}$"},
)
IDENTIFIER = _param(
    "identifier",
    "query",
    "Phone number or email in any format the normalizer "
    "accepts (E.164, national, tel:/sip: URI, mailto:).",
    _STR,
)
PROFILE_Q = _param("profile", "query", "Profile id (instead of identifier).", _STR)
PROFILE_ID_Q = _param("profile_id", "query", "Same as `profile`.", _STR)
PROFILE_P = _param("profile_id", "path", "Profile id.", _STR, required=True)
CHANNEL = _param(
    "channel",
    "query",
    "Comma-separated channels or `all`. Default: the channel of "
    "`current` when given and known, else all.",
    {"type": "string", "examples": ["voice", "voice,email", "all"]},
)
CURRENT = _param(
    "current",
    "query",
    "Interaction id the agent is handling now; its channel is the default channel filter.",
    _STR,
)
CURRENT_ALIAS = _param("interaction_id", "query", "Same as `current`.", _STR)
CAMPAIGN = _param(
    "campaign", "query", "Campaign name (case-insensitive); ANDed with channel.", _STR
)
PERIOD = _param(
    "period",
    "query",
    "Calendar months back from now.",
    {"type": "integer", "enum": list(PERIODS_MONTHS)},
)
DIRECTION = _param(
    "direction", "query", "Interaction direction.", {"type": "string", "enum": list(DIRECTIONS)}
)
LIMIT = _param(
    "limit",
    "query",
    "Page size (default 50).",
    {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT},
)
CURSOR = _param("cursor", "query", "Opaque `next_cursor` of the previous page.", _STR)
BEFORE = _param(
    "before",
    "query",
    "Deprecated paging: only entries started strictly before this epoch ms (use cursor).",
    {"type": "integer"},
)

_ERROR = {
    "description": "Error",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
}
_ERRORS = {
    "400": {
        **_ERROR,
        "description": "Bad identifier, tenant, filter, limit or cursor "
        "(codes: missing_identifier, bad_identifier, ambiguous_scope, bad_tenant, "
        "bad_channel, bad_period, bad_direction, bad_limit, bad_cursor, bad_paging)",
    },
    "404": {**_ERROR, "description": "unknown_profile / unknown_interaction"},
    "503": {
        **_ERROR,
        "description": "store_unavailable (Redis down) or overloaded (this process is at its "
        "in-flight limit): retry after the Retry-After header's seconds",
        "headers": {"Retry-After": {"schema": {"type": "integer"}}},
    },
}


def _ok(ref: str, desc: str) -> dict[str, Any]:
    return {"description": desc, "content": {"application/json": {"schema": {"$ref": ref}}}}


def _op(summary: str, params: list[dict[str, Any]], ref: str, desc: str) -> dict[str, Any]:
    return {
        "get": {
            "summary": summary,
            "tags": ["read model"],
            "parameters": params,
            "responses": {"200": _ok(ref, desc), **_ERRORS},
        }
    }


_TIMELINE_FILTERS = [
    CHANNEL,
    CURRENT,
    CURRENT_ALIAS,
    CAMPAIGN,
    PERIOD,
    DIRECTION,
    LIMIT,
    CURSOR,
    BEFORE,
]


def spec(mounted: Iterable[tuple[str, str]] | None = None) -> dict[str, Any]:
    """The OpenAPI document served at /openapi.json.

    `mounted` is the (method, path) of every route the running app serves: the document then
    lists exactly those (a deployment without the gateway does not advertise it), and a
    route nobody described still appears, flagged, so the document can never miss one.
    """
    paths = {
        "/v1/timeline": _op(
            "Timeline of one identifier, newest first",
            [TENANT, {**IDENTIFIER, "required": True}, *_TIMELINE_FILTERS],
            "#/components/schemas/Timeline",
            "A page of the timeline",
        ),
        "/v1/profiles/{profile_id}/timeline": _op(
            "Timeline of a profile (union of its identifiers, relinks applied)",
            [PROFILE_P, TENANT, *_TIMELINE_FILTERS],
            "#/components/schemas/Timeline",
            "A page of the timeline",
        ),
        "/v1/insights": _op(
            "Recent sentiment, topics and engagement summary",
            [
                TENANT,
                IDENTIFIER,
                PROFILE_Q,
                PROFILE_ID_Q,
                {**CHANNEL, "description": "Channels to consider (default all)."},
            ],
            "#/components/schemas/Insights",
            "Insights",
        ),
        "/v1/journey": _op(
            "Campaign journey grouped by date",
            [TENANT, IDENTIFIER, PROFILE_Q, PROFILE_ID_Q, CAMPAIGN],
            "#/components/schemas/Journey",
            "Journey",
        ),
        "/v1/interactions/{interaction_id}": _op(
            "One interaction in detail",
            [
                _param("interaction_id", "path", "Interaction id.", _STR, required=True),
                TENANT,
                IDENTIFIER,
                PROFILE_Q,
                PROFILE_ID_Q,
            ],
            "#/components/schemas/Interaction",
            "The interaction",
        ),
    }
    paths.update(service_paths())
    if mounted is not None:
        paths = _only(paths, mounted)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "c360",
            "version": "1",
            "description": "Customer 360 for contact centres: timelines and insights "
            "(docs/api.md), ingest webhook (docs/ingest.md), agent desktop (docs/desktop.md), "
            "probes.",
        },
        "paths": paths,
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


def _only(
    paths: dict[str, dict[str, Any]], mounted: Iterable[tuple[str, str]]
) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for method, path in sorted(set(mounted), key=lambda mp: (mp[1], mp[0])):
        op = paths.get(path, {}).get(method.lower())
        if op is None:
            op = {
                "summary": "Undocumented route",
                "tags": ["undocumented"],
                "parameters": [],
                "responses": {"default": {"description": "Not described yet"}},
            }
        out.setdefault(path, {})[method.lower()] = op
    return out


def docs_html(document: dict[str, Any]) -> str:
    """A dependency-free HTML page listing every operation and its parameters (works
    offline; the JSON document is the machine-readable source)."""
    esc = html.escape
    parts = [
        f"<h1>{esc(document['info']['title'])}</h1>",
        '<p>Machine-readable: <a href="/openapi.json">/openapi.json</a></p>',
    ]
    for path, ops in document["paths"].items():
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
