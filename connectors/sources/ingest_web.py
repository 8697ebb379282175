"""POST /v1/ingest/{source}: vendor webhooks and canonical JSON -> c360.interactions.v1 (+ DLQ)."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

import structlog
from aiohttp import web

from connectors.sources.errors import SourcePayloadError
from connectors.sources.ingest_auth import ON_ACCEPTED, dev_principal
from connectors.sources.ingest_models import (
    Accepted,
    Denied,
    IngestError,
    IngestHeaders,
    IngestQuery,
    SourcePath,
)
from connectors.sources.ingest_settings import IngestSettings
from connectors.sources.registry import TRANSLATORS, Translator
from core.access import Principal
from infra.dlq import DEFAULT_MAX_MESSAGE_BYTES, dead_letter_for_request
from infra.http_routes import PRINCIPAL, Body, Operation, Reply
from infra.kafka_config import KafkaEndpoint
from infra.kafka_producer import KafkaProducer, Message, Publisher, PublishFailed
from schemas import codec, json_limits
from schemas.canonical_json import from_json
from schemas.errors import SchemaError
from schemas.records import INTERACTION_EVENT_TYPES, DeadLetter, InteractionEvent
from schemas.validation import LIMITS, ImplausibleValue, Limits, validate

log = structlog.get_logger("c360.ingest")

CANONICAL = "canonical"
ROUTE = "/v1/ingest/{source}"
_MAX_ERROR = 2000
# Above librdkafka's 1 MB default by the ingest limit plus room for the envelope, so a dead
# letter carrying a whole accepted-size payload fits (the broker's limit still applies:
# its rejection surfaces as PublishFailed.too_large).
_HEADROOM = 64 * 1024


class TenantMismatch(SchemaError):
    """A canonical record names another tenant than the credential's (403, not dead-lettered:
    the sender is told, and nothing of another tenant's is stored)."""


@dataclass(frozen=True, slots=True)
class IngestConfig:
    """What the handler needs: topics (prefixed), size limit, default tenant, credentials,
    and what a plausible record is (schemas.validation.Limits)."""

    interactions_topic: str
    dlq_topic: str
    max_payload_bytes: int
    default_tenant: str
    auth: IngestSettings
    limits: Limits = LIMITS


def parse_canonical(body: bytes, tenant: str) -> list[InteractionEvent]:
    """One canonical JSON interaction record or an array of them; all or nothing.

    Raises SchemaError naming the first bad record (JsonTooDeep past
    json_limits.MAX_DEPTH levels), TenantMismatch for another tenant's one.
    """
    try:
        doc = json_limits.loads(body)
    except SchemaError as exc:
        raise type(exc)(f"canonical: {exc}") from exc
    items = doc if isinstance(doc, list) else [doc]
    if not items:
        raise SchemaError("canonical: empty array")
    events: list[InteractionEvent] = []
    for n, item in enumerate(items):
        if not isinstance(item, dict):
            raise SchemaError(f"canonical: record {n} is not a JSON object")
        try:
            record = from_json(json.dumps(item))
        except SchemaError as exc:
            raise SchemaError(f"canonical: record {n}: {exc}") from exc
        if not isinstance(record, INTERACTION_EVENT_TYPES):
            raise SchemaError(
                f"canonical: record {n} is a {type(record).__name__}, not an interaction event"
            )
        event = cast("InteractionEvent", record)  # the tuple is typed as tuple[type, ...]
        if event.tenant_id != tenant:
            raise TenantMismatch(f"canonical: record {n} belongs to another tenant")
        events.append(event)
    return events


def implausible(
    events: list[InteractionEvent], limits: Limits
) -> tuple[int, ImplausibleValue] | None:
    """The index and error of the first record outside `limits` (times against the wall
    clock), or None when every record is plausible."""
    for n, event in enumerate(events):
        try:
            validate(event, limits)
        except ImplausibleValue as exc:
            return n, exc
    return None


def message_limit(max_payload_bytes: int) -> int:
    """The producer's message.max.bytes, and so the dead letters' size budget."""
    return max(DEFAULT_MAX_MESSAGE_BYTES, max_payload_bytes + _HEADROOM)


