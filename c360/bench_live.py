"""Live benches against the streams worker as a black box: throughput, pop latency, soak RSS."""

from __future__ import annotations

import contextlib
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition

from c360.bench import Figure, Target, percentile
from c360.bench_stack import (
    BenchStack,
    Worker,
    command_delta,
    create_plain_topic,
    fresh_prefix,
    noop_marks,
    partitions_of,
    publish,
    redis_commands,
    rss_bytes,
    start_noop,
    start_worker,
    stop,
    wait_ready,
    worker_ids,
)
from core.policies import pop_target
from infra.kafka_config import client_config, endpoint_of
from schemas import codec
from schemas.records import (
    InteractionAccepted,
    InteractionEnded,
    InteractionEvent,
    InteractionOffered,
    InteractionWrappedUp,
)
from schemas.topics import (
    ACTIVITIES_REQUESTED,
    INTERACTIONS,
    INTERACTIONS_BY_PARTY,
    SCREENPOPS,
)

TENANT = "demo"
CENTRE = "+442079460000"
AGENTS = 50
POP_P99_TARGET_MS = 25.0
LIVE_RATIO_TARGET = 0.6
Say = Callable[[str], None]


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


# -- the load (pure) -------------------------------------------------------------------------
def caller(k: int) -> str:
    """Caller number k (0..1999) from Ofcom's drama ranges: valid, never a real person's."""
    if k < 1000:
        return f"+44207946{k:04d}"
    return f"+44113496{k - 1000:04d}"


def call_events(
    i: int, start: datetime, callers: int, *, ivr: bool, step: timedelta
) -> list[InteractionEvent]:
    """One inbound call: [IVR offer,] offer to an agent (rings: a pop), accept, end, wrap-up;
    event k of the call happens at start + k * step."""
    iid, number = str(uuid.uuid4()), caller(i % callers)
    agent, leg = f"agent-{i % AGENTS}", f"leg-{i}"

    def at(k: int) -> datetime:
        return start + k * step

    def eid() -> str:
        return str(uuid.uuid4())

    out: list[InteractionEvent] = []
    if ivr:
        out.append(
            InteractionOffered(
                eid(),
                TENANT,
                at(0),
                iid,
                "voice",
                "inbound",
                number,
                CENTRE,
                stage="ivr",
                ivr_path=("main",),
            )
        )
    k = len(out)
    out += [
        InteractionOffered(
            eid(),
            TENANT,
            at(k),
            iid,
            "voice",
            "inbound",
            number,
            CENTRE,
            stage="offered",
            agent_id=agent,
            leg_id=leg,
            queue="Sales",
            ivr_path=("main",),
        ),
        InteractionAccepted(
            eid(), TENANT, at(k + 1), iid, "voice", agent, leg_id=leg, queue="Sales"
        ),
        InteractionEnded(
            eid(),
            TENANT,
            at(k + 2),
            iid,
            "voice",
            "inbound",
            number,
            CENTRE,
            95,
            started_at=at(0),
            agent_id=agent,
            leg_id=leg,
        ),
        InteractionWrappedUp(
            eid(), TENANT, at(k + 3), iid, "voice", agent, disposition_code="SALE"
        ),
    ]
    return out


def live_load(n_calls: int, callers: int, start: datetime) -> list[InteractionEvent]:
    """n_calls calls of 4 events (offer to agent with caller number, accept, end, wrap-up),
    a call starting every 100 ms from `start`, events 5 s apart."""
    events: list[InteractionEvent] = []
    for i in range(n_calls):
        events += call_events(
            i,
            start + timedelta(milliseconds=100 * i),
            callers,
            ivr=False,
            step=timedelta(seconds=5),
        )
    return events


def paced_load(
    n_events: int, rate: float, start: datetime, callers: int = 2000
) -> list[InteractionEvent]:
    """Calls of 5 events (IVR, offer to agent, accept, end, wrap-up) back to back, event j
    occurring at start + j / rate: the time it is scheduled to be sent."""
    events: list[InteractionEvent] = []
    i = 0
    while len(events) < n_events:
        at = start + timedelta(seconds=len(events) / rate)
        events += call_events(i, at, callers, ivr=True, step=timedelta(seconds=1 / rate))
        i += 1
    return events[:n_events]


