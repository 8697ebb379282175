"""With a schema registry, the streams envelope asks it only from worker threads, never on
the event loop; outages wait in place, unknown ids dead-letter (in the Confluent format)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest

from core.timeline import to_ms
from infra.schema_registry import RegistryClient, registry_codec
from projections.memory import InMemoryInteractionParties, InMemoryTimelineStore
from schemas.confluent import ConfluentCodec
from schemas.records import DeadLetter, PartyInteraction
from schemas.topics import DLQ, INTERACTIONS, INTERACTIONS_BY_PARTY
from streams.bootstrap import build_deps
from streams.handlers import Deps
from streams.pipeline import PartyCache
from streams.processing import Stats, process_batch
from streams.settings import StreamSettings
from tests.factories import T0, voice_call
from tests.unit.infra.registry_emulator import running_registry


@dataclass
class Msg:
    value: bytes | None
    key: bytes | None = b"k"
    topic: str = INTERACTIONS
    partition: int = 0
    offset: int = 7


@dataclass
class Recorder:
    """A SchemaSource that notes the thread of every registry call."""

    inner: RegistryClient
    threads: list[int] = field(default_factory=list)

    def register(self, subject: str, schema_json: str) -> int:
        self.threads.append(threading.get_ident())
        return self.inner.register(subject, schema_json)

    def schema(self, schema_id: int) -> dict[str, Any]:
        self.threads.append(threading.get_ident())
        return self.inner.schema(schema_id)


class Sent:
    def __init__(self) -> None:
        self.records: list[tuple[str, bytes | None, bytes]] = []

    async def __call__(self, records: list[tuple[str, bytes | None, bytes]]) -> None:
        self.records.extend(records)

    def on(self, topic: str) -> list[tuple[str, bytes | None, bytes]]:
        return [r for r in self.records if r[0] == topic]


async def _no_sleep(_delay: float) -> None:
    return None


@pytest.fixture
def registry():
    with running_registry() as (url, state):
        yield url, state


def _deps(url: str) -> tuple[Deps, Recorder]:
    deps = build_deps(
        StreamSettings.from_env({"C360_ENV": "dev", "C360_SCHEMA_REGISTRY_URL": url}),
        timeline=InMemoryTimelineStore(),
        parties=InMemoryInteractionParties(),
        clock_ms=lambda: to_ms(T0 + timedelta(hours=1)),
    )
    assert isinstance(deps.confluent, ConfluentCodec)
    recorder = Recorder(deps.confluent.client)  # type: ignore[arg-type]
    deps.confluent.client = recorder
    return deps, recorder


async def _run(deps: Deps, raw: bytes) -> tuple[Sent, Stats]:
    sent, stats = Sent(), Stats()
    await process_batch(
        [Msg(raw)],
        stage="interactions",
        deps=deps,
        cache=PartyCache(),
        send_many=sent,
        stats=stats,
        sleep=_no_sleep,
    )
    return sent, stats


async def test_registry_calls_happen_off_the_event_loop(registry):
    """A Confluent-framed input from another producer: its writer schema is fetched, the
    output subject registered, both in worker threads; the output is Confluent-framed."""
    url, state = registry
    framed = registry_codec(url).encode(voice_call("ix-1")[0], INTERACTIONS)
    deps, recorder = _deps(url)
    loop_thread = threading.get_ident()
    sent, stats = await _run(deps, framed)
    assert stats.processed == 1 and stats.dead_lettered == 0
    assert recorder.threads and loop_thread not in recorder.threads
    (_topic, _key, value) = sent.on(INTERACTIONS_BY_PARTY)[0]
    assert value[:1] == b"\x00"
    assert isinstance(registry_codec(url).decode(value), PartyInteraction)
    # Everything is cached now: the next message asks the registry nothing.
    before = list(state.calls)
    await _run(deps, framed)
    assert state.calls == before


async def test_a_registry_outage_waits_in_place(registry):
    """503s while fetching the writer schema are retried, the message is not dead-lettered."""
    url, state = registry
    framed = registry_codec(url).encode(voice_call("ix-1")[0], INTERACTIONS)
    deps, _ = _deps(url)
    state.faults = [503, 503]
    sent, stats = await _run(deps, framed)
    assert stats.retries == 2 and stats.dead_lettered == 0 and stats.processed == 1
    assert len(sent.on(INTERACTIONS_BY_PARTY)) == 1 and not sent.on(DLQ)


async def test_an_unknown_schema_id_is_dead_lettered_without_a_blocking_call(registry):
    """Id 99 is unknown (404): a data error of that message, asked for off the loop only."""
    url, _state = registry
    deps, recorder = _deps(url)
    loop_thread = threading.get_ident()
    sent, stats = await _run(deps, b"\x00\x00\x00\x00\x63body")
    assert stats.dead_lettered == 1
    assert loop_thread not in recorder.threads
    [(topic, _key, value)] = sent.records
    assert topic == DLQ and value[:1] == b"\x00"
    letter = registry_codec(url).decode(value)
    assert isinstance(letter, DeadLetter) and "404" in letter.error_message