def ingest_producer(
    settings: Any, ack_timeout_seconds: float, max_payload_bytes: int
) -> KafkaProducer:
    """The webhook's producer: a bounded delivery time so a request answers 503 instead of
    hanging, and room for a whole payload. It connects on first use."""
    return KafkaProducer(
        KafkaEndpoint.from_settings(settings),
        "c360-ingest",
        delivery_timeout_s=ack_timeout_seconds,
        max_message_bytes=message_limit(max_payload_bytes),
    )


def dead_letter(
    source: str,
    tenant: str,
    body: bytes,
    error: BaseException,
    received_at: datetime,
    max_payload_bytes: int = 0,
) -> DeadLetter:
    """The DeadLetter of a rejected request (infra.dlq's builder); its id is stable per
    (source, tenant, bytes), so a vendor retrying the same bad payload dead-letters one id.
    The bytes are kept whole up to what the producer accepts (`message_limit`)."""
    return dead_letter_for_request(
        source=source,
        tenant_id=tenant,
        body=body,
        error=error,
        received_at=received_at,
        max_message_bytes=message_limit(max_payload_bytes),
    )


def _error(status: int, error: str, detail: str, **extra: Any) -> web.Response:
    headers = {"WWW-Authenticate": 'Bearer realm="c360-ingest"'} if status == 401 else None
    return web.json_response(
        {"error": error, "detail": detail, **extra}, status=status, headers=headers
    )


class Ingest:
    """The request handler; `publisher` and `clock` are injected so tests can swap them."""

    def __init__(
        self,
        config: IngestConfig,
        publisher: Publisher,
        translators: Mapping[str, Translator] = TRANSLATORS,
        clock: Callable[[], datetime] = lambda: datetime.now(tz=UTC),
    ) -> None:
        self._config = config
        self._publisher = publisher
        self._translators = translators
        self._clock = clock

    @property
    def sources(self) -> list[str]:
        """Every accepted `{source}` path segment."""
        return sorted([*self._translators, CANONICAL])

    async def handle(self, request: web.Request) -> web.Response:
        """Authenticate, translate, publish, answer; see docs/ingest.md for every status."""
        source = request.match_info["source"]
        if source != CANONICAL and source not in self._translators:
            return _error(
                404, "unknown_source", f"no translator for {source!r}", sources=self.sources
            )
        principal = self._principal(request)
        if principal is None:
            log.warning("ingest_unauthorized", source=source, status=401)
            return _error(401, "unauthorized", "a credential is required")
        limit = self._config.max_payload_bytes
        too_big = _error(413, "payload_too_large", f"the limit is {limit} bytes")
        if (request.content_length or 0) > limit:
            return too_big
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return too_big
        if len(body) > limit:
            return too_big
        # The tenant is the credential's, never the request's: web.access already refused a
        # request naming another one (403) before anything was translated or published.
        tenant = principal.tenant
        bound = log.bind(
            source=source,
            tenant=tenant,
            bytes=len(body),
            kind=principal.kind,
            subject=principal.subject,
        )
        received_at = self._clock()
        try:
            events = self._translate(source, body, tenant, received_at)
            refused = implausible(events, self._config.limits)
            messages = (
                []
                if refused
                else [
                    Message(
                        self._config.interactions_topic, e.interaction_id.encode(), codec.encode(e)
                    )
                    for e in events
                ]
            )
        except TenantMismatch as exc:
            bound.warning("ingest_tenant_mismatch")
            return _error(403, "forbidden", str(exc))
        except (SourcePayloadError, SchemaError) as exc:
            return await self._dead_letter(source, tenant, body, exc, received_at, 400, bound)
        except RecursionError as exc:  # a translator recursing on hostile nesting: bad input
            return await self._dead_letter(source, tenant, body, exc, received_at, 400, bound)
        except Exception as exc:  # a translator bug: keep the bytes, tell the sender
            bound.exception("ingest_translator_crashed")
            return await self._dead_letter(source, tenant, body, exc, received_at, 500, bound)
        if refused:
            n, why = refused
            named = ImplausibleValue(f"record {n}: {why.field}", why.problem)
            return await self._dead_letter(
                source,
                tenant,
                body,
                named,
                received_at,
                400,
                bound,
                kind="implausible_value",
                field=why.field,
                record=n,
            )
        try:
            await self._publisher.publish(messages)
        except PublishFailed as exc:
            bound.warning("ingest_broker_unavailable", error=str(exc), events=len(messages))
            return _unavailable(exc)
        ids = [e.event_id for e in events]
        accepted = request.get(ON_ACCEPTED)
        if accepted is not None:
            accepted()  # the signed request now counts as used (replay check)
        bound.info("ingest_accepted", events=len(ids))
        return web.json_response({"accepted": len(ids), "event_ids": ids}, status=202)

    def _translate(
        self, source: str, body: bytes, tenant: str, received_at: datetime
    ) -> list[InteractionEvent]:
        if source == CANONICAL:
            return parse_canonical(body, tenant)
        return self._translators[source](body, tenant, received_at)

    async def _dead_letter(
        self,
        source: str,
        tenant: str,
        body: bytes,
        exc: BaseException,
        received_at: datetime,
        status: int,
        bound: Any,
        kind: str = "",
        **extra: Any,
    ) -> web.Response:
        letter = dead_letter(source, tenant, body, exc, received_at, self._config.max_payload_bytes)
        try:
            await self._publisher.publish(
                [Message(self._config.dlq_topic, None, codec.encode(letter))]
            )
        except PublishFailed as failed:
            # The bytes are not stored anywhere: the sender must keep them and retry.
            bound.warning("ingest_dead_letter_failed", error=str(failed))
            return _unavailable(failed)
        bound.warning(
            "ingest_dead_lettered", error_type=letter.error_type, dead_letter_id=letter.event_id
        )
        kind = kind or ("malformed_payload" if status == 400 else "translator_error")
        return _error(status, kind, letter.error_message, dead_letter_id=letter.event_id, **extra)

    def _principal(self, request: web.Request) -> Principal | None:
        principal = request.get(PRINCIPAL)
        if isinstance(principal, Principal):
            return principal
        # No access check ran (the route mounted without web.access): only the open dev
        # stack may proceed, as the default tenant; anything else fails closed.
        return dev_principal(self._config.default_tenant) if self._config.auth.open else None


