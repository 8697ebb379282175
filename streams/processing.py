"""Per-message envelope of every agent: decode, handle with retry in place, send, or DLQ."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

import structlog

from projections.errors import StoreUnavailable
from schemas.confluent import RegistryUnavailable
from schemas.errors import C360Error, SchemaError
from schemas.topics import DLQ
from streams.dlq import dead_letter_for
from streams.handlers import Deps, Outgoing

log = structlog.get_logger("c360.streams")

Handler = Callable[[Any, bytes], Awaitable[list[Outgoing]]]


class Message(Protocol):
    """What we read of a Faust message (faust.types.Message satisfies it)."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None


Sender = Callable[[str, bytes | None, bytes], Awaitable[None]]


@dataclass(slots=True)
class Stats:
    """Counters per agent (exported as metrics by the app)."""

    processed: int = 0
    dead_lettered: int = 0
    retries: int = 0


async def process(
    message: Message,
    *,
    stage: str,
    deps: Deps,
    handle: Handler,
    send: Sender,
    stats: Stats,
    expect: tuple[type, ...] = (),
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> None:
    """Run one message through `handle`; never raises (Faust would ack and lose it).

    Data errors (undecodable bytes, invalid records, bad identifiers) dead-letter the
    original bytes. Store and schema-registry outages are retried in place with capped
    exponential backoff, so the partition waits and order is kept; past the deadline the
    message is dead-lettered with reason infra_unavailable for a later redrive.
    """
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(
        stage=stage, topic=message.topic, partition=message.partition, offset=message.offset
    )
    raw = message.value or b""

    async def step() -> list[tuple[str, bytes | None, bytes]]:
        # Decoding and encoding sit inside the retried step: with a schema registry they
        # can hit an outage (RegistryUnavailable), which must wait, not dead-letter.
        record = deps.decode(raw)
        if expect and not isinstance(record, expect):
            msg = f"{type(record).__name__} does not belong on this topic"
            raise SchemaError(msg)
        structlog.contextvars.bind_contextvars(event_id=getattr(record, "event_id", None))
        outgoing = await handle(record, raw)
        return [(o.topic, o.key, deps.encode(o.value, o.topic)) for o in outgoing]

    try:
        for topic, key, value in await _with_retry(step, deps, stats, sleep):
            await send(topic, key, value)
        stats.processed += 1
    except _GaveUp as exc:
        await _dead_letter(
            message, exc.__cause__ or exc, stage, send, stats, "infra_unavailable", deps
        )
    except C360Error as exc:
        await _dead_letter(message, exc, stage, send, stats, "invalid", deps)
    except Exception as exc:
        log.exception("handler_crashed")
        await _dead_letter(message, exc, stage, send, stats, "crash", deps)


class _GaveUp(Exception):
    """The store stayed unavailable past the retry deadline."""


async def _with_retry(
    call: Callable[[], Awaitable[list[tuple[str, bytes | None, bytes]]]],
    deps: Deps,
    stats: Stats,
    sleep: Callable[[float], Awaitable[None]],
) -> list[tuple[str, bytes | None, bytes]]:
    deadline = time.monotonic() + deps.settings.redis_retry_deadline_seconds
    delay = 0.1
    while True:
        try:
            return await call()
        except (StoreUnavailable, RegistryUnavailable) as exc:
            stats.retries += 1
            if time.monotonic() >= deadline:
                raise _GaveUp from exc
            log.warning("store_unavailable_retrying", error=str(exc), delay=round(delay, 2))
            await sleep(delay * (0.5 + random.random() / 2))
            delay = min(delay * 2, 5.0)


async def _dead_letter(
    message: Message,
    exc: BaseException,
    stage: str,
    send: Sender,
    stats: Stats,
    kind: str,
    deps: Deps,
) -> None:
    letter = dead_letter_for(
        topic=message.topic,
        partition=message.partition,
        offset=message.offset,
        key=message.key,
        value=message.value,
        error=exc,
        stage=stage,
    )
    log.warning("dead_lettered", kind=kind, error_type=letter.error_type)
    await send(DLQ, message.key, deps.encode(letter, DLQ))
    stats.dead_lettered += 1
