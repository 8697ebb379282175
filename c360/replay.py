"""`c360 replay`: rebuild the timeline projection from the by-party topic into a namespace."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import json
import os
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import timedelta
from typing import Any, Protocol

from confluent_kafka import KafkaError, KafkaException, Message

from c360 import options, reach
from c360.replay_decode import PartyDecoder, party_decoder
from c360.replay_offsets import (
    DEFAULT_LIMITS,
    EOF,
    Ends,
    Limits,
    assign,
    partitions_of,
    plan_groups,
    replay_consumer,
    sizes_of,
)
from core.timeline import InteractionEntry, Retention, entry_of, from_ms, merge
from infra.kafka_config import Brokers, KafkaEndpoint, endpoint_of
from infra.settings_streams import ToolSettings
from projections.keys import Keys
from projections.redis_client import redis_client
from projections.redis_timeline import RedisTimelineStore
from schemas.errors import SchemaError
from schemas.topics import INTERACTIONS_BY_PARTY
from schemas.validation import Limits as Plausible
from schemas.validation import validate

# Blue/green rebuild (docs/operations.md): the live namespace keeps serving while this
# writes a new one from the start of the topic; point C360_KEY_NAMESPACE at it once it has
# caught up. Each batch (consume(n)) is decoded once and folded in memory with the live
# agent's pure fold (entry_of/merge), so an interaction costs one store write per batch, and
# the batch's writes go out pipelined (store.merge_many) while the next batch is decoded.
# The topic is keyed by party, so one party's records all sit in one partition: partition
# groups replay in parallel processes (own consumer, own Redis client) without ever
# writing the same party from two places.
#
# The end of each partition: c360/replay_offsets.py.

Item = tuple[str, str, InteractionEntry]


class Store(Protocol):
    """What replay needs of a timeline store (RedisTimelineStore)."""

    async def merge_entry(
        self, tenant_id: str, token: str, partial: InteractionEntry, now_ms: int
    ) -> InteractionEntry | None: ...


@dataclass(frozen=True, slots=True)
class Target:
    """Where a worker process writes (it builds its own client: clients do not pickle)."""

    redis_url: str
    namespace: str
    retention: Retention


Batch = dict[tuple[str, str, str], InteractionEntry]


def _fold(
    messages: Sequence[Message],
    decode: PartyDecoder,
    ends: Ends,
    stats: dict[str, int],
    check: Callable[[object], None],
) -> tuple[Batch, set[int]]:
    """One consume() result folded per (tenant, party, interaction); the partitions heard.
    Records the live path refuses (undecodable, implausible: `check` raises) are counted
    and skipped, never folded, so they cannot stop a replay either."""
    batch: Batch = {}
    last: dict[int, int] = {}
    bad = good = implausible = 0
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
        try:
            check(event)
        except SchemaError:
            implausible += 1
            continue
        entry = entry_of(event)
        key = (tenant_id, token, entry.interaction_id)
        batch[key] = merge(batch.get(key), entry)
    for partition, offset in last.items():
        ends.next[partition] = offset + 1
    stats["records"] += good
    stats["undecodable"] += bad
    stats["implausible"] += implausible
    return batch, set(last)


async def replay(
    brokers: Brokers,
    topic: str,
    store: Store,
    *,
    partitions: Sequence[int] | None = None,
    limits: Limits = DEFAULT_LIMITS,
    now_ms: int | None = None,
) -> dict[str, int]:
    """Fold every record of `partitions` (default: all) into `store`, until the end rule
    holds for each; returns counts. `now_ms` fixes the store's clock (a reproducible
    rebuild; default: the wall clock per batch). Raises KafkaException on a fatal consumer
    error and whatever the store raises (StoreUnavailable)."""
    kafka = replay_consumer(brokers)
    decode = party_decoder()
    stats = {"records": 0, "writes": 0, "undecodable": 0, "implausible": 0}
    plausible = Plausible(max_ahead=timedelta(seconds=limits.max_future_s))
    pending: asyncio.Task[None] | None = None
    try:
        if partitions is None:
            partitions = partitions_of(brokers, topic)
        ends = assign(kafka, topic, partitions)
        while ends.todo:
            started = time.monotonic()
            messages = kafka.consume(limits.batch_size, timeout=limits.poll_s)
            waited = time.monotonic() - started
            batch_ms = now_ms or _wall_ms()
            check = functools.partial(validate, limits=plausible, now=from_ms(batch_ms))
            batch, heard = _fold(messages, decode, ends, stats, check)
            ends.polled(heard, waited, time.monotonic(), limits)
            if pending is not None:
                await pending  # one batch in flight: its write overlapped this decode
                pending = None
            if batch:
                items = [(t, p, e) for (t, p, _), e in batch.items()]
                stats["writes"] += len(items)
                pending = asyncio.create_task(_write(store, items, batch_ms, limits))
                await asyncio.sleep(0)  # let the write go out before decoding again
        if pending is not None:
            await pending
    finally:
        if pending is not None and not pending.done():
            pending.cancel()
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await pending
        kafka.close()
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
    brokers: Brokers,
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
                brokers, topic, store, partitions=partitions, limits=limits, now_ms=now_ms
            )
        finally:
            await client.aclose()

    return asyncio.run(run())


def _spawn(
    kafka: KafkaEndpoint,
    topic: str,
    target: Target,
    partitions: list[int],
    limits: Limits,
    now_ms: int | None,
) -> subprocess.Popen[str]:
    # A fresh interpreter per group (not multiprocessing): nothing of the caller's main
    # module, event loop or librdkafka threads is inherited or re-imported. The spec goes
    # through stdin, not argv: it holds the SASL password, and argv is visible to `ps`.
    spec = {
        "bootstrap": kafka.bootstrap,
        "security": [list(pair) for pair in kafka.security],
        "topic": topic,
        "target": {**asdict(target), "retention": asdict(target.retention)},
        "partitions": partitions,
        "limits": asdict(limits),
        "now_ms": now_ms,
    }
    argv = [sys.executable, "-m", "c360.replay", "--worker", "-"]
    child = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert child.stdin is not None
    child.stdin.write(json.dumps(spec))
    child.stdin.close()
    child.stdin = None  # communicate() later must not flush the closed pipe
    return child


def _run_spec(raw: str) -> dict[str, int]:
    spec = json.loads(raw)
    target = Target(**{**spec["target"], "retention": Retention(**spec["target"]["retention"])})
    limits = Limits(**spec["limits"])
    kafka = KafkaEndpoint(spec["bootstrap"], tuple((k, v) for k, v in spec["security"]))
    return _worker(kafka, spec["topic"], target, spec["partitions"], limits, spec["now_ms"])


def _joined(child: subprocess.Popen[str]) -> dict[str, int]:
    out, err = child.communicate()
    if child.returncode != 0:
        raise RuntimeError(f"replay worker failed ({child.returncode}): {err.strip()[-2000:]}")
    result: dict[str, int] = json.loads(out.strip().splitlines()[-1])
    return result


def replay_parallel(
    brokers: Brokers,
    topic: str,
    target: Target,
    *,
    workers: int = 2,
    limits: Limits = DEFAULT_LIMITS,
    now_ms: int | None = None,
) -> dict[str, int]:
    """`replay` over partition groups in `workers` processes (this one included); the
    summed counts. Blocks; call it from a thread when an event loop is running here.
    Raises RuntimeError when a worker process fails, KafkaException as `replay`."""
    kafka = endpoint_of(brokers)
    sizes = sizes_of(kafka, topic)
    groups = plan_groups(sizes, workers, limits.per_process)
    children = [_spawn(kafka, topic, target, g, limits, now_ms) for g in groups[1:]]
    try:
        results = [_worker(kafka, topic, target, groups[0], limits, now_ms)]
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


EPILOG = (
    "A partition is done once the replay has read up to the high watermark seen "
    "at start AND a fetch after it came back empty (end-of-partition at the next offset, "
    "or 1 s of polling without a record), so a broker that under-reports its watermark "
    "(Tansu 0.6) cannot end it early; records past the watermark are read for at most "
    "60 s."
)


def main(argv: list[str] | None = None) -> int:
    """`python -m c360.replay`: the same as `c360 replay`."""
    parser = argparse.ArgumentParser(prog="c360 replay", description=__doc__, epilog=EPILOG)
    add_arguments(parser)
    return run(parser.parse_args(argv))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """`c360 replay` options (also used by the `c360` command's tree)."""
    defaults = ToolSettings.from_env()  # the C360_* defaults of the options
    parser.add_argument("--namespace", help="target Redis key namespace (required)")
    parser.add_argument(
        "--in-place",
        action="store_true",
        help="allow the live namespace (safe: the fold is idempotent)",
    )
    parser.add_argument(
        "--bootstrap", default=defaults.kafka_bootstrap_servers, help=options.BOOTSTRAP
    )
    parser.add_argument("--prefix", default=defaults.topic_prefix, help=options.PREFIX)
    parser.add_argument("--redis-url", default=defaults.redis_url, help=options.REDIS_URL)
    parser.add_argument(
        "--max-entries",
        type=int,
        default=defaults.timeline_max_entries,
        help="timeline entries kept per customer, as the live pipeline "
        "(default: $C360_TIMELINE_MAX_ENTRIES, %(default)s)",
    )
    parser.add_argument(
        "--retention-days",
        type=int,
        default=defaults.timeline_retention_days,
        help="older timeline entries are dropped, as by the live pipeline "
        "(default: $C360_TIMELINE_RETENTION_DAYS, %(default)s)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count() or 1,
        help="processes, each replaying a group of partitions (default: one per core)",
    )
    parser.add_argument("--topic", help=f"default: <prefix>{INTERACTIONS_BY_PARTY}")
    parser.add_argument(
        "--max-future-seconds",
        type=int,
        default=defaults.max_future_seconds,
        help="events stamped further ahead are refused, as by the live pipeline",
    )
    parser.add_argument("--worker", help=argparse.SUPPRESS)  # one partition group (internal)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Rebuild into --namespace (must differ from the live one unless --in-place)."""
    defaults = ToolSettings.from_env()
    if args.worker:
        raw = sys.stdin.read() if args.worker == "-" else args.worker
        print(json.dumps(_run_spec(raw)))
        return 0
    if not args.namespace:
        print("c360 replay: --namespace is required", file=sys.stderr)
        return 2
    live = defaults.key_namespace
    if args.namespace == live and not args.in_place:
        print(
            f"c360 replay: {live!r} is the live namespace; pass --in-place to write into it",
            file=sys.stderr,
        )
        return 2
    target = Target(
        args.redis_url,
        args.namespace,
        Retention(args.max_entries, args.retention_days * 86_400_000),
    )
    t0 = time.perf_counter()
    topic = args.topic or args.prefix + INTERACTIONS_BY_PARTY
    limits = Limits(max_future_s=args.max_future_seconds)
    kafka = KafkaEndpoint.from_settings(defaults, args.bootstrap)  # --bootstrap: servers only
    reach.require_kafka(kafka)
    reach.require_redis(args.redis_url)
    stats = replay_parallel(kafka, topic, target, workers=args.workers, limits=limits)
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
