"""Typed HTTP operation declarations: each route module's table, assembled by web.openapi."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from core.access import Principal

JSON = "application/json"
# Where the access check (web.access) leaves the verified principal of a request, for the
# handlers of every layer (read routes, ingest, gateway) to read.
PRINCIPAL = web.RequestKey("c360_principal", Principal)


class Described(BaseModel):
    """Base of the models that describe a JSON body in the OpenAPI document. They describe
    what the handlers write (tests validate real answers against them); the handlers keep
    writing their bodies themselves, so no model sits on a hot path."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Parameters(BaseModel):
    """Base of the models whose fields are an operation's query, path or header parameters
    (field description = parameter description; an alias = the wire name, e.g. a header)."""

    model_config = ConfigDict(frozen=True, populate_by_name=True)


@dataclass(frozen=True, slots=True)
class Reply:
    """One response of an operation: a described JSON model, another media type, or no
    body at all (media None)."""

    description: str
    model: type[BaseModel] | None = None
    media: str | None = JSON
    # Integer-valued response headers worth naming (Retry-After).
    headers: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Body:
    """The request body: a model (validation schema), or any bytes when `model` is None."""

    description: str
    model: type[BaseModel] | None = None
    media: str = JSON


@dataclass(frozen=True, slots=True)
class Operation:
    """One (method, path) the service serves, with everything its documentation says."""

    method: str
    path: str
    summary: str
    tag: str
    responses: Mapping[int, Reply]
    query: type[Parameters] | None = None
    path_params: type[Parameters] | None = None
    headers: type[Parameters] | None = None
    body: Body | None = None
    # Accepted security schemes, as alternatives; "" = no credentials is also accepted.
    security: tuple[str, ...] = ()
    description: str = ""
    # The scope a credential needs (core.access); None = public (health, readiness, the
    # OpenAPI document, static assets, dev-only sign-in). `{name}` is filled from the path
    # (ingest:{source}). web.access enforces it before the handler runs.
    scope: str | None = None

    @property
    def key(self) -> tuple[str, str]:
        """(METHOD, path template): what the router serves."""
        return self.method.upper(), self.path


class AccessError(Described):
    """What the access check answers (web.access): 401, 403, 429 and its 503."""

    error: str = Field(examples=["unauthorized", "forbidden", "rate_limited", "store_unavailable"])
    message: str = Field(description="Why, without quoting the credential.")


# The answers of the access check every route with a scope may give, before its handler
# runs; web.openapi adds them to each such operation (an operation's own 503 stays).
ACCESS_REPLIES: Mapping[int, Reply] = {
    401: Reply(
        "unauthorized: no credential, or one that does not verify (unknown, malformed, "
        "expired, revoked, forged); the WWW-Authenticate header carries the Bearer challenge",
        AccessError,
        headers=("WWW-Authenticate",),
    ),
    403: Reply(
        "forbidden: the credential lacks this route's scope, or the request names another "
        "tenant than the credential's",
        AccessError,
    ),
    429: Reply(
        "rate_limited: this credential is over its tenant's rate (C360_RATE_LIMITS); retry "
        "after the Retry-After header's seconds",
        AccessError,
        headers=("Retry-After",),
    ),
    503: Reply(
        "store_unavailable: credentials cannot be checked now (Redis, or the OIDC issuer's "
        "JWKS, does not answer): retry after Retry-After",
        AccessError,
        headers=("Retry-After",),
    ),
}
