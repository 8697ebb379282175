"""The Faust app, built by create_app(settings, deps): catalogue topics, agents, pages, timer."""

from __future__ import annotations

import asyncio
from typing import Any, cast

import faust
import structlog

from core.errors import StoreUnavailable
from infra.logs import dict_config
from infra.metrics import METRICS_PATH, exposition
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
from streams.agents import batch_agent, message_agent, routes
from streams.handlers import Deps
from streams.kafka_credentials import aiokafka_auth, broker_credentials
from streams.offset_guard import OffsetGuard, Probe
from streams.processing import BatchSender, OutputUnavailable, StatsBook
from streams.runner import Runner
from streams.settings import StreamSettings
from streams.stage_metrics import StageCounters
from streams.transport import SCHEME, record_exists, register, set_fetch_max_wait_ms

# Every catalogue topic the worker reads or writes, declared once per app.
CATALOGUE = (
    INTERACTIONS,
    INTERACTIONS_BY_PARTY,
    SCREENPOPS,
    ACTIVITIES_REQUESTED,
    ACTIVITIES_RESULTS,
    CONTACTS,
    DESKTOP,
    DLQ,
)
# The single-message agents: input topic -> (agent name, stage of its decode failures).
MESSAGE_AGENTS = {
    DESKTOP: ("handle_desktop_actions", "desktop"),
    ACTIVITIES_RESULTS: ("project_related_records", "related_records"),
    CONTACTS: ("apply_contacts", "contacts"),
}


def create_app(settings: StreamSettings, deps: Deps) -> faust.App:
    """The worker's Faust app with one agent per input topic; nothing runs until started.

    Settings follow FACTS.md (c): at-least-once plus idempotent projections (Kafka EOS does
    not cover Redis), a short commit interval to shrink the replay window after a crash,
    bounded poll batches against rebalance storms, and in-memory Faust state (we keep no
    Faust tables: all state is in Redis and rebuildable from the topics). The transport is
    Faust's aiokafka one with a short consumer fetch wait (streams/transport.py). Batches
    are acknowledged only once processed, so stopping does not wait for the buffered
    backlog (stream_wait_empty=False): what was not processed is not committed and is read
    again.
    """
    register()
    set_fetch_max_wait_ms(settings.consumer_fetch_max_wait_ms)
    app = faust.App(
        settings.app_id,
        broker=[f"{SCHEME}://{host}" for host in settings.kafka_bootstrap_servers.split(",")],
        broker_credentials=broker_credentials(settings),  # C360_KAFKA_SASL_*/SSL_*
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
        # The ops pages answer without credentials: loopback unless C360_WORKER_WEB_BIND
        # says otherwise (`faust worker --web-bind` still overrides it).
        web_bind=settings.worker_web_bind,
        # Faust's worker sets up logging itself (mode's setup_logging, a colour handler at
        # the -l level) and sends stdout to a logger at WARNING, which wrapped every one of
        # our lines in a "[WARNING]" one. It gets our one handler instead, and leaves
        # stdout alone: every record keeps its level and logger name (infra/logs.py).
        logging_config=dict_config(settings.log_format, settings.log_level),
        worker_redirect_stdouts=False,
    )
    topics = {
        # Raw bytes: decoding happens in our code, where a bad record can be dead-lettered.
        name: app.topic(
            settings.topic(name),
            key_type=bytes,
            value_type=bytes,
            key_serializer="raw",
            value_serializer="raw",
        )
        for name in CATALOGUE
    }
    stats = StatsBook()
    send_many = _sender(app, settings)
    app.agent(topics[INTERACTIONS], name="process_interactions")(
        batch_agent(deps, send_many, stats)
    )
    for topic, table in routes(deps).items():
        name, stage = MESSAGE_AGENTS[topic]
        runner = Runner(stage, table, deps, send_many, stats)
        app.agent(topics[topic], name=name)(message_agent(runner, name))
    offsets = OffsetGuard(_prober(settings))
    _add_pages(app, settings, deps, stats, offsets)
    _add_offset_guard(app, settings, offsets)
    return app


def _sender(app: faust.App, settings: StreamSettings) -> BatchSender:
    async def send_many(records: list[tuple[str, bytes | None, bytes]]) -> None:
        """Send records in order (the producer batches them) and wait for every ack; a
        broker that does not take them raises OutputUnavailable (the caller retries)."""
        from aiokafka.errors import KafkaError  # noqa: PLC0415 - Faust's own driver

        try:
            # Straight to Faust's producer (no channel/sensor layer per record): one batch
            # of outputs is hundreds of records, each of them already encoded.
            producer = await app.maybe_start_producer()
            futures = [
                await producer.send(settings.topic(name), key, value, None, None, None)
                for name, key, value in records
            ]
            await asyncio.gather(*futures)
        except (TimeoutError, KafkaError, OSError) as exc:
            raise OutputUnavailable(f"{type(exc).__name__}: {exc}") from exc

    return send_many