def encoded(events: Iterable[InteractionEvent]) -> list[tuple[bytes, bytes, str | None]]:
    """(key, value, trigger id or None) per event: key = interaction id (as c360 publish);
    the trigger id is the event id of events that pop a screen (core.policies)."""
    return [
        (e.interaction_id.encode(), codec.encode(e), e.event_id if pop_target(e) else None)
        for e in events
    ]


def latency_stats(sent: dict[str, float], received: dict[str, float]) -> dict[str, Any]:
    """Per-trigger latencies (ms) -> p50/p90/p99/max and the fraction received."""
    samples = sorted((received[k] - t) * 1000 for k, t in sent.items() if k in received)
    return {
        "sent": len(sent),
        "received": len(samples),
        "fraction": len(samples) / len(sent) if sent else None,
        "p50_ms": percentile(samples, 0.50),
        "p90_ms": percentile(samples, 0.90),
        "p99_ms": percentile(samples, 0.99),
        "max_ms": samples[-1] if samples else None,
    }


# -- kafka helpers ---------------------------------------------------------------------------
# The load producer batches for 5 ms, as c360's tools do (infra.kafka_producer): with no
# linger Tansu cannot keep up with 1,000 one-record produce requests a second on a 2-core
# machine (the plain hop's p99 grew to ~20 s in a 30 s run; ~40 ms with 5 ms).
LOAD_LINGER_MS = 5


def _latency_producer(bootstrap: str, linger_ms: int = LOAD_LINGER_MS) -> Producer:
    return Producer(
        {
            **client_config(endpoint_of(bootstrap), "c360-bench-load"),
            "acks": "all",
            "linger.ms": linger_ms,
        }
    )


class Tail(threading.Thread):
    """Reads topics from given offsets in a thread; `on_message(topic, partition, offset,
    value, monotonic_now)` per record. fetch.wait.max.ms is low: Tansu holds every fetch
    until its max wait (FACTS M1)."""

    def __init__(
        self,
        bootstrap: str,
        start: Sequence[tuple[str, int, int]],
        on_message: Callable[[str, int, int, bytes, float], None],
        fetch_wait_ms: int = 5,
    ) -> None:
        super().__init__(daemon=True)
        self.consumer = Consumer(
            {
                **client_config(endpoint_of(bootstrap), "c360-bench-tail"),
                "group.id": f"c360-bench-tail-{uuid.uuid4().hex[:8]}",
                "enable.auto.commit": False,
                "fetch.wait.max.ms": fetch_wait_ms,
                "fetch.min.bytes": 1,
            }
        )
        self.consumer.assign([TopicPartition(t, p, o) for t, p, o in start])
        self.on_message = on_message
        self.stopping = threading.Event()
        self.last_message = 0.0

    def run(self) -> None:
        try:
            while not self.stopping.is_set():
                # poll() returns as soon as one record is there; consume(n, t) would wait
                # for n records or t seconds. What is already fetched is then drained.
                first = self.consumer.poll(0.05)
                if first is None:
                    continue
                for msg in [first, *self.consumer.consume(num_messages=500, timeout=0)]:
                    now = time.monotonic()
                    err = msg.error()
                    if err is not None:
                        if err.code() != KafkaError._PARTITION_EOF:
                            _say(f"bench: consume error: {err}")
                        continue
                    self.last_message = now
                    self.on_message(
                        msg.topic() or "",
                        msg.partition() or 0,
                        msg.offset() or 0,
                        msg.value() or b"",
                        now,
                    )
        finally:
            self.consumer.close()

    def stop(self) -> None:
        """Stop and wait for the thread."""
        self.stopping.set()
        self.join(10)


def end_offsets(bootstrap: str, topic: str, partitions: int) -> list[tuple[str, int, int]]:
    """(topic, partition, high watermark): where to start reading new records. Tansu's
    watermark can be low (FACTS M3), which only re-reads a few records."""
    consumer = Consumer(
        {
            **client_config(endpoint_of(bootstrap), "c360-bench-offsets"),
            "group.id": "c360-bench-offsets",
        }
    )
    try:
        return [
            (topic, p, consumer.get_watermark_offsets(TopicPartition(topic, p), 10)[1])
            for p in range(partitions)
        ]
    finally:
        consumer.close()


