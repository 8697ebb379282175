"""OpenAPI operations of the service's other routes: health, readiness, ingest, desktop, docs."""

from __future__ import annotations

from typing import Any

# The HTTP service (web.service) serves these next to the read model; they are described here
# so /openapi.json covers every route of the port. The owning modules' docs are the detail:
# docs/ingest.md (ingest webhook), docs/desktop.md (gateway), docs/operations.md (probes).
_STR = {"type": "string"}
_JSON_OBJ = {"application/json": {"schema": {"type": "object"}}}
_GATEWAY_ERROR = {
    "type": "object",
    "properties": {"error": _STR, "detail": _STR},
    "description": "Ingest and gateway errors: {error, detail, ...} (docs/ingest.md)",
}


def _p(name: str, where: str, desc: str, required: bool = False) -> dict[str, Any]:
    return {"name": name, "in": where, "required": required, "description": desc, "schema": _STR}


def _r(desc: str, media: str = "application/json") -> dict[str, Any]:
    schema = {"type": "object"} if media == "application/json" else _STR
    return {"description": desc, "content": {media: {"schema": schema}}}


def _e(desc: str) -> dict[str, Any]:
    return {"description": desc, "content": {"application/json": {"schema": _GATEWAY_ERROR}}}


def _op(summary: str, tag: str, responses: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"summary": summary, "tags": [tag], "parameters": [], "responses": responses, **extra}


_TOKEN = [
    _p(
        "token",
        "query",
        "Desktop token, for EventSource clients that cannot set headers "
        "(else `Authorization: Bearer <token>`).",
    ),
    _p("tenant", "query", "Must be the token's tenant when given (else 403)."),
    _p("agent", "query", "Must be the token's agent when given (else 403)."),
]
_DESKTOP_AUTH = {
    "401": _e("No, malformed or expired token"),
    "403": _e("Token of another tenant or agent"),
}
_NOT_DEV = {"description": "Not in dev mode (C360_ENV=dev)"}
_REDIRECT = {"302": {"description": "Redirect to the agent panel (/desktop/)"}}
_TAG_OPS, _TAG_IN, _TAG_DESK, _TAG_DOC = "operations", "ingest", "desktop", "documentation"


