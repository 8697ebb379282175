"""The one agent runner: decode once, the handlers of the record's type, outputs, then ack."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import structlog

from infra.dlq import dead_letter_for
from schemas.errors import C360Error, SchemaError
from schemas.topics import DLQ
from streams.handlers import Deps, Outgoing
from streams.processing import (
    BatchSender,
    GaveUp,
    Message,
    StatsBook,
    send_until_acked,
    with_retry,
)

log = structlog.get_logger("c360.streams")

Handler = Callable[[Any], Awaitable[list[Outgoing]]]
Record = tuple[str, bytes | None, bytes]  # catalogue topic (unprefixed), key, value


@dataclass(frozen=True, slots=True)
class Route:
    """One handler of a record type. `stage` names it in dead letters, logs and stats."""

    stage: str
    handle: Handler


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one stage made of a message: its outputs, or its dead letter."""

    stage: str
    records: list[Record]
    dead: bool = False


# A topic's handler table: every record type that belongs on it, with its handlers in order.
Routes = Mapping[type, tuple[Route, ...]]


@dataclass(frozen=True, slots=True)
class Runner:
    """Runs the messages of one input topic through its handler table; never raises (Faust
    would ack the message and lose it).

    Data errors (undecodable bytes, a record of a type the topic does not carry, invalid
    records, bad identifiers) dead-letter the original bytes. Store and schema-registry
    outages are retried in place with capped exponential backoff, so the partition waits
    and order is kept; past the deadline the message is dead-lettered as
    infra_unavailable for a later redrive. Each handler of a record fails alone: its dead
    letter names its stage and the other handlers' outputs still go out. A broker that
    cannot take the outputs is waited for: the caller acks the message only once they are
    (resending is safe, output ids derive from their causes).
    """

    stage: str  # the agent's: decode failures and the log context
    routes: Routes
    deps: Deps
    send: BatchSender
    stats: StatsBook
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep

    async def handle(self, message: Message) -> None:
        """Decode, run every handler of the record's type, send, count."""
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(
            stage=self.stage,
            topic=message.topic,
            partition=message.partition,
            offset=message.offset,
        )
        agent = self.stats.of(self.stage)
        outcomes: list[Outcome]
        try:
            # Inside the retry: with a schema registry, decoding can hit an outage
            # (RegistryUnavailable), which must wait, not dead-letter.
            record = await with_retry(self._decoder(message), self.deps, agent, self.sleep)
        except GaveUp as exc:
            cause = exc.__cause__ or exc
            outcomes = [self._dead(message, cause, self.stage, "infra_unavailable")]
        except C360Error as exc:
            outcomes = [self._dead(message, exc, self.stage, "invalid")]
        except Exception as exc:
            log.exception("decode_crashed")
            outcomes = [self._dead(message, exc, self.stage, "crash")]
        else:
            structlog.contextvars.bind_contextvars(event_id=getattr(record, "event_id", None))
            outcomes = [await self._run(r, message, record) for r in self.routes[type(record)]]
        records = [r for outcome in outcomes for r in outcome.records]
        await send_until_acked(records, self.send, agent, self.sleep)
        for outcome in outcomes:
            stats = self.stats.of(outcome.stage)
            if outcome.dead:
                stats.dead_lettered += 1
            else:
                stats.processed += 1

    def _decoder(self, message: Message) -> Callable[[], Awaitable[Any]]:
        async def decode() -> Any:
            # Registry look-ups happen off the event loop (and are retried in place when the
            # registry is away), so the decode below is CPU only.
            await self.deps.ready([message.value or b""])
            record = self.deps.decode(message.value or b"")
            if type(record) not in self.routes:
                msg = f"{type(record).__name__} does not belong on this topic"
                raise SchemaError(msg)
            return record

        return decode

    async def _run(self, route: Route, message: Message, record: Any) -> Outcome:
        """One handler's encoded outputs, or its dead letter."""
        deps = self.deps

        async def step() -> list[Record]:
            outgoing = await route.handle(record)
            await deps.ready(outputs=outgoing)
            return [(o.topic, o.key, deps.encode(o.value, o.topic)) for o in outgoing]

        try:
            stats = self.stats.of(route.stage)
            return Outcome(route.stage, await with_retry(step, deps, stats, self.sleep))
        except GaveUp as exc:
            return self._dead(message, exc.__cause__ or exc, route.stage, "infra_unavailable")
        except C360Error as exc:
            return self._dead(message, exc, route.stage, "invalid")
        except Exception as exc:
            log.exception("handler_crashed", handler=route.stage)
            return self._dead(message, exc, route.stage, "crash")

    def _dead(self, message: Message, exc: BaseException, stage: str, kind: str) -> Outcome:
        return Outcome(stage, [self._letter(message, exc, stage, kind)], dead=True)

    def _letter(self, message: Message, exc: BaseException, stage: str, kind: str) -> Record:
        letter = dead_letter_for(
            topic=message.topic,
            partition=message.partition,
            offset=message.offset,
            key=message.key,
            value=message.value,
            error=exc,
            stage=stage,
        )
        log.warning("dead_lettered", kind=kind, error_type=letter.error_type, handler=stage)
        return (DLQ, message.key, self.deps.encode(letter, DLQ))
