"""HTTP query API of the read model: timelines, insights, journey, one interaction."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import structlog
from aiohttp import web

from core import insights
from core.access import TIMELINE_READ
from core.errors import CorruptEntry, StoreUnavailable
from core.query import (
    MAX_LIMIT,
    QueryError,
    encode_cursor,
    parse_channels,
    parse_query,
)
from core.view import detail
from infra.http_routes import Operation, Reply
from projections.entry_cache import EntryCache
from projections.reads import (
    ReadModel,
    Scope,
    UnknownProfile,
    all_entries,
    find_interaction,
    insights_of,
    profile_scope,
    timeline_page,
)
from projections.redis_errors import UNAVAILABLE, pool_exhausted
from web import read_models as m
from web.access import principal_of
from web.read_api import ReadApi

# Tenants, profile ids and interaction ids end up inside Redis keys and hash tags; braces
# would move a key to another Cluster slot, so they are refused at the edge.
_TENANT = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_ID = re.compile(r"^[^{}\s]{1,200}$")
RETRY_AFTER_SECONDS = 1
MAX_INFLIGHT, CACHE_ENTRIES = 64, 10_000  # defaults of C360_HTTP_MAX_INFLIGHT, ..._CACHE_ENTRIES
log = structlog.get_logger("web.read_routes")


# How long one read request may wait for Redis before it is answered 503 (docs/api.md).
READ_DEADLINE_SECONDS = 3.0


class Gate:
    """How many read requests this process is answering; past `limit` new ones are refused
    at once (503 `overloaded`) instead of queueing behind the others until Redis replies
    arrive too late to be read in time (which looked like a Redis outage)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.active = 0
        self.refused = 0
        self._logged_at = 0.0

    def note_refusal(self) -> None:
        """Count a refusal; log at most one line per 10 s (a log line per refusal would
        add work exactly when there is too much)."""
        self.refused += 1
        now = time.monotonic()
        if now - self._logged_at >= 10:
            self._logged_at = now
            log.warning("read_overloaded", limit=self.limit, refused=self.refused)


@dataclass(frozen=True, slots=True)
class QueryApi:
    """What the query routes need: the stores, and the composition root's resolver/clock."""

    rm: ReadModel
    base: ReadApi
    # Page size when `limit` is absent: the configured timeline length
    # (C360_TIMELINE_MAX_ENTRIES, "up to 50 interactions"), else the ReadApi's default.
    default_limit: int | None = None
    # Renders items; shared with the CachedRedisTimeline that decoded them, so an item is
    # rendered once per stored entry (entries from elsewhere are rendered per request).
    cache: EntryCache = field(default_factory=EntryCache)
    gate: Gate = field(default_factory=lambda: Gate(MAX_INFLIGHT))


QUERY_API = web.AppKey("query_api", QueryApi)


