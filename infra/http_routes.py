"""Typed HTTP operation declarations: each route module's table, assembled by web.openapi."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict

JSON = "application/json"


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
