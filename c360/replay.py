"""`c360 replay`: rebuild the timeline projection from the by-party topic into a namespace."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, TopicPartition

from c360.replay_decode import PartyDecoder, party_decoder
from projections.keys import Keys
from projections.redis_client import redis_client
from projections.redis_timeline import RedisTimelineStore
from projections.timeline import InteractionEntry, Retention, entry_of, merge
from schemas.errors import SchemaError
from schemas.topics import INTERACTIONS_BY_PARTY

# Blue/green rebuild (docs/operations.md): the live namespace keeps serving while this
# writes a new one from the start of the topic; point C360_KEY_NAMESPACE at it once it has
# caught up. Each batch (consume(n)) is decoded once and folded in memory with the live
# agent's pure fold (entry_of/merge), so an interaction costs one store write per batch, and
# the batch's writes go out pipelined (store.merge_many) while the next batch is decoded.
# The topic is keyed by party, so one party's records all sit in one partition: partition
# groups replay in parallel processes (own consumer, own Redis client) without ever
# writing the same party from two places.
#
# When a partition is done (Tansu 0.6 reports the last batch's base offset + 1 as its high
# watermark, FACTS.md M3, so the watermark alone can stop short of the last batch): a
# partition is finished only once BOTH
#   1. the replay has read up to the high watermark seen at start (the least it owes), and
#   2. a fetch after that point came back empty: librdkafka's partition-EOF event at
#      exactly our next offset, or no record from the partition for `idle_s` of polling
#      (brokers whose watermark is wrong never send a trustworthy EOF).
# Records past the start watermark are replayed too (harmless: the fold is idempotent), but
# at most `tail_s` past the moment the watermark was reached, so a busy live topic cannot
# keep a replay running forever. A partition whose end cannot be read fails the replay.

EOF = KafkaError._PARTITION_EOF  # librdkafka's partition-EOF event code
Item = tuple[str, str, InteractionEntry]


class Store(Protocol):
    """What replay needs of a timeline store (RedisTimelineStore)."""

    async def merge_entry(
        self, tenant_id: str, token: str, partial: InteractionEntry, now_ms: int
    ) -> InteractionEntry | None: ...


@dataclass(frozen=True, slots=True)
class Limits:
    """Batching and end-of-partition settings (see the rule above)."""

    batch_size: int = 10_000
    idle_s: float = 1.0
    tail_s: float = 60.0
    poll_s: float = 0.2
    gather_chunk: int = 64  # concurrent merge_entry calls when the store has no merge_many
    per_process: int = 20_000  # records that justify another process (~0.3 s CPU to start)


@dataclass(frozen=True, slots=True)
class Target:
    """Where a worker process writes (it builds its own client: clients do not pickle)."""

    redis_url: str
    namespace: str
    retention: Retention


def _consumer(bootstrap: str) -> Consumer:
    return Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"c360-replay-{uuid.uuid4().hex}",  # assigned, never joined
            "enable.auto.commit": False,
            "enable.partition.eof": True,
            "broker.address.family": "v4",
            # Tansu answers a fetch only at its max wait (FACTS M1): keep it short.
            "fetch.wait.max.ms": 20,
            "max.partition.fetch.bytes": 8 << 20,
            "fetch.max.bytes": 32 << 20,
        }
    )


def partitions_of(bootstrap: str, topic: str) -> list[int]:
    """The topic's partition ids; KafkaException when it does not exist."""
    consumer = _consumer(bootstrap)
    try:
        meta = consumer.list_topics(topic, timeout=10).topics[topic]
        if meta.error is not None:
            raise KafkaException(meta.error)
        return sorted(meta.partitions)
    finally:
        consumer.close()


def sizes_of(bootstrap: str, topic: str) -> dict[int, int]:
    """Partition -> records by its watermarks (approximate on Tansu: the last batch's
    records beyond its base are not counted)."""
    parts = partitions_of(bootstrap, topic)
    consumer = _consumer(bootstrap)
    try:
        marks = {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
                 for p in parts}
    finally:
        consumer.close()
    return {p: high - low for p, (low, high) in marks.items()}


def plan_groups(sizes: dict[int, int], workers: int, per_process: int) -> list[list[int]]:
    """Partition groups, one per process: another process only for every `per_process`
    records, largest partitions first to the lightest group."""
    extra = sum(sizes.values()) // per_process if per_process > 0 else workers
    count = max(1, min(workers, len(sizes), 1 + extra))
    groups: list[list[int]] = [[] for _ in range(count)]
    load = [0] * count
    for p in sorted(sizes, key=lambda q: (-sizes[q], q)):
        lightest = load.index(min(load))
        groups[lightest].append(p)
        load[lightest] += sizes[p]
    return [sorted(g) for g in groups if g]