class ApiError(Exception):
    """An answer other than 200, as {"error": {"code", "message"}}."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


Handler = Callable[[web.Request], Awaitable[web.Response]]
Answer = dict[str, Any] | web.Response


# Errors a read answers with a status of its own (4xx, or 503 for the store).
_ANSWERED: tuple[type[Exception], ...] = (
    ApiError,
    QueryError,
    UnknownProfile,
    StoreUnavailable,
    CorruptEntry,
    *UNAVAILABLE,
)


def _api_error(exc: Exception) -> ApiError:
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, QueryError):
        return ApiError(400, exc.code, exc.message)
    if isinstance(exc, UnknownProfile):
        return ApiError(404, "unknown_profile", str(exc))
    if pool_exhausted(exc):
        # This process ran out of Redis connections: too many reads at once here, while
        # Redis itself may be fine. Said as such, so it is not mistaken for an outage.
        return ApiError(503, "overloaded", "too many reads in progress in this process: retry")
    if isinstance(exc, (StoreUnavailable, *UNAVAILABLE)):
        # Adapters raise StoreUnavailable; a bare client error from one that does not wrap
        # its errors (links) is the same condition for the caller: retry later.
        return ApiError(503, "store_unavailable", f"store unavailable: {type(exc).__name__}")
    return ApiError(500, "corrupt_entry", str(exc))


def _error_response(err: ApiError) -> web.Response:
    body = {"error": {"code": err.code, "message": err.message}}
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)} if err.status == 503 else None
    return web.json_response(body, status=err.status, headers=headers)


def _errors(handler: Callable[[web.Request, QueryApi], Awaitable[Answer]]) -> Handler:
    async def wrapped(request: web.Request) -> web.Response:
        api = request.app[QUERY_API]
        gate = api.gate
        if gate.active >= gate.limit:
            gate.note_refusal()
            message = f"more than {gate.limit} reads in progress in this process: retry"
            return _error_response(ApiError(503, "overloaded", message))
        gate.active += 1
        try:
            # A paused or saturated Redis must not hold the request: past the deadline the
            # caller gets 503 store_unavailable with Retry-After, in bounded time.
            async with asyncio.timeout(READ_DEADLINE_SECONDS):
                answer = await handler(request, api)
        except TimeoutError:
            return _error_response(
                ApiError(503, "store_unavailable", "the store did not answer in time: retry")
            )
        except _ANSWERED as exc:
            return _error_response(_api_error(exc))
        finally:
            gate.active -= 1
        return answer if isinstance(answer, web.Response) else web.json_response(answer)

    return wrapped


def _tenant(request: web.Request, _api: QueryApi) -> str:
    """The credential's tenant, and only it: a request naming another one (`tenant=`,
    X-C360-Tenant) was refused 403 by the access check before reaching here."""
    tenant = principal_of(request).tenant
    if not _TENANT.match(tenant):  # keys and tokens are checked at issue: defence in depth
        raise ApiError(400, "bad_tenant", "tenant must be 1-64 of A-Z a-z 0-9 _ . -")
    return tenant


def _id(raw: str, what: str) -> str:
    if not _ID.match(raw):
        raise ApiError(400, f"bad_{what}", f"{what} must be 1-200 characters without braces")
    return raw


def _first(request: web.Request, *names: str) -> str:
    """The first non-empty of several spellings of one parameter (e.g. profile, profile_id)."""
    return next((v for n in names if (v := request.query.get(n, "").strip())), "")


async def _scope(request: web.Request, api: QueryApi, tenant: str) -> tuple[Scope, dict[str, Any]]:
    """The identifier's or the profile's scope, and how the answer names it."""
    identifier = request.query.get("identifier", "").strip()
    profile = request.match_info.get("profile_id") or _first(request, "profile", "profile_id")
    if identifier and profile:
        raise ApiError(400, "ambiguous_scope", "give either 'identifier' or 'profile', not both")
    if profile:
        pid = _id(profile, "profile_id")
        scope = await profile_scope(api.rm, tenant, pid)
        return scope, {"profile_id": pid, "identifiers": len(scope.tokens)}
    if not identifier:
        raise ApiError(400, "missing_identifier", "query parameter 'identifier' is required")
    try:
        party = api.base.resolve(tenant, identifier)
    except ValueError as exc:
        raise ApiError(400, "bad_identifier", str(exc)) from exc
    return Scope((party.token,)), {"party": {"kind": party.kind, "token": party.token}}


async def _timeline(request: web.Request, api: QueryApi) -> web.Response:
    tenant = _tenant(request, api)
    scope, named = await _scope(request, api, tenant)
    now = api.base.clock_ms()
    current = _first(request, "current", "interaction_id")
    current_channel = None
    if current and not request.query.get("channel"):
        found = await find_interaction(api.rm, tenant, _id(current, "current"), scope, now)
        current_channel = found.channel if found is not None else None
    query = parse_query(
        request.query,
        current_channel=current_channel,
        default_limit=min(api.default_limit or api.base.default_limit, MAX_LIMIT),
    )
    got = await timeline_page(api.rm, tenant, scope, query, now)
    head = {
        "tenant": tenant,
        **named,
        "channels": list(query.channels),
        "filters": {
            "campaign": query.campaign,
            "direction": query.direction,
            "period_months": query.period_months,
        },
    }
    tail = {
        "next_cursor": encode_cursor(got.next_cursor) if got.next_cursor else None,
        # The first paging form (strictly-before ms): kept for existing clients.
        "next_before": got.next_cursor.started_ms if got.next_cursor else None,
    }
    # The body json.dumps would write for {**head, "items": [...], **tail}, with each item
    # from its cached rendering instead of a dict tree built and encoded per request.
    items = ", ".join([api.cache.item_json(entry, now) for entry in got.entries])
    body = f'{json.dumps(head)[:-1]}, "items": [{items}], {json.dumps(tail)[1:]}'
    return web.Response(text=body, content_type="application/json")


async def _insights(request: web.Request, api: QueryApi) -> dict[str, Any]:
    tenant = _tenant(request, api)
    scope, named = await _scope(request, api, tenant)
    channels = parse_channels(request.query.get("channel") or "all", None)
    found = await insights_of(api.rm, tenant, scope, api.base.clock_ms(), channels)
    return {"tenant": tenant, **named, "channels": list(channels), **found}


async def _journey(request: web.Request, api: QueryApi) -> dict[str, Any]:
    tenant = _tenant(request, api)
    scope, named = await _scope(request, api, tenant)
    entries = await all_entries(api.rm, tenant, scope, api.base.clock_ms())
    campaign = request.query.get("campaign", "").strip() or None
    return {"tenant": tenant, **named, **insights.journey(entries, campaign)}


async def _interaction(request: web.Request, api: QueryApi) -> dict[str, Any]:
    tenant = _tenant(request, api)
    iid = _id(request.match_info["interaction_id"], "interaction_id")
    scoped = any(n in request.query for n in ("identifier", "profile", "profile_id"))
    scope = (await _scope(request, api, tenant))[0] if scoped else None
    now = api.base.clock_ms()
    entry = await find_interaction(api.rm, tenant, iid, scope, now)
    if entry is None:
        raise ApiError(
            404,
            "unknown_interaction",
            f"no interaction {iid!r} in the retention window of this scope",
        )
    return {"tenant": tenant, "item": detail(entry, now)}


def add_routes(app: web.Application, api: QueryApi) -> None:
    """Mount every read route on an aiohttp application."""
    app[QUERY_API] = api
    app.router.add_get("/v1/timeline", _errors(_timeline))
    app.router.add_get("/v1/profiles/{profile_id}/timeline", _errors(_timeline))
    app.router.add_get("/v1/insights", _errors(_insights))
    app.router.add_get("/v1/journey", _errors(_journey))
    app.router.add_get("/v1/interactions/{interaction_id}", _errors(_interaction))


_TAG = "read model"
_ERRORS = {
    400: Reply(
        "Bad identifier, tenant, filter, limit or cursor (codes: missing_identifier, "
        "bad_identifier, ambiguous_scope, bad_tenant, bad_channel, bad_period, bad_direction, "
        "bad_limit, bad_cursor, bad_paging)",
        m.Error,
    ),
    404: Reply("unknown_profile / unknown_interaction", m.Error),
    503: Reply(
        "store_unavailable (Redis down) or overloaded (this process is at its in-flight "
        "limit): retry after the Retry-After header's seconds",
        m.Error,
        headers=("Retry-After",),
    ),
}
OPERATIONS = (
    Operation(
        "GET",
        "/v1/timeline",
        "Timeline of one identifier, newest first",
        _TAG,
        {200: Reply("A page of the timeline", m.Timeline), **_ERRORS},
        query=m.TimelineQuery,
        scope=TIMELINE_READ,
    ),
    Operation(
        "GET",
        "/v1/profiles/{profile_id}/timeline",
        "Timeline of a profile (union of its identifiers, relinks applied)",
        _TAG,
        {200: Reply("A page of the timeline", m.Timeline), **_ERRORS},
        query=m.ProfileTimelineQuery,
        path_params=m.ProfilePath,
        scope=TIMELINE_READ,
    ),
    Operation(
        "GET",
        "/v1/insights",
        "Recent sentiment, topics and engagement summary",
        _TAG,
        {200: Reply("Insights", m.Insights), **_ERRORS},
        query=m.InsightsQuery,
        scope=TIMELINE_READ,
    ),
    Operation(
        "GET",
        "/v1/journey",
        "Campaign journey grouped by date",
        _TAG,
        {200: Reply("Journey", m.Journey), **_ERRORS},
        query=m.JourneyQuery,
        scope=TIMELINE_READ,
    ),
    Operation(
        "GET",
        "/v1/interactions/{interaction_id}",
        "One interaction in detail",
        _TAG,
        {200: Reply("The interaction", m.Interaction), **_ERRORS},
        query=m.ScopeQuery,
        path_params=m.InteractionPath,
        scope=TIMELINE_READ,
    ),
)
