"""The audit trail on Kafka (AuditRecorded on c360.audit.v1, keyed by tenant) and its twin."""

from __future__ import annotations

import getpass
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from infra.kafka_config import KafkaEndpoint
from infra.kafka_producer import Message, Publisher, PublishFailed, make_producer
from infra.settings_streams import ToolSettings
from schemas import codec
from schemas.records import AuditRecorded
from schemas.topics import AUDIT


class BlockingPublisher(Publisher, Protocol):
    """A Publisher that CLI tools can also call without an event loop."""

    def publish_blocking(self, messages: Iterable[Message]) -> int:
        """Produce all and wait for the broker's acknowledgement; raises PublishFailed."""
        ...


class BlockingAuditTrail(Protocol):
    """The trail as CLI tools use it: KafkaAuditTrail, or the twin in tests."""

    def record_blocking(self, event: AuditRecorded) -> None:
        """Publish one record and wait for the broker; raises PublishFailed."""
        ...


def audit_message(event: AuditRecorded, topic: str) -> Message:
    """The record as published: keyed by tenant (one partition keeps a tenant's trail in
    order), Avro-encoded like every c360 record. Services that must publish an action and its
    audit record together (the desktop gateway) put this next to their own message."""
    return Message(topic, event.tenant_id.encode(), codec.encode(event))


def operator(env: Mapping[str, str] | None = None) -> str:
    """Who runs a CLI tool: `ops:` + C360_OPERATOR, else the OS user."""
    name = (os.environ if env is None else env).get("C360_OPERATOR") or getpass.getuser()
    return "ops:" + name


class KafkaAuditTrail:
    """AuditTrail on the one producer wrapper: `record` for asyncio callers, `record_blocking`
    for CLI tools. Both return once the broker acknowledged the record and raise
    PublishFailed otherwise; a caller may retry with the same record (same event id, which
    consumers deduplicate by)."""

    def __init__(self, publisher: BlockingPublisher, topic: str) -> None:
        self.publisher = publisher
        self.topic = topic

    async def record(self, event: AuditRecorded) -> None:
        await self.publisher.publish([audit_message(event, self.topic)])

    def record_blocking(self, event: AuditRecorded) -> None:
        """The CLI form (no event loop)."""
        self.publisher.publish_blocking([audit_message(event, self.topic)])

    async def close(self) -> None:
        await self.publisher.close()


def cli_audit_trail(bootstrap: str, topic_prefix: str, client_id: str) -> KafkaAuditTrail:
    """The trail of a CLI tool: the tools' producer (the deployment's Kafka security
    settings; `bootstrap` replaces the servers only), the prefixed audit topic."""
    kafka = KafkaEndpoint.from_settings(ToolSettings.from_env(), bootstrap or None)
    return KafkaAuditTrail(make_producer(kafka, client_id), topic_prefix + AUDIT)


@dataclass(slots=True)
class InMemoryAuditTrail:
    """The trail's twin: keeps the messages exactly as they would be published (tests grep
    their bytes); `fail` makes every record raise it, `fail_next` that many records."""

    topic: str = AUDIT
    messages: list[Message] = field(default_factory=list)
    fail: PublishFailed | None = None
    fail_next: int = 0

    async def record(self, event: AuditRecorded) -> None:
        self.record_blocking(event)

    def record_blocking(self, event: AuditRecorded) -> None:
        """Same as `record`, without an event loop."""
        if self.fail is not None:
            raise self.fail
        if self.fail_next:
            self.fail_next -= 1
            raise PublishFailed("scripted failure")
        self.messages.append(audit_message(event, self.topic))

    async def close(self) -> None:
        return None

    @property
    def records(self) -> Sequence[AuditRecorded]:
        """What was recorded, decoded."""
        out = [codec.decode(m.value) for m in self.messages]
        return [r for r in out if isinstance(r, AuditRecorded)]
