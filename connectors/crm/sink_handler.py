"""One request through the CRM sink: decode, write, publish the result; the failure policy."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import structlog
from confluent_kafka import Message

from connectors.crm.errors import CrmAuthError, CrmError, CrmRejected, CrmUnavailable
from connectors.crm.kafka_consumer import Done, Outcome, RetryLater
from connectors.crm.sink import CrmSink, NoAdapter, rejected_result, result_for
from connectors.crm.worker_settings import WorkerSettings
from infra.backoff import Backoff
from infra.dlq import dead_letter_for
from infra.kafka_producer import Message as Outgoing
from infra.kafka_producer import Publisher, PublishFailed
from schemas import codec
from schemas.errors import C360Error, SchemaError
from schemas.records import ActivityRequested, ActivityResult, DeadLetter
from schemas.topics import ACTIVITIES_RESULTS, DLQ

log = structlog.get_logger("c360.crm.sink")
STAGE = "crm_sink"


def dead_letter(msg: Message, exc: BaseException, tenant_id: str | None = None) -> DeadLetter:
    """The DLQ record of a request: original bytes, where it was, the error (with the CRM's
    response excerpt for a rejection)."""
    text = str(exc)
    if isinstance(exc, CrmRejected):
        if str(exc.status) not in text:
            text = f"HTTP {exc.status} from {exc.crm}: {text}"
        if exc.excerpt and exc.excerpt not in text:
            text += f" | response: {exc.excerpt}"
    return dead_letter_for(
        topic=msg.topic() or "", partition=msg.partition() or 0, offset=msg.offset() or 0,
        key=msg.key(), value=msg.value(), error=exc, stage=STAGE, tenant_id=tenant_id,
        detail=text,
    )


@dataclass(slots=True)
class SinkHandler:
    """One record: decode, write through the sink, publish the result; map failures to
    the policy (transient -> RetryLater, permanent -> result + DLQ, Done)."""

    sink: CrmSink
    publisher: Publisher
    settings: WorkerSettings
    monotonic: Callable[[], float] = time.monotonic
    # (topic, partition) -> (offset, attempts, first failure): one failing offset per
    # partition at a time, since the partition is paused while it waits.
    failing: dict[tuple[str, int], tuple[int, int, float]] = field(default_factory=dict)

    async def __call__(self, msg: Message) -> Outcome:
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(
            stage=STAGE, topic=msg.topic(), partition=msg.partition(), offset=msg.offset()
        )
        try:
            request = codec.decode(msg.value() or b"", max_bytes=self.settings.max_payload_bytes)
            if not isinstance(request, ActivityRequested):
                raise SchemaError(f"{type(request).__name__} does not belong on this topic")
        except C360Error as exc:
            return await self._dead(msg, exc, None, [])
        structlog.contextvars.bind_contextvars(
            tenant_id=request.tenant_id,
            interaction_id=request.interaction_id,
            idempotency_key=request.idempotency_key,
            revision=request.revision,
        )
        try:
            written = await self.sink.write(request)
            results = [written.result] if written.result else []
            await self._publish(self._records(results, []))
        except (CrmUnavailable, CrmAuthError, PublishFailed) as exc:
            return await self._transient(msg, request, exc)
        except (CrmRejected, NoAdapter) as exc:
            crm = self.sink.crm_of(request) or ""
            result = rejected_result(request, crm, exc) if isinstance(exc, CrmRejected) else (
                result_for(request, crm, "rejected", error=str(exc)))
            return await self._dead(msg, exc, request, [result])
        except CrmError as exc:
            return await self._dead(msg, exc, request, [])
        self.failing.pop((msg.topic() or "", msg.partition() or 0), None)
        log.info("activity_" + written.reason)
        return Done()

    async def _transient(
        self, msg: Message, request: ActivityRequested, exc: C360Error
    ) -> Outcome:
        key, offset, now = (msg.topic() or "", msg.partition() or 0), msg.offset() or 0, (
            self.monotonic())
        last_offset, attempts, since = self.failing.get(key, (offset, 0, now))
        if last_offset != offset:
            attempts, since = 0, now
        attempts += 1
        if now - since >= self.settings.retry_deadline_seconds:
            crm = self.sink.crm_of(request) or ""
            failed = result_for(request, crm, "failed", error=f"gave up: {exc}"[:1000])
            return await self._dead(msg, exc, request, [failed])
        self.failing[key] = (offset, attempts, since)
        hint = exc.retry_after if isinstance(exc, CrmUnavailable) else None
        backoff = Backoff(self.settings.retry_initial_seconds, self.settings.retry_max_seconds)
        delay = backoff.delay(attempts, hint)
        log.warning(
            "crm_unavailable_retrying",
            error=str(exc),
            error_type=type(exc).__name__,
            attempt=attempts,
            delay=round(delay, 2),
            retry_after=hint,
        )
        return RetryLater(delay)

    async def _dead(
        self, msg: Message, exc: BaseException, request: ActivityRequested | None,
        results: list[ActivityResult],
    ) -> Outcome:
        letter = dead_letter(msg, exc, request.tenant_id if request else None)
        try:
            await self._publish(self._records(results, [letter]))
        except PublishFailed as failure:
            log.warning("dead_letter_publish_failed", error=str(failure))
            return RetryLater(self.settings.retry_initial_seconds)
        self.failing.pop((msg.topic() or "", msg.partition() or 0), None)
        log.warning("dead_lettered", error_type=letter.error_type, error=letter.error_message)
        return Done()

    def _records(self, results: list[ActivityResult], letters: list[DeadLetter]) -> list[Outgoing]:
        out = [
            Outgoing(self.settings.topic(ACTIVITIES_RESULTS), r.interaction_id.encode(),
                   codec.encode(r)) for r in results
        ]
        out += [Outgoing(self.settings.topic(DLQ), d.original_key, codec.encode(d))
                for d in letters]
        return out

    async def _publish(self, records: list[Outgoing]) -> None:
        if records:
            await self.publisher.publish(records)