class Committed:
    """A group's committed offsets, polled with one long-lived client."""

    def __init__(self, bootstrap: str, group: str) -> None:
        self.consumer = Consumer(
            {
                **client_config(endpoint_of(bootstrap), "c360-bench-committed"),
                "group.id": group,
                "enable.auto.commit": False,
            }
        )

    def of(self, topic: str, partitions: int) -> list[int]:
        """Committed offset per partition (-1 when none)."""
        tps = self.consumer.committed([TopicPartition(topic, p) for p in range(partitions)], 10)
        return [tp.offset if tp.offset >= 0 else -1 for tp in tps]

    def reached(self, topic: str, ends: dict[int, int]) -> bool:
        """True when every partition with records is committed up to its end."""
        got = self.of(topic, max(ends, default=-1) + 1)
        return all(got[p] >= end for p, end in ends.items())

    def close(self) -> None:
        """Release the client."""
        self.consumer.close()


@dataclass
class Session:
    """State shared by the benches of one `c360 bench` run (the stack, a warm worker)."""

    stack: BenchStack
    quick: bool
    say: Say = _say
    pop_rates: tuple[float, ...] = ()  # () = the defaults (quick: 200; else 200 and 1,000)
    seconds: float | None = None  # per pop rate and for the soak; None = the defaults
    linger_ms: int = LOAD_LINGER_MS  # the load producer's linger.ms
    worker: Worker | None = None
    ends: dict[int, int] = field(default_factory=dict)  # input topic: partition -> end

    def note_ends(self, ends: dict[int, int]) -> None:
        """Merge end offsets seen in delivery reports."""
        for p, end in ends.items():
            self.ends[p] = max(self.ends.get(p, 0), end)

    def drop_worker(self) -> None:
        """Stop the warm worker (if any)."""
        if self.worker is not None:
            stop(self.stack, self.worker)
            self.worker = None
            self.ends = {}


# -- live --------------------------------------------------------------------------------------
def _wait_committed(
    bootstrap: str,
    group: str,
    topic: str,
    ends: dict[int, int],
    timeout: float,
    extra: Callable[[Committed], bool] = lambda _c: True,
) -> float | None:
    """Wall time at which the group had committed every input (and `extra` held)."""
    committed = Committed(bootstrap, group)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if committed.reached(topic, ends) and extra(committed):
                return time.time()
            time.sleep(0.05)
        return None
    finally:
        committed.close()


class Watch(threading.Thread):
    """Waits in a thread, from before a worker starts, for its group to commit every input
    (and `extra` to hold); `done` is the wall time that was first seen, None on timeout."""

    def __init__(
        self,
        bootstrap: str,
        group: str,
        topic: str,
        ends: dict[int, int],
        timeout: float,
        extra: Callable[[Committed], bool] = lambda _c: True,
    ) -> None:
        super().__init__(daemon=True)
        self.args_ = (bootstrap, group, topic, ends, timeout, extra)
        self.done: float | None = None

    def run(self) -> None:
        self.done = _wait_committed(*self.args_)

    def result(self) -> float | None:
        """Wait for the outcome."""
        self.join()
        return self.done


def _noop_rate(session: Session, topic: str, ends: dict[int, int], n: int) -> dict[str, Any]:
    stack = session.stack
    group = f"c360-bench-noop-{uuid.uuid4().hex[:8]}"
    watch = Watch(stack.bootstrap, group, topic, ends, _budget(n))
    watch.start()
    noop = start_noop(stack, topic, n, app_id=group)
    try:
        done = watch.result()
        marks = noop_marks(noop)
    finally:
        stop(stack, noop)
    first = marks.get("first")
    if done is None or first is None:
        return {"ev_s": None, "error": "the no-op app did not consume everything in time"}
    return {
        "ev_s": n / max(done - first, 1e-6),
        "seconds": done - first,
        "in_process_ev_s": n / (marks["done"] - first) if "done" in marks else None,
    }


def _budget(n: int) -> float:
    # How long a live run may take (the worker did ~100-190 ev/s before issue 8); past it
    # the rate so far is reported. A bound for the bench, never an assertion.
    return 60.0 + n / 50.0


@dataclass
class _Outputs:
    """What the worker wrote, as the live bench's tail saw it."""

    prefix: str
    seen: dict[str, int] = field(default_factory=dict)
    by_party_ends: dict[int, int] = field(default_factory=dict)
    first: float | None = None  # wall time of the first output record

    def on_output(self, t: str, p: int, offset: int, _value: bytes, _now: float) -> None:
        """Tail callback."""
        if self.first is None:
            self.first = time.time()
        name = t.removeprefix(self.prefix)
        self.seen[name] = self.seen.get(name, 0) + 1
        if name == INTERACTIONS_BY_PARTY:
            self.by_party_ends[p] = max(self.by_party_ends.get(p, 0), offset + 1)


