"""One access check for every route: credential -> principal, scope and tenant, rate limit."""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

import structlog
from aiohttp import web
from aiohttp.typedefs import Middleware

from core.access import InvalidCredential, Principal, decide
from core.errors import StoreUnavailable
from core.rate_limits import RateLimiter, RateLimits
from infra.http_routes import PRINCIPAL, Operation

# InvalidCredential lives in core.access (the connectors' verifiers raise it too); re-exported.
__all__ = [
    "Access",
    "BearerVerifier",
    "InvalidCredential",
    "RequestVerifier",
    "access_middleware",
    "authenticate",
    "bearer_token",
    "named_tenant",
    "principal_of",
    "unauthorized",
]
log = structlog.get_logger("web.access")
_PRINCIPAL = PRINCIPAL
_CHALLENGE = 'Bearer realm="c360"'


class BearerVerifier(Protocol):
    """One kind of bearer credential (API keys, agent JWTs, desktop tokens)."""

    async def verify(self, token: str) -> Principal | None:
        """The principal, None when the token is not of this kind, InvalidCredential when it
        is of this kind and does not verify."""


class RequestVerifier(Protocol):
    """A credential carried by the request itself (a source platform's signature)."""

    async def verify(self, request: web.Request, scope: str) -> Principal | None:
        """The principal, None when the request carries no such credential,
        InvalidCredential when it carries one that does not verify."""


@dataclass(frozen=True, slots=True)
class Access:
    """Everything the check needs; web.bootstrap builds it, tests pass twins."""

    bearers: tuple[BearerVerifier, ...]
    signed: tuple[RequestVerifier, ...]
    limiter: RateLimiter
    limits: RateLimits


def principal_of(request: web.Request) -> Principal:
    """The verified principal of a request that passed the check (routes with a scope)."""
    principal: Principal | None = request.get(_PRINCIPAL)
    if principal is None:
        raise RuntimeError("principal_of() on a route without a scope")
    return principal


def named_tenant(request: web.Request) -> str | None:
    """The tenant a request names, if any (a query parameter or X-C360-Tenant): only ever
    compared with the credential's, never used to choose what to read."""
    return request.query.get("tenant") or request.headers.get("X-C360-Tenant") or None


def bearer_token(request: web.Request, allow_query: bool) -> str | None:
    """`Authorization: Bearer x`, or `?token=x` where the route allows it (EventSource
    cannot set headers, so the desktop routes take it in the URL)."""
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return (request.query.get("token") or None) if allow_query else None


def _error(status: int, code: str, message: str, **headers: str) -> web.Response:
    return web.json_response({"error": code, "message": message}, status=status, headers=headers)


def unauthorized(message: str) -> web.Response:
    """401 with the challenge RFC 6750 asks for."""
    return _error(401, "unauthorized", message, **{"WWW-Authenticate": _CHALLENGE})


async def authenticate(
    access: Access, request: web.Request, scope: str, allow_query: bool
) -> Principal:
    """The request's principal; InvalidCredential (-> 401) when none verifies."""
    token = bearer_token(request, allow_query)
    if token is not None:
        for verifier in access.bearers:
            principal = await verifier.verify(token)
            if principal is not None:
                return principal
        raise InvalidCredential("unknown credential")
    for signed in access.signed:
        principal = await signed.verify(request, scope)
        if principal is not None:
            return principal
    raise InvalidCredential("a credential is required (Authorization: Bearer <token>)")


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def access_middleware(access: Access, operations: Iterable[Operation]) -> Middleware:
    """The middleware every request passes: routes without a declared scope are public
    (probes, documents, the panel, dev sign-in, and the CRM OAuth callback, whose signed
    single-use state is its credential: connectors/gateway/crm_oauth_web.py); the others
    need a credential (401), with the scope and of the tenant the request names (403,
    before any storage is touched), within the credential's rate (429)."""
    scopes = {op.key: op.scope for op in operations}

    @web.middleware
    async def check(request: web.Request, handler: Handler) -> web.StreamResponse:
        info = request.match_info
        resource = info.route.resource
        key = (request.method.upper(), resource.canonical if resource is not None else "")
        template = scopes.get(key)
        if template is None:
            return await handler(request)  # public, or no such route (aiohttp answers)
        scope = template.format_map(dict(info))
        try:
            principal = await authenticate(access, request, scope, scope == "desktop")
            decision = decide(principal, scope, named_tenant(request))
            wait = 0.0
            if decision.allowed:
                key_ = f"{principal.kind}:{principal.subject}"
                wait = await access.limiter.acquire(key_, access.limits.of(principal.tenant))
        except StoreUnavailable:
            # Key records and rate budgets live in Redis: without it nobody is let in, and
            # the caller is told to come back (never a 500, never an open door).
            return _error(
                503,
                "store_unavailable",
                "credentials cannot be checked now: retry",
                **{"Retry-After": "1"},
            )
        except InvalidCredential as exc:
            log.info("access_denied", status=401, reason=str(exc), path=key[1])
            return unauthorized(str(exc))
        if not decision.allowed:
            log.info(
                "access_denied",
                status=decision.status,
                reason=decision.reason,
                path=key[1],
                kind=principal.kind,
                subject=principal.subject,
            )
            return _error(decision.status, "forbidden", decision.reason)
        if wait > 0:
            return _error(
                429,
                "rate_limited",
                "too many requests for this credential",
                **{"Retry-After": str(max(1, math.ceil(wait)))},
            )
        request[_PRINCIPAL] = principal
        return await handler(request)

    return check
