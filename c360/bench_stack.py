"""The benches' stack: embedded Tansu + private Redis (or configured ones), workers, probes."""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition

from c360.devspecs import FAUST_READY, FAUST_WORKER, StackContext, log_contains, stack_env
from c360.kafka_admin import admin, create_topics, wait_broker
from c360.localstack import redis_answers, start_redis, start_tansu, tansu_bootstrap
from c360.procs import Child, free_port, spawn, wait_until
from infra.kafka_config import client_config, endpoint_of, producer_config
from schemas.topics import CATALOGUE, TopicSpec, topic_names

WORKER_READY_TIMEOUT = 120.0
NOOP_APP = "c360.bench_noop_app"


@dataclass
class BenchStack:
    """Where the bench's broker and Redis are, and the processes it started."""

    bootstrap: str
    redis_url: str
    log_dir: Path
    embedded_kafka: bool
    private_redis: bool
    children: list[Child] = field(default_factory=list)
    prefixes: list[str] = field(default_factory=list)
    namespaces: list[str] = field(default_factory=list)

    def describe(self) -> dict[str, Any]:
        """What the figures were measured on (goes into the JSON document)."""
        return {
            "kafka": "embedded Tansu" if self.embedded_kafka else "configured",
            "bootstrap": self.bootstrap,
            "redis": "private redis-server" if self.private_redis else "configured",
            "redis_url": self.redis_url,
            "log_dir": str(self.log_dir),
        }


@contextlib.contextmanager
def bench_stack(
    log_dir: Path, bootstrap: str | None = None, redis_url: str | None = None
) -> Iterator[BenchStack]:
    """Tansu and a private redis-server on free ports unless a broker / Redis is given;
    everything started here is stopped on exit (topics and keys on a shared stack dropped)."""
    log_dir.mkdir(parents=True, exist_ok=True)
    children: list[Child] = []
    try:
        if bootstrap:
            wait_broker(bootstrap, 30)
        else:
            tansu = start_tansu(log_dir / "tansu.log")
            children.append(tansu)
            bootstrap = tansu_bootstrap(tansu)
        if redis_url:
            if not redis_answers(redis_url):
                raise RuntimeError(f"Redis at {redis_url} does not answer")
        else:
            redis_child, redis_url = start_redis(log_dir / "redis", log_dir / "redis.log")
            children.append(redis_child)
        names = {c.name for c in children}
        stack = BenchStack(bootstrap, redis_url, log_dir, "tansu" in names, "redis" in names)
        stack.children = children  # workers started later are stopped with them
        yield stack
        if not stack.embedded_kafka:
            _drop_topics(stack)
        if not stack.private_redis:
            _drop_keys(stack)
    finally:
        for child in reversed(children):
            child.stop(10)


def fresh_prefix(stack: BenchStack) -> str:
    """A new topic prefix with every catalogue topic created under it."""
    prefix = f"b{uuid.uuid4().hex[:8]}."
    create_topics(stack.bootstrap, prefix)
    stack.prefixes.append(prefix)
    return prefix


def create_plain_topic(stack: BenchStack, name: str, partitions: int = 4) -> str:
    """A topic outside the catalogue (the broker-floor baselines)."""
    create_topics(stack.bootstrap, "", [TopicSpec(name, partitions, "event id", "bytes")])
    stack.prefixes.append(name)  # dropped with the prefixes on a shared broker
    return name


def _drop_topics(stack: BenchStack) -> None:
    names: list[str] = []
    for prefix in stack.prefixes:
        names += list(topic_names(prefix)) if prefix.endswith(".") else [prefix]
    if names:
        with contextlib.suppress(KafkaException):
            for future in admin(stack.bootstrap).delete_topics(names).values():
                with contextlib.suppress(Exception):
                    future.result(10)


def _drop_keys(stack: BenchStack) -> None:
    import redis  # noqa: PLC0415 - dev tooling only

    client = redis.Redis.from_url(stack.redis_url)
    try:
        for ns in stack.namespaces:
            batch = list(client.scan_iter(match=f"{ns}:*", count=1000))
            for i in range(0, len(batch), 500):
                client.delete(*batch[i : i + 500])
    finally:
        client.close()