def _worker_rate(session: Session, prefix: str, ends: dict[int, int], n: int) -> dict[str, Any]:
    """Start the worker on a published backlog; first output -> every input committed."""
    stack = session.stack
    outputs = (INTERACTIONS_BY_PARTY, SCREENPOPS, ACTIVITIES_REQUESTED)
    out = _Outputs(prefix)
    tail = Tail(
        stack.bootstrap,
        [(prefix + o, p, 0) for o in outputs for p in range(partitions_of(o))],
        out.on_output,
        fetch_wait_ms=50,
    )
    by_party, parts = prefix + INTERACTIONS_BY_PARTY, partitions_of(INTERACTIONS_BY_PARTY)
    inputs_done: list[float] = []

    def by_party_done(c: Committed) -> bool:
        # The earlier worker consumes its own by-party output: wait for that hop's commits
        # too. A worker that does not consume it never commits there (3 s, inputs done).
        if not inputs_done:
            inputs_done.append(time.monotonic())
        got = c.of(by_party, parts)
        if all(o < 0 for o in got):
            return time.monotonic() - inputs_done[0] > 3.0 or not out.by_party_ends
        idle = time.monotonic() - tail.last_message > 0.1
        return idle and all(got[p] >= e for p, e in out.by_party_ends.items())

    group, _ = worker_ids(prefix)
    watch = Watch(stack.bootstrap, group, prefix + INTERACTIONS, ends, _budget(n), by_party_done)
    tail.start()
    watch.start()
    before = redis_commands(stack.redis_url)
    t_spawn = time.time()
    try:
        worker = start_worker(stack, prefix)
        session.worker, session.ends = worker, dict(ends)
        t_ready = time.time()
        done = watch.result()
    finally:
        tail.stop()
    after = redis_commands(stack.redis_url)
    if out.first is None:
        msg = f"the streams worker produced nothing in time ({worker.child.log_path})"
        raise RuntimeError(msg)
    processed, complete = n, done is not None
    if done is None:
        # Past the bound: report the rate so far (what the group has fully processed).
        done = time.time()
        processed = _processed(stack.bootstrap, group, prefix, ends)
        session.say(f"live: only {processed} of {n} events processed in time; rate so far")
    return {
        "ev_s": processed / max(done - out.first, 1e-6),
        "seconds": done - out.first,
        "processed": processed,
        "complete": complete,
        "worker_start_to_ready_s": t_ready - t_spawn,
        "ready_to_first_output_s": out.first - t_ready,
        "end": "the group committed every input (and its by-party hop when it reads it)",
        "outputs_seen": out.seen,
        "commands": command_delta(before, after),
    }


def _processed(bootstrap: str, group: str, prefix: str, ends: dict[int, int]) -> int:
    """Inputs the group has fully processed: its by-party commits when it reads that hop
    (the later stage of the earlier worker), else its input commits."""
    committed = Committed(bootstrap, group)
    try:
        by_party = committed.of(
            prefix + INTERACTIONS_BY_PARTY, partitions_of(INTERACTIONS_BY_PARTY)
        )
        inputs = committed.of(prefix + INTERACTIONS, max(ends, default=-1) + 1)
    finally:
        committed.close()
    if any(o >= 0 for o in by_party):
        return sum(max(o, 0) for o in by_party)
    return sum(max(o, 0) for o in inputs)