def _unavailable(exc: PublishFailed) -> web.Response:
    if exc.too_large:
        return _error(413, "payload_too_large", "the broker refused a record of this size")
    response = _error(503, "broker_unavailable", "events were not acknowledged; retry later")
    response.headers["Retry-After"] = "5"
    return response


def add_routes(app: web.Application, ingest: Ingest) -> None:
    """Mount POST /v1/ingest/{source}."""
    app.router.add_post(ROUTE, ingest.handle)


def _e(description: str, *headers: str) -> Reply:
    return Reply(description, IngestError, headers=headers)


OPERATIONS = (
    Operation(
        "POST",
        ROUTE,
        "Vendor webhook or canonical JSON -> c360.interactions.v1 (202 only after the broker "
        "acknowledged every record)",
        "ingest",
        {
            202: Reply("Accepted", Accepted),
            400: _e("malformed_payload or implausible_value (dead-lettered)"),
            401: Reply(
                "unauthorized: no credential, an unknown/expired/revoked key or token, a bad or "
                "stale X-C360-Signature or X-Twilio-Signature, or a replayed signed request "
                "(WWW-Authenticate)",
                Denied,
            ),
            403: Reply(
                "forbidden: the request names another tenant than the credential's, the "
                "credential lacks ingest:<source>, or a canonical record's tenant differs",
                Denied,
            ),
            404: _e("unknown_source"),
            413: _e("payload_too_large"),
            429: Reply(
                "rate_limited: over the credential's rate", Denied, headers=("Retry-After",)
            ),
            500: _e("translator_error (dead-lettered)"),
            503: _e("broker_unavailable: retry (Retry-After)", "Retry-After"),
        },
        query=IngestQuery,
        path_params=SourcePath,
        headers=IngestHeaders,
        body=Body(
            "The vendor payload as the platform sends it (JSON, form or text); for "
            "`canonical` one canonical JSON record or an array of them.",
            media="*/*",
        ),
        security=("bearer", "c360Signature", "twilioSignature"),
        description=(
            "The tenant is the credential's: an API key with `ingest:<source>` or `ingest:*`, "
            "a legacy C360_INGEST_TOKENS token, an X-C360-Signature (HMAC-SHA256 over "
            "`<t>.<body>`, 300 s window) made with the tenant's signing secret, or Twilio's "
            "X-Twilio-Signature with the tenant's auth token (docs/ingest.md)."
        ),
        scope="ingest:{source}",
    ),
)
