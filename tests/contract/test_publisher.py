"""The contract of the one Kafka publisher port (ingest, gateway actions, CRM results and dead
letters, CLI tools): the twin and confluent-kafka on the real broker pass the same tests."""

from __future__ import annotations

import abc
from collections.abc import AsyncIterator, Callable, Sequence

import pytest

from infra.kafka_config import KafkaEndpoint
from infra.kafka_producer import (
    InMemoryPublisher,
    KafkaProducer,
    Message,
    Publisher,
    PublishFailed,
)
from schemas.topics import INTERACTIONS
from tests.contract.net import closed_port
from tests.kafka_helpers import Received

Delivered = list[tuple[bytes | None, bytes]]


def batch(topic: str, n: int, *, keys: Sequence[bytes] = (b"k1", b"k2")) -> list[Message]:
    """n messages over a few keys; values say key and sequence."""
    out = []
    for i in range(n):
        key = keys[i % len(keys)]
        out.append(Message(topic, key, key + b":" + str(i).encode()))
    return out


def per_key(messages: Sequence[tuple[bytes | None, bytes]]) -> dict[bytes | None, list[bytes]]:
    out: dict[bytes | None, list[bytes]] = {}
    for key, value in messages:
        out.setdefault(key, []).append(value)
    return out


class PublisherContract(abc.ABC):
    """What every Publisher must do."""

    topic: str

    @abc.abstractmethod
    def make(self) -> Publisher:
        """A publisher to a broker that acknowledges."""

    @abc.abstractmethod
    def make_unacknowledged(self) -> Publisher:
        """A publisher whose broker never acknowledges (down, unreachable)."""

    @abc.abstractmethod
    def delivered(self, publisher: Publisher, count: int) -> Delivered:
        """What the broker holds on `self.topic` (waiting for up to `count` records)."""

    @pytest.fixture
    async def publisher(self) -> AsyncIterator[Publisher]:
        publisher = self.make()
        yield publisher
        await publisher.close()

    async def test_once_publish_returns_every_message_is_there_in_order_per_key(
        self, publisher: Publisher
    ) -> None:
        sent = batch(self.topic, 6)
        await publisher.publish(sent[:4])
        await publisher.publish(sent[4:])
        got = self.delivered(publisher, len(sent))
        assert per_key(got) == per_key([(m.key, m.value) for m in sent])

    async def test_an_empty_batch_publishes_nothing(self, publisher: Publisher) -> None:
        await publisher.publish([])
        await publisher.publish([Message(self.topic, b"k", b"after-empty")])
        assert self.delivered(publisher, 1) == [(b"k", b"after-empty")]

    async def test_an_unacknowledged_batch_raises_publish_failed(self) -> None:
        """Transient (not `too_large`): the caller answers 503 or retries."""
        publisher = self.make_unacknowledged()
        try:
            with pytest.raises(PublishFailed) as info:
                await publisher.publish(batch(self.topic, 2))
            assert info.value.too_large is False
        finally:
            await publisher.close()

    async def test_a_message_over_the_size_limit_is_too_large(self, publisher: Publisher) -> None:
        """Permanent: `too_large` (the caller dead-letters or answers 413, never retries)."""
        with pytest.raises(PublishFailed) as info:
            await publisher.publish([Message(self.topic, b"k", b"x" * 2_000_000)])
        assert info.value.too_large is True

    async def test_the_blocking_form_delivers_the_same_way(self) -> None:
        """CLI tools publish without an event loop: same delivery, same failure type."""
        publisher = self.make()
        try:
            assert publisher.publish_blocking(batch(self.topic, 3)) == 3
        finally:
            await publisher.close()
        assert len(self.delivered(publisher, 3)) == 3
        down = self.make_unacknowledged()
        try:
            with pytest.raises(PublishFailed):
                down.publish_blocking(batch(self.topic, 1))
        finally:
            await down.close()

    async def test_close_is_safe_before_and_after_publishing(self) -> None:
        unused = self.make()
        await unused.close()
        used = self.make()
        await used.publish([Message(self.topic, b"k", b"v")])
        await used.close()
        assert self.delivered(used, 1) == [(b"k", b"v")]


class TestInMemoryPublisher(PublisherContract):
    """The twin: messages land in a list; an outage is scripted with `fail`."""

    topic = "c360.interactions.v1"

    def make(self) -> Publisher:
        return InMemoryPublisher()

    def make_unacknowledged(self) -> Publisher:
        return InMemoryPublisher(fail=PublishFailed("broker down"))

    def delivered(self, publisher: Publisher, count: int) -> Delivered:
        assert isinstance(publisher, InMemoryPublisher)
        return [(m.key, m.value) for m in publisher.messages if m.topic == self.topic]



@pytest.mark.integration
class TestKafkaPublisher(PublisherContract):
    """confluent-kafka against the session's Tansu broker; a fresh topic prefix per test."""

    @pytest.fixture(autouse=True)
    def _broker(
        self,
        kafka_bootstrap: str,
        topic_prefix: str,
        consume_until: Callable[..., list[Received]],
    ) -> None:
        self.bootstrap, self.topic = kafka_bootstrap, topic_prefix + INTERACTIONS
        self._consume_until = consume_until

    def make(self) -> Publisher:
        return KafkaProducer(KafkaEndpoint(self.bootstrap), "c360-test", delivery_timeout_s=20)

    def make_unacknowledged(self) -> Publisher:
        return KafkaProducer(
            KafkaEndpoint(f"127.0.0.1:{closed_port()}"), "c360-test", delivery_timeout_s=1.0
        )

    def delivered(self, publisher: Publisher, count: int) -> Delivered:
        # Acknowledged means readable: a short wait is enough, a long one would hide a bug.
        received = self._consume_until(self.topic, lambda rs: len(rs) >= count, 10)
        ordered = sorted(received, key=lambda r: (r.partition, r.offset))
        return [(r.key, r.value or b"") for r in ordered]
