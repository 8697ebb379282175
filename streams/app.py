"""The one Faust app: raw-bytes topics from the catalogue, thin agents, deps at start-up."""

from __future__ import annotations

import asyncio
import sys
from typing import Any, cast

import faust
import structlog

from infra.logs import configure_logging
from infra.metrics import METRICS_PATH, exposition, new_registry
from schemas.topics import (
    ACTIVITIES_REQUESTED,
    ACTIVITIES_RESULTS,
    CONTACTS,
    DESKTOP,
    DLQ,
    INTERACTIONS,
    INTERACTIONS_BY_PARTY,
    SCREENPOPS,
)
from streams.bootstrap import build_deps, rules_source
from streams.handlers import Deps
from streams.kafka_credentials import aiokafka_auth, broker_credentials
from streams.offset_guard import OffsetGuard
from streams.pop_metrics import PopMetrics
from streams.processing import OutputUnavailable, Stats
from streams.settings import StreamSettings
from streams.stage_metrics import StageCounters
from streams.transport import SCHEME, record_exists, register, set_fetch_max_wait_ms

settings = StreamSettings.from_env()
configure_logging(settings.log_format, settings.log_level)
# Faust's aiokafka consumer runs in a thread of its own. While it decodes a fetched batch it
# holds the GIL, and every socket call of the event loop (Redis, producer) then waits up to
# the switch interval (5 ms by default) to get it back: a quarter of the loop's samples in
# the profile (docs/performance.md). A shorter interval bounds that wait.
sys.setswitchinterval(0.0005)
register()
set_fetch_max_wait_ms(settings.consumer_fetch_max_wait_ms)