# -- processes -----------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Worker:
    """A started streams worker (or no-op app) and what it was given."""

    child: Child
    prefix: str
    app_id: str
    namespace: str = ""


def worker_env(stack: BenchStack, prefix: str, app_id: str, namespace: str) -> dict[str, str]:
    """The streams worker's environment, as `c360 dev up` builds it, on a bench prefix."""
    ctx = StackContext(
        stack.bootstrap, stack.redis_url, free_port(), stack.log_dir, stack.log_dir, prefix
    )
    env = stack_env(ctx)
    env.update(
        {
            "C360_APP_ID": app_id,
            "C360_KEY_NAMESPACE": namespace,
            "C360_LOG_FORMAT": "json",  # what production runs, not the dev console renderer
            "C360_TOPIC_REPLICATION_FACTOR": "1",
        }
    )
    return env


def worker_ids(prefix: str) -> tuple[str, str]:
    """(app id = consumer group, Redis key namespace) of the worker on a bench prefix."""
    tag = prefix.rstrip(".")
    return f"c360-bench-{tag}", f"c360{tag}"


def start_worker(
    stack: BenchStack, prefix: str, name: str = "streams", *, wait: bool = True
) -> Worker:
    """The streams worker exactly as `c360 dev up` starts it (devspecs.FAUST_WORKER)."""
    app_id, namespace = worker_ids(prefix)
    stack.namespaces.append(namespace)
    env = worker_env(stack, prefix, app_id, namespace)
    argv = (*FAUST_WORKER, "--web-port", str(free_port()))
    child = _spawn(stack, f"{name}-{prefix.rstrip('.')}", argv, env, wait)
    return Worker(child, prefix, app_id, namespace)


def start_noop(
    stack: BenchStack,
    topic: str,
    expect: int,
    name: str = "noop",
    app_id: str | None = None,
    *,
    wait: bool = True,
) -> Worker:
    """The baseline Faust app consuming `topic` and doing nothing (c360/bench_noop_app.py)."""
    app_id = app_id or f"c360-bench-noop-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "C360_KAFKA_BOOTSTRAP_SERVERS": stack.bootstrap,
        "C360_BENCH_TOPIC": topic,
        "C360_BENCH_APP_ID": app_id,
        "C360_BENCH_EXPECT": str(expect),
        "PYTHONUNBUFFERED": "1",
    }
    argv = (
        sys.executable,
        "-m",
        "faust",
        "-A",
        NOOP_APP,
        "worker",
        "-l",
        "info",
        "--web-port",
        str(free_port()),
    )
    child = _spawn(stack, f"{name}-{app_id[-8:]}", argv, env, wait)
    return Worker(child, topic, app_id)


def _spawn(
    stack: BenchStack, name: str, argv: Iterable[str], env: Mapping[str, str], wait: bool
) -> Child:
    # In the log dir: Faust makes a data directory in its working directory.
    child = spawn(name, tuple(argv), stack.log_dir / f"{name}.log", env, cwd=stack.log_dir)
    stack.children.append(child)
    if wait:
        wait_ready(child)
    return child


def wait_ready(child: Child) -> None:
    """Block until a Faust worker logs that it is ready (ChildDied / TimeoutError)."""
    ready = log_contains(*FAUST_READY)
    wait_until(lambda: ready(child), WORKER_READY_TIMEOUT, child.name, child)


def stop(stack: BenchStack, worker: Worker, grace: float = 10.0) -> None:
    """Stop a worker (SIGTERM, SIGKILL after `grace`: a backlog can hang Faust's stop)."""
    worker.child.stop(grace)
    with contextlib.suppress(ValueError):
        stack.children.remove(worker.child)


