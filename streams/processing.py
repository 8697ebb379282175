"""The failure policy of every agent (retry in place, dead letters) and the batch envelope."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol, TypeVar

import structlog

from core.errors import StoreUnavailable
from infra.backoff import GaveUp as GaveUp  # noqa: PLC0414 - re-exported for the runner
from infra.backoff import retry_in_place
from infra.dlq import dead_letter_for
from schemas.confluent import RegistryUnavailable
from schemas.topics import DLQ
from streams.handlers import Deps

if TYPE_CHECKING:
    from streams.pipeline import Failure, PartyCache

log = structlog.get_logger("c360.streams")
T = TypeVar("T")


class Message(Protocol):
    """What we read of a Faust message (faust.types.Message satisfies it)."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None


# Sends many records and waits for all their acks; raises OutputUnavailable when the broker
# cannot take them (the caller retries in place: nothing is acknowledged meanwhile).
BatchSender = Callable[[list[tuple[str, bytes | None, bytes]]], Awaitable[None]]


class OutputUnavailable(Exception):
    """The broker did not acknowledge an output or a dead letter: transient, retry."""


@dataclass(slots=True)
class Stats:
    """Counters of one stage (an agent, or one handler of an agent)."""

    processed: int = 0
    dead_lettered: int = 0
    retries: int = 0


@dataclass(frozen=True, slots=True)
class StatsBook:
    """Every stage's counters, owned by the app (GET /c360/stats)."""

    stages: dict[str, Stats] = field(default_factory=dict)

    def of(self, stage: str) -> Stats:
        """The counters of one stage (created on first use)."""
        return self.stages.setdefault(stage, Stats())

    def as_dict(self) -> dict[str, dict[str, int]]:
        """JSON form: processed / dead_lettered / retries per stage."""
        return {
            k: {"processed": v.processed, "dead_lettered": v.dead_lettered, "retries": v.retries}
            for k, v in self.stages.items()
        }


async def with_retry(
    call: Callable[[], Awaitable[T]],
    deps: Deps,
    stats: Stats,
    sleep: Callable[[float], Awaitable[None]],
) -> T:
    """`call()`, retried in place with capped exponential backoff while the store or the
    schema registry is unavailable; past the deadline raises GaveUp (from the outage)."""

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
        records = await with_retry(step, deps, stats, sleep)
        stats.processed += counts[0]
        stats.dead_lettered += counts[1]
    except GaveUp as exc:
        cause = exc.__cause__ or exc
        records = [_letter(Failure(m, cause, "infra_unavailable"), stage, deps) for m in messages]
        stats.dead_lettered += len(messages)
    processed = time.monotonic()
    await send_until_acked(records, send_many, stats, sleep)
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


async def send_until_acked(
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
