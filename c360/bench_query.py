"""Query bench: GET /v1/timeline at a fixed request rate vs the same read straight from Redis."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis

from c360.bench_readmodel import TENANT, typical_call
from c360.keys import new_key
from c360.procs import Child, free_port, spawn, wait_until
from core.access import TIMELINE_READ
from core.api_keys import ApiKey
from core.timeline import Retention, to_ms
from projections.keys import Keys, interaction_of_field
from projections.redis_api_keys import RedisApiKeys
from projections.redis_client import redis_client
from projections.redis_timeline import RedisTimelineStore
from schemas.records import CHANNELS, InteractionEvent, InteractionOffered
from streams.handlers import party_for_identifier
from streams.settings import StreamSettings

ROOT = Path(__file__).resolve().parents[1]
CALLER = "+442079460123"
EMAIL = "pat@example.com"
TARGET_MS = 5.0
# (rate req/s, seconds); a short warm-up runs first so caches and connections are made.
FULL, QUICK = (500, 15.0), (100, 3.0)
WARMUP_SECONDS = 2.0
# Connections of each load generator: above the web process's in-flight limit (64), so the
# server, not the generator, decides when it is overloaded.
CONNECTIONS = 256


@dataclass(frozen=True, slots=True)
class Load:
    """One open-loop run: latencies of the answers (ms, measured from the scheduled send
    time, so a stalled server is not hidden by a stalled client), counted failures, and how
    late the generator itself started each request (its own share of the latency when the
    machine is busy)."""

    sent: int
    latencies_ms: tuple[float, ...]
    errors: dict[str, int]
    lags_ms: tuple[float, ...] = ()

    def quantile(self, q: float, lags: bool = False) -> float | None:
        """The q-quantile of the latencies (or lags; nearest rank), None without any."""
        values = self.lags_ms if lags else self.latencies_ms
        if not values:
            return None
        ordered = sorted(values)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _events(start: datetime, calls: int, emails: int) -> list[InteractionEvent]:
    events: list[InteractionEvent] = []
    for n in range(calls):
        events += typical_call(f"bq-{uuid.uuid4().hex}", start - timedelta(hours=6 * n))
    for n in range(emails):
        events.append(
            InteractionOffered(
                str(uuid.uuid4()),
                TENANT,
                start - timedelta(hours=6 * n + 3),
                f"bq-mail-{uuid.uuid4().hex}",
                "email",
                "outbound",
                "help@acme.test",
                EMAIL,
                subject=f"Your quote {n}",
                customer_address=CALLER,
            )
        )
    return events


async def _seed(redis_url: str, keys: Keys, token: str, now_ms: int) -> int:
    """Load the timeline through the real write path; returns the indexed interactions."""
    client = redis_client(redis_url)
    store = RedisTimelineStore(client, keys, Retention())
    start = datetime.now(tz=UTC) - timedelta(hours=1)
    try:
        # 55 calls (the voice cap keeps 50) + 10 emails: a full 50-item page with a next one.
        for event in _events(start, 55, 10):
            await store.apply(TENANT, token, event, now_ms)
        indexes = [keys.timeline_index(TENANT, token, c) for c in CHANNELS]
        return sum([int(await client.zcard(index)) for index in indexes])
    finally:
        await client.aclose()


async def _drop(redis_url: str, namespace: str) -> None:
    client = redis_client(redis_url)
    try:
        found = [k async for k in client.scan_iter(match=f"{namespace}:*", count=1000)]
        for i in range(0, len(found), 500):
            await client.delete(*found[i : i + 500])
    finally:
        await client.aclose()


async def _open_loop(send: Any, rate: float, seconds: float) -> Load:
    """Call `send()` at `rate` per second for `seconds`, each at its scheduled time whatever
    the earlier calls are doing (open loop), and wait for every answer."""
    loop = asyncio.get_running_loop()
    latencies: list[float] = []
    lags: list[float] = []
    errors: Counter[str] = Counter()

    async def one(due: float) -> None:
        lags.append((loop.time() - due) * 1000)
        try:
            failure = await send()
        except Exception as exc:  # every failure is counted, by kind
            failure = type(exc).__name__
        if failure:
            errors[failure] += 1
        else:
            latencies.append((loop.time() - due) * 1000)

    n = int(rate * seconds)
    start = loop.time() + 0.05
    tasks = []
    for i in range(n):
        due = start + i / rate
        delay = due - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(due)))
    await asyncio.gather(*tasks)
    return Load(n, tuple(latencies), dict(errors), tuple(lags))


async def _drive_http(
    url: str, params: dict[str, str], headers: dict[str, str], rate: float, seconds: float
) -> Load:
    import aiohttp  # noqa: PLC0415 - only the load generator process needs the client

    connector = aiohttp.TCPConnector(limit=CONNECTIONS)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:

        async def send() -> str | None:
            async with http.get(url, params=params, headers=headers) as resp:
                body = await resp.read()
                if resp.status == 200:
                    return None
                try:
                    code = json.loads(body)["error"]["code"]
                except (ValueError, KeyError, TypeError):
                    code = "?"
                return f"{resp.status} {code}"

        await _open_loop(send, rate, min(seconds, WARMUP_SECONDS))
        return await _open_loop(send, rate, seconds)


async def _store_key(redis_url: str, keys: Keys, record: ApiKey) -> None:
    client = redis_client(redis_url)
    try:
        await RedisApiKeys(client, keys).put(record)
    finally:
        await client.aclose()


async def _drive_redis(
    redis_url: str, namespace: str, token: str, now_ms: int, rate: float, seconds: float
) -> Load:
    """The store's read, by hand: one pipelined ZREVRANGEBYSCORE per channel, one HMGET."""
    keys = Keys(namespace)
    # Requests beyond CONNECTIONS in flight wait for a connection (their wait is part of
    # the latency, measured from the scheduled time) instead of each opening a new one.
    pool = aioredis.BlockingConnectionPool.from_url(
        redis_url, max_connections=CONNECTIONS, timeout=30, socket_timeout=30
    )
    client = aioredis.Redis.from_pool(pool)
    floor = now_ms - Retention().window_ms
    limit = 51  # a 50-item page asks for one more, to know whether a next page exists
    indexes = [keys.timeline_index(TENANT, token, c) for c in CHANNELS]
    entries = keys.timeline_entries(TENANT, token)

    async def send() -> str | None:
        async with client.pipeline(transaction=False) as pipe:
            for index in indexes:
                pipe.zrevrangebyscore(index, "+inf", floor, start=0, num=limit, withscores=True)
            ranked = await pipe.execute()
        hits = sorted(
            ((int(s), interaction_of_field(m), m) for rows in ranked for m, s in rows),
            reverse=True,
        )[:limit]
        raws = await client.hmget(entries, [m for _, _, m in hits])
        return None if len(raws) >= 50 else "short_read"

    try:
        await _open_loop(send, rate, min(seconds, WARMUP_SECONDS))
        return await _open_loop(send, rate, seconds)
    finally:
        await client.aclose()