class _Ends:
    """Tracks each partition against the end rule (pure: fed by the consume loop)."""

    def __init__(self, start: dict[int, int], end: dict[int, int]) -> None:
        self.end = dict(end)  # high watermark seen at start: the least the replay owes
        self.next = dict(start)  # the next offset to read
        # Silence is counted in time spent inside consume() without a record of the
        # partition, not wall time: a slow batch write must not look like an idle broker.
        self.quiet = dict.fromkeys(start, 0.0)
        self.reached: dict[int, float] = {}
        self.eof: dict[int, int] = {}  # partition -> offset of its last EOF event
        self.todo = set(start)

    def polled(self, heard: set[int], waited: float, now: float, limits: Limits) -> None:
        """After one consume() of `waited` seconds that returned records of `heard`."""
        for p in list(self.todo):
            self.quiet[p] = 0.0 if p in heard else self.quiet[p] + waited
            if self.next[p] < self.end[p]:
                continue
            reached = self.reached.setdefault(p, now)
            if (
                self.eof.get(p) == self.next[p]
                or self.quiet[p] >= limits.idle_s
                or now - reached >= limits.tail_s
            ):
                self.todo.discard(p)


def _assign(consumer: Consumer, topic: str, partitions: Sequence[int]) -> _Ends:
    start: dict[int, int] = {}
    end: dict[int, int] = {}
    for p in partitions:
        start[p], end[p] = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
    consumer.assign([TopicPartition(topic, p, start[p]) for p in partitions])
    return _Ends(start, end)


Batch = dict[tuple[str, str, str], InteractionEntry]


def _fold(
    messages: Sequence[Message], decode: PartyDecoder, ends: _Ends, stats: dict[str, int]
) -> tuple[Batch, set[int]]:
    """One consume() result folded per (tenant, party, interaction); the partitions heard."""
    batch: Batch = {}
    last: dict[int, int] = {}
    bad = good = 0
    for msg in messages:
        err = msg.error()
        if err is not None:
            if err.code() == EOF:
                ends.eof[msg.partition() or 0] = msg.offset() or 0
            elif err.fatal() or err.code() == KafkaError.UNKNOWN_TOPIC_OR_PART:
                raise KafkaException(err)
            continue  # transient client errors: librdkafka retries by itself
        last[msg.partition() or 0] = msg.offset() or 0
        good += 1
        try:
            party = decode(msg.value() or b"")
        except SchemaError:
            party = None
        if party is None:  # the live agent dead-letters these: nothing to fold
            bad += 1
            continue
        tenant_id, token, event = party
        entry = entry_of(event)
        key = (tenant_id, token, entry.interaction_id)
        batch[key] = merge(batch.get(key), entry)
    for partition, offset in last.items():
        ends.next[partition] = offset + 1
    stats["records"] += good
    stats["undecodable"] += bad
    return batch, set(last)


async def replay(
    bootstrap: str,
    topic: str,
    store: Store,
    *,
    partitions: Sequence[int] | None = None,
    limits: Limits = Limits(),
    now_ms: int | None = None,
) -> dict[str, int]:
    """Fold every record of `partitions` (default: all) into `store`, until the end rule
    holds for each; returns counts. `now_ms` fixes the store's clock (a reproducible
    rebuild; default: the wall clock per batch). Raises KafkaException on a fatal consumer
    error and whatever the store raises (StoreUnavailable)."""
    consumer = _consumer(bootstrap)
    decode = party_decoder()
    stats = {"records": 0, "writes": 0, "undecodable": 0}
    pending: asyncio.Task[None] | None = None
    try:
        if partitions is None:
            partitions = partitions_of(bootstrap, topic)
        ends = _assign(consumer, topic, partitions)
        while ends.todo:
            started = time.monotonic()
            messages = consumer.consume(limits.batch_size, timeout=limits.poll_s)
            waited = time.monotonic() - started
            batch, heard = _fold(messages, decode, ends, stats)
            ends.polled(heard, waited, time.monotonic(), limits)
            if pending is not None:
                await pending  # one batch in flight: its write overlapped this decode
                pending = None
            if batch:
                items = [(t, p, e) for (t, p, _), e in batch.items()]
                stats["writes"] += len(items)
                pending = asyncio.create_task(_write(store, items, now_ms or _wall_ms(), limits))
                await asyncio.sleep(0)  # let the write go out before decoding again
        if pending is not None:
            await pending
    finally:
        if pending is not None and not pending.done():
            pending.cancel()
        consumer.close()
    return stats


def _wall_ms() -> int:
    return time.time_ns() // 1_000_000


async def _write(store: Store, items: list[Item], now_ms: int, limits: Limits) -> None:
    many: Callable[[Sequence[Item], int], Awaitable[object]] | None = getattr(
        store, "merge_many", None
    )
    if many is not None:
        await many(items, now_ms)
        return
    for start in range(0, len(items), limits.gather_chunk):
        chunk = items[start : start + limits.gather_chunk]
        await asyncio.gather(*(store.merge_entry(t, p, e, now_ms) for t, p, e in chunk))


def _worker(
    bootstrap: str,
    topic: str,
    target: Target,
    partitions: list[int],
    limits: Limits,
    now_ms: int | None,
) -> dict[str, int]:
    async def run() -> dict[str, int]:
        client = redis_client(target.redis_url)
        store = RedisTimelineStore(client, Keys(target.namespace), target.retention)
        try:
            return await replay(
                bootstrap, topic, store, partitions=partitions, limits=limits, now_ms=now_ms
            )
        finally:
            await client.aclose()

    return asyncio.run(run())


