"""The source translators by ingest name, behind one call shape for the ingest webhook."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from connectors.sources import amazon_connect, asterisk, freeswitch, genesys, twilio
from schemas.records import InteractionEvent

Translator = Callable[[bytes, str, datetime], list[InteractionEvent]]


def _amazon(body: bytes, tenant: str, received_at: datetime) -> list[InteractionEvent]:
    return amazon_connect.translate(body, tenant, received_at=received_at)


def _twilio(body: bytes, tenant: str, received_at: datetime) -> list[InteractionEvent]:
    return twilio.translate(body, tenant, received_at=received_at)


def _genesys(body: bytes, tenant: str, received_at: datetime) -> list[InteractionEvent]:
    return genesys.translate(body, tenant)


def _asterisk(body: bytes, tenant: str, received_at: datetime) -> list[InteractionEvent]:
    return asterisk.translate(body, tenant, received_at=received_at)


def _freeswitch(body: bytes, tenant: str, received_at: datetime) -> list[InteractionEvent]:
    return freeswitch.translate(body, tenant)


# POST /v1/ingest/{source}: body bytes as received, the tenant, and the receiver's clock
# (used only by payloads that carry no time of their own). Each raises SourcePayloadError.
TRANSLATORS: dict[str, Translator] = {
    "amazon_connect": _amazon,
    "twilio": _twilio,
    "genesys": _genesys,
    "asterisk": _asterisk,
    "freeswitch": _freeswitch,
}
