"""Replay figure for `c360 bench`: batch replay vs a per-event loop, same records, same run."""

from __future__ import annotations

import asyncio
import os
import resource
import time
import uuid
from dataclasses import dataclass
from typing import Any

import redis
from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

from c360.bench_replay_data import fresh_topic, party_records, publish
from c360.replay import Target, replay_parallel
from c360.replay_offsets import partitions_of
from core.timeline import InteractionEntry, Retention, entry_of, merge
from infra.kafka_config import client_config, endpoint_of
from projections.keys import Keys
from projections.redis_client import redis_client
from projections.redis_timeline import RedisTimelineStore
from schemas import codec


@dataclass(frozen=True, slots=True)
class Measured:
    """Records processed, wall seconds, and CPU seconds of this process and its children."""

    records: int
    seconds: float
    cpu_s: float = 0.0

    @property
    def rate(self) -> float:
        """Records per second."""
        return self.records / self.seconds if self.seconds > 0 else 0.0

    @property
    def cpu_us(self) -> float:
        """Client CPU microseconds per record (load-independent, unlike the rate)."""
        return self.cpu_s / self.records * 1e6 if self.records else 0.0


def _cpu_s() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(
        resource.RUSAGE_CHILDREN
    )
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


async def per_event(
    bootstrap: str,
    topic: str,
    store: RedisTimelineStore,
    expected: int,
    *,
    sink: str = "apply",
    budget_s: float = 600.0,
    now_ms: int | None = None,
) -> Measured:
    """A per-event baseline: poll() one record at a time and codec.decode it, then
    - sink "apply": store.apply it, up to 64 applies in flight (the fold is order-insensitive);
    - sink "pipelined": fold it into the pending entry of its interaction, and flush the
      pending entries through store.merge_many every 500 records or 50 ms.
    Stops after `expected` records or `budget_s` seconds, whichever is first."""
    consumer = Consumer({**client_config(endpoint_of(bootstrap), "c360-bench-per-event"),
                         "group.id": "c360-bench-per-event", "enable.auto.commit": False,
                         "fetch.wait.max.ms": 20})
    consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING)
                     for p in partitions_of(bootstrap, topic)])
    tasks: set[asyncio.Task[object]] = set()
    pending: dict[tuple[str, str, str], InteractionEntry] = {}
    done, started = 0, time.monotonic()
    flushed = started

    async def flush() -> None:
        items = [(t, p, e) for (t, p, _), e in pending.items()]
        pending.clear()
        await store.merge_many(items, now_ms or time.time_ns() // 1_000_000)

    try:
        while done < expected and time.monotonic() - started < budget_s:
            msg = consumer.poll(0.5)
            if msg is None or msg.error() is not None:
                continue
            record = codec.decode(msg.value() or b"")
            done += 1
            if sink == "pipelined":
                entry = entry_of(record.event)
                key = (record.tenant_id, record.party_token, entry.interaction_id)
                pending[key] = merge(pending.get(key), entry)
                if done % 500 == 0 or time.monotonic() - flushed > 0.05:
                    await flush()
                    flushed = time.monotonic()
                continue
            now = now_ms or time.time_ns() // 1_000_000
            task = asyncio.ensure_future(
                store.apply(record.tenant_id, record.party_token, record.event, now)
            )
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            if len(tasks) >= 64:
                await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        await asyncio.gather(*tasks)
        await flush()
    finally:
        consumer.close()
    return Measured(done, time.monotonic() - started)


Snapshot = dict[str, tuple[str, object, bool]]


def snapshot(redis_url: str, namespace: str) -> Snapshot:
    """Every key of a namespace (name without the namespace) -> (type, value, has expiry):
    hashes as dicts, sorted sets as (member, score) lists; TTL values left out."""
    client = redis.Redis.from_url(redis_url)
    try:
        keys = sorted(client.scan_iter(match=f"{namespace}:*", count=1000))
        out: Snapshot = {}
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            pipe = client.pipeline(transaction=False)
            for key in chunk:
                pipe.type(key)
                pipe.pttl(key)
            meta = pipe.execute()
            pipe = client.pipeline(transaction=False)
            for key, kind in zip(chunk, meta[0::2], strict=True):
                _read(pipe, key, kind.decode())
            values = pipe.execute()
            for key, kind, ttl, value in zip(chunk, meta[0::2], meta[1::2], values, strict=True):
                name = key.decode("utf-8", "backslashreplace")[len(namespace) :]
                out[name] = (kind.decode(), value, ttl >= 0)
        return out
    finally:
        client.close()


def _read(pipe: Any, key: bytes, kind: str) -> None:
    if kind == "hash":
        pipe.hgetall(key)
    elif kind == "zset":
        pipe.zrange(key, 0, -1, withscores=True)
    elif kind == "string":
        pipe.get(key)
    elif kind == "list":
        pipe.lrange(key, 0, -1)
    elif kind == "set":
        pipe.smembers(key)
    else:
        pipe.dump(key)


def _drop(redis_url: str, namespace: str) -> None:
    client = redis.Redis.from_url(redis_url)
    try:
        keys = list(client.scan_iter(match=f"{namespace}:*", count=1000))
        for start in range(0, len(keys), 1000):
            client.unlink(*keys[start : start + 1000])
    finally:
        client.close()


TARGET = ">= 50000 ev/s and >= 2x baseline"


def _baseline(
    bootstrap: str, topic: str, redis_url: str, namespace: str, n: int, **kwargs: Any
) -> Measured:
    async def go() -> Measured:
        client = redis_client(redis_url)
        store = RedisTimelineStore(client, Keys(namespace), Retention())
        try:
            return await per_event(bootstrap, topic, store, n, **kwargs)
        finally:
            await client.aclose()

    cpu = _cpu_s()
    measured = asyncio.run(go())
    return Measured(measured.records, measured.seconds, _cpu_s() - cpu)


def run(
    bootstrap: str, redis_url: str, *, quick: bool, topic_prefix: str = ""
) -> list[dict[str, Any]]:
    """Publish N by-party records (200,000; quick: 5,000) to a fresh topic, rebuild them
    with `c360 replay` (one process per core) and with two per-event baselines into new
    namespaces, and return the replay figure against the faster baseline (same records,
    same run). The store.apply baseline is timed on at most 60 s (quick: 5 s) of them."""
    n = 5_000 if quick else 200_000
    topic = fresh_topic(bootstrap, topic_prefix)
    publish(bootstrap, topic, party_records(n))
    tag = uuid.uuid4().hex[:8]
    spaces = {k: f"bench{k}{tag}" for k in ("replay", "pipelined", "apply")}
    workers = os.cpu_count() or 1
    now_ms = time.time_ns() // 1_000_000  # one clock for all, so the results compare
    try:
        t0, cpu = time.perf_counter(), _cpu_s()
        stats = replay_parallel(bootstrap, topic, Target(redis_url, spaces["replay"],
                                                         Retention()),
                                workers=workers, now_ms=now_ms)
        replayed = Measured(stats["records"], time.perf_counter() - t0, _cpu_s() - cpu)
        replay_s = replayed.seconds
        pipelined = _baseline(bootstrap, topic, redis_url, spaces["pipelined"], n,
                              sink="pipelined", now_ms=now_ms)
        applied = _baseline(bootstrap, topic, redis_url, spaces["apply"], n, sink="apply",
                            budget_s=5.0 if quick else 60.0, now_ms=now_ms)
        same = snapshot(redis_url, spaces["replay"]) == snapshot(redis_url, spaces["pipelined"])
    finally:
        for namespace in spaces.values():
            _drop(redis_url, namespace)
    value = stats["records"] / replay_s
    names = {
        "pipelined": "per-event loop (poll() one record, codec.decode, fold) with a "
        "pipelined sink (store.merge_many every 500 records / 50 ms)",
        "apply": "per-event loop: poll() one record, codec.decode, "
        "RedisTimelineStore.apply (64 applies in flight)",
    }
    rates = {"pipelined": pipelined.rate, "apply": applied.rate}
    best = max(rates, key=lambda k: rates[k])
    notes = (
        f"{stats['records']} records ({stats['writes']} interaction writes), "
        f"{stats['partitions']} partitions, {stats['workers']} processes, {replay_s:.2f} s "
        f"incl. process start and end-of-partition checks; baselines: pipelined sink "
        f"{pipelined.records} in {pipelined.seconds:.2f} s, store.apply {applied.records} in "
        f"{applied.seconds:.2f} s; replayed namespace identical to the baseline's: {same}"
    )
    return [
        {
            "figure": "replay",
            "value": round(value, 1),
            "unit": "ev/s",
            "baseline_name": names[best],
            "baseline_value": round(rates[best], 1),
            "target": TARGET,
            "met": value >= 50_000 and value >= 2 * rates[best],
            "notes": notes,
            "details": {
                "records": stats["records"],
                "replay_s": round(replay_s, 3),
                "workers": stats["workers"],
                "baseline_pipelined_ev_s": round(pipelined.rate, 1),
                "baseline_apply_ev_s": round(applied.rate, 1),
                # Client CPU per record: what the rates would be on an idle machine
                # follows from these (the rates depend on the load around the run).
                "replay_cpu_us_per_record": round(replayed.cpu_us, 1),
                "baseline_pipelined_cpu_us_per_record": round(pipelined.cpu_us, 1),
                "baseline_apply_cpu_us_per_record": round(applied.cpu_us, 1),
                "identical": same,
            },
        }
    ]
