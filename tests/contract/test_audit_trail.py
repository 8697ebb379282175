"""One contract for the audit trail: the in-memory twin and Kafka (real broker) pass the same
tests: a record lands once, keyed by tenant, decodable, in order; a failure raises
PublishFailed; a retried record keeps its event id."""

from __future__ import annotations

import abc
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from core.audit import audit_record
from infra.audit_kafka import InMemoryAuditTrail, KafkaAuditTrail, audit_message
from infra.kafka_config import KafkaEndpoint
from infra.kafka_producer import KafkaProducer, PublishFailed
from schemas import codec
from schemas.records import AuditRecorded
from schemas.topics import AUDIT
from tests.contract.net import closed_port
from tests.kafka_helpers import Received

AT = datetime(2026, 12, 1, 10, tzinfo=UTC)
Delivered = list[tuple[bytes | None, bytes]]


def event(n: int = 0, tenant: str = "acme", **kw: Any) -> AuditRecorded:
    base: dict[str, Any] = {
        "tenant": tenant,
        "actor_kind": "operator",
        "actor": "ops:jane",
        "action": "forget",
        "target": f"9f2c4a7e1b3d5f60718293a4b5c6d7e{n}",
        "outcome": "ok",
        "at": AT,
        "details": {"timeline_entries": str(n)},
    }
    return audit_record(**{**base, **kw})


class AuditTrailContract(abc.ABC):
    """What every audit trail must do (async `record` and the CLI's `record_blocking`)."""

    @abc.abstractmethod
    def make(self) -> Any:
        """A trail whose broker acknowledges."""

    @abc.abstractmethod
    def make_down(self) -> Any:
        """A trail whose broker never acknowledges."""

    @abc.abstractmethod
    def delivered(self, trail: Any, count: int) -> Delivered:
        """(key, value) of what the audit topic holds, waiting for up to `count` records."""

    async def test_a_record_lands_once_keyed_by_tenant_and_decodes(self) -> None:
        trail = self.make()
        try:
            await trail.record(event(1))
            trail.record_blocking(event(2, tenant="beta"))
        finally:
            await trail.close()
        got = self.delivered(trail, 2)
        assert [k for k, _ in got] == [b"acme", b"beta"]
        assert [codec.decode(v) for _, v in got] == [event(1), event(2, tenant="beta")]
        assert [v for _, v in got] == [
            audit_message(event(1), "x").value,
            audit_message(event(2, tenant="beta"), "x").value,
        ]

    async def test_records_keep_their_order(self) -> None:
        trail = self.make()
        try:
            for n in range(5):
                await trail.record(event(n))
        finally:
            await trail.close()
        got = [codec.decode(v) for _, v in self.delivered(trail, 5)]
        assert [r.details["timeline_entries"] for r in got] == ["0", "1", "2", "3", "4"]

    async def test_an_unacknowledged_record_raises_publish_failed(self) -> None:
        trail = self.make_down()
        try:
            with pytest.raises(PublishFailed):
                await trail.record(event())
            with pytest.raises(PublishFailed):
                trail.record_blocking(event())
        finally:
            await trail.close()

    async def test_a_retried_record_keeps_its_event_id(self) -> None:
        """The caller retries with the record it built: consumers see one event id (a
        duplicate they drop), never two different actions."""
        first = event(7)
        trail = self.make()
        try:
            await trail.record(first)
            trail.record_blocking(first)  # as after an unacknowledged first attempt
        finally:
            await trail.close()
        got = [codec.decode(v) for _, v in self.delivered(trail, 2)]
        assert {r.event_id for r in got} == {first.event_id}


class TestInMemoryAuditTrail(AuditTrailContract):
    """The twin: messages in a list; an outage scripted with `fail`."""

    def make(self) -> Any:
        return InMemoryAuditTrail()

    def make_down(self) -> Any:
        return InMemoryAuditTrail(fail=PublishFailed("broker down"))

    def delivered(self, trail: Any, count: int) -> Delivered:
        assert isinstance(trail, InMemoryAuditTrail)
        assert all(m.topic == AUDIT for m in trail.messages)
        return [(m.key, m.value) for m in trail.messages]

    def test_fail_next_fails_that_many_then_records(self) -> None:
        trail = InMemoryAuditTrail(fail_next=1)
        with pytest.raises(PublishFailed):
            trail.record_blocking(event())
        trail.record_blocking(event())
        assert trail.records == [event()]


@pytest.mark.integration
class TestKafkaAuditTrail(AuditTrailContract):
    """confluent-kafka against the session's Tansu broker; a fresh topic prefix per test."""

    @pytest.fixture(autouse=True)
    def _broker(
        self,
        kafka_bootstrap: str,
        topic_prefix: str,
        consume_until: Callable[..., list[Received]],
    ) -> None:
        self.bootstrap, self.topic = kafka_bootstrap, topic_prefix + AUDIT
        self._consume_until = consume_until

    def make(self) -> Any:
        producer = KafkaProducer(KafkaEndpoint(self.bootstrap), "c360-test", delivery_timeout_s=20)
        return KafkaAuditTrail(producer, self.topic)

    def make_down(self) -> Any:
        producer = KafkaProducer(
            KafkaEndpoint(f"127.0.0.1:{closed_port()}"), "c360-test", delivery_timeout_s=1.0
        )
        return KafkaAuditTrail(producer, self.topic)

    def delivered(self, trail: Any, count: int) -> Delivered:
        received = self._consume_until(self.topic, lambda rs: len(rs) >= count, 10)
        ordered = sorted(received, key=lambda r: (r.partition, r.offset))
        return [(r.key, r.value or b"") for r in ordered]