def service_paths() -> dict[str, dict[str, Any]]:
    """Path -> {method: operation} for every route of web.service outside the read model."""
    ingest = _op(
        "Vendor webhook or canonical JSON -> c360.interactions.v1 (202 only after the broker "
        "acknowledged every record)",
        _TAG_IN,
        {
            "202": _r("Accepted: {accepted, event_ids}"),
            "400": _e("invalid_tenant, or malformed_payload (the bytes were dead-lettered)"),
            "401": _e("unauthorized: no/unknown bearer token or a bad Twilio signature"),
            "403": _e("forbidden: token of another tenant/source, or a record's tenant differs"),
            "404": _e("unknown_source"),
            "413": _e("payload_too_large"),
            "500": _e("translator_error (dead-lettered)"),
            "503": _e("broker_unavailable: retry (Retry-After)"),
        },
        parameters=[
            _p(
                "source",
                "path",
                "amazon_connect, twilio, genesys, asterisk, freeswitch or "
                "canonical (docs/sources.md).",
                required=True,
            ),
            _p("tenant", "query", "Tenant (header X-C360-Tenant wins; else the default)."),
            _p("X-C360-Tenant", "header", "Tenant."),
            _p("X-Twilio-Signature", "header", "Twilio's request signature (twilio only)."),
        ],
        requestBody={
            "required": True,
            "description": "The vendor payload as the platform sends it (JSON, form or text); "
            "for `canonical` one canonical JSON record or an array of them.",
            "content": {"*/*": {"schema": {}}},
        },
        security=[{"bearer": []}, {}],
    )
    stream = _op(
        "The agent's screen pops as Server-Sent Events (resume with Last-Event-ID)",
        _TAG_DESK,
        {
            "200": _r("text/event-stream of pops", "text/event-stream"),
            **_DESKTOP_AUTH,
            "503": _e("The pop feed is not ready: retry"),
        },
        parameters=[
            *_TOKEN,
            _p(
                "last_event_id",
                "query",
                "Resume after this pop id (the Last-Event-ID header wins).",
            ),
            _p("Last-Event-ID", "header", "Resume after this pop id."),
        ],
    )
    action = _op(
        "An agent action (open_profile, relink, add_note, add_task, add_call, add_event, "
        "link_record, unlink_record) -> c360.desktop.v1",
        _TAG_DESK,
        {
            "202": _r("Published: {event_id, action}"),
            "400": _e("invalid_action (problems lists every reason)"),
            **_DESKTOP_AUTH,
            "413": _e("Body over 64 KiB"),
            "503": _e("Broker unavailable"),
        },
        parameters=list(_TOKEN),
        requestBody={"required": True, "content": _JSON_OBJ},
    )
    return {
        "/health": {
            "get": _op("Liveness: the process answers", _TAG_OPS, {"200": _r('{"status": "ok"}')})
        },
        "/ready": {
            "get": _op(
                "Readiness: Redis answers",
                _TAG_OPS,
                {
                    "200": _r('{"status": "ready"}'),
                    "503": _r('{"status": "redis_unavailable", "error"}'),
                },
            )
        },
        "/metrics": {
            "get": _op(
                "This process's metrics for Prometheus (OpenMetrics when Accept asks for it)",
                _TAG_OPS,
                {"200": _r("Prometheus text exposition format", "text/plain")},
            )
        },
        "/v1/ingest/{source}": {"post": ingest},
        "/": {
            "get": _op(
                "The agent panel (the page `c360 dev up` prints)",
                _TAG_DESK,
                {"200": _r("The panel page", "text/html")},
            )
        },
        "/desktop": {"get": _op("Leads to the agent panel", _TAG_DESK, _REDIRECT)},
        "/desktop/": {
            "get": _op(
                "The agent panel (HTML + JS, no build step)",
                _TAG_DESK,
                {"200": _r("The panel page", "text/html")},
            )
        },
        "/panel": {
            "get": _op(
                "The agent panel (the same page as /desktop/)",
                _TAG_DESK,
                {"200": _r("The panel page", "text/html")},
            )
        },
        "/desktop/static/{filename}": {
            "get": _op(
                "The panel's static assets",
                _TAG_DESK,
                {"200": {"description": "The file"}, "404": {"description": "No such file"}},
                parameters=[_p("filename", "path", "Asset path.", required=True)],
            )
        },
        "/v1/desktop/me": {
            "get": _op(
                "Who the token is for: {tenant, agent, expires_at, dev}",
                _TAG_DESK,
                {"200": _r("The token's agent"), **_DESKTOP_AUTH},
                parameters=list(_TOKEN),
            )
        },
        "/v1/desktop/stream": {"get": stream},
        "/v1/desktop/actions": {"post": action},
        "/v1/desktop/dev/agents": {
            "get": _op(
                "Dev only: agents offered by the sign-in form",
                _TAG_DESK,
                {"200": _r("{tenant, agents}"), "404": _NOT_DEV},
            )
        },
        "/v1/desktop/dev/login": {
            "post": _op(
                "Dev only: a desktop token for an agent",
                _TAG_DESK,
                {
                    "200": _r("{token, tenant, agent, expires_at}"),
                    "400": _e("invalid_login"),
                    "404": _NOT_DEV,
                },
                requestBody={"required": True, "content": _JSON_OBJ},
            )
        },
        "/openapi.json": {
            "get": _op("This document (OpenAPI 3.1)", _TAG_DOC, {"200": _r("The OpenAPI document")})
        },
        "/docs": {
            "get": _op(
                "The OpenAPI document as an HTML page (no external assets)",
                _TAG_DOC,
                {"200": _r("HTML", "text/html")},
            )
        },
    }
