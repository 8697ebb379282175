"""The ingest webhook's parameters and answers as pydantic models (describing only)."""

from __future__ import annotations

from pydantic import Field
from pydantic.json_schema import SkipJsonSchema

from infra.http_routes import Described, Parameters

Absent = SkipJsonSchema[None]


class SourcePath(Parameters):
    """Which platform sent the payload."""

    source: str = Field(
        description="amazon_connect, twilio, genesys, asterisk, freeswitch or canonical "
        "(docs/sources.md)."
    )


class IngestQuery(Parameters):
    """The tenant, for platforms that cannot set a header (Twilio)."""

    tenant: str | None = Field(
        None,
        description="The tenant the request claims: it must be the credential's (else 403); "
        "for signatures, the tenant whose secret is checked.",
    )


class IngestHeaders(Parameters):
    """Tenant and the request signatures."""

    tenant: str | None = Field(
        None,
        alias="X-C360-Tenant",
        description="The tenant the request claims: it must be the credential's (else 403).",
    )
    signature: str | None = Field(
        None,
        alias="X-C360-Signature",
        description="t=<unix seconds>,v1=<hex HMAC-SHA256(secret, '<t>.' + body)> with the "
        "tenant's signing secret; 300 s window; several v1 during a rotation.",
    )
    twilio_signature: str | None = Field(
        None,
        alias="X-Twilio-Signature",
        description="Twilio's request signature (twilio only).",
    )


class Accepted(Described):
    """202: every record was acknowledged by the broker."""

    accepted: int
    event_ids: list[str]


class Denied(Described):
    """401/403/429 from the access check (`message`) or the handler (`detail`)."""

    error: str = Field(examples=["unauthorized", "forbidden", "rate_limited"])
    message: str | Absent = Field(None, description="Why (the access check).")
    detail: str | Absent = Field(None, description="Why (a record of another tenant).")


class IngestError(Described):
    """Ingest errors: {error, detail, ...} (docs/ingest.md)."""

    error: str
    detail: str
    dead_letter_id: str | Absent = Field(None, description="When the bytes were dead-lettered.")
    sources: list[str] | Absent = Field(None, description="unknown_source: the accepted ones.")
    field: str | Absent = Field(None, description="implausible_value: the field.")
    record: int | Absent = Field(None, description="implausible_value: the record's index.")
