"""Per-message envelope of every agent: decode, handle with retry in place, send, or DLQ."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import structlog

from core.errors import StoreUnavailable
from infra.backoff import GaveUp, retry_in_place
from infra.dlq import dead_letter_for
from schemas.confluent import RegistryUnavailable
from schemas.errors import C360Error, SchemaError
from schemas.topics import DLQ
from streams.handlers import Deps, Outgoing

if TYPE_CHECKING:
    from streams.pipeline import Failure, PartyCache

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
# Sends many records and waits for all their acks; raises OutputUnavailable when the broker
# cannot take them (the caller retries in place: nothing is acknowledged meanwhile).
BatchSender = Callable[[list[tuple[str, bytes | None, bytes]]], Awaitable[None]]


class OutputUnavailable(Exception):
    """The broker did not acknowledge an output or a dead letter: transient, retry."""


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
        await deps.ready([raw])  # registry look-ups off the event loop
        record = deps.decode(raw)
        if expect and not isinstance(record, expect):
            msg = f"{type(record).__name__} does not belong on this topic"
            raise SchemaError(msg)
        structlog.contextvars.bind_contextvars(event_id=getattr(record, "event_id", None))
        outgoing = await handle(record, raw)
        await deps.ready(outputs=outgoing)
        return [(o.topic, o.key, deps.encode(o.value, o.topic)) for o in outgoing]

    async def send_all(records: list[tuple[str, bytes | None, bytes]]) -> None:
        for topic, key, value in records:
            await send(topic, key, value)

    try:
        records = await _with_retry(step, deps, stats, sleep)
    except GaveUp as exc:
        records = [_letter_of(message, exc.__cause__ or exc, stage, "infra_unavailable", deps)]
    except C360Error as exc:
        records = [_letter_of(message, exc, stage, "invalid", deps)]
    except Exception as exc:
        log.exception("handler_crashed")
        records = [_letter_of(message, exc, stage, "crash", deps)]
    # A broker that cannot take the outputs (or the dead letter) is waited for: the input is
    # acknowledged only once they are (resending is safe, output ids derive from causes).
    await _send_until_acked(records, send_all, stats, sleep)
    if records and records[-1][0] == DLQ:
        stats.dead_lettered += 1
    else:
        stats.processed += 1


async def _with_retry(
    call: Callable[[], Awaitable[list[tuple[str, bytes | None, bytes]]]],
    deps: Deps,
    stats: Stats,
    sleep: Callable[[float], Awaitable[None]],
) -> list[tuple[str, bytes | None, bytes]]:
    def failed(exc: Exception, delay: float | None) -> None:
        stats.retries += 1
        if delay is not None:
            log.warning("store_unavailable_retrying", error=str(exc), delay=round(delay, 2))

    return await retry_in_place(
        call,
        retry_on=(StoreUnavailable, RegistryUnavailable),
        on_failure=failed,
        deadline_seconds=deps.settings.redis_retry_deadline_seconds,
        sleep=sleep,
    )


def _letter_of(
    message: Message, exc: BaseException, stage: str, kind: str, deps: Deps
) -> tuple[str, bytes | None, bytes]:
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
    return (DLQ, message.key, deps.encode(letter, DLQ))


async def process_batch(
    messages: Sequence[Message],
    *,
    stage: str,
    deps: Deps,
    cache: PartyCache,
    send_many: BatchSender,
    stats: Stats,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> None:
    """Run a batch through the one-pass pipeline; never raises (Faust would ack and lose it).

    Store and registry outages retry the whole batch in place (every step is idempotent),
    past the deadline its messages are dead-lettered as infra_unavailable. Outputs and dead
    letters that the broker cannot take are retried in place for as long as it takes: an
    input is acknowledged (the caller returns) only once its outputs or its dead letter are.
    """
    from streams.pipeline import Failure, run_batch  # noqa: PLC0415 - it imports this module

    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(stage=stage, batch=len(messages))

    async def step() -> list[tuple[str, bytes | None, bytes]]:
        outcome = await run_batch(messages, deps, cache)
        await deps.ready(outputs=[*outcome.pops, *outcome.outputs])
        records: list[tuple[str, bytes | None, bytes]] = [
            (o.topic, o.key, deps.encode(o.value, o.topic)) for o in outcome.pops
        ]
        records += [(o.topic, o.key, deps.encode(o.value, o.topic)) for o in outcome.outputs]
        for failure in outcome.failures:
            records.append(_letter(failure, stage, deps))
            log.warning(
                "dead_lettered",
                kind=failure.kind,
                error_type=type(failure.error).__name__,
                offset=failure.message.offset,
                partition=failure.message.partition,
            )
        counts[:] = [len(messages) - len({id(f.message) for f in outcome.failures})]
        counts.append(len(outcome.failures))
        release[:] = outcome.release
        return records

    release: list[tuple[str, str]] = []
    counts = [0, 0]
    started = time.monotonic()
    try:
        records = await _with_retry(step, deps, stats, sleep)
        stats.processed += counts[0]
        stats.dead_lettered += counts[1]
    except GaveUp as exc:
        cause = exc.__cause__ or exc
        records = [_letter(Failure(m, cause, "infra_unavailable"), stage, deps) for m in messages]
        stats.dead_lettered += len(messages)
    processed = time.monotonic()
    await _send_until_acked(records, send_many, stats, sleep)
    if release:
        await _with_retry_plain(lambda: deps.parties.release_parked(release), sleep)
    log.debug(
        "batch_done",
        events=len(messages),
        outputs=len(records),
        process_ms=round((processed - started) * 1000, 1),
        send_ms=round((time.monotonic() - processed) * 1000, 1),
    )


def _letter(failure: Failure, stage: str, deps: Deps) -> tuple[str, bytes | None, bytes]:
    message = failure.message
    letter = dead_letter_for(
        topic=message.topic,
        partition=message.partition,
        offset=message.offset,
        key=message.key,
        value=failure.value if failure.value is not None else message.value,
        error=failure.error,
        stage=stage if failure.value in (None, message.value) else f"{stage}:parked",
    )
    return (DLQ, message.key, deps.encode(letter, DLQ))


async def _send_until_acked(
    records: list[tuple[str, bytes | None, bytes]],
    send_many: BatchSender,
    stats: Stats,
    sleep: Callable[[float], Awaitable[None]],
) -> None:
    def failed(exc: Exception, delay: float | None) -> None:
        # Resending all of them is safe: every output id derives from its cause.
        stats.retries += 1
        log.warning("broker_unavailable_retrying", error=str(exc), delay=round(delay or 0, 2))

    await retry_in_place(
        lambda: send_many(records), retry_on=(OutputUnavailable,), on_failure=failed, sleep=sleep
    )


async def _with_retry_plain(
    call: Callable[[], Awaitable[None]], sleep: Callable[[float], Awaitable[None]]
) -> None:
    def failed(exc: Exception, delay: float | None) -> None:
        log.warning("store_unavailable_retrying", error=str(exc), delay=round(delay or 0, 2))

    await retry_in_place(call, retry_on=(StoreUnavailable,), on_failure=failed, sleep=sleep)
