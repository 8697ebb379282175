"""Use cases of the streams process: pure core + ports, no Faust, no Redis client."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from core.activity_log import InMemoryInteractionActivities, InteractionActivities
from core.errors import InvalidIdentifier as InvalidIdentifierError
from core.identity import Identifier, normalize, party_token
from core.ports import InteractionParties, Party, TimelineStore
from core.related import RelatedRecordsStore
from schemas import codec
from schemas.confluent import ConfluentCodec
from schemas.records import (
    DeadLetter,
    InteractionEnded,
    InteractionEvent,
    InteractionOffered,
    PartyInteraction,
)
from schemas.topics import DLQ, INTERACTIONS_BY_PARTY
from streams.directory import DirectoryDeps
from streams.rules_config import RulesSource
from streams.settings import StreamSettings

if TYPE_CHECKING:
    from schemas.confluent import ConfluentCodec

_NS = uuid.UUID("0d8f3c52-7a0e-4d5b-9b1e-52b1c9e0aa77")
NOT_ROUTABLE = frozenset({"anonymous", "extension", "short_code"})


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A record to send: catalogue topic name (unprefixed), key bytes, record."""

    topic: str
    key: bytes
    value: object


@dataclass(frozen=True, slots=True)
class Deps:
    """What handlers need; built by streams.bootstrap (tests pass in-memory twins). Every
    part is present: a part a deployment switches off is a Null twin (streams.directory)."""

    settings: StreamSettings
    timeline: TimelineStore
    parties: InteractionParties
    clock_ms: Callable[[], int]
    # Profile directory, links, pop cache, tenant configs and pop hooks; the "identifiers
    # only" deployment gets streams.directory.disabled_directory().
    directory: DirectoryDeps
    # Tenant automation rules (the built-in call rule when no C360_RULES_FILE is set).
    rules: RulesSource
    related: RelatedRecordsStore
    # A codec option, not a port: schemas.confluent.ConfluentCodec when
    # C360_SCHEMA_REGISTRY_URL is set (outputs in the Confluent wire format; inputs in any of
    # the three formats are read), else None (single-object Avro out).
    confluent: ConfluentCodec | None = None
    # The activities emitted per interaction and the agent's CRM choice (re-targeted on a
    # relink or a choice: streams/activities.py).
    activity_log: InteractionActivities = field(default_factory=InMemoryInteractionActivities)

    def encode(self, record: object, topic: str) -> bytes:
        """Bytes of an output record for a catalogue topic (unprefixed name)."""
        return codec.encode(record, confluent=self.confluent, topic=self.settings.topic(topic))

    async def ready(self, raws: Iterable[bytes] = (), outputs: Iterable[Outgoing] = ()) -> None:
        """Fetch, in a worker thread, what decoding `raws` and encoding `outputs` (and a
        dead letter) still need from the schema registry, so decode/encode never block the
        event loop. A no-op without a registry or once cached; raises RegistryUnavailable
        (transient: the caller retries in place)."""
        if self.confluent is None:
            return
        wanted = [(type(o.value), self.settings.topic(o.topic)) for o in outputs]
        wanted.append((DeadLetter, self.settings.topic(DLQ)))  # letters are built in excepts
        lookups = self.confluent.missing(raws, wanted)
        if lookups:
            await asyncio.to_thread(self.confluent.resolve, lookups)

    def decode(self, raw: bytes) -> Any:
        """The record in input bytes; raises SchemaError (or a subclass) on bad input."""
        return codec.decode(
            raw, max_bytes=self.settings.max_payload_bytes, confluent=self.confluent
        )


def customer_address(event: InteractionEvent) -> str | None:
    """The customer's raw identifier in an event: explicit, else by direction."""
    if event.customer_address:
        return event.customer_address
    if isinstance(event, InteractionOffered | InteractionEnded):
        # Translators leave an address empty when the vendor does not say who the customer
        # is (web chats, some contact events): that is "unknown yet", not an identifier.
        address = event.to_address if event.direction == "outbound" else event.from_address
        return address.strip() or None
    return None


def party_for(event: InteractionEvent, address: str, settings: StreamSettings) -> Party:
    """Normalize the address into a Party; raises InvalidIdentifier for garbage input.

    Anonymous/withheld callers get a per-interaction token: they must not share one
    timeline. Extensions mark agent-to-agent (internal) interactions.
    """
    ident = normalize(address, settings.region_for(event.tenant_id))
    direction = getattr(event, "direction", None)
    if ident.kind == "anonymous" or ident.value is None:
        ident = Identifier(kind="anonymous", value=f"interaction:{event.interaction_id}")
    token = party_token(settings.pii_pepper, event.tenant_id, ident)
    return Party(
        tenant_id=event.tenant_id,
        token=token,
        kind=ident.kind,
        value=None if ident.kind == "anonymous" else ident.value,
        internal=ident.kind == "extension" or direction == "internal",
        normalizer_version=_version(),
    )


def party_for_identifier(tenant_id: str, raw: str, settings: StreamSettings) -> Party:
    """The Party a raw identifier reads as (for lookups; raises InvalidIdentifier)."""
    ident = normalize(raw, settings.region_for(tenant_id))
    if ident.kind == "anonymous" or ident.value is None:
        msg = "an anonymous caller id has no timeline of its own"
        raise InvalidIdentifierError(msg)
    return Party(
        tenant_id=tenant_id,
        token=party_token(settings.pii_pepper, tenant_id, ident),
        kind=ident.kind,
        value=ident.value,
        internal=ident.kind == "extension",
        normalizer_version=_version(),
    )


def _version() -> str:
    from core.identity import NORMALIZER_VERSION  # noqa: PLC0415 - keeps one source

    return NORMALIZER_VERSION


def party_key(party: Party) -> bytes:
    """Kafka key of the by-party topic: tenant + token (never the raw identifier)."""
    return f"{party.tenant_id}:{party.token}".encode()


def rekeyed(party: Party, event: InteractionEvent) -> Outgoing:
    """The event as a by-party record, keyed by its party."""
    record = PartyInteraction(
        event_id=event.event_id,
        tenant_id=event.tenant_id,
        occurred_at=event.occurred_at,
        party_token=party.token,
        party_kind=party.kind,
        party_value=party.value,
        normalizer_version=party.normalizer_version,
        internal=party.internal,
        event=event,
    )
    return Outgoing(INTERACTIONS_BY_PARTY, party_key(party), record)


def party_of(record: PartyInteraction) -> Party:
    """The Party a by-party record is about."""
    return Party(
        tenant_id=record.tenant_id,
        token=record.party_token,
        kind=record.party_kind,
        value=record.party_value,
        internal=record.internal,
        normalizer_version=record.normalizer_version,
    )