def live(session: Session) -> list[Figure]:
    """40,000 events (quick: 2,000) published first; the worker's throughput from its first
    output to the last input committed, against the no-op Faust app on the same topic."""
    stack, quick = session.stack, session.quick
    n_calls = 500 if quick else 10_000
    callers = 100 if quick else 2_000
    prefix = fresh_prefix(stack)
    topic = prefix + INTERACTIONS
    events = live_load(n_calls, callers, datetime.now(tz=UTC) - timedelta(minutes=20))
    n = len(events)
    session.say(f"live: publishing {n} events to {topic} ...")
    ends = publish(stack.bootstrap, topic, ((k, v) for k, v, _ in encoded(events)))
    session.say("live: baseline (no-op Faust app) ...")
    noop = _noop_rate(session, topic, ends, n)
    session.say(f"live: no-op app {_fmt(noop.get('ev_s'))} ev/s; starting the streams worker ...")
    session.drop_worker()
    run = _worker_rate(session, prefix, ends, n)
    session.say(f"live: streams worker {_fmt(run['ev_s'])} ev/s")
    commands = run.pop("commands")
    total = sum(commands.values())
    floor = _write_floor(stack.redis_url, events)
    top = dict(sorted(commands.items(), key=lambda kv: -kv[1])[:12])
    return [
        Figure(
            "live",
            f"pipeline throughput, {n} events",
            run["ev_s"],
            "ev/s",
            noop["ev_s"],
            "Faust no-op app, same topic, same settings",
            Target(">=", LIVE_RATIO_TARGET, "ratio"),
            {"events": n, "calls": n_calls, "callers": callers, **run, "baseline": noop},
        ),
        Figure(
            "live",
            "Redis commands per input event",
            total / max(run["processed"], 1),
            "cmd/ev",
            floor,
            "one pipelined HSET per event (same Redis)",
            Target("<=", 3.0, "value"),
            {
                "commands": total,
                "by_command": top,
                "redis": "private (exact)" if stack.private_redis else "shared (approximate)",
            },
        ),
    ]


def _write_floor(url: str, events: Sequence[InteractionEvent]) -> float:
    """Commands per event of the simplest store: one pipelined HSET per event."""
    import redis  # noqa: PLC0415

    client = redis.Redis.from_url(url)
    key = f"c360benchfloor{uuid.uuid4().hex[:8]}"
    try:
        before = redis_commands(url)
        pipe = client.pipeline(transaction=False)
        for e in events:
            pipe.hset(f"{key}:{e.interaction_id[:2]}", e.event_id, b"x" * 64)
        pipe.execute()
        delta = sum(command_delta(before, redis_commands(url)).values())
        stale = list(client.scan_iter(match=f"{key}:*", count=1000))
        for i in range(0, len(stale), 500):
            client.delete(*stale[i : i + 500])
    finally:
        client.close()
    return delta / max(len(events), 1)


def _fmt(value: object) -> str:
    return f"{value:,.0f}" if isinstance(value, int | float) else str(value)


# -- paced load --------------------------------------------------------------------------------
def send_paced(
    bootstrap: str,
    topic: str,
    records: Sequence[tuple[bytes, bytes, str | None]],
    rate: float,
    sent: dict[str, float],
    stop_flag: threading.Event | None = None,
    linger_ms: int = LOAD_LINGER_MS,
) -> dict[int, int]:
    """Send record j at t0 + j / rate (late records go at once, no catch-up sleep); stamp
    the monotonic send time of every trigger (before the producer's linger, so the figure
    includes it). Returns partition -> end offset."""
    producer = _latency_producer(bootstrap, linger_ms)
    ends: dict[int, int] = {}

    def on_delivery(err: object, msg: Any) -> None:
        if err is None:
            ends[msg.partition()] = max(ends.get(msg.partition(), 0), msg.offset() + 1)

    t0 = time.monotonic()
    for j, (key, value, trigger) in enumerate(records):
        if stop_flag is not None and stop_flag.is_set():
            break
        delay = t0 + j / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        if trigger is not None:
            sent[trigger] = time.monotonic()
        while True:
            try:
                producer.produce(topic, value=value, key=key, on_delivery=on_delivery)
                break
            except BufferError:
                producer.poll(0.01)
        producer.poll(0)
    producer.flush(60)
    return ends


def _hop(
    session: Session,
    topic_in: str,
    topic_out: str,
    out_partitions: int,
    records: Sequence[tuple[bytes, bytes, str | None]],
    rate: float,
    drain: float,
    trigger_of: Callable[[bytes], str | None],
) -> tuple[dict[str, Any], dict[int, int]]:
    """Send `records` at `rate` to topic_in, read topic_out, match by trigger id."""
    stack = session.stack
    sent: dict[str, float] = {}
    received: dict[str, float] = {}

    def on_message(_t: str, _p: int, _o: int, value: bytes, now: float) -> None:
        with contextlib.suppress(Exception):  # a record we cannot read is not ours
            trigger = trigger_of(value)
            if trigger is not None and trigger not in received:
                received[trigger] = now

    tail = Tail(
        stack.bootstrap, end_offsets(stack.bootstrap, topic_out, out_partitions), on_message
    )
    tail.start()
    try:
        ends = send_paced(stack.bootstrap, topic_in, records, rate, sent, None, session.linger_ms)
        deadline = time.monotonic() + drain
        while time.monotonic() < deadline and any(k not in received for k in sent):
            time.sleep(0.05)
    finally:
        tail.stop()
    return latency_stats(sent, received), ends


