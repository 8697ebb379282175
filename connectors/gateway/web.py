"""The desktop gateway on the HTTP service: agent panel, pop stream, actions, dev login."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import structlog
from aiohttp import web

from connectors.gateway import auth
from connectors.gateway import web_models as m
from connectors.gateway.actions import (
    MAX_BODY,
    MAX_ID,
    ActionContext,
    InvalidAction,
    action_messages,
    parse_action,
)
from connectors.gateway.crms import CRM_IDENTITY, CrmMenu, connected_of, no_menu
from connectors.gateway.desk import ProfileDesk
from connectors.gateway.hub import Hub
from connectors.gateway.kafka_feed import PopFeed, PopLog
from connectors.gateway.profiles import Answer, ProfileRoutes
from connectors.gateway.settings import GatewayConfig, GatewaySettings
from connectors.gateway.stream import serve_stream
from core.access import DESKTOP
from core.errors import StoreUnavailable
from infra.http_routes import PRINCIPAL, Body, Operation, Reply
from infra.kafka_producer import Publisher, PublishFailed
from schemas import json_limits
from schemas.errors import SchemaError
from schemas.records import DesktopActionTaken

log = structlog.get_logger("c360.gateway")
STATIC = Path(__file__).with_name("static")
PANEL_PATH = "/desktop/"


@dataclass(frozen=True, slots=True)
class Gateway:
    """Everything the handlers need: web.bootstrap builds the Kafka-backed one, tests the
    in-memory twins (connectors.gateway.memory, InMemoryPublisher)."""

    settings: GatewaySettings
    config: GatewayConfig
    hub: Hub
    feed: PopFeed
    pop_log: PopLog
    publisher: Publisher
    desk: ProfileDesk  # search, create and edit profiles (connectors.gateway.profiles)
    clock: Callable[[], float] = time.time
    # CRM routing + the agent's per-interaction choice (GET /v1/desktop/crms, choose_crm);
    # None: the deployment routes no CRM.
    crm_menu: CrmMenu | None = None


GATEWAY = web.AppKey("c360_gateway", Gateway)


def _error(status: int, error: str, detail: str) -> web.Response:
    return web.json_response({"error": error, "detail": detail}, status=status)


def _denied(status: int, error: str, message: str) -> web.Response:
    """401/403 in the shape of the service's access check (infra.http_routes.AccessError)."""
    headers = {"WWW-Authenticate": 'Bearer realm="c360"'} if status == 401 else None
    return web.json_response({"error": error, "message": message}, status=status, headers=headers)


class _Denied(Exception):
    def __init__(self, response: web.Response) -> None:
        self.response = response


