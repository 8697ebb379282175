"""Dead-letter records: the original bytes plus where they came from and why they failed."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from schemas.records import DeadLetter

_NS = uuid.UUID("4f0e6e7c-2d7b-4c55-8f61-1b3f5b0a9d12")
_MAX_MESSAGE = 2000
# Brokers reject records over ~1 MiB by default, so a dead letter cannot always carry an
# oversized payload whole: it keeps the first 512 KiB and says so; the full bytes stay at
# topic/partition/offset in the source topic for the retention period.
MAX_ORIGINAL_BYTES = 512 * 1024


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
) -> DeadLetter:
    """A DeadLetter for a message that failed; its id is stable per (topic, partition,
    offset, stage), so dead-lettering the same message twice yields the same record."""
    message = str(error)[:_MAX_MESSAGE]
    if value is not None and len(value) > MAX_ORIGINAL_BYTES:
        message += (
            f" [original_value truncated to {MAX_ORIGINAL_BYTES} of {len(value)} bytes; "
            f"the full payload is at {topic}/{partition}@{offset}]"
        )
        value = value[:MAX_ORIGINAL_BYTES]
    return DeadLetter(
        event_id=str(uuid.uuid5(_NS, f"{topic}:{partition}:{offset}:{stage}")),
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