def _pop_trigger(value: bytes) -> str | None:
    return str(codec.decode(value).trigger_event_id)


def _event_id(value: bytes) -> str | None:
    return str(codec.decode(value).event_id)


def _caught_up(session: Session, timeout: float) -> bool:
    """The worker has committed every input, and its by-party hop when it reads that (the
    earlier worker): a backlog there would delay the pops being measured."""
    worker = session.worker
    if worker is None:
        return False
    stack = session.stack
    by_party, parts = worker.prefix + INTERACTIONS_BY_PARTY, partitions_of(INTERACTIONS_BY_PARTY)

    def hop_done(c: Committed) -> bool:
        got = c.of(by_party, parts)
        if all(o < 0 for o in got):
            return True
        # Watermarks can be low on Tansu (FACTS M3): at worst a batch is still queued.
        ends = end_offsets(stack.bootstrap, by_party, parts)
        return all(got[p] >= end for _, p, end in ends)

    topic = worker.prefix + INTERACTIONS
    done = _wait_committed(stack.bootstrap, worker.app_id, topic, session.ends, timeout, hop_done)
    return done is not None


def _ready_worker(session: Session) -> Worker:
    """The session's worker once it has caught up, else a fresh one (fresh prefix)."""
    if session.worker is not None and _caught_up(session, 60.0):
        return session.worker
    if session.worker is not None:
        session.say("pops: the worker did not catch up within 60 s; starting a fresh one")
    session.drop_worker()
    prefix = fresh_prefix(session.stack)
    session.worker = start_worker(session.stack, prefix)
    return session.worker


def pops(session: Session) -> list[Figure]:
    """Event -> screen pop latency at fixed rates (quick: 200 ev/s for 3 s), against the
    same produce -> consume hop on a plain topic with no worker in between."""
    rates = [(200.0, 3.0)] if session.quick else [(200.0, 30.0), (1000.0, 30.0)]
    if session.pop_rates:
        rates = [(r, session.seconds or rates[0][1]) for r in session.pop_rates]
    elif session.seconds:
        rates = [(r, session.seconds) for r, _ in rates]
    drain = 10.0 if session.quick else 30.0
    stack = session.stack
    figures: list[Figure] = []
    for rate, seconds in rates:
        worker = _ready_worker(session)
        prefix = worker.prefix
        n = int(rate * seconds)
        # Warm-up: a few calls through the whole path (assignment, caches, connections).
        warm = encoded(paced_load(50, rate, datetime.now(tz=UTC)))
        session.say(f"pops: warm-up at {rate:.0f} ev/s ...")
        warm_stats, ends = _hop(
            session,
            prefix + INTERACTIONS,
            prefix + SCREENPOPS,
            partitions_of(SCREENPOPS),
            warm,
            rate,
            60.0,
            _pop_trigger,
        )
        session.note_ends(ends)
        # The floor first, while the worker is idle: its backlog must not slow the baseline.
        session.say(f"pops: baseline hop at {rate:.0f} ev/s ...")
        hop_topic = create_plain_topic(stack, f"{prefix}bench.hop")
        base_load = encoded(paced_load(n, rate, datetime.now(tz=UTC)))
        base, _ = _hop(session, hop_topic, hop_topic, 4, base_load, rate, drain, _event_id)
        session.say(f"pops: {n} events at {rate:.0f} ev/s for {seconds:.0f} s ...")
        load = encoded(paced_load(n, rate, datetime.now(tz=UTC) + timedelta(seconds=0.5)))
        measured, ends = _hop(
            session,
            prefix + INTERACTIONS,
            prefix + SCREENPOPS,
            partitions_of(SCREENPOPS),
            load,
            rate,
            drain,
            _pop_trigger,
        )
        session.note_ends(ends)
        label = "produce -> consume on a plain topic, no worker (broker + client floor)"
        common = {
            "rate_ev_s": rate,
            "seconds": seconds,
            "load_producer_linger_ms": session.linger_ms,
            "events": n,
            "warm_up": warm_stats,
            "pops": measured,
            "baseline": base,
        }
        for key, name in (
            ("p50_ms", "p50"),
            ("p90_ms", "p90"),
            ("p99_ms", "p99"),
            ("max_ms", "max"),
        ):
            target = Target("<=", POP_P99_TARGET_MS, "value") if key == "p99_ms" else None
            figures.append(
                Figure(
                    "pops",
                    f"event -> pop {name} at {rate:.0f} ev/s",
                    measured[key],
                    "ms",
                    base[key],
                    label,
                    target,
                    common if key == "p99_ms" else {},
                )
            )
        figures.append(
            Figure(
                "pops",
                f"pops received at {rate:.0f} ev/s (within {drain:.0f} s)",
                measured["fraction"],
                "fraction",
                base["fraction"],
                label,
                Target(">=", 1.0, "value"),
                {"sent": measured["sent"]},
            )
        )
    return figures


