"""`c360 bench`: throughput figures with a same-run baseline (reported, never asserted)."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from projections.keys import Keys
from projections.redis_client import redis_client
from projections.redis_timeline import RedisTimelineStore
from projections.timeline import Retention, apply, to_ms
from schemas import codec
from schemas.records import (
    InteractionAccepted,
    InteractionEnded,
    InteractionEvent,
    InteractionOffered,
    InteractionWrappedUp,
)


def sample_events(n: int) -> list[InteractionEvent]:
    """n events: calls of 4 events each over n/40 parties' worth of interactions."""
    start = datetime.now(tz=UTC) - timedelta(days=1)
    events: list[InteractionEvent] = []
    for i in range(max(1, n // 4)):
        iid, at = f"bench-{i}", start + timedelta(seconds=i)
        events += [
            InteractionOffered(
                str(uuid.uuid4()),
                "bench",
                at,
                iid,
                "voice",
                "inbound",
                "+442079460123",
                "+442079460999",
                stage="queued",
                queue="Q",
            ),
            InteractionAccepted(str(uuid.uuid4()), "bench", at, iid, "voice", "agent-1"),
            InteractionEnded(
                str(uuid.uuid4()),
                "bench",
                at,
                iid,
                "voice",
                "inbound",
                "+442079460123",
                "+442079460999",
                60,
            ),
            InteractionWrappedUp(
                str(uuid.uuid4()), "bench", at, iid, "voice", "agent-1", disposition_code="OK"
            ),
        ]
    return events[:n]


def _rate(n: int, seconds: float) -> float:
    return n / seconds if seconds > 0 else float("inf")


def _timed(fn: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def bench_fold(events: list[InteractionEvent]) -> dict[str, float]:
    """Pure fold vs a dict-update baseline over the same events."""

    def fold() -> None:
        entries: dict[str, object] = {}
        for e in events:
            entries[e.interaction_id] = apply(entries.get(e.interaction_id), e)  # type: ignore[arg-type]

    def baseline() -> None:
        entries: dict[str, object] = {}
        for e in events:
            entries[e.interaction_id] = e

    t_fold, t_base = _timed(fold), _timed(baseline)
    return {
        "fold_events_per_s": _rate(len(events), t_fold),
        "baseline_events_per_s": _rate(len(events), t_base),
        "fold_cost_ratio": t_fold / t_base if t_base else float("inf"),
    }


def bench_codec(events: list[InteractionEvent]) -> dict[str, float]:
    """Avro single-object encode+decode vs json.dumps+loads of the same field dicts."""
    encoded = [codec.encode(e) for e in events]
    t_codec = _timed(lambda: [codec.decode(codec.encode(e)) for e in events])
    docs = [
        {"id": e.event_id, "iid": e.interaction_id, "at": e.occurred_at.isoformat()} for e in events
    ]
    t_base = _timed(lambda: [json.loads(json.dumps(d)) for d in docs])
    return {
        "codec_round_trips_per_s": _rate(len(events), t_codec),
        "json_baseline_per_s": _rate(len(events), t_base),
        "codec_cost_ratio": t_codec / t_base if t_base else float("inf"),
        "avg_encoded_bytes": sum(map(len, encoded)) / len(encoded),
    }


async def bench_redis(events: list[InteractionEvent], url: str) -> dict[str, float]:
    """RedisTimelineStore.apply vs one plain SET per event on the same server."""
    client = redis_client(url)
    ns = f"c360bench{uuid.uuid4().hex[:8]}"
    store = RedisTimelineStore(client, Keys(ns), Retention())
    now = to_ms(datetime.now(tz=UTC))
    try:
        t0 = time.perf_counter()
        for e in events:
            await store.apply("bench", f"party{hash(e.interaction_id) % 50}", e, now)
        t_store = time.perf_counter() - t0
        t0 = time.perf_counter()
        for e in events:
            await client.set(f"{ns}:baseline:{e.event_id}", b"x" * 200, ex=60)
        t_base = time.perf_counter() - t0
    finally:
        keys = [k async for k in client.scan_iter(match=f"{ns}*", count=1000)]
        for i in range(0, len(keys), 500):
            await client.delete(*keys[i : i + 500])
        await client.aclose()
    return {
        "store_apply_per_s": _rate(len(events), t_store),
        "plain_set_per_s": _rate(len(events), t_base),
        "store_cost_ratio": t_store / t_base if t_base else float("inf"),
    }


def main(argv: list[str] | None = None) -> int:
    """Print figures as JSON (one object per bench)."""
    parser = argparse.ArgumentParser(prog="c360 bench", description=__doc__)
    parser.add_argument(
        "what", nargs="*", default=["fold", "codec", "redis"], choices=["fold", "codec", "redis"]
    )
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument(
        "--redis-url", default=os.environ.get("C360_REDIS_URL", "redis://127.0.0.1:6379/0")
    )
    args = parser.parse_args(argv)
    events = sample_events(args.events)
    for what in args.what:
        if what == "fold":
            result = bench_fold(events)
        elif what == "codec":
            result = bench_codec(events)
        else:
            result = asyncio.run(bench_redis(events[: min(len(events), 5_000)], args.redis_url))
        print(
            json.dumps(
                {
                    "bench": what,
                    "events": len(events),
                    **{k: round(v, 2) for k, v in result.items()},
                }
            )
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
