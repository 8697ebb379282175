"""What `c360 dev up` runs: the list of worker processes and how to tell each is ready."""

from __future__ import annotations

import os
import sys
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from c360.procs import Child, free_port

ReadyCheck = Callable[[Child], bool]


@dataclass(frozen=True, slots=True)
class StackContext:
    """Where the stack's infrastructure is, handed to every spec factory."""

    bootstrap: str
    redis_url: str
    http_port: int
    data_dir: Path
    log_dir: Path
    topic_prefix: str = ""
    http_host: str = "127.0.0.1"
    # The stack's own Tansu speaks PLAINTEXT: the user's C360_KAFKA_SASL_*/SSL_* settings
    # (meant for an external broker) must not reach the children then.
    own_broker: bool = False

    @property
    def http_url(self) -> str:
        """Base URL of the HTTP service."""
        return f"http://{self.http_host}:{self.http_port}"


def always_ready(_child: Child) -> bool:
    """For processes with nothing to wait for."""
    return True


def http_ok(url: str) -> ReadyCheck:
    """Ready when GET url answers 200."""

    def check(_child: Child) -> bool:
        try:
            with urllib.request.urlopen(url, timeout=1) as resp:  # noqa: S310 - loopback URL
                return int(resp.status) == 200
        except OSError:
            return False

    return check


def log_contains(*markers: str) -> ReadyCheck:
    """Ready when the child's log contains any of the markers."""

    def check(child: Child) -> bool:
        try:
            text = child.log_path.read_bytes().decode("utf-8", "replace")
        except OSError:
            return False
        return any(marker in text for marker in markers)

    return check


@dataclass(frozen=True, slots=True)
class ProcSpec:
    """One supervised process. `module` is skipped with a warning when not importable yet."""

    name: str
    argv: tuple[str, ...]
    env: Mapping[str, str] = field(default_factory=dict)
    ready_check: ReadyCheck = always_ready
    module: str | None = None
    ready_timeout: float = 120.0


SpecsFactory = Callable[[StackContext], list[ProcSpec]]


KAFKA_SECURITY_VARIABLES = ("C360_KAFKA_SECURITY_", "C360_KAFKA_SASL_", "C360_KAFKA_SSL_")

# The demo tenant's numbers are British: national forms ("020 7946 0123") read as GB.
DEV_TENANT_REGIONS = "demo=GB"
# The demo tenant's automation rules: the call rule plus missed/abandoned/voicemail/parked.
DEV_RULES = Path(__file__).with_name("dev_rules.toml")
# The demo tenant's panel layout: the built-in fields, editable from the panel (Edit).
DEV_LAYOUT = Path(__file__).with_name("dev_layout.json")


def stack_env(ctx: StackContext, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The children's environment: the user's (C360_* pass through) plus the stack's wiring."""
    env = dict(os.environ if environ is None else environ)
    if ctx.own_broker:
        for name in [n for n in env if n.startswith(KAFKA_SECURITY_VARIABLES)]:
            del env[name]
    env.setdefault("C360_TENANT_REGIONS", DEV_TENANT_REGIONS)
    env.setdefault("C360_RULES_FILE", str(DEV_RULES))
    env.setdefault("C360_LAYOUT_FILE", str(DEV_LAYOUT))
    env.update(
        {
            "C360_KAFKA_BOOTSTRAP_SERVERS": ctx.bootstrap,
            "C360_REDIS_URL": ctx.redis_url,
            "C360_HTTP_HOST": ctx.http_host,
            "C360_HTTP_PORT": str(ctx.http_port),
            "C360_ENV": "dev",
            "C360_DATA_DIR": str(ctx.data_dir),
            "C360_TOPIC_PREFIX": ctx.topic_prefix,
            # Logs go to files: flush each line so `tail -f` and crash reports are current.
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


# Faust's worker logs "[^Worker]: Ready" with no spinner and "... OK ^" when its
# progress spinner writes to a file, which is our case (faust/worker.py).
FAUST_READY = ("Worker]: Ready", "OK ^")


# `python -m streams` builds the settings, the deps and the app (streams.app.create_app),
# then runs Faust's command line with that app.
FAUST_WORKER = (sys.executable, "-m", "streams", "worker", "-l", "info")


def default_specs(ctx: StackContext) -> list[ProcSpec]:
    """The stack's processes, started in this order (one at a time: FACTS T2)."""
    py = sys.executable
    return [
        ProcSpec(
            "streams",
            (*FAUST_WORKER, "--web-port", str(free_port())),
            ready_check=log_contains(*FAUST_READY),
            module="streams",
        ),
        ProcSpec(
            "web",
            (py, "-m", "web.service"),
            ready_check=http_ok(ctx.http_url + "/health"),
            module="web.service",
        ),
        ProcSpec("crm-sink", (py, "-m", "connectors.crm.worker"), module="connectors.crm.worker"),
    ]
