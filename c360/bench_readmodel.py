"""Read-model bench: Redis memory per stored interaction and read latency (reported only)."""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import redis.asyncio as aioredis

from core.profiles import Profile, ProfileIdentifier
from core.query import parse_query
from core.timeline import InteractionEntry, Retention, fold, to_ms
from projections import entry_codec, entry_codec_json
from projections.keys import Keys
from projections.reads import ReadModel, Scope, insights_of, profile_scope, timeline_page
from projections.redis_client import redis_client
from projections.redis_links import RedisInteractionLinks
from projections.redis_profiles import RedisProfileDirectory
from projections.redis_timeline import RedisTimelineStore
from schemas.records import (
    InteractionAccepted,
    InteractionAnalyzed,
    InteractionEnded,
    InteractionEvent,
    InteractionOffered,
    InteractionWrappedUp,
    RecordingAvailable,
)

TENANT = "tnt1"  # as long as a typical tenant id ("acme")
NAMESPACE = "c36b"  # as long as the live "c360", so keys have their real length
TRANSCRIPT = "Customer asked about the renewal price and the excess on the home policy. " * 20


def typical_call(
    iid: str, start: datetime, transcript: bool = False, hex_ids: bool = False
) -> list[InteractionEvent]:
    """The events of a typical inbound call: queued, offered, accepted, ended, wrapped up,
    analysed (sentiment, AI title, transcript link), recorded. `hex_ids`: 16-hex-digit event
    ids (64-bit digests) instead of UUIDs."""

    def e() -> str:
        return uuid.uuid4().hex[:16] if hex_ids else str(uuid.uuid4())

    def at(seconds: int) -> datetime:
        return start + timedelta(seconds=seconds)

    caller, centre = "+442079460123", "+442079460999"
    return [
        InteractionOffered(
            e(),
            TENANT,
            at(0),
            iid,
            "voice",
            "inbound",
            caller,
            centre,
            stage="queued",
            queue="Sales",
        ),
        InteractionOffered(
            e(),
            TENANT,
            at(10),
            iid,
            "voice",
            "inbound",
            caller,
            centre,
            agent_id="agent-1",
            queue="Sales",
            leg_id=f"{iid}-a1",
        ),
        InteractionAccepted(
            e(),
            TENANT,
            at(15),
            iid,
            "voice",
            "agent-1",
            agent_name="Ada",
            leg_id=f"{iid}-a1",
            queue="Sales",
        ),
        InteractionEnded(
            e(), TENANT, at(115), iid, "voice", "inbound", caller, centre, 95, started_at=start
        ),
        InteractionWrappedUp(
            e(),
            TENANT,
            at(145),
            iid,
            "voice",
            "agent-1",
            disposition_code="SALE",
            notes="Customer renewed.",
            campaign="Renewal" if int(iid[-1], 16) % 4 == 0 else None,
        ),
        InteractionAnalyzed(
            e(),
            TENANT,
            at(200),
            iid,
            "voice",
            sentiment=0.6,
            sentiment_label="positive",
            ai_title="Home insurance renewal",
            transcript_url=f"https://media.example.com/t/{iid}",
            transcript_text=TRANSCRIPT if transcript else None,
        ),
        RecordingAvailable(
            e(), TENANT, at(200), iid, "voice", f"https://media.example.com/r/{iid}"
        ),
    ]


async def _used(client: aioredis.Redis) -> int:
    return int((await client.info("memory"))["used_memory"])


async def _seed(
    store: RedisTimelineStore,
    parties: int,
    per_party: int,
    now: int,
    start: datetime,
    transcript: bool,
    hex_ids: bool = False,
) -> tuple[list[str], list[str], list[Any]]:
    tokens, iids, entries = [], [], []
    for _ in range(parties):
        token = uuid.uuid4().hex
        tokens.append(token)
        for i in range(per_party):
            iid = str(uuid.uuid4())
            events = typical_call(iid, start - timedelta(days=i), transcript, hex_ids)
            for event in events:
                await store.apply(TENANT, token, event, now)
            iids.append(iid)
            entries.append((token, fold(events)[iid]))
    return tokens, iids, entries