def noop_marks(worker: Worker) -> dict[str, float]:
    """The no-op app's own time stamps ("first", "done") read from its log."""
    marks: dict[str, float] = {}
    with contextlib.suppress(OSError):
        for line in worker.child.log_path.read_text(errors="replace").splitlines():
            # Faust logs what an agent prints, so the JSON sits after a log prefix.
            at = line.find('{"c360_bench_noop"')
            if at >= 0:
                doc, _ = json.JSONDecoder().raw_decode(line[at:])
                marks[doc["c360_bench_noop"]] = float(doc["t"])
    return marks


# -- probes --------------------------------------------------------------------------------
def rss_bytes(pid: int) -> int | None:
    """Resident set size of a process from /proc (None when it is gone)."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    return parse_vmrss(text)


def parse_vmrss(status: str) -> int | None:
    """VmRSS of a /proc/<pid>/status text, in bytes."""
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            parts = line.split()
            return int(parts[1]) * 1024
    return None


def redis_commands(url: str) -> dict[str, int]:
    """Calls per command since the server started (INFO commandstats; scripts' inner
    commands are counted too). Our own INFO calls are left out."""
    import redis  # noqa: PLC0415

    client = redis.Redis.from_url(url)
    try:
        stats = client.info("commandstats")
    finally:
        client.close()
    return parse_commandstats(stats)


def parse_commandstats(stats: Mapping[str, Any]) -> dict[str, int]:
    """{'hset': 12, ...} from redis-py's parsed INFO commandstats."""
    out: dict[str, int] = {}
    for key, value in stats.items():
        name = key.removeprefix("cmdstat_").lower()
        if name == "info":
            continue
        calls = value.get("calls") if isinstance(value, Mapping) else None
        if calls is not None:
            out[name] = int(calls)
    return out


def command_delta(before: Mapping[str, int], after: Mapping[str, int]) -> dict[str, int]:
    """Per-command calls between two snapshots (zeros dropped)."""
    delta = {k: v - before.get(k, 0) for k, v in after.items()}
    return {k: v for k, v in sorted(delta.items()) if v > 0}


def committed(bootstrap: str, group: str, topic: str, partitions: int) -> list[int]:
    """The group's committed offset per partition (-1 for none yet)."""
    consumer = Consumer(
        {
            **client_config(endpoint_of(bootstrap), "c360-bench-committed"),
            "group.id": group,
            "enable.auto.commit": False,
        }
    )
    try:
        tps = consumer.committed([TopicPartition(topic, p) for p in range(partitions)], 10)
    finally:
        consumer.close()
    return [tp.offset if tp.offset >= 0 else -1 for tp in tps]


def partitions_of(name: str) -> int:
    """Catalogue partition count of an (unprefixed) topic name."""
    return next(spec.partitions for spec in CATALOGUE if spec.name == name)


def publish(bootstrap: str, topic: str, records: Iterable[tuple[bytes, bytes]]) -> dict[int, int]:
    """Produce and wait for every ack; returns partition -> end offset (last acked + 1),
    from the delivery reports rather than watermarks (Tansu's are wrong, FACTS M3)."""
    # The tools' producer settings, on a bare client: the delivery reports carry offsets.
    producer = Producer(
        producer_config(endpoint_of(bootstrap), "c360-bench", linger_ms=5, delivery_timeout_s=120.0)
    )
    ends: dict[int, int] = {}
    errors: list[str] = []

    def on_delivery(err: object, msg: Any) -> None:
        if err is not None:
            errors.append(str(err))
            return
        ends[msg.partition()] = max(ends.get(msg.partition(), 0), msg.offset() + 1)

    for key, value in records:
        while True:
            try:
                producer.produce(topic, value=value, key=key, on_delivery=on_delivery)
                break
            except BufferError:
                producer.poll(0.2)
        producer.poll(0)
    remaining = producer.flush(120)
    if remaining or errors:
        raise RuntimeError(f"publish to {topic}: {remaining} undelivered, errors {errors[:3]}")
    return ends


def wait_for(check: Any, timeout: float, interval: float = 0.05) -> float | None:
    """Poll `check()` until true; the monotonic time it first held, or None at timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return time.monotonic()
        time.sleep(interval)
    return None
