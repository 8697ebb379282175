"""`c360 replay`: rebuild the timeline projection from the by-party topic into a namespace."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
import uuid

from confluent_kafka import Consumer, TopicPartition

from projections.keys import Keys
from projections.redis_client import redis_client
from projections.redis_timeline import RedisTimelineStore
from projections.timeline import InteractionEntry, Retention, entry_of, merge
from schemas import codec
from schemas.errors import SchemaError
from schemas.records import PartyInteraction
from schemas.topics import INTERACTIONS_BY_PARTY

# Blue/green rebuild (docs/operations.md): the live namespace keeps serving while this
# writes a new one from offset 0; point C360_KEY_NAMESPACE at it once it has caught up.
# Batches are folded in memory first (the same pure fold as the live agent), so each
# interaction costs one Redis write per batch instead of one per event.


def _consumer(bootstrap: str, topic: str) -> tuple[Consumer, dict[int, int]]:
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"c360-replay-{uuid.uuid4().hex}",
            "enable.auto.commit": False,
            "broker.address.family": "v4",
        }
    )
    meta = consumer.list_topics(topic, timeout=10).topics[topic]
    parts = [TopicPartition(topic, p, 0) for p in meta.partitions]
    ends = {p.partition: consumer.get_watermark_offsets(p, timeout=10)[1] for p in parts}
    consumer.assign(parts)
    return consumer, ends


async def replay(
    bootstrap: str, topic: str, store: RedisTimelineStore, *, batch_size: int = 5000
) -> dict[str, int]:
    """Fold every record up to the end offsets seen at start into `store`."""
    consumer, ends = _consumer(bootstrap, topic)
    todo = {p for p, end in ends.items() if end > 0}
    stats = {"records": 0, "writes": 0, "undecodable": 0}
    try:
        while todo:
            batch: dict[tuple[str, str, str], InteractionEntry] = {}
            for msg in consumer.consume(batch_size, timeout=2.0):
                if msg.error():
                    continue
                partition = msg.partition() or 0
                if (msg.offset() or 0) + 1 >= ends[partition]:
                    todo.discard(partition)
                stats["records"] += 1
                try:
                    record = codec.decode(msg.value() or b"")
                except SchemaError:
                    stats["undecodable"] += 1
                    continue
                if not isinstance(record, PartyInteraction):
                    stats["undecodable"] += 1
                    continue
                key = (record.tenant_id, record.party_token, record.event.interaction_id)
                batch[key] = merge(batch.get(key), entry_of(record.event))
            now = time.time_ns() // 1_000_000
            for (tenant, token, _iid), partial in batch.items():
                await store.merge_entry(tenant, token, partial, now)
                stats["writes"] += 1
    finally:
        consumer.close()
    return stats


def main(argv: list[str] | None = None) -> int:
    """Rebuild into --namespace (must differ from the live one unless --in-place)."""
    parser = argparse.ArgumentParser(prog="c360 replay", description=__doc__)
    parser.add_argument("--namespace", required=True, help="target Redis key namespace")
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
    args = parser.parse_args(argv)
    live = os.environ.get("C360_KEY_NAMESPACE", "c360")
    if args.namespace == live and not args.in_place:
        parser.error(f"{live!r} is the live namespace; pass --in-place to write into it")

    async def run() -> dict[str, int]:
        client = redis_client(args.redis_url)
        store = RedisTimelineStore(
            client,
            Keys(args.namespace),
            Retention(args.max_entries, args.retention_days * 86_400_000),
        )
        try:
            return await replay(args.bootstrap, args.prefix + INTERACTIONS_BY_PARTY, store)
        finally:
            await client.aclose()

    t0 = time.perf_counter()
    stats = asyncio.run(run())
    seconds = time.perf_counter() - t0
    print(
        json.dumps(
            {
                **stats,
                "namespace": args.namespace,
                "seconds": round(seconds, 2),
                "records_per_s": round(stats["records"] / seconds, 1) if seconds else 0,
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