async def memory(
    url: str, parties: int, per_party: int, transcript: bool, hex_ids: bool
) -> dict[str, Any]:
    """Bytes per stored interaction of the live layout (one entry hash per party, written
    through RedisTimelineStore), and of the earlier key-per-entry layout as the baseline
    measured in the same run."""
    client = redis_client(url)
    keys = Keys(NAMESPACE)
    store = RedisTimelineStore(client, keys, Retention())
    start = datetime.now(tz=UTC).replace(microsecond=0)
    now = to_ms(start) + 3_600_000
    n = parties * per_party
    baseline_keys: list[str] = []
    try:
        # Warm-up: a first seed grows Redis's own tables (main dict, script cache, buffers);
        # dropped again so the measured delta is the steady-state cost of the entries.
        await _seed(store, parties, per_party, now, start, transcript, hex_ids)
        await _drop_namespace(client, keys)
        before = await _used(client)
        tokens, iids, entries = await _seed(
            store, parties, per_party, now, start, transcript, hex_ids
        )
        after = await _used(client)
        sample: InteractionEntry = entries[0][1]
        hashes = [keys.timeline_entries(TENANT, t) for t in tokens]
        indexes = [keys.timeline_index(TENANT, t, "voice") for t in tokens]
        hash_usage = [await client.memory_usage(k) or 0 for k in hashes]
        index_usage = [await client.memory_usage(k) or 0 for k in indexes]
        # Baseline: the earlier layout, a string key per entry (`…:ix:<id>`, PXAT start +
        # window) and the index with the id's 36-character text as member.
        window = Retention().window_ms
        baseline_before = await _used(client)
        async with client.pipeline(transaction=False) as pipe:
            for (token, entry), iid in zip(entries, iids, strict=True):
                key = f"{keys.party_tag(TENANT, token)}:ix:{iid}"
                baseline_keys.append(key)
                pipe.set(key, entry_codec.dumps(entry), pxat=entry.started_ms + window)
                pipe.zadd(f"{keys.party_tag(TENANT, token)}:bl:voice", {iid: entry.started_ms})
            await pipe.execute()
        baseline_keys += [f"{keys.party_tag(TENANT, t)}:bl:voice" for t in tokens]
        baseline = ((await _used(client)) - baseline_before) / n
        live = (after - before) / n
        return {
            "interactions": n,
            "transcript_text": transcript,
            "event_ids": "16 hex digits" if hex_ids else "UUID",
            "value_bytes": len(entry_codec.dumps(sample)),
            "value_bytes_format1_json": len(entry_codec_json.dumps(sample)),
            "hash_encoding": (await client.object("encoding", hashes[0]) or b"").decode(),
            "memory_usage_per_entry_in_hash": sum(hash_usage) / n,
            "memory_usage_per_index_member": sum(index_usage) / n,
            "used_memory_per_interaction": live,
            "baseline_key_per_entry_used_memory_per_interaction": baseline,
            "ratio_to_baseline": round(live / baseline, 3) if baseline else None,
        }
    finally:
        for i in range(0, len(baseline_keys), 500):
            await client.delete(*baseline_keys[i : i + 500])
        await _drop_namespace(client, keys)
        await client.aclose()


async def _drop_namespace(client: aioredis.Redis, keys: Keys) -> None:
    stale = [k async for k in client.scan_iter(match=f"{keys.namespace}:*", count=1000)]
    for i in range(0, len(stale), 500):
        await client.delete(*stale[i : i + 500])


async def _timed(fn: Callable[[], Awaitable[Any]], rounds: int) -> dict[str, float]:
    samples = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        await fn()
        samples.append((time.perf_counter() - t0) * 1000)
    samples.sort()

    def pick(q: float) -> float:
        return round(samples[min(len(samples) - 1, int(q * len(samples)))], 3)

    return {"p50_ms": pick(0.5), "p95_ms": pick(0.95), "p99_ms": pick(0.99)}


async def latency(url: str, rounds: int) -> dict[str, Any]:
    """Read latency of the query use cases on one party with a full 50-call timeline."""
    client = redis_client(url)
    keys = Keys(NAMESPACE)
    store = RedisTimelineStore(client, keys, Retention())
    start = datetime.now(tz=UTC).replace(microsecond=0)
    now = to_ms(start) + 3_600_000
    try:
        tokens, _, _ = await _seed(store, 2, 50, now, start, transcript=False)
        directory = RedisProfileDirectory(client, keys)
        ids = tuple(ProfileIdentifier("phone", f"+4420794601{i}", t) for i, t in enumerate(tokens))
        await directory.upsert(Profile(TENANT, "p1", (1, "e1"), "Bench", ids))
        rm = ReadModel(store, Retention(), directory, RedisInteractionLinks(client, keys))
        one = Scope((tokens[0],))
        results = {
            "identifier_page_50": await _timed(
                lambda: timeline_page(rm, TENANT, one, parse_query({}), now), rounds
            ),
            "identifier_page_campaign": await _timed(
                lambda: timeline_page(rm, TENANT, one, parse_query({"campaign": "renewal"}), now),
                rounds,
            ),
            "profile_page_2_identifiers": await _timed(lambda: _profile_page(rm, now), rounds),
            "insights_identifier": await _timed(lambda: insights_of(rm, TENANT, one, now), rounds),
        }
        return {"rounds": rounds, **results}
    finally:
        await _drop_namespace(client, keys)
        await client.aclose()


async def _profile_page(rm: ReadModel, now: int) -> None:
    scope = await profile_scope(rm, TENANT, "p1")
    await timeline_page(rm, TENANT, scope, parse_query({}), now)


def main(argv: list[str] | None = None) -> int:
    """`python -m c360.bench_readmodel memory|latency [--redis URL]`: prints JSON figures."""
    parser = argparse.ArgumentParser(prog="c360 bench readmodel", description=__doc__)
    add_arguments(parser)
    return run(parser.parse_args(argv))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """`c360 bench readmodel` options (also used by the `c360` command's tree)."""
    parser.add_argument(
        "what",
        choices=("memory", "latency"),
        help="memory: bytes per party in Redis; latency: read times",
    )
    parser.add_argument(
        "--redis",
        default="redis://127.0.0.1:6379/0",
        help="a Redis to fill and read (default: %(default)s)",
    )
    parser.add_argument(
        "--parties", type=int, default=40, help="customers to write (default: %(default)s)"
    )
    parser.add_argument(
        "--per-party",
        type=int,
        default=50,
        help="timeline entries per customer (default: %(default)s)",
    )
    parser.add_argument("--transcript", action="store_true", help="with a 1.5 kB transcript")
    parser.add_argument("--hex-ids", action="store_true", help="64-bit hex event ids")
    parser.add_argument(
        "--rounds",
        type=int,
        default=300,
        help="latency: reads per measurement (default: %(default)s)",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """`c360 bench readmodel` with parsed arguments (see main)."""
    if args.what == "memory":
        out = asyncio.run(
            memory(args.redis, args.parties, args.per_party, args.transcript, args.hex_ids)
        )
    else:
        out = asyncio.run(latency(args.redis, args.rounds))
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
