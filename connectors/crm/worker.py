"""CRM sink worker: c360.activities.requested.v1 -> CRM, results and dead letters out."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import os
import signal
import sys
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from pathlib import Path

import aiohttp
import structlog
from confluent_kafka import Consumer

from connectors.crm.agent_adapters import open_agent_adapters
from connectors.crm.factory import build_adapter
from connectors.crm.kafka_consumer import (
    FETCH_WAIT_MAX_MS,
    ConsumeLoop,
    OffsetGuard,
    fetch_probe,
)
from connectors.crm.ledger import ActivityLedger, InMemoryActivityLedger
from connectors.crm.routing import load_routing
from connectors.crm.settings import CrmSettingsSet
from connectors.crm.sink import CrmSink
from connectors.crm.sink_handler import SinkHandler
from connectors.crm.sqlite_ledger import SqliteActivityLedger
from connectors.crm.worker_settings import WorkerSettings
from core.crm.ports import CrmAdapter
from infra.kafka_config import KafkaEndpoint, group_consumer_config
from infra.kafka_producer import KafkaProducer
from infra.logs import configure_logging
from schemas.errors import C360Error
from schemas.topics import ACTIVITIES_REQUESTED

log = structlog.get_logger("c360.crm.worker")
AdapterFactory = Callable[
    [frozenset[str], Mapping[str, str]], AbstractAsyncContextManager[Mapping[str, CrmAdapter]]
]


def _crash_after_write() -> None:
    """TEST ONLY (C360_CRM_TEST_CRASH_AFTER_WRITE): die like SIGKILL after the CRM write."""
    log.warning("test_crash_after_write")
    sys.stdout.flush()
    os._exit(137)


def _ledger(settings: WorkerSettings) -> ActivityLedger:
    if settings.ledger == "memory":
        return InMemoryActivityLedger()
    return SqliteActivityLedger(Path(settings.data_dir) / "crm-ledger.sqlite3")


@contextlib.asynccontextmanager
async def open_adapters(
    names: frozenset[str], env: Mapping[str, str]
) -> AsyncIterator[Mapping[str, CrmAdapter]]:
    """The vendor adapters of `names` (C360_CRM_<VENDOR>_* settings) on one shared HTTP
    session, closed on exit. Raises CrmConfigError for a CRM that is not configured."""
    settings = CrmSettingsSet.from_env(env)
    async with aiohttp.ClientSession() as session:
        adapters = {name: build_adapter(name, settings, session) for name in sorted(names)}
        try:
            yield adapters
        finally:
            for adapter in adapters.values():
                await adapter.close()


def adapter_factory(env: Mapping[str, str]) -> AdapterFactory:
    """C360_CRM_ADAPTER_FACTORY ("package.module:callable", an async context manager over
    (CRM names, env) -> adapters) plugs in an in-house CRM; default: the vendor adapters."""
    spec = env.get("C360_CRM_ADAPTER_FACTORY")
    if not spec:
        return open_adapters
    module, _, attr = spec.partition(":")
    factory: AdapterFactory = getattr(importlib.import_module(module), attr)
    return factory


async def run(
    settings: WorkerSettings, env: Mapping[str, str], stop: asyncio.Event | None = None
) -> int:
    """Consume until `stop` is set (SIGTERM/SIGINT in `main`); returns the exit code."""
    stop = stop or asyncio.Event()
    routing = load_routing(settings.routing_file, settings.default_crm)
    ledger = _ledger(settings)
    kafka = KafkaEndpoint.from_settings(settings)
    publisher = KafkaProducer(kafka, settings.client_id)
    config = group_consumer_config(
        kafka, settings.client_id, settings.group_id, fetch_wait_max_ms=FETCH_WAIT_MAX_MS,
        max_poll_interval_ms=settings.max_poll_interval_ms,
        session_timeout_ms=settings.session_timeout_ms,
    )
    consumer = Consumer(config)
    try:
        async with (
            adapter_factory(env)(frozenset(routing.crms()), env) as adapters,
            open_agent_adapters(env) as agent_adapters,
        ):
            sink = CrmSink(adapters, routing, ledger, settings.create_contacts,
                           _crash_after_write if settings.crash_after_write else None,
                           agent_adapters=agent_adapters)
            # Committed offsets outside the log (a reset broker, a truncated log) restart
            # from the earliest record, loudly (docs/operations.md, "Offsets outside the log").
            loop = ConsumeLoop(consumer, SinkHandler(sink, publisher, settings),
                               settings.poll_timeout_seconds,
                               guard=OffsetGuard(fetch_probe(config)))
            loop.subscribe([settings.topic(ACTIVITIES_REQUESTED)])
            log.info("crm_sink_started", crms=sorted(adapters), group=settings.group_id)
            await loop.run(stop.is_set)
    finally:
        consumer.close()
        await publisher.close()
        ledger.close()
        structlog.contextvars.clear_contextvars()
    log.info("crm_sink_stopped")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m connectors.crm.worker`: configuration from C360_* (see docs/activities.md)."""
    parser = argparse.ArgumentParser(prog="python -m connectors.crm.worker",
                                     description=__doc__)
    parser.parse_args(argv)
    try:
        settings = WorkerSettings.from_env()
        configure_logging(settings.log_format, settings.log_level)
        return asyncio.run(_main(settings))
    except C360Error as exc:
        print(f"crm sink: {exc}", file=sys.stderr)
        return 2


async def _main(settings: WorkerSettings) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    return await run(settings, os.environ, stop)


if __name__ == "__main__":
    sys.exit(main())