def _add_pages(
    app: faust.App, settings: StreamSettings, deps: Deps, stats: StatsBook, offsets: OffsetGuard
) -> None:
    metrics = deps.directory.metrics

    @app.page("/c360/stats")
    async def stats_page(web: Any, _request: Any) -> Any:
        """Per-stage processed / dead-lettered / retry counters."""
        return web.json({**stats.as_dict(), "offset_resets": offsets.resets})

    # One registry per process, the pop metrics' (python -m streams makes it with the
    # process collectors); the stage counters are read from the stats book at scrape time.
    registry = metrics.registry
    try:
        registry.register(StageCounters(stats.stages, lambda: offsets.resets))
    except ValueError:  # a second app on the same deps: the first one's counters stay
        structlog.get_logger("c360.streams").warning("stage_metrics_already_registered")

    @app.page(METRICS_PATH)
    async def metrics_page(web: Any, request: Any) -> Any:
        """Every metric of the worker (pops, stages, offsets, process), for Prometheus."""
        body, content_type = exposition(registry, request.headers.get("Accept"))
        return web.bytes(body, headers={"Content-Type": content_type})

    @app.page("/c360/screen-pops/stats")
    async def screen_pop_stats(web: Any, _request: Any) -> Any:
        """The same metrics as JSON."""
        return web.json(metrics.as_dict())

    @app.page("/health")
    async def health_page(web: Any, _request: Any) -> Any:
        """Liveness: the worker's event loop answers."""
        return web.json({"status": "ok"})

    @app.page("/ready")
    async def ready_page(web: Any, _request: Any) -> Any:
        """Readiness: Redis answers (the projections' store) and the broker gives metadata."""
        try:
            # Bounded: a paused Redis holds a read until the socket timeout (5 s), longer
            # than a readiness probe should wait to say "not ready".
            await asyncio.wait_for(
                deps.timeline.read(settings.default_tenant, "readiness-probe", ["voice"], 0, 1),
                timeout=2.0,
            )
        except (StoreUnavailable, TimeoutError) as exc:
            error = str(exc) or "no answer within 2 s"
            return web.json({"status": "redis_unavailable", "error": error}, status=503)
        problem = await _broker_problem(app, settings)
        if problem is not None:
            return web.json({"status": "broker_unavailable", "error": problem}, status=503)
        return web.json({"status": "ready"})


async def _broker_problem(app: faust.App, settings: StreamSettings) -> str | None:
    """Why the broker cannot be used now (a bounded metadata request), or None."""
    producer = getattr(app.producer, "_producer", None)
    if producer is None:
        return "the producer has not started yet"
    try:
        await asyncio.wait_for(producer.client.fetch_all_metadata(), timeout=2.0)
    except Exception as exc:  # any failure of the probe means "not ready", with its name
        return f"no metadata from {settings.kafka_bootstrap_servers}: {type(exc).__name__}"
    return None


def _prober(settings: StreamSettings) -> Probe:
    auth = aiokafka_auth(settings)  # the same SASL/TLS settings as the Faust consumer

    async def probe(tp: Any, offset: int) -> bool:
        return await record_exists(
            settings.kafka_bootstrap_servers, tp.topic, tp.partition, offset, auth
        )

    return probe


def _add_offset_guard(app: faust.App, settings: StreamSettings, offsets: OffsetGuard) -> None:
    inputs = {settings.topic(INTERACTIONS)}

    @app.timer(settings.offset_check_seconds)  # type: ignore[untyped-decorator]
    async def guard_offsets() -> None:
        """A position past its partition's end (a reset broker, a truncated log) is
        restarted from the earliest offset, loudly, instead of waiting for records that
        never come."""
        consumer = app.consumer

        async def reset(tp: Any, offset: int) -> None:
            await consumer.seek(tp, offset)
            # Faust commits only offsets above the one it believes committed: forget it, or
            # the records read again would never be committed.
            cast("Any", consumer)._committed_offset[tp] = None

        try:
            await offsets.check(
                [tp for tp in consumer.assignment() if tp.topic in inputs],
                consumer.position,
                lambda tps: consumer.highwaters(*tps),
                lambda tps: consumer.earliest_offsets(*tps),
                reset,
            )
        except Exception:  # a check that fails (broker away) is tried again next period
            structlog.get_logger("c360.offsets").warning("offset_check_failed", exc_info=True)