# Settings follow FACTS.md (c): at-least-once plus idempotent projections (Kafka EOS does
# not cover Redis), a short commit interval to shrink the replay window after a crash,
# bounded poll batches against rebalance storms, and in-memory Faust state (we keep no
# Faust tables: all state is in Redis and rebuildable from the topics). The transport is
# Faust's aiokafka one with a short consumer fetch wait (streams/transport.py). Batches are
# acknowledged only once processed, so stopping does not wait for the buffered backlog
# (stream_wait_empty=False): what was not processed is not committed and is read again.
app = faust.App(
    settings.app_id,
    broker=[f"{SCHEME}://{host}" for host in settings.kafka_bootstrap_servers.split(",")],
    broker_credentials=broker_credentials(settings),  # C360_KAFKA_SASL_*/SSL_* (issue 9)
    store="memory://",
    processing_guarantee="at_least_once",
    broker_commit_interval=0.5,
    broker_max_poll_records=settings.batch_max_events,
    broker_session_timeout=settings.session_timeout_seconds,
    broker_heartbeat_interval=max(1, settings.session_timeout_seconds // 4),
    stream_wait_empty=False,
    consumer_group_instance_id=settings.group_instance_id or None,
    producer_acks=-1,
    # A millisecond of linger turns a batch's outputs into a few produce requests per
    # partition instead of one per record or two (the sender was a tenth of the loop).
    producer_linger=0.001,
    topic_replication_factor=settings.topic_replication_factor,
    consumer_auto_offset_reset="earliest",
    autodiscover=False,
    web_enabled=True,
)


def raw_topic(name: str) -> Any:
    """A catalogue topic carrying raw bytes: decoding happens in our code (DLQ-able)."""
    return app.topic(
        settings.topic(name),
        key_type=bytes,
        value_type=bytes,
        key_serializer="raw",
        value_serializer="raw",
    )


TOPICS = {
    name: raw_topic(name)
    for name in (
        INTERACTIONS,
        INTERACTIONS_BY_PARTY,
        SCREENPOPS,
        ACTIVITIES_REQUESTED,
        ACTIVITIES_RESULTS,
        CONTACTS,
        DESKTOP,
        DLQ,
    )
}
STATS: dict[str, Stats] = {}
# The worker's metrics registry, served at /metrics (the pop metrics are created here, not
# with the deps, so a scrape before the first event already lists them).
METRICS = new_registry()
POP_METRICS = PopMetrics(METRICS)
_deps: list[Deps] = []
# Loaded when the worker starts, so a bad C360_RULES_FILE stops it with the list of problems
# instead of failing the first wrap-up; the Redis clients are built later, in the loop.
RULES = rules_source(settings)


def deps() -> Deps:
    """The process's dependencies, built on first use inside the worker's event loop."""
    if not _deps:
        _deps.append(build_deps(settings, rules=RULES, pop_metrics=POP_METRICS))
    return _deps[0]


async def send(name: str, key: bytes | None, value: bytes) -> None:
    """Send to a catalogue topic and wait for the broker's ack before the input is acked."""
    await send_many([(name, key, value)])


async def send_many(records: list[tuple[str, bytes | None, bytes]]) -> None:
    """Send records in order (the producer batches them) and wait for every ack; a broker
    that does not take them raises OutputUnavailable (the caller retries in place)."""
    from aiokafka.errors import KafkaError  # noqa: PLC0415 - Faust's own driver dependency

    try:
        # Straight to Faust's producer (no channel/sensor layer per record): one batch of
        # outputs is hundreds of records, each of them already encoded.
        producer = await app.maybe_start_producer()
        futures = [
            await producer.send(settings.topic(name), key, value, None, None, None)
            for name, key, value in records
        ]
        await asyncio.gather(*futures)
    except (TimeoutError, KafkaError, OSError) as exc:
        raise OutputUnavailable(f"{type(exc).__name__}: {exc}") from exc


def stats(stage: str) -> Stats:
    """The counters of one agent."""
    return STATS.setdefault(stage, Stats())


@app.page("/c360/stats")
async def stats_page(_web: Any, request: Any) -> Any:
    """Per-agent processed / dead-lettered / retry counters."""
    return _web.json(
        {
            **{
                k: {
                    "processed": v.processed,
                    "dead_lettered": v.dead_lettered,
                    "retries": v.retries,
                }
                for k, v in STATS.items()
            },
            "offset_resets": OFFSETS.resets,
        }
    )


@app.page(METRICS_PATH)
async def metrics_page(_web: Any, request: Any) -> Any:
    """Every metric of the worker (pops, stages, offsets, process), for Prometheus."""
    body, content_type = exposition(METRICS, request.headers.get("Accept"))
    return _web.bytes(body, headers={"Content-Type": content_type})


@app.page("/c360/screen-pops/stats")
async def screen_pop_stats(_web: Any, request: Any) -> Any:
    """The pop metrics as JSON."""
    return _web.json(POP_METRICS.as_dict())


@app.page("/health")
async def health_page(_web: Any, request: Any) -> Any:
    """Liveness: the worker's event loop answers."""
    return _web.json({"status": "ok"})


@app.page("/ready")
async def ready_page(_web: Any, request: Any) -> Any:
    """Readiness: Redis answers (the projections' store) and the broker gives metadata."""
    from core.errors import StoreUnavailable  # noqa: PLC0415

    try:
        # Bounded: a paused Redis holds a read until the socket timeout (5 s), longer than a
        # readiness probe should wait to say "not ready".
        await asyncio.wait_for(
            deps().timeline.read(settings.default_tenant, "readiness-probe", ["voice"], 0, 1),
            timeout=2.0,
        )
    except (StoreUnavailable, TimeoutError) as exc:
        error = str(exc) or "no answer within 2 s"
        return _web.json({"status": "redis_unavailable", "error": error}, status=503)
    problem = await _broker_problem()
    if problem is not None:
        return _web.json({"status": "broker_unavailable", "error": problem}, status=503)
    return _web.json({"status": "ready"})


async def _broker_problem() -> str | None:
    """Why the broker cannot be used now (a bounded metadata request), or None."""
    producer = getattr(app.producer, "_producer", None)
    if producer is None:
        return "the producer has not started yet"
    try:
        await asyncio.wait_for(producer.client.fetch_all_metadata(), timeout=2.0)
    except Exception as exc:  # any failure of the probe means "not ready", with its name
        return f"no metadata from {settings.kafka_bootstrap_servers}: {type(exc).__name__}"
    return None


async def _probe(tp: Any, offset: int) -> bool:
    return await record_exists(
        settings.kafka_bootstrap_servers, tp.topic, tp.partition, offset, aiokafka_auth(settings)
    )


OFFSETS = OffsetGuard(_probe)
METRICS.register(StageCounters(STATS, lambda: OFFSETS.resets))


@app.timer(settings.offset_check_seconds)  # type: ignore[untyped-decorator]
async def guard_offsets() -> None:
    """A position past its partition's end (a reset broker, a truncated log) is restarted
    from the earliest offset, loudly, instead of waiting for records that never come."""
    consumer = app.consumer
    inputs = {settings.topic(INTERACTIONS)}

    async def reset(tp: Any, offset: int) -> None:
        await consumer.seek(tp, offset)
        # Faust commits only offsets above the one it believes committed: forget it, or the
        # records read again would never be committed.
        cast("Any", consumer)._committed_offset[tp] = None

    try:
        await OFFSETS.check(
            [tp for tp in consumer.assignment() if tp.topic in inputs],
            consumer.position,
            lambda tps: consumer.highwaters(*tps),
            lambda tps: consumer.earliest_offsets(*tps),
            reset,
        )
    except Exception:  # a check that fails (broker away) is tried again next period
        structlog.get_logger("c360.offsets").warning("offset_check_failed", exc_info=True)


def _register_agents() -> None:
    """Import every module of streams/agents: each registers its agent on `app`."""
    import importlib  # noqa: PLC0415
    import pkgutil  # noqa: PLC0415

    import streams.agents  # noqa: PLC0415

    for module in pkgutil.iter_modules(streams.agents.__path__):
        importlib.import_module(f"streams.agents.{module.name}")


_register_agents()

if __name__ == "__main__":
    # `python -m streams.app` runs this file as __main__, a second copy of the module; the
    # agents register on the `streams.app` module they import, so run that one's app.
    import streams.app as registered  # noqa: PLW0406 - deliberate, see above

    registered.app.main()
