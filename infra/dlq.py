"""The one dead-letter builder: original bytes, where they came from, why they failed."""

from __future__ import annotations

import hashlib
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from schemas.records import DeadLetter

_NS = uuid.UUID("4f0e6e7c-2d7b-4c55-8f61-1b3f5b0a9d12")
_MAX_MESSAGE = 2000
# A dead letter is one Kafka record, so it carries the original bytes only while the whole
# letter fits the producer's and the broker's message limit. The default is the smallest
# limit in our path: Faust's producer (aiokafka max_request_size) and librdkafka refuse
# records over 1,000,000 bytes unless configured otherwise (Kafka brokers take 1 MiB + 12).
# The headroom covers the envelope: the error text (2000 characters, up to 8 KB of UTF-8),
# topic, stage, ids, the Avro header and aiokafka's record-batch estimate (tests check the
# worst case against aiokafka's own size estimate). The key counts twice: it travels as
# original_key inside the letter and again as the letter's Kafka key.
# Above the budget the letter keeps no bytes at all (original_value None) and names them:
# topic/partition@offset, length and sha256, in error_message. A truncated prefix would be
# worse than none: `c360 dlq redrive` re-publishes original_value, and a prefix is garbage.
DEFAULT_MAX_MESSAGE_BYTES = 1_000_000
ENVELOPE_HEADROOM = 16 * 1024
MAX_ORIGINAL_BYTES = DEFAULT_MAX_MESSAGE_BYTES - ENVELOPE_HEADROOM  # with an empty key
_REFERENCE = re.compile(
    r"\[original_(?P<what>value|key) not kept: (?P<length>\d+) bytes, sha256 (?P<sha>[0-9a-f]{64}),"
    r" over the (?P<budget>\d+)-byte dead-letter budget; the original is at "
    r"(?P<topic>.*?)/(?P<partition>-?\d+)@(?P<offset>-?\d+)\]"
)


@dataclass(frozen=True, slots=True)
class OriginalReference:
    """Where the bytes a dead letter could not carry are: the source record, its length
    and sha256 (to check a copy fetched from topic/partition@offset before redriving it)."""

    what: str  # "value" or "key"
    topic: str
    partition: int
    offset: int
    length: int
    sha256: str

    def text(self, budget: int) -> str:
        """The sentence appended to error_message (parsed back by `references`)."""
        return (
            f"[original_{self.what} not kept: {self.length} bytes, sha256 {self.sha256}, "
            f"over the {budget}-byte dead-letter budget; the original is at "
            f"{self.topic}/{self.partition}@{self.offset}]"
        )


def references(letter: DeadLetter) -> list[OriginalReference]:
    """The references a letter carries instead of its original bytes ([] when it kept them)."""
    return [
        OriginalReference(
            m["what"],
            m["topic"],
            int(m["partition"]),
            int(m["offset"]),
            int(m["length"]),
            m["sha"],
        )
        for m in _REFERENCE.finditer(letter.error_message)
    ]


def dead_letter_for(
    *,
    topic: str,
    partition: int,
    offset: int,
    key: bytes | None,
    value: bytes | None,
    error: BaseException,
    stage: str,
    tenant_id: str | None = None,
    now: datetime | None = None,
    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
    detail: str | None = None,
) -> DeadLetter:
    """A DeadLetter for a Kafka record that failed; its id is stable per (topic, partition,
    offset, stage), so dead-lettering the same message twice yields the same record.

    The original key and value are kept whole while the letter fits `max_message_bytes`
    (the producer's/broker's limit) less ENVELOPE_HEADROOM; past that the value (and, for
    an absurd key, the key) is None and error_message says where the bytes are, with their
    length and sha256 (`references` parses it back). `detail` replaces str(error) as the
    message when the caller knows more (a CRM's response excerpt)."""
    return _letter(
        f"{topic}:{partition}:{offset}:{stage}",
        topic=topic,
        partition=partition,
        offset=offset,
        key=key,
        value=value,
        error=error,
        stage=stage,
        tenant_id=tenant_id,
        now=now,
        max_message_bytes=max_message_bytes,
        detail=detail,
    )


def dead_letter_for_request(
    *,
    source: str,
    tenant_id: str,
    body: bytes,
    error: BaseException,
    received_at: datetime,
    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
) -> DeadLetter:
    """A DeadLetter for an HTTP request refused at the edge (ingest): it never was a Kafka
    record, so topic is `http:/v1/ingest/<source>` and partition/offset are -1. Its id is
    stable per (source, tenant, sha256(body)): a vendor retrying the same bad payload
    dead-letters one record id (docs/ingest.md)."""
    digest = hashlib.sha256(body).hexdigest()
    return _letter(
        f"ingest:{source}:{tenant_id}:{digest}",
        topic=f"http:/v1/ingest/{source}",
        partition=-1,
        offset=-1,
        key=None,
        value=body,
        error=error,
        stage=f"ingest:{source}",
        tenant_id=tenant_id,
        now=received_at,
        max_message_bytes=max_message_bytes,
        detail=None,
    )


def _letter(
    name: str,
    *,
    topic: str,
    partition: int,
    offset: int,
    key: bytes | None,
    value: bytes | None,
    error: BaseException,
    stage: str,
    tenant_id: str | None,
    now: datetime | None,
    max_message_bytes: int,
    detail: str | None,
) -> DeadLetter:
    # One namespace for every dead letter; `name` says what makes the letter the same one.
    message = (str(error) if detail is None else detail)[:_MAX_MESSAGE]
    budget = max_message_bytes - ENVELOPE_HEADROOM
    key_size = len(key) if key is not None else 0
    refs: list[OriginalReference] = []

    def reference(what: str, data: bytes) -> None:
        sha = hashlib.sha256(data).hexdigest()
        refs.append(OriginalReference(what, topic, partition, offset, len(data), sha))

    if key is not None and 2 * key_size > budget:
        reference("key", key)
        key = None
    if value is not None and len(value) + 2 * key_size > budget:
        reference("value", value)
        value = None
    for ref in refs:
        message += " " + ref.text(budget)
    return DeadLetter(
        event_id=str(uuid.uuid5(_NS, name)),
        occurred_at=now or datetime.now(tz=UTC),
        topic=topic,
        partition=partition,
        offset=offset,
        original_value=value,
        original_key=key,
        error_type=type(error).__name__,
        error_message=message,
        stage=stage,
        tenant_id=tenant_id,
    )