def _token(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    # EventSource cannot set headers, so the stream also takes ?token= (see docs/desktop.md).
    return request.query.get("token")


def identify(request: web.Request, gw: Gateway) -> auth.AgentIdentity:
    """The agent the request's token speaks for: 401 without a valid token; 403 when the
    request names (?tenant= / ?agent=) someone else than the token does."""
    # The service's access check (web.access) already verified the credential, its
    # `desktop` scope, tenant and rate; the gateway still reads the agent from its own token
    # and refuses a request naming another agent or tenant (agent-1 never gets agent-2's).
    try:
        who = auth.verify(gw.settings.secret, _token(request), gw.clock())
    except auth.InvalidToken as exc:
        raise _Denied(_denied(401, "unauthorized", f"desktop token: {exc}")) from exc
    for name, mine in (("tenant", who.tenant), ("agent", who.agent)):
        asked = request.query.get(name)
        if asked is not None and asked != mine:
            raise _Denied(_denied(403, "forbidden", f"this token is not valid for that {name}"))
    return who


def _offered(gw: Gateway, record: DesktopActionTaken) -> None:
    """choose_crm names a CRM the agent may pick (when the deployment routes CRMs)."""
    if record.action != "choose_crm" or gw.crm_menu is None:
        return
    offered = gw.crm_menu.offered(record.tenant_id, record.agent_id)
    if record.crm not in offered:
        raise InvalidAction([f"crm must be one of the tenant's CRMs: {', '.join(offered)}"])


async def crms(request: web.Request, gw: Gateway) -> web.Response:
    """The CRMs the agent may log the interaction to, the default and its choice."""
    who = identify(request, gw)
    interaction = (request.query.get("interaction_id") or "").strip()
    if not interaction or len(interaction) > MAX_ID:
        return _error(400, "invalid_request", f"interaction_id is required (at most {MAX_ID})")
    try:
        menu = no_menu()
        if gw.crm_menu is not None:
            menu = await gw.crm_menu.describe(who.tenant, who.agent, interaction)
        # Per-agent identity (connectors.gateway.crm_oauth_web): which CRMs this agent
        # connected, so the panel offers "Connect" only where it is missing.
        menu["connected"] = await connected_of(request.app.get(CRM_IDENTITY), who.tenant,
                                               who.agent)
    except StoreUnavailable:
        return web.json_response({"error": "unavailable", "detail": "store unavailable"},
                                 status=503, headers={"Retry-After": "2"})
    return web.json_response(menu)


def _guarded(
    handler: Callable[[web.Request, Gateway], Any],
) -> Callable[[web.Request], Any]:
    async def wrapped(request: web.Request) -> web.StreamResponse:
        try:
            response: web.StreamResponse = await handler(request, request.app[GATEWAY])
        except _Denied as denied:
            return denied.response
        return response

    return wrapped


async def me(request: web.Request, gw: Gateway) -> web.Response:
    """Who the token is for (the panel checks its token with this)."""
    who = identify(request, gw)
    # fresh_seconds: the panel applies the stream's freshness window to what it shows
    # (a pop kept across a reload), so an earlier call is never presented as ringing.
    return web.json_response(
        {
            "tenant": who.tenant,
            "agent": who.agent,
            "expires_at": who.expires_at,
            "dev": gw.settings.dev,
            "fresh_seconds": gw.settings.fresh_seconds,
        }
    )


async def stream(request: web.Request, gw: Gateway) -> web.StreamResponse:
    """The agent's pops as SSE (docs/desktop.md)."""
    who = identify(request, gw)
    return await serve_stream(
        request,
        who,
        gw.hub,
        gw.pop_log,
        gw.settings.heartbeat_seconds,
        gw.settings.ready_timeout_seconds,
        gw.clock,
        gw.settings.fresh_seconds,
    )


async def post_action(request: web.Request, gw: Gateway) -> web.Response:
    """Validate, scope to the token's agent, publish DesktopActionTaken (and the audit record
    of a privileged action, in the same batch); 202 once both are acked."""
    who = identify(request, gw)
    if (request.content_length or 0) > MAX_BODY:
        return _error(413, "payload_too_large", f"the limit is {MAX_BODY} bytes")
    body = await request.read()
    if len(body) > MAX_BODY:
        return _error(413, "payload_too_large", f"the limit is {MAX_BODY} bytes")
    now = datetime.fromtimestamp(gw.clock(), tz=UTC)
    try:
        record = parse_action(body, ActionContext(who.tenant, who.agent, now))
        _offered(gw, record)
    except InvalidAction as exc:
        return web.json_response(
            {"error": "invalid_action", "detail": str(exc), "problems": exc.problems},
            status=400,
        )
    try:
        await gw.publisher.publish(action_messages(record, gw.config.desktop_topic))
    except PublishFailed as exc:
        log.warning("desktop_action_unpublished", action=record.action, error=str(exc))
        return web.json_response(
            {"error": "unavailable", "detail": "broker unavailable"},
            status=503,
            headers={"Retry-After": "2"},
        )
    log.info(
        "desktop_action",
        tenant=who.tenant,
        agent=who.agent,
        action=record.action,
        event_id=record.event_id,
    )
    return web.json_response({"event_id": record.event_id, "action": record.action}, status=202)


def _profile_routes(gw: Gateway) -> ProfileRoutes:
    return ProfileRoutes(gw.desk, gw.publisher, gw.config.desktop_topic, gw.clock)


async def _answer(call: Any) -> web.Response:
    """Run a ProfileRoutes call; the directory unreachable is a 503 (retry), never a 500."""
    try:
        answer: Answer = await call
    except StoreUnavailable as exc:
        log.warning("desk_store_unavailable", error=str(exc))
        return web.json_response({"error": "unavailable", "detail": "profile store unavailable"},
                                 status=503, headers={"Retry-After": "2"})
    status, doc = answer
    return web.json_response(doc, status=status)


async def _small_body(request: web.Request) -> bytes | None:
    if (request.content_length or 0) > MAX_BODY:
        return None
    body = await request.read()
    return body if len(body) <= MAX_BODY else None


async def search(request: web.Request, gw: Gateway) -> web.Response:
    """Contacts matching ?q= in the profile directory and the agent's CRM: the one picked for
    ?interaction_id= (choose_crm) where there is a choice, else the routing's (docs/desktop.md)."""
    who = identify(request, gw)
    chosen = None
    interaction = (request.query.get("interaction_id") or "").strip()
    if gw.crm_menu is not None and interaction and len(interaction) <= MAX_ID:
        try:
            chosen = (await gw.crm_menu.describe(who.tenant, who.agent, interaction))["chosen"]
        except StoreUnavailable:
            chosen = None  # the routing's CRM: search still answers
    return await _answer(_profile_routes(gw).search(who, request.query.get("q", ""), chosen))


async def link_crm_contact(request: web.Request, gw: Gateway) -> web.Response:
    """Link the interaction to the profile of a CRM search result (created when needed)."""
    who = identify(request, gw)
    body = await _small_body(request)
    if body is None:
        return _error(413, "payload_too_large", f"the limit is {MAX_BODY} bytes")
    return await _answer(_profile_routes(gw).link_crm_contact(who, body))


async def create_profile(request: web.Request, gw: Gateway) -> web.Response:
    """Create a profile (and optionally its CRM contact), relinking the interaction."""
    who = identify(request, gw)
    body = await _small_body(request)
    if body is None:
        return _error(413, "payload_too_large", f"the limit is {MAX_BODY} bytes")
    return await _answer(_profile_routes(gw).create(who, body))


async def profile_form(request: web.Request, gw: Gateway) -> web.Response:
    """The fields an agent fills to create a profile in the token's tenant."""
    who = identify(request, gw)
    return await _answer(_profile_routes(gw).form(who))


async def get_profile(request: web.Request, gw: Gateway) -> web.Response:
    """One profile of the token's tenant with the fields its layout lets agents edit."""
    who = identify(request, gw)
    return await _answer(_profile_routes(gw).get(who, request.match_info["profile_id"]))


async def patch_profile(request: web.Request, gw: Gateway) -> web.Response:
    """Edit a profile's editable fields (validated by the tenant's attribute schema)."""
    who = identify(request, gw)
    body = await _small_body(request)
    if body is None:
        return _error(413, "payload_too_large", f"the limit is {MAX_BODY} bytes")
    pid = request.match_info["profile_id"]
    return await _answer(_profile_routes(gw).patch(who, pid, body))


async def session(request: web.Request, gw: Gateway) -> web.Response:
    """Exchange an agent's verified identity-provider token (OIDC JWT) for a desktop token of
    the same tenant and agent, with the gateway's TTL: the stream needs the gateway's own
    token (its `exp` ends the stream, on this clock)."""
    principal = request.get(PRINCIPAL)
    if principal is None:  # mounted without the access check: nothing verified the caller
        raise _Denied(_denied(401, "unauthorized", "a credential is required"))
    if principal.kind != "agent":
        raise _Denied(_denied(403, "forbidden", "desktop sessions are for agents"))
    if not request.headers.get("Authorization", "").lower().startswith("bearer "):
        # The access check takes ?token= on desktop routes (for EventSource); an identity
        # provider's token in a URL would end up in proxy logs, so not here.
        return _error(400, "invalid_request", "send the token in Authorization: Bearer")
    presented = _token(request)
    try:
        auth.verify(gw.settings.secret, presented, gw.clock())
    except auth.InvalidToken:
        pass  # not the gateway's own token: the identity provider's, as expected
    else:
        # Exchanging a desktop token for a fresh one would let a token renew itself forever.
        raise _Denied(_denied(403, "forbidden", "this is already a desktop token"))
    try:
        token = auth.issue(
            gw.settings.secret,
            principal.tenant,
            principal.subject,
            gw.clock(),
            gw.settings.token_ttl_seconds,
        )
    except ValueError as exc:  # an IdP subject outside the agent id alphabet
        raise _Denied(_denied(403, "forbidden", f"no desktop token for this agent: {exc}")) from exc
    who = auth.verify(gw.settings.secret, token, gw.clock())
    log.info("desktop_session", tenant=who.tenant, agent=who.agent)
    return web.json_response(
        {"token": token, "tenant": who.tenant, "agent": who.agent, "expires_at": who.expires_at}
    )


async def dev_agents(_request: web.Request, gw: Gateway) -> web.Response:
    """Dev mode only: the demo agents the login page offers."""
    if not gw.settings.dev:
        raise web.HTTPNotFound()
    return web.json_response(
        {"tenant": gw.config.default_tenant, "agents": list(gw.settings.dev_agents)}
    )


async def dev_login(request: web.Request, gw: Gateway) -> web.Response:
    """Dev mode only: a token for any agent of any tenant, no password (C360_ENV=dev)."""
    if not gw.settings.dev:
        raise web.HTTPNotFound()
    try:
        doc = json_limits.loads(await request.read())
        agent = str(doc["agent"]).strip()
        tenant = str(doc.get("tenant") or gw.config.default_tenant).strip()
        token = auth.issue(
            gw.settings.secret, tenant, agent, gw.clock(), gw.settings.token_ttl_seconds
        )
    except (SchemaError, ValueError, KeyError, TypeError) as exc:
        return _error(400, "invalid_login", f'send {{"agent": ..., "tenant"?: ...}}: {exc}')
    who = auth.verify(gw.settings.secret, token, gw.clock())
    log.info("desktop_dev_login", tenant=tenant, agent=agent)
    return web.json_response(
        {"token": token, "tenant": tenant, "agent": agent, "expires_at": who.expires_at}
    )


async def panel(_request: web.Request) -> web.FileResponse:
    """The agent panel page (plain HTML + JS, no build step)."""
    return web.FileResponse(STATIC / "panel.html", headers={"Cache-Control": "no-cache"})


async def to_panel(_request: web.Request) -> web.Response:
    """`/desktop` (no slash) leads to the panel."""
    raise web.HTTPFound(PANEL_PATH)


def add_routes(app: web.Application, gw: Gateway) -> None:
    """Routes and lifecycle: the feed starts with the app, streams end before cleanup."""
    app[GATEWAY] = gw
    # The same page at `/desktop/`, `/panel` and `/` (the URL `c360 dev up` prints); its
    # assets use absolute paths, so any of them works.
    app.router.add_get(PANEL_PATH, panel)
    app.router.add_get("/panel", panel)
    app.router.add_get("/", panel)
    app.router.add_get("/desktop", to_panel)
    app.router.add_static("/desktop/static", STATIC, append_version=False)
    app.router.add_get("/v1/desktop/me", _guarded(me))
    app.router.add_get("/v1/desktop/stream", _guarded(stream))
    app.router.add_post("/v1/desktop/actions", _guarded(post_action))
    app.router.add_get("/v1/desktop/crms", _guarded(crms))
    app.router.add_post("/v1/desktop/session", _guarded(session))
    app.router.add_get("/v1/desktop/search", _guarded(search))
    app.router.add_post("/v1/desktop/link-crm-contact", _guarded(link_crm_contact))
    app.router.add_post("/v1/desktop/profiles", _guarded(create_profile))
    app.router.add_get("/v1/desktop/profile-form", _guarded(profile_form))
    app.router.add_get("/v1/desktop/profiles/{profile_id}", _guarded(get_profile))
    app.router.add_patch("/v1/desktop/profiles/{profile_id}", _guarded(patch_profile))
    app.router.add_get("/v1/desktop/dev/agents", _guarded(dev_agents))
    app.router.add_post("/v1/desktop/dev/login", _guarded(dev_login))
    if gw.settings.dev:
        log.warning("desktop_dev_login_enabled", reason="C360_ENV=dev: tokens without password")

    async def _start(_app: web.Application) -> None:
        gw.feed.start(asyncio.get_running_loop(), gw.hub)

    async def _shutdown(_app: web.Application) -> None:
        gw.hub.close()

    async def _cleanup(_app: web.Application) -> None:
        await asyncio.to_thread(gw.feed.stop)
        await gw.publisher.close()
        await gw.desk.close()

    app.on_startup.append(_start)
    app.on_shutdown.append(_shutdown)
    app.on_cleanup.append(_cleanup)


_TAG = "desktop"
# 401/403/429 come from the access check (web.openapi adds them to every scoped route); the
# gateway's own 401 (a credential that is not a desktop token) and 403 (another agent
# named) have the same shape.
_AUTH: dict[int, Reply] = {}
_PANEL = {200: Reply("The panel page", media="text/html")}
_NOT_DEV = {404: Reply("Not in dev mode (C360_ENV=dev)", media=None)}
OPERATIONS = (
    Operation("GET", "/", "The agent panel (the page `c360 dev up` prints)", _TAG, _PANEL),
    Operation("GET", PANEL_PATH, "The agent panel (HTML + JS, no build step)", _TAG, _PANEL),
    Operation("GET", "/panel", "The agent panel (the same page as /desktop/)", _TAG, _PANEL),
    Operation(
        "GET",
        "/desktop",
        "Leads to the agent panel",
        _TAG,
        {302: Reply("Redirect to the agent panel (/desktop/)", media=None)},
    ),
    Operation(
        "GET",
        "/desktop/static/{filename}",
        "The panel's static assets",
        _TAG,
        {200: Reply("The file", media="*/*"), 404: Reply("No such file", media=None)},
        path_params=m.StaticPath,
    ),
    Operation(
        "GET",
        "/v1/desktop/me",
        "Who the token is for: {tenant, agent, expires_at, dev, fresh_seconds}",
        _TAG,
        {200: Reply("The token's agent", m.Me), **_AUTH},
        query=m.TokenQuery,
        security=("bearer",),
        scope=DESKTOP,
    ),
    Operation(
        "GET",
        "/v1/desktop/stream",
        "The agent's screen pops as Server-Sent Events (resume with Last-Event-ID)",
        _TAG,
        {
            200: Reply("text/event-stream of pops", media="text/event-stream"),
            **_AUTH,
            503: Reply("The pop feed is not ready: retry", m.GatewayError),
        },
        query=m.StreamQuery,
        headers=m.StreamHeaders,
        security=("bearer",),
        scope=DESKTOP,
    ),
    Operation(
        "POST",
        "/v1/desktop/actions",
        "An agent action (open_profile, relink, add_note, add_task, add_call, add_event, "
        "link_record, unlink_record, choose_crm) -> c360.desktop.v1",
        _TAG,
        {
            202: Reply("Published", m.ActionAccepted),
            400: Reply("invalid_action (problems lists every reason)", m.InvalidActionError),
            **_AUTH,
            413: Reply(f"Body over {MAX_BODY // 1024} KiB", m.GatewayError),
            503: Reply("Broker unavailable", m.GatewayError, headers=("Retry-After",)),
        },
        query=m.TokenQuery,
        body=Body("The action", m.Action),
        security=("bearer",),
        scope=DESKTOP,
    ),
    Operation(
        "GET",
        "/v1/desktop/crms",
        "The CRMs the agent may log the interaction to: {crms, default, chosen, connected}",
        _TAG,
        {
            200: Reply("The CRM menu", m.CrmMenu),
            400: Reply("interaction_id missing", m.GatewayError),
            **_AUTH,
            503: Reply("Store unavailable", m.GatewayError, headers=("Retry-After",)),
        },
        query=m.CrmsQuery,
        security=("bearer",),
        scope=DESKTOP,
    ),
    Operation(
        "POST",
        "/v1/desktop/session",
        "Exchange an agent's identity-provider JWT (OIDC) for a desktop token of the same "
        "tenant and agent, valid C360_GATEWAY_TOKEN_TTL_SECONDS (403 for API keys and for "
        "a desktop token)",
        _TAG,
        {
            200: Reply("The desktop token", m.DesktopSession),
            400: Reply("The token came in the URL, not Authorization", m.GatewayError),
            **_AUTH,
        },
        security=("bearer",),
        scope=DESKTOP,
    ),
    Operation(
        "GET",
        "/v1/desktop/search",
        "Contacts matching q (a name prefix, a phone in any format, an email, `attribute:value` "
        "or a bare value) in the profile directory and, where the tenant has one, the CRM",
        _TAG,
        {
            200: Reply("Results (source c360 or the CRM) and CRM errors", m.SearchResults),
            400: Reply("invalid_query: q too short or too long", m.InvalidActionError),
            **_AUTH,
            503: Reply("Profile store unavailable", m.GatewayError, headers=("Retry-After",)),
        },
        query=m.SearchQuery,
        security=("bearer",),
        scope=DESKTOP,
    ),
    Operation(
        "POST",
        "/v1/desktop/link-crm-contact",
        "Link the interaction to the c360 profile holding a CRM contact (created with its "
        "crm_ids when none does); publishes the relink (audited)",
        _TAG,
        {
            202: Reply("Published", m.LinkedContact),
            400: Reply("invalid_request (problems lists every reason)", m.InvalidActionError),
            **_AUTH,
            413: Reply(f"Body over {MAX_BODY // 1024} KiB", m.GatewayError),
            503: Reply("Broker or store unavailable", m.GatewayError, headers=("Retry-After",)),
        },
        query=m.TokenQuery,
        body=Body("The CRM contact picked", m.LinkCrmContact),
        security=("bearer",),
        scope=DESKTOP,
    ),
    Operation(
        "POST",
        "/v1/desktop/profiles",
        "Create a profile (source agent), optionally its CRM contact, and relink the "
        "interaction to it",
        _TAG,
        {
            201: Reply("Published", m.ProfileCreated),
            400: Reply("invalid_request: not a JSON object", m.InvalidActionError),
            **_AUTH,
            413: Reply(f"Body over {MAX_BODY // 1024} KiB", m.GatewayError),
            422: Reply("invalid_profile (problems lists every reason)", m.InvalidActionError),
            503: Reply("Broker unavailable", m.GatewayError, headers=("Retry-After",)),
        },
        query=m.TokenQuery,
        body=Body("The new profile", m.NewProfile),
        security=("bearer",),
        scope=DESKTOP,
    ),
    Operation(
        "GET",
        "/v1/desktop/profile-form",
        "The fields of the create-profile form: name, phones, emails, the attributes the "
        "tenant's layout marks editable and every required attribute",
        _TAG,
        {200: Reply("The form's fields", m.ProfileForm), **_AUTH},
        query=m.TokenQuery,
        security=("bearer",),
        scope=DESKTOP,
    ),
    Operation(
        "GET",
        "/v1/desktop/profiles/{profile_id}",
        "A profile of the token's tenant with the fields its layout marks editable",
        _TAG,
        {
            200: Reply("The profile", m.DeskProfile),
            **_AUTH,
            404: Reply("No such profile in this tenant", m.GatewayError),
            503: Reply("Profile store unavailable", m.GatewayError, headers=("Retry-After",)),
        },
        query=m.TokenQuery,
        path_params=m.ProfilePath,
        security=("bearer",),
        scope=DESKTOP,
    ),
    Operation(
        "PATCH",
        "/v1/desktop/profiles/{profile_id}",
        "Edit the fields the tenant's layout marks editable (validated by the tenant's "
        "attribute schema); publishes the profile's new state",
        _TAG,
        {
            200: Reply("Published: the new state", m.ProfileEdited),
            400: Reply("invalid_request: not a JSON object", m.InvalidActionError),
            **_AUTH,
            404: Reply("No such profile in this tenant", m.GatewayError),
            413: Reply(f"Body over {MAX_BODY // 1024} KiB", m.GatewayError),
            422: Reply("invalid_profile (problems lists every reason)", m.InvalidActionError),
            503: Reply("Broker or store unavailable", m.GatewayError, headers=("Retry-After",)),
        },
        query=m.TokenQuery,
        path_params=m.ProfilePath,
        body=Body("The fields to change", m.ProfileEdit),
        security=("bearer",),
        scope=DESKTOP,
    ),
    Operation(
        "GET",
        "/v1/desktop/dev/agents",
        "Dev only: agents offered by the sign-in form",
        _TAG,
        {200: Reply("The demo agents", m.DevAgents), **_NOT_DEV},
    ),
    Operation(
        "POST",
        "/v1/desktop/dev/login",
        "Dev only: a desktop token for an agent",
        _TAG,
        {
            200: Reply("The token", m.DevToken),
            400: Reply("invalid_login", m.GatewayError),
            **_NOT_DEV,
        },
        body=Body("Who signs in", m.DevLogin),
    ),
)
