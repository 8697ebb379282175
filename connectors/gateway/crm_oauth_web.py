"""Desktop routes of per-agent CRM identity: connect (authorize URL), the OAuth callback
(public: the signed single-use state is the credential), disconnect, and the connections."""

from __future__ import annotations

import html

import structlog
from aiohttp import web
from pydantic import Field

from connectors.crm.agent_oauth import AgentOAuth, ConnectFailed
from connectors.gateway.crms import CRM_IDENTITY, CrmIdentity, connected_of
from connectors.gateway.web import Gateway as GatewayDeps
from connectors.gateway.web import _guarded, identify
from connectors.gateway.web_models import TokenQuery
from core.access import DESKTOP
from core.errors import StoreUnavailable
from infra.http_routes import Described, Operation, Parameters, Reply

log = structlog.get_logger("c360.gateway.crm_oauth")


# The callback page carries the code in its URL: keep it out of Referer headers and caches.
_PAGE_HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer",
                 "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'"}


class CrmPath(Parameters):
    """Which CRM."""

    crm: str = Field(description="CRM name (hubspot, salesforce, zendesk, zoho, dynamics365).")


class CallbackQuery(Parameters):
    """What the CRM's authorization server appends to the redirect URL (RFC 6749 4.1.2)."""

    code: str | None = Field(None, description="The authorization code.")
    state: str | None = Field(None, description="The state c360 signed at connect.")
    error: str | None = Field(None, description="Why no code (access_denied, ...).")


class AuthorizeUrl(Described):
    """Where the panel sends the agent (a new window) to sign in to the CRM."""

    authorize_url: str


class Connections(Described):
    """For every CRM with per-agent identity: has this agent connected it?"""

    connected: dict[str, bool]


class Disconnected(Described):
    """The agent's tokens for this CRM are forgotten."""

    crm: str
    removed: bool = Field(description="False when there were none.")


class CrmIdentityError(Described):
    """{error, detail}."""

    error: str
    detail: str


def _json_error(status: int, error: str, detail: str) -> web.Response:
    return web.json_response({"error": error, "detail": detail}, status=status)


def _page(status: int, title: str, text: str) -> web.Response:
    body = (f"<!doctype html><html><head><meta charset=utf-8><title>{html.escape(title)}"
            "</title></head><body style=\"font-family:sans-serif;margin:3em\">"
            f"<h1>{html.escape(title)}</h1><p>{html.escape(text)}</p></body></html>")
    return web.Response(status=status, text=body, content_type="text/html",
                        headers=_PAGE_HEADERS)


def _oauth(request: web.Request) -> AgentOAuth | None:
    return request.app[CRM_IDENTITY].oauth


async def connected_crms(request: web.Request, tenant: str, agent: str) -> dict[str, bool]:
    """For every CRM with per-agent identity: has this agent connected it? ({} when the
    feature is off). Raises StoreUnavailable."""
    return await connected_of(request.app.get(CRM_IDENTITY), tenant, agent)


async def connections(request: web.Request, gw: GatewayDeps) -> web.Response:
    """{"connected": {crm: bool}} for the token's agent."""
    who = identify(request, gw)
    try:
        found = await connected_crms(request, who.tenant, who.agent)
    except StoreUnavailable:
        return _json_error(503, "unavailable", "the token store does not answer: retry")
    return web.json_response({"connected": found})


async def connect(request: web.Request, gw: GatewayDeps) -> web.Response:
    """{"authorize_url"} for the token's agent and this CRM."""
    who = identify(request, gw)
    crm, oauth = request.match_info["crm"], _oauth(request)
    if oauth is None or oauth.app(crm) is None:
        return _json_error(404, "not_configured", f"per-agent sign-in is off for {crm!r}")
    try:
        url = await oauth.begin(who.tenant, who.agent, crm)
    except StoreUnavailable:
        return _json_error(503, "unavailable", "the token store does not answer: retry")
    log.info("agent_crm_connect_started", tenant=who.tenant, crm=crm)
    return web.json_response({"authorize_url": url})


