"""`c360 dev up`: Tansu + Redis + every worker on one machine, supervised until Ctrl-C."""

from __future__ import annotations

import contextlib
import importlib
import os
import signal
import socket
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

from confluent_kafka import KafkaException

from c360 import devstate
from c360.devsignin import signin_lines
from c360.devspecs import ProcSpec, SpecsFactory, StackContext, default_specs, stack_env
from c360.kafka_admin import create_topics, wait_broker
from c360.localstack import InfraError, redis_answers, start_redis, start_tansu, tansu_bootstrap
from c360.procs import (
    Cancelled,
    Child,
    ChildDied,
    CrashLoop,
    GiveUp,
    RestartPolicy,
    free_port,
    module_available,
    restart_decision,
    spawn,
    wait_until,
)
from infra.kafka_config import KafkaEndpoint
from infra.settings_streams import ToolSettings

Say = Callable[[str], None]
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


@dataclass(frozen=True, slots=True)
class UpOptions:
    """Command-line options of `c360 dev up`."""

    http_port: int = 8360
    demo: bool = True
    data_dir: Path = devstate.DEFAULT_DATA_DIR
    kafka_bootstrap: str | None = None  # an external broker instead of Tansu
    skip: tuple[str, ...] = field(default=())


def _say(line: str) -> None:
    print(line, flush=True)


def _never_raises(say: Say) -> Say:
    """Output must not break a shutdown: a closed terminal or pipe raises on print."""

    def safe(line: str) -> None:
        with contextlib.suppress(OSError, ValueError):
            say(line)

    return safe