# -- soak --------------------------------------------------------------------------------------
def soak(session: Session) -> list[Figure]:
    """300 ev/s for 10 minutes (quick: 10 s): the worker's RSS growth, and the no-op app's
    over the same topic at the same time."""
    stack, quick = session.stack, session.quick
    rate, seconds, every = (300.0, 10.0, 1.0) if quick else (300.0, 600.0, 5.0)
    seconds = session.seconds or seconds
    prefix = fresh_prefix(stack)
    topic = prefix + INTERACTIONS
    session.say(f"soak: {rate:.0f} ev/s for {seconds:.0f} s ...")
    noop = start_noop(stack, topic, 0, name="soak-noop", wait=False)
    worker = start_worker(stack, prefix, name="soak")
    wait_ready(noop.child)
    records = encoded(paced_load(int(rate * seconds), rate, datetime.now(tz=UTC)))
    samples: list[tuple[float, int | None, int | None]] = []
    flag = threading.Event()
    ends: dict[int, int] = {}

    def load() -> None:
        ends.update(send_paced(stack.bootstrap, topic, records, rate, {}, flag, session.linger_ms))

    sender = threading.Thread(target=load, daemon=True)
    t0 = time.monotonic()
    sender.start()
    try:
        while sender.is_alive():
            samples.append(
                (time.monotonic() - t0, rss_bytes(worker.child.pid), rss_bytes(noop.child.pid))
            )
            sender.join(every)
        samples.append(
            (time.monotonic() - t0, rss_bytes(worker.child.pid), rss_bytes(noop.child.pid))
        )
        backlog = {
            name: _wait_committed(stack.bootstrap, w.app_id, topic, ends, 0.5) is None
            for name, w in (("worker", worker), ("noop", noop))
        }
    finally:
        flag.set()
        sender.join(10)
        stop(stack, worker)
        stop(stack, noop)
    growth_w = rss_growth([(t, w) for t, w, _ in samples], seconds)
    growth_n = rss_growth([(t, n) for t, _, n in samples], seconds)
    return [
        Figure(
            "soak",
            f"streams worker RSS growth, {rate:.0f} ev/s for {seconds:.0f} s",
            growth_w["growth_mb"],
            "MB",
            growth_n["growth_mb"],
            "Faust no-op app on the same topic at the same time",
            None,
            {
                "worker": growth_w,
                "noop": growth_n,
                "behind_at_end": backlog,
                "samples_s_worker_noop_mb": [(round(t, 1), _mb(w), _mb(n)) for t, w, n in samples],
            },
        ),
    ]


def _mb(value: int | None) -> float | None:
    return round(value / 1_048_576, 1) if value is not None else None


def rss_growth(samples: Sequence[tuple[float, int | None]], seconds: float) -> dict[str, Any]:
    """RSS growth in MB from the first sample after warm-up (10% of the run) to the last."""
    known = [(t, v) for t, v in samples if v is not None]
    if not known:
        return {"growth_mb": None}
    warm = next(((t, v) for t, v in known if t >= seconds * 0.1), known[0])
    last = known[-1]
    return {
        "growth_mb": round((last[1] - warm[1]) / 1_048_576, 2),
        "from_start_mb": round((last[1] - known[0][1]) / 1_048_576, 2),
        "start_mb": _mb(known[0][1]),
        "end_mb": _mb(last[1]),
        "peak_mb": _mb(max(v for _, v in known)),
    }