def _spawn(
    bootstrap: str,
    topic: str,
    target: Target,
    partitions: list[int],
    limits: Limits,
    now_ms: int | None,
) -> subprocess.Popen[str]:
    # A fresh interpreter per group (not multiprocessing): nothing of the caller's main
    # module, event loop or librdkafka threads is inherited or re-imported.
    spec = {
        "bootstrap": bootstrap,
        "topic": topic,
        "target": {**asdict(target), "retention": asdict(target.retention)},
        "partitions": partitions,
        "limits": asdict(limits),
        "now_ms": now_ms,
    }
    argv = [sys.executable, "-m", "c360.replay", "--worker", json.dumps(spec)]
    return subprocess.Popen(  # noqa: S603 - our own interpreter and module
        argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _run_spec(raw: str) -> dict[str, int]:
    spec = json.loads(raw)
    target = Target(**{**spec["target"], "retention": Retention(**spec["target"]["retention"])})
    limits = Limits(**spec["limits"])
    return _worker(
        spec["bootstrap"], spec["topic"], target, spec["partitions"], limits, spec["now_ms"]
    )


def _joined(child: subprocess.Popen[str]) -> dict[str, int]:
    out, err = child.communicate()
    if child.returncode != 0:
        raise RuntimeError(f"replay worker failed ({child.returncode}): {err.strip()[-2000:]}")
    result: dict[str, int] = json.loads(out.strip().splitlines()[-1])
    return result


def replay_parallel(
    bootstrap: str,
    topic: str,
    target: Target,
    *,
    workers: int = 2,
    limits: Limits = Limits(),
    now_ms: int | None = None,
) -> dict[str, int]:
    """`replay` over partition groups in `workers` processes (this one included); the
    summed counts. Blocks; call it from a thread when an event loop is running here.
    Raises RuntimeError when a worker process fails, KafkaException as `replay`."""
    sizes = sizes_of(bootstrap, topic)
    groups = plan_groups(sizes, workers, limits.per_process)
    children = [_spawn(bootstrap, topic, target, g, limits, now_ms) for g in groups[1:]]
    try:
        results = [_worker(bootstrap, topic, target, groups[0], limits, now_ms)]
        results += [_joined(child) for child in children]
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
                child.wait()
    totals: dict[str, int] = {"partitions": len(sizes), "workers": len(groups)}
    for result in results:
        for key, value in result.items():
            totals[key] = totals.get(key, 0) + value
    return totals


def main(argv: list[str] | None = None) -> int:
    """Rebuild into --namespace (must differ from the live one unless --in-place)."""
    parser = argparse.ArgumentParser(prog="c360 replay", description=__doc__)
    parser.add_argument("--namespace", help="target Redis key namespace (required)")
    parser.add_argument(
        "--in-place",
        action="store_true",
        help="allow the live namespace (safe: the fold is idempotent)",
    )
    parser.add_argument(
        "--bootstrap", default=os.environ.get("C360_KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
    )
    parser.add_argument("--prefix", default=os.environ.get("C360_TOPIC_PREFIX", ""))
    parser.add_argument(
        "--redis-url", default=os.environ.get("C360_REDIS_URL", "redis://127.0.0.1:6379/0")
    )
    parser.add_argument(
        "--max-entries", type=int, default=int(os.environ.get("C360_TIMELINE_MAX_ENTRIES", "50"))
    )
    parser.add_argument(
        "--retention-days",
        type=int,
        default=int(os.environ.get("C360_TIMELINE_RETENTION_DAYS", "365")),
    )
    parser.add_argument(
        "--workers", type=int, default=os.cpu_count() or 1,
        help="processes, each replaying a group of partitions (default: one per core)",
    )
    parser.add_argument("--topic", help=f"default: <prefix>{INTERACTIONS_BY_PARTY}")
    parser.add_argument("--worker", help=argparse.SUPPRESS)  # one partition group (internal)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(_run_spec(args.worker)))
        return 0
    if not args.namespace:
        parser.error("--namespace is required")
    live = os.environ.get("C360_KEY_NAMESPACE", "c360")
    if args.namespace == live and not args.in_place:
        parser.error(f"{live!r} is the live namespace; pass --in-place to write into it")
    target = Target(
        args.redis_url,
        args.namespace,
        Retention(args.max_entries, args.retention_days * 86_400_000),
    )
    t0 = time.perf_counter()
    topic = args.topic or args.prefix + INTERACTIONS_BY_PARTY
    stats = replay_parallel(args.bootstrap, topic, target, workers=args.workers)
    seconds = time.perf_counter() - t0
    out: dict[str, Any] = {
        **stats,
        "namespace": args.namespace,
        "seconds": round(seconds, 2),
        "records_per_s": round(stats["records"] / seconds, 1) if seconds else 0,
    }
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
