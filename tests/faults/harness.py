"""Fault-suite plumbing: workers as killable processes, incremental topic readers, figures."""

from __future__ import annotations

import json
import os
import signal
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, TopicPartition

from c360.procs import Child, free_port, spawn
from infra.kafka_producer import make_producer, produce_all
from schemas import codec
from schemas.records import InteractionWrappedUp
from schemas.topics import INTERACTIONS
from tests.credentials import bearer, desktop_token
from tests.factories import eid, voice_call
from tests.integration.stack import ROOT, create_topics, wait_http

# Liveness bound for one recovery (worker restart, broker or Redis back); never a figure.
DEADLINE = 90.0
FIGURES = os.environ.get("C360_FAULTS_FIGURES", "")


def figure(test: str, **values: Any) -> None:
    """Print one measured figure (and append it to $C360_FAULTS_FIGURES as a JSON line):
    docs/reliability.md quotes these, the assertions never do."""
    line = json.dumps({"test": test, **values}, sort_keys=True, default=str)
    print(f"FAULTS {line}", flush=True)
    if FIGURES:
        with Path(FIGURES).open("a") as out:
            out.write(line + "\n")


class TopicReader:
    """Reads one topic from offset 0 of every partition, incrementally, without a group."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.topic = topic
        self.consumer = Consumer({
            "bootstrap.servers": bootstrap,
            "group.id": f"faults-{uuid.uuid4().hex[:8]}",
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "broker.address.family": "v4",
            "fetch.wait.max.ms": 50,
        })
        meta = self.consumer.list_topics(topic, timeout=10)
        parts = meta.topics[topic].partitions if topic in meta.topics else {}
        assert parts, f"topic {topic} does not exist"
        self.consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in parts])
        self.records: list[Any] = []  # (partition, offset, decoded or raw value)

    def poll(self, timeout: float = 0.5) -> int:
        """Read what is there now (one fetch); returns how many records came."""
        got = 0
        for msg in self.consumer.consume(num_messages=2000, timeout=timeout):
            error = msg.error()
            if error is not None:
                if error.code() == KafkaError._PARTITION_EOF:
                    continue
                raise AssertionError(f"consume error on {self.topic}: {error}")
            self.records.append((msg.partition(), msg.offset(), msg.value()))
            got += 1
        return got

    def until(self, done: Callable[[], bool], deadline: float = DEADLINE) -> bool:
        """Poll until done() holds or the deadline (seconds from now) passes."""
        end = time.monotonic() + deadline
        while not done():
            if time.monotonic() > end:
                return False
            self.poll()
        return True

    def decoded(self) -> list[Any]:
        return [codec.decode(value) for _p, _o, value in self.records]

    def close(self) -> None:
        self.consumer.close()


@dataclass
class Calls:
    """A set of voice calls spread over `parties` callers; every `rewrap`-th call gets a
    second, later wrap-up (so "the last wrap-up wins" is checked through the faults)."""

    tenant: str
    count: int
    parties: int = 40
    rewrap: int = 4
    start: datetime = field(default_factory=lambda: datetime.now(tz=UTC) - timedelta(days=2))

    def caller(self, n: int) -> str:
        return f"+4420794{n % self.parties:05d}"

    def events(self, first: int = 0, count: int | None = None) -> list[Any]:
        out: list[Any] = []
        for n in range(first, first + (self.count if count is None else count)):
            call = voice_call(f"ix-{n}", tenant=self.tenant, caller=self.caller(n),
                              start=self.start + timedelta(seconds=30 * n))
            out += call
            if n % self.rewrap == 0:
                last = call[-1]
                out.append(InteractionWrappedUp(
                    eid(), self.tenant, last.occurred_at + timedelta(seconds=60),
                    last.interaction_id, "voice", last.agent_id,
                    disposition_code="CALLBACK", notes="Rang back."))
        return out

    def disposition(self, n: int) -> str:
        return "CALLBACK" if n % self.rewrap == 0 else "SALE"


def publish(bootstrap: str, topic: str, events: Iterable[Any]) -> int:
    """Canonical events keyed by interaction id (one interaction, one partition)."""
    return produce_all(make_producer(bootstrap), topic,
                       [(e.interaction_id.encode(), codec.encode(e)) for e in events])


@dataclass
class Stack:
    """A streams worker and (optionally) the web service on a private prefix and key
    namespace; the worker can be killed and started again with the same group."""

    bootstrap: str
    redis_url: str
    logs: Path
    extra: dict[str, str] = field(default_factory=dict)
    prefix: str = field(default_factory=lambda: f"f{uuid.uuid4().hex[:8]}.")
    worker: Child | None = None
    web: Child | None = None
    starts: int = 0

    def __post_init__(self) -> None:
        self.http_port = free_port()
        self.worker_port = free_port()
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("C360_")},
            "C360_ENV": "dev",
            "C360_KAFKA_BOOTSTRAP_SERVERS": self.bootstrap,
            "C360_REDIS_URL": self.redis_url,
            "C360_TOPIC_PREFIX": self.prefix,
            "C360_APP_ID": f"c360-faults-{self.prefix[:-1]}",
            "C360_KEY_NAMESPACE": f"c360f{self.prefix[:-1]}",
            "C360_HTTP_PORT": str(self.http_port),
            "C360_DEFAULT_REGION": "GB",
            "C360_LOG_FORMAT": "json",
            "C360_MAX_FUTURE_SECONDS": str(3 * 86_400),
            "PYTHONUNBUFFERED": "1",
            **self.extra,
        }

    def env_url(self, which: str) -> str:
        """Base URL of the web service ('http') or of the worker's own web port ('worker')."""
        port = self.http_port if which == "http" else self.worker_port
        return f"http://127.0.0.1:{port}"

    def topic(self, name: str) -> str:
        return self.prefix + name

    def create_topics(self) -> None:
        create_topics(self.bootstrap, self.prefix)

    def start_worker(self) -> None:
        self.starts += 1
        argv = [sys.executable, "-m", "streams", "worker", "-l", "info",
                "--web-port", str(self.worker_port)]
        # cwd: Faust keeps its data directory (<app id>-data) there, out of the repository.
        self.worker = spawn("streams", argv, self.logs / f"streams-{self.starts}.log",
                            env={**self.env, "PYTHONPATH": str(ROOT)}, cwd=self.logs)

    def start_web(self) -> None:
        self.web = spawn("web", [sys.executable, "-m", "web.service"], self.logs / "web.log",
                         env=self.env, cwd=ROOT)
        wait_http(f"http://127.0.0.1:{self.http_port}/health", time.monotonic() + DEADLINE)

    def kill_worker(self) -> None:
        """kill -9 of the worker's whole process group (no shutdown code runs)."""
        assert self.worker is not None and self.worker.alive()
        os.killpg(self.worker.pid, signal.SIGKILL)
        self.worker.popen.wait(10)

    def stop(self) -> None:
        """Stop the processes and delete this stack's keys (the session Redis is shared)."""
        for child in (self.worker, self.web):
            if child is not None and child.alive():
                child.stop(20)
        import redis  # noqa: PLC0415 - a sync client for clean-up only

        client = redis.Redis.from_url(self.redis_url, socket_timeout=5)
        try:
            batch = list(client.scan_iter(match=f"{self.env['C360_KEY_NAMESPACE']}*",
                                          count=1000))
            for start in range(0, len(batch), 500):
                client.delete(*batch[start:start + 500])
        except redis.RedisError:
            pass  # a private Redis already stopped: nothing to clean
        finally:
            client.close()

    def worker_log(self) -> str:
        return "\n".join(p.read_text(errors="replace")
                         for p in sorted(self.logs.glob("streams-*.log")))

    def ready(self) -> tuple[int, dict[str, Any]]:
        """The worker's /ready answer (status code, body); (0, {}) when it does not answer."""
        return get_json(f"http://127.0.0.1:{self.worker_port}/ready", timeout=5)

    def timeline(self, identifier: str, tenant: str) -> tuple[int, dict[str, Any]]:
        query = urllib.parse.urlencode({"identifier": identifier, "tenant": tenant,
                                        "channel": "voice", "limit": 200})
        return get_json(f"http://127.0.0.1:{self.http_port}/v1/timeline?{query}", timeout=10,
                        headers=reader(tenant))