async def disconnect(request: web.Request, gw: GatewayDeps) -> web.Response:
    """Forget the token's agent's tokens for this CRM."""
    who = identify(request, gw)
    crm, oauth = request.match_info["crm"], _oauth(request)
    if oauth is None or oauth.app(crm) is None:
        return _json_error(404, "not_configured", f"per-agent sign-in is off for {crm!r}")
    try:
        removed = await oauth.disconnect(who.tenant, who.agent, crm)
    except StoreUnavailable:
        return _json_error(503, "unavailable", "the token store does not answer: retry")
    log.info("agent_crm_disconnected", tenant=who.tenant, crm=crm, removed=removed)
    return web.json_response({"crm": crm, "removed": removed})


async def callback(request: web.Request) -> web.Response:
    """The redirect target: a small page saying it worked, or a 400 page saying why not."""
    crm, oauth = request.match_info["crm"], _oauth(request)
    if oauth is None:
        return _page(400, "Not connected", f"Per-agent sign-in is not configured for {crm}.")
    q = request.query
    try:
        done = await oauth.complete(crm, q.get("code"), q.get("state"), q.get("error"))
    except ConnectFailed as exc:
        log.info("agent_crm_connect_failed", crm=crm, reason=str(exc))
        return _page(400, "Not connected", f"{crm}: {exc}.")
    except StoreUnavailable:
        return _page(503, "Not connected", "c360 cannot store the sign-in now: try again.")
    log.info("agent_crm_connect_completed", tenant=done.tenant, crm=crm)
    return _page(200, "Connected", f"c360 now writes your {crm} activities as you. "
                 "You can close this window.")


def add_routes(app: web.Application, identity: CrmIdentity) -> None:
    """Mount the four routes (always: without OAuth apps they answer 404 / a 400 page)."""
    app[CRM_IDENTITY] = identity
    app.router.add_get("/v1/desktop/crm/connections", _guarded(connections))
    app.router.add_get("/v1/desktop/crm/{crm}/connect", _guarded(connect))
    app.router.add_get("/v1/desktop/crm/{crm}/callback", callback)
    app.router.add_delete("/v1/desktop/crm/{crm}/connection", _guarded(disconnect))

    async def _close(_app: web.Application) -> None:
        if identity.oauth is not None:
            await identity.oauth.close()

    app.on_cleanup.append(_close)


_TAG = "desktop"
_OFF = {404: Reply("Per-agent sign-in is off for this CRM", CrmIdentityError)}
_DOWN = {503: Reply("The token store does not answer: retry", CrmIdentityError)}
_HTML = "text/html"
OPERATIONS = (
    Operation(
        "GET", "/v1/desktop/crm/connections",
        "Per-agent CRM identity: which CRMs the token's agent connected", _TAG,
        {200: Reply("CRM -> connected", Connections), **_DOWN},
        query=TokenQuery, security=("bearer",), scope=DESKTOP,
    ),
    Operation(
        "GET", "/v1/desktop/crm/{crm}/connect",
        "Start the OAuth authorization-code flow: the CRM's authorize URL (signed, "
        "single-use state bound to tenant, agent and CRM; PKCE where the vendor has it)",
        _TAG, {200: Reply("Open it in a window", AuthorizeUrl), **_OFF, **_DOWN},
        query=TokenQuery, path_params=CrmPath, security=("bearer",), scope=DESKTOP,
    ),
    Operation(
        "GET", "/v1/desktop/crm/{crm}/callback",
        "The OAuth redirect URL: exchanges the code, stores the agent's tokens (public: the "
        "state is the credential)", _TAG,
        {200: Reply("Connected page", media=_HTML),
         400: Reply("Not connected: denied, bad/expired/used state, token endpoint refused",
                    media=_HTML),
         503: Reply("The token store does not answer", media=_HTML)},
        query=CallbackQuery, path_params=CrmPath,
    ),
    Operation(
        "DELETE", "/v1/desktop/crm/{crm}/connection",
        "Disconnect: forget the token's agent's tokens for this CRM", _TAG,
        {200: Reply("Forgotten", Disconnected), **_OFF, **_DOWN},
        query=TokenQuery, path_params=CrmPath, security=("bearer",), scope=DESKTOP,
    ),
)