def port_free(port: int, host: str = "127.0.0.1") -> bool:
    """True when we could bind host:port right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


class DevStack:
    """Starts infrastructure then workers in order; stops all of them, in reverse, on exit."""

    def __init__(
        self,
        options: UpOptions,
        specs: SpecsFactory = default_specs,
        say: Say = _say,
        restart: RestartPolicy = RestartPolicy(),  # noqa: B008 - frozen, shared safely
    ) -> None:
        self.options = options
        self.specs = specs
        self.say = _never_raises(say)
        self.data_dir = options.data_dir.resolve()
        self.log_dir = self.data_dir / "logs"
        self.children: list[Child] = []
        self.stop_signal: int | None = None
        self.state: dict[str, Any] = {}
        self.kafka = KafkaEndpoint("")  # set by _kafka() when the stack comes up
        self.restart = restart
        # Workers (not Tansu or Redis: their data dies with them) are restarted when they die.
        self.workers: dict[str, tuple[ProcSpec, dict[str, str]]] = {}
        self.deaths: dict[str, list[float]] = {}
        self.due: dict[str, float] = {}  # worker name -> monotonic time of its restart
        self.unready: set[str] = set()  # restarted, ready check not passed yet

    # -- lifecycle ---------------------------------------------------------------------------
    def up(self) -> int:
        """Run until a stop signal (0), a start-up failure, the death of Tansu or Redis, or
        a worker's crash loop (1); a worker that dies otherwise is restarted with backoff."""
        running = devstate.read_state(self.data_dir)
        sup = int(running.get("supervisor_pid", 0)) if running else 0
        if running and devstate.same_process(sup, str(running.get("supervisor_cmd", ""))):
            self.say(f"a dev stack is already running (pid {sup}); stop it: c360 dev down")
            return 1
        previous = {sig: signal.signal(sig, self._on_signal) for sig in STOP_SIGNALS}
        code = 1
        try:
            ctx = self._start()
            self._banner(ctx)
            self._demo(ctx)
            code = self._supervise()
        except Cancelled:
            code = 0
        except ChildDied as exc:
            self.say(f"\nERROR: {exc}")
        except (InfraError, TimeoutError, OSError, KafkaException) as exc:
            self.say(f"\nERROR: {exc}")
        finally:
            self._shutdown()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        return code

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        self.stop_signal = signum

    def _cancelled(self) -> bool:
        return self.stop_signal is not None

    def _start(self) -> StackContext:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        for old in self.log_dir.glob("*.log"):
            old.unlink()  # one run's logs only: a crash report must not show an old run
        port = self.options.http_port or free_port()
        if not port_free(port):
            msg = f"HTTP port {port} is in use; pick another: c360 dev up --http-port N (0 = any)"
            raise InfraError(msg)
        self.state = {
            "supervisor_pid": os.getpid(),
            "supervisor_cmd": _own_cmd(),
            "phase": "starting",
            "log_dir": str(self.log_dir),
            "children": [],
            "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
        self._save()
        self.kafka = kafka = self._kafka()
        bootstrap = kafka.bootstrap
        redis_url = self._redis()
        prefix = os.environ.get("C360_TOPIC_PREFIX", "")
        created, existing = create_topics(kafka, prefix)
        self.say(f"topics: {len(created)} created, {len(existing)} already there")
        ctx = StackContext(
            bootstrap, redis_url, port, self.data_dir, self.log_dir, prefix,
            own_broker=not self.options.kafka_bootstrap,
        )
        self.state.update(
            bootstrap=bootstrap, redis_url=redis_url, http_url=ctx.http_url, topic_prefix=prefix
        )
        self._save()
        env = stack_env(ctx)
        for spec in self.specs(ctx):
            self._start_proc(spec, env)
        self.state["phase"] = "ready"
        self._save()
        return ctx

    def _kafka(self) -> KafkaEndpoint:
        if self.options.kafka_bootstrap:
            # An external broker: its SASL/TLS settings come from C360_KAFKA_* as for any
            # process; --kafka-bootstrap overrides the servers only.
            kafka = KafkaEndpoint.from_settings(
                ToolSettings.from_env(), self.options.kafka_bootstrap
            )
            wait_broker(kafka, 30)
            return kafka
        self.say("starting Tansu (Kafka-compatible broker, in-memory) ...")
        child = start_tansu(self.log_dir / "tansu.log", cancel=self._cancelled)
        self._track(child)
        return KafkaEndpoint(tansu_bootstrap(child))  # our own Tansu: PLAINTEXT

    def _redis(self) -> str:
        url = os.environ.get("C360_REDIS_URL")
        if url and redis_answers(url):
            self.say(f"using Redis at {url} (C360_REDIS_URL)")
            return url
        if url:
            self.say(f"C360_REDIS_URL={url} does not answer; starting a private redis-server")
        child, own = start_redis(
            self.data_dir / "redis", self.log_dir / "redis.log", cancel=self._cancelled
        )
        self._track(child)
        return own

    def _start_proc(self, spec: ProcSpec, env: dict[str, str]) -> None:
        if spec.name in self.options.skip:
            self.say(f"{spec.name}: skipped (--skip)")
            return
        if spec.module and not module_available(spec.module):
            self.say(f"WARNING {spec.name}: module {spec.module} is not there yet; not started")
            return
        self.say(f"starting {spec.name} ...")
        child = spawn(spec.name, spec.argv, self.log_dir / f"{spec.name}.log", {**env, **spec.env})
        self._track(child)
        self.workers[spec.name] = (spec, env)
        wait_until(
            lambda: spec.ready_check(child),
            spec.ready_timeout,
            spec.name,
            child,
            cancel=self._cancelled,
        )
        self.say(f"{spec.name}: ready (pid {child.pid})")

    def _track(self, child: Child) -> None:
        self.children.append(child)
        self.state["children"].append(
            {"name": child.name, "pid": child.pid, "cmd": child.argv[0],
             "log": str(child.log_path)}
        )
        self._save()

    def _save(self) -> None:
        devstate.write_state(self.data_dir, self.state)

    def _supervise(self) -> int:
        while self.stop_signal is None:
            now = time.monotonic()
            for child in list(self.children):
                if child.name in self.due or child.alive():
                    continue
                if child.name not in self.workers:
                    raise ChildDied(child)  # Tansu or Redis: the stack's data is gone
                self._worker_died(child, now)
            self._restart_due(now)
            self._check_restarted()
            time.sleep(0.3)
        self.say(f"\nreceived {signal.Signals(self.stop_signal).name}; stopping ...")
        return 0

    def _worker_died(self, child: Child, now: float) -> None:
        """Schedule a restart with backoff, or give up after too many quick deaths."""
        child.stop(5.0)  # reap it and whatever it started (its process group)
        self.unready.discard(child.name)
        deaths = self.deaths.setdefault(child.name, [])
        deaths.append(now)
        decision = restart_decision(self.restart, deaths, now)
        if isinstance(decision, GiveUp):
            raise CrashLoop(child, decision)
        self.due[child.name] = now + decision.delay
        self.say(
            f"{child.name} (pid {child.pid}) exited with code {child.popen.returncode}; "
            f"restarting in {decision.delay:.0f}s (death {decision.attempt} of "
            f"{self.restart.max_failures} allowed within {self.restart.window:.0f}s); "
            f"its log: {self._kept_log(child)}"
        )

    def _kept_log(self, child: Child) -> Path:
        """Keep the dead run's log next to the new one (the ready check reads a fresh log)."""
        kept = child.log_path.with_suffix(".prev.log")
        with contextlib.suppress(OSError):
            child.log_path.replace(kept)
        return kept

    def _restart_due(self, now: float) -> None:
        for name, at in list(self.due.items()):
            if at > now:
                continue
            del self.due[name]
            spec, env = self.workers[name]
            child = spawn(name, spec.argv, self.log_dir / f"{name}.log", {**env, **spec.env})
            index = next(i for i, c in enumerate(self.children) if c.name == name)
            self.children[index] = child  # same place: shutdown order is kept
            for entry in self.state["children"]:
                if entry["name"] == name:
                    entry["pid"] = child.pid
                    entry["restarts"] = int(entry.get("restarts", 0)) + 1
            self._save()
            self.unready.add(name)
            self.say(f"{name}: restarted (pid {child.pid})")

    def _check_restarted(self) -> None:
        for child in self.children:
            if child.name not in self.unready or not child.alive():
                continue
            with contextlib.suppress(Exception):
                if self.workers[child.name][0].ready_check(child):
                    self.unready.discard(child.name)
                    self.say(f"{child.name}: ready again (pid {child.pid})")

    def _shutdown(self) -> None:
        for child in reversed(self.children):
            if child.alive():
                self.say(f"stopping {child.name} (pid {child.pid}) ...")
            try:
                child.stop(15.0)
            except Exception as exc:  # keep stopping the others; `dev down` can retry
                self.say(f"WARNING could not stop {child.name} (pid {child.pid}): {exc}")
        self.children.clear()
        devstate.clear_state(self.data_dir)
        self.say("dev stack stopped")

    # -- user-facing output ------------------------------------------------------------------
    def _banner(self, ctx: StackContext) -> None:
        url = ctx.http_url
        self.say(
            "\n".join(
                [
                    "",
                    "c360 dev stack is ready",
                    *signin_lines(url, stack_env(ctx)),
                    f"  agent panel    {url}/  (or sign in as any agent id there)",
                    f"  timeline API   {url}/v1/timeline?identifier=%2B442079460123  (demo: alice;",
                    "                 Authorization: Bearer <the panel's token, or a key of",
                    "                 `c360 keys create --tenant demo --scope timeline:read",
                    "                 --name NAME`>)",
                    f"  API docs       {url}/docs  (OpenAPI: {url}/openapi.json)",
                    f"  health/ready   {url}/health  {url}/ready",
                    f"  Kafka          {ctx.bootstrap}   (C360_KAFKA_BOOTSTRAP_SERVERS)",
                    f"  Redis          {ctx.redis_url}",
                    f"  logs           {ctx.log_dir}/<name>.log",
                    "  stop           Ctrl-C here, or `c360 dev down` in another terminal",
                    "",
                ]
            )
        )

    def _demo(self, ctx: StackContext) -> None:
        if not self.options.demo:
            return
        if not module_available("c360.demo"):
            self.say("demo data: c360.demo is not there yet; skipped")
            return
        demo = importlib.import_module("c360.demo")
        try:
            count = demo.publish_demo(self.kafka, ctx.topic_prefix)
        except Exception as exc:  # the stack stays useful without demo data
            self.say(f"WARNING demo data was not published: {exc}")
            return
        self.say(f"demo data: published {count} events to {ctx.topic_prefix}c360.interactions.v1")


def _own_cmd() -> str:
    """argv[0] of this process as /proc shows it (for pid-reuse checks by `dev down`)."""
    try:
        return Path(f"/proc/{os.getpid()}/cmdline").read_bytes().split(b"\0", 1)[0].decode()
    except OSError:
        return sys.executable