def reader(tenant: str) -> dict[str, str]:
    """A credential to read `tenant`'s timelines from the (dev-mode) web service: a desktop
    token signed with its dev secret, so minting one never needs the Redis under test."""
    return bearer(desktop_token(tenant))


def get_json(url: str, timeout: float,
             headers: dict[str, str] | None = None) -> tuple[int, dict[str, Any]]:
    """(status, JSON body) of a GET; (0, {}) when nothing answers in time."""
    try:
        request = urllib.request.Request(url, headers=headers or {})
        with urllib.request.urlopen(request, timeout=timeout) as resp:
            return resp.status, json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as exc:
        try:
            return exc.code, json.loads(exc.read() or b"{}")
        except ValueError:
            return exc.code, {}
    except (OSError, ValueError):
        return 0, {}


def by_party_event_ids(reader: TopicReader) -> list[str]:
    """Every by-party record's cause event id, in the order read (duplicates kept)."""
    return [codec.decode(value).event.event_id for _p, _o, value in reader.records]


class IdCounter:
    """Incrementally decodes a by-party reader's records into cause event ids."""

    def __init__(self, reader: TopicReader, only: set[str] | None = None) -> None:
        self.reader = reader
        self.only = only  # count only these cause ids (the topic carries other phases too)
        self.read = 0
        self.ids: list[str] = []
        self.distinct: set[str] = set()

    def refresh(self) -> int:
        for _p, _o, value in self.reader.records[self.read:]:
            self.read += 1
            event_id = codec.decode(value).event.event_id
            if self.only is None or event_id in self.only:
                self.ids.append(event_id)
                self.distinct.add(event_id)
        return len(self.distinct)

    def wait(self, want: int, deadline: float = DEADLINE) -> bool:
        return self.reader.until(lambda: self.refresh() >= want, deadline)


INTERACTIONS_TOPIC = INTERACTIONS