def _drive(job: str) -> None:
    """Entry of the load-generator process: run one job, print its Load as JSON."""
    kind, args = json.loads(job)
    load = asyncio.run(_drive_http(*args) if kind == "http" else _drive_redis(*args))
    doc = {"sent": load.sent, "latencies_ms": load.latencies_ms, "errors": load.errors}
    print(json.dumps({**doc, "lags_ms": load.lags_ms}))


def _in_other_process(kind: str, *args: Any) -> Load:
    """Run a load job in a child interpreter (never the web server's process, and not
    this one either, so the bench's own work does not slow the generator)."""
    job = json.dumps([kind, args])
    done = subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "c360.bench_query", "--drive", job],
        cwd=ROOT,
        capture_output=True,
        check=True,
        timeout=600,
    )
    doc = json.loads(done.stdout.decode().strip().splitlines()[-1])
    return Load(doc["sent"], tuple(doc["latencies_ms"]), dict(doc["errors"]), tuple(doc["lags_ms"]))


def _start_web(env: dict[str, str], logs: Path, root: Path) -> tuple[Child, str]:
    port = int(env["C360_HTTP_PORT"])
    child = spawn("web", [sys.executable, "-m", "web.service"], logs / "web.log", env, cwd=root)
    base = f"http://127.0.0.1:{port}"

    def up() -> bool:
        with urllib.request.urlopen(base + "/health", timeout=2) as resp:  # noqa: S310 - loopback
            return bool(resp.status == 200)

    wait_until(up, 60, "web.service", child)
    return child, base


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def _cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process (Linux /proc; None elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _figure(name: str, web: Load, direct: Load, rate: int, notes: str) -> dict[str, Any]:
    p99, base = web.quantile(0.99), direct.quantile(0.99)
    return {
        "figure": name,
        "value": _ms(p99),
        "unit": "ms",
        "baseline_name": "direct redis read",
        "baseline_value": _ms(base),
        "target": f"<= {TARGET_MS:g} ms at 500 req/s",
        "met": bool(rate >= FULL[0] and p99 is not None and p99 <= TARGET_MS and not web.errors),
        "notes": (
            f"{rate} req/s for {len(web.latencies_ms) + sum(web.errors.values())} requests; "
            f"p50 {_ms(web.quantile(0.5))} ms (direct {_ms(direct.quantile(0.5))} ms); "
            f"errors {web.errors or 0} (direct {direct.errors or 0}); generator start lag "
            f"p99 {_ms(web.quantile(0.99, lags=True))} ms "
            f"(direct {_ms(direct.quantile(0.99, lags=True))} ms){notes}"
        ),
    }


def run(
    bootstrap: str,
    redis_url: str,
    *,
    quick: bool,
    web_root: Path | None = None,
    rate: int | None = None,
    seconds: float | None = None,
) -> list[dict[str, Any]]:
    """Seed a 60-interaction timeline in a fresh namespace, start `python -m web.service` on it
    (from `web_root`, default this checkout), and drive GET /v1/timeline (50-item pages) and
    the same read straight from Redis, each at a fixed rate from a separate process."""
    default_rate, default_seconds = QUICK if quick else FULL
    rate = rate or default_rate
    seconds = seconds or default_seconds
    namespace = f"c360q{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "C360_ENV": "dev",
        "C360_KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "C360_REDIS_URL": redis_url,
        "C360_KEY_NAMESPACE": namespace,
        "C360_TOPIC_PREFIX": f"{namespace}.",
        "C360_HTTP_HOST": "127.0.0.1",
        "C360_HTTP_PORT": str(free_port()),
        "C360_DEFAULT_TENANT": TENANT,
        # One key drives the whole load: its budget must not be what is measured (the
        # rate-limit check itself, one Redis call per request, is part of the figure).
        "C360_RATE_LIMITS": f"{TENANT}:100000/s:100000",
        "C360_LOG_FORMAT": "json",
        "PYTHONUNBUFFERED": "1",
    }
    settings = StreamSettings.from_env(env)
    token = party_for_identifier(TENANT, CALLER, settings).token
    now_ms = to_ms(datetime.now(tz=UTC))
    stored = asyncio.run(_seed(redis_url, Keys(namespace), token, now_ms))
    # The read API needs a credential: a key of the bench's tenant in its own namespace.
    record, key = new_key(TENANT, [TIMELINE_READ], "bench_query", 86_400_000, "c360.bench_query")
    asyncio.run(_store_key(redis_url, Keys(namespace), record))
    logs = Path(tempfile.mkdtemp(prefix="c360-bench-query-"))
    child, base = _start_web(env, logs, web_root or ROOT)
    try:
        direct = _in_other_process("redis", redis_url, namespace, token, now_ms, rate, seconds)
        params = {"identifier": CALLER, "tenant": TENANT}
        cpu_before = _cpu_seconds(child.pid)
        auth = {"Authorization": f"Bearer {key}"}
        web = _in_other_process("http", base + "/v1/timeline", params, auth, rate, seconds)
        cpu_after = _cpu_seconds(child.pid)
    finally:
        child.stop(10)
        asyncio.run(_drop(redis_url, namespace))
    notes = f"; {stored} indexed interactions, 50-item pages"
    if cpu_before is not None and cpu_after is not None:
        # Less sensitive to other load on the machine than latency: what one request costs
        # the web process (warm-up included, so a little high), hence its ceiling per core.
        per_request = (cpu_after - cpu_before) / (
            web.sent + int(rate * min(seconds, WARMUP_SECONDS))
        )
        notes += f"; web CPU {per_request * 1e6:.0f} us per request"
    notes += f"; machine load {os.getloadavg()[0]:.1f}; web log {logs / 'web.log'}"
    return [_figure("query_p99_ms", web, direct, rate, notes)]


def main(argv: list[str] | None = None) -> int:
    """Print the figures as JSON lines (`python -m c360.bench_query`)."""
    parser = argparse.ArgumentParser(prog="c360.bench_query", description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--drive", help=argparse.SUPPRESS)
    parser.add_argument("--rate", type=int, default=None)
    parser.add_argument("--seconds", type=float, default=None)
    parser.add_argument("--web-root", type=Path, default=None, help="checkout to serve from")
    parser.add_argument(
        "--bootstrap", default=os.environ.get("C360_KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
    )
    parser.add_argument(
        "--redis-url", default=os.environ.get("C360_REDIS_URL", "redis://127.0.0.1:6379/0")
    )
    args = parser.parse_args(argv)
    if args.drive:
        _drive(args.drive)
        return 0
    t0 = time.monotonic()
    for figure in run(
        args.bootstrap,
        args.redis_url,
        quick=args.quick,
        web_root=args.web_root,
        rate=args.rate,
        seconds=args.seconds,
    ):
        print(json.dumps({**figure, "elapsed_s": round(time.monotonic() - t0, 1)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
