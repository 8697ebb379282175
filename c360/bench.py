"""`c360 bench`: live, pops, replay, query, memory and soak figures, each against a same-run
baseline, printed as a table and as JSON (reported, never asserted)."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import inspect
import json
import math
import os
import platform
import signal
import sys
import tempfile
import time
import traceback
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from schemas.records import (
    InteractionAccepted,
    InteractionEnded,
    InteractionEvent,
    InteractionOffered,
    InteractionWrappedUp,
)

if TYPE_CHECKING:
    from c360.bench_live import Session

SCHEMA = "c360.bench/1"
STACK_BENCHES = ("live", "pops", "replay", "query", "memory", "soak")
MICRO_BENCHES = ("fold", "codec", "redis")
# Figure keys every JSON figure has (bench_query/bench_replay dicts are mapped onto them).
FIGURE_KEYS = (
    "bench",
    "figure",
    "value",
    "unit",
    "baseline_name",
    "baseline_value",
    "ratio",
    "target",
    "met",
    "notes",
    "details",
)


# -- figures (pure) ------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Target:
    """A target on the value itself or on value / baseline."""

    op: str  # ">=" | "<="
    threshold: float
    on: str = "value"  # value | ratio

    def text(self, unit: str) -> str:
        """How the table shows it."""
        if self.on == "ratio":
            return f"{self.op} {self.threshold:g} x baseline"
        return f"{self.op} {self.threshold:g} {unit}".rstrip()

    def met(self, value: float | None, ratio: float | None) -> bool | None:
        """None when the figure was not measured."""
        x = ratio if self.on == "ratio" else value
        if x is None:
            return None
        return x >= self.threshold if self.op == ">=" else x <= self.threshold


@dataclass(frozen=True, slots=True)
class Figure:
    """One measured figure and its same-run baseline."""

    bench: str
    figure: str
    value: float | None
    unit: str
    baseline_value: float | None
    baseline_name: str
    target: Target | None = None
    details: Mapping[str, Any] = field(default_factory=dict)
    notes: str = ""

    @property
    def ratio(self) -> float | None:
        """value / baseline (None when either is missing or the baseline is 0)."""
        return ratio(self.value, self.baseline_value)

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape (FIGURE_KEYS)."""
        return {
            "bench": self.bench,
            "figure": self.figure,
            "value": _round(self.value),
            "unit": self.unit,
            "baseline_name": self.baseline_name,
            "baseline_value": _round(self.baseline_value),
            "ratio": _round(self.ratio),
            "target": self.target.text(self.unit) if self.target else None,
            "met": self.target.met(self.value, self.ratio) if self.target else None,
            "notes": self.notes,
            "details": _jsonable(dict(self.details)),
        }


def ratio(value: float | None, baseline: float | None) -> float | None:
    """value / baseline, None when undefined."""
    if value is None or baseline is None or baseline == 0:
        return None
    return value / baseline


def percentile(sorted_samples: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile of already sorted samples (None when empty)."""
    if not sorted_samples:
        return None
    rank = max(1, math.ceil(q * len(sorted_samples)))
    return sorted_samples[min(rank, len(sorted_samples)) - 1]


def _round(value: object) -> object:
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return None
        return round(value, 4) if abs(value) < 100 else round(value, 1)
    return value


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, float):
        return _round(value)
    if value is None or isinstance(value, str | int | bool):
        return value
    return str(value)


def normalize_figure(bench: str, doc: Mapping[str, Any]) -> dict[str, Any]:
    """A figure dict from another bench module in the FIGURE_KEYS shape (unknown keys kept
    under details; ratio computed when missing)."""
    value = _number(doc.get("value"))
    baseline = _number(doc.get("baseline_value", doc.get("baseline")))
    target = doc.get("target")
    if isinstance(target, Mapping):
        target = " ".join(str(target.get(k, "")) for k in ("op", "threshold", "unit")).strip()
    known = {
        "bench",
        "figure",
        "name",
        "value",
        "unit",
        "baseline_value",
        "baseline",
        "baseline_name",
        "baseline_label",
        "ratio",
        "target",
        "met",
        "notes",
        "details",
    }
    details = dict(doc.get("details") or {})
    details.update({k: v for k, v in doc.items() if k not in known})
    met = doc.get("met")
    return {
        "bench": str(doc.get("bench") or bench),
        "figure": str(doc.get("figure") or doc.get("name") or "?"),
        "value": _round(value),
        "unit": str(doc.get("unit") or ""),
        "baseline_name": str(doc.get("baseline_name") or doc.get("baseline_label") or ""),
        "baseline_value": _round(baseline),
        "ratio": _round(_number(doc.get("ratio")) or ratio(value, baseline)),
        "target": None if target is None else str(target),
        "met": met if isinstance(met, bool) else None,
        "notes": str(doc.get("notes") or ""),
        "details": _jsonable(details),
    }


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "NO"
    if isinstance(value, float):
        if abs(value) >= 1000:
            return f"{value:,.0f}"
        if abs(value) >= 10:
            return f"{value:.1f}"
        return f"{value:.3g}"
    return str(value)


def table(figures: Sequence[Mapping[str, Any]]) -> str:
    """The figures as a fixed-width text table."""
    head = ("bench", "figure", "value", "unit", "baseline", "ratio", "target", "met")
    rows = [head] + [
        (
            str(f["bench"]),
            str(f["figure"]),
            _cell(f["value"]),
            str(f["unit"]),
            _cell(f["baseline_value"]),
            _cell(f["ratio"]),
            _cell(f["target"]),
            _cell(f["met"]),
        )
        for f in figures
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    right = {2, 4, 5}
    lines = []
    for n, row in enumerate(rows):
        cells = [
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    baselines = sorted(
        {f"{f['bench']}: {f['baseline_name']}" for f in figures if f["baseline_name"]}
    )
    return "\n".join([*lines, "", "baselines:", *(f"  {b}" for b in baselines)])


def document(
    figures: Sequence[Mapping[str, Any]],
    *,
    quick: bool,
    stack: Mapping[str, Any],
    unavailable: Sequence[Mapping[str, str]],
    errors: Sequence[Mapping[str, str]],
    started: datetime,
    load_at_start: list[float] | None = None,
) -> dict[str, Any]:
    """The JSON document of one run."""
    return {
        "schema": SCHEMA,
        "started_at": started.isoformat(),
        "finished_at": datetime.now(tz=UTC).isoformat(),
        "quick": quick,
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "load_avg_at_start": load_at_start,
            "load_avg_at_end": _load(),
        },
        "stack": dict(stack),
        "figures": list(figures),
        "unavailable": list(unavailable),
        "errors": list(errors),
    }


def _load() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


# -- micro benches (no stack needed beyond a Redis for `redis`) ----------------------------
def sample_events(n: int) -> list[InteractionEvent]:
    """n events: calls of 4 events each."""
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


def _timed(fn: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def _per_s(n: int, seconds: float) -> float | None:
    return n / seconds if seconds > 0 else None


def bench_fold(events: list[InteractionEvent]) -> list[Figure]:
    """The pure fold vs a dict update over the same events."""
    from core.timeline import apply  # noqa: PLC0415

    def fold() -> None:
        entries: dict[str, Any] = {}
        for e in events:
            entries[e.interaction_id] = apply(entries.get(e.interaction_id), e)

    def plain() -> None:
        entries: dict[str, object] = {}
        for e in events:
            entries[e.interaction_id] = e

    n = len(events)
    return [
        Figure(
            "fold",
            "pure fold",
            _per_s(n, _timed(fold)),
            "ev/s",
            _per_s(n, _timed(plain)),
            "dict update per event",
        )
    ]


def bench_codec(events: list[InteractionEvent]) -> list[Figure]:
    """Avro encode+decode vs json.dumps+loads of a few fields of the same events."""
    from schemas import codec  # noqa: PLC0415

    docs = [
        {"id": e.event_id, "iid": e.interaction_id, "at": e.occurred_at.isoformat()} for e in events
    ]
    t_codec = _timed(lambda: [codec.decode(codec.encode(e)) for e in events])
    t_json = _timed(lambda: [json.loads(json.dumps(d)) for d in docs])
    size = sum(len(codec.encode(e)) for e in events) / len(events)
    return [
        Figure(
            "codec",
            "Avro round trips",
            _per_s(len(events), t_codec),
            "ev/s",
            _per_s(len(events), t_json),
            "json round trip of 3 fields",
            details={"avg_encoded_bytes": size},
        )
    ]


async def _bench_redis(events: list[InteractionEvent], url: str) -> list[Figure]:
    from core.timeline import Retention, to_ms  # noqa: PLC0415
    from projections.keys import Keys  # noqa: PLC0415
    from projections.redis_client import redis_client  # noqa: PLC0415
    from projections.redis_timeline import RedisTimelineStore  # noqa: PLC0415

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
    n = len(events)
    return [
        Figure(
            "redis",
            "RedisTimelineStore.apply, awaited one by one",
            _per_s(n, t_store),
            "ev/s",
            _per_s(n, t_base),
            "plain SET per event",
        )
    ]


# -- the stack benches -------------------------------------------------------------------
def bench_memory(session: Session) -> list[Figure]:
    """Redis bytes per stored interaction (c360.bench_readmodel) vs the old key-per-entry
    layout measured in the same run."""
    from c360 import bench_readmodel  # noqa: PLC0415

    parties, per_party = (8, 25) if session.quick else (40, 50)
    out = asyncio.run(
        bench_readmodel.memory(session.stack.redis_url, parties, per_party, False, False)
    )
    return [
        Figure(
            "memory",
            "Redis bytes per stored interaction",
            out["used_memory_per_interaction"],
            "B",
            out["baseline_key_per_entry_used_memory_per_interaction"],
            "earlier key-per-entry layout, same entries",
            Target("<=", 400.0, "value"),
            {k: v for k, v in out.items() if k != "used_memory_per_interaction"},
        )
    ]


def _external(module_name: str, session: Session) -> list[dict[str, Any]] | str:
    """Figures of c360.bench_replay / c360.bench_query, or why they are not available."""
    from c360.procs import module_available  # noqa: PLC0415

    if not module_available(module_name):
        return f"{module_name} not available"
    module = importlib.import_module(module_name)
    run = getattr(module, "run", None)
    if run is None:
        return f"{module_name} not available (no run())"
    stack = session.stack
    kwargs: dict[str, Any] = {"quick": session.quick}
    if "topic_prefix" in inspect.signature(run).parameters:
        from c360.bench_stack import fresh_prefix  # noqa: PLC0415

        kwargs["topic_prefix"] = fresh_prefix(stack)
    result = run(stack.bootstrap, stack.redis_url, **kwargs)
    if inspect.isawaitable(result):
        result = asyncio.run(_await(result))
    name = module_name.rsplit("_", 1)[-1]
    return [normalize_figure(name, doc) for doc in result]


async def _await(awaitable: Any) -> Any:
    return await awaitable


def run_benches(
    names: Sequence[str],
    *,
    quick: bool,
    bootstrap: str | None,
    redis_url: str | None,
    log_dir: Path,
    say: Callable[[str], None],
    pop_rates: tuple[float, ...] = (),
    seconds: float | None = None,
    linger_ms: int | None = None,
) -> dict[str, Any]:
    """Run the named benches on one stack; the JSON document."""
    from c360 import bench_live  # noqa: PLC0415
    from c360.bench_stack import bench_stack  # noqa: PLC0415

    started, load_at_start = datetime.now(tz=UTC), _load()
    figures: list[dict[str, Any]] = []
    unavailable: list[dict[str, str]] = []
    errors: list[dict[str, str]] = []
    own: dict[str, Callable[[Session], list[Figure]]] = {
        "live": bench_live.live,
        "pops": bench_live.pops,
        "soak": bench_live.soak,
        "memory": bench_memory,
    }
    stack_info: dict[str, Any] = {}
    micro = [n for n in names if n in MICRO_BENCHES]
    if micro:
        events = sample_events(2_000 if quick else 20_000)
        for name in micro:
            try:
                if name == "fold":
                    found = bench_fold(events)
                elif name == "codec":
                    found = bench_codec(events)
                else:
                    url = redis_url or os.environ.get("C360_REDIS_URL", "redis://127.0.0.1:6379/0")
                    found = asyncio.run(_bench_redis(events[:5_000], url))
                figures += [f.as_dict() for f in found]
            except Exception as exc:
                errors.append(_error(name, exc, say))
    stacked = [n for n in names if n in STACK_BENCHES]
    if stacked:
        say(f"bench: starting the stack (logs in {log_dir}) ...")
        with bench_stack(log_dir, bootstrap, redis_url) as stack:
            stack_info = stack.describe()
            session = bench_live.Session(stack, quick, say, pop_rates, seconds)
            if linger_ms is not None:
                session.linger_ms = linger_ms
            try:
                for name in stacked:
                    say(f"bench: {name} ...")
                    t0 = time.monotonic()
                    try:
                        if name in own:
                            figures += [f.as_dict() for f in own[name](session)]
                        else:
                            got = _external(f"c360.bench_{name}", session)
                            if isinstance(got, str):
                                say(f"bench: {name}: {got}")
                                unavailable.append({"bench": name, "reason": got})
                            else:
                                figures += got
                    except Exception as exc:
                        errors.append(_error(name, exc, say))
                    say(f"bench: {name} done in {time.monotonic() - t0:.0f} s")
            finally:
                session.drop_worker()
    return document(
        figures,
        quick=quick,
        stack=stack_info,
        unavailable=unavailable,
        errors=errors,
        started=started,
        load_at_start=load_at_start,
    )


def _error(name: str, exc: BaseException, say: Callable[[str], None]) -> dict[str, str]:
    say(f"bench: {name} FAILED: {type(exc).__name__}: {exc}")
    return {
        "bench": name,
        "error": f"{type(exc).__name__}: {exc}",
        "traceback": traceback.format_exc(limit=8),
    }


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def build_parser() -> argparse.ArgumentParser:
    """`c360 bench` arguments."""
    parser = argparse.ArgumentParser(prog="c360 bench", description=__doc__)
    add_arguments(parser)
    return parser


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """`c360 bench` options (also used by the `c360` command's tree)."""
    parser.add_argument(
        "what",
        nargs="*",
        default=[],
        metavar="BENCH",
        help="all (default) = live pops replay query memory soak; or fold, codec, redis",
    )
    parser.add_argument("--quick", action="store_true", help="small loads (a test run)")
    parser.add_argument(
        "--json", metavar="FILE", help="also write the JSON document to FILE ('-': end of stdout)"
    )
    parser.add_argument(
        "--bootstrap",
        default=os.environ.get("C360_KAFKA_BOOTSTRAP_SERVERS"),
        help="a Kafka to use (default: $C360_KAFKA_BOOTSTRAP_SERVERS, else an embedded Tansu)",
    )
    parser.add_argument(
        "--redis-url",
        default=os.environ.get("C360_REDIS_URL"),
        help="a Redis to use (default: $C360_REDIS_URL, else a private "
        "redis-server, whose command counts are exact)",
    )
    parser.add_argument(
        "--pop-rates",
        default="",
        metavar="R[,R...]",
        help="pops: these rates in ev/s (default 200,1000; quick 200)",
    )
    parser.add_argument(
        "--seconds",
        type=float,
        default=None,
        help="pops: seconds per rate (default 30; quick 3); soak: duration (600; quick 10)",
    )
    parser.add_argument(
        "--linger-ms",
        type=int,
        default=None,
        help="pops/soak: the load producer's linger.ms (default 5, as c360's producers)",
    )
    parser.add_argument(
        "--embedded",
        action="store_true",
        help="always start Tansu and a private redis-server (ignore the C360_* variables)",
    )
    parser.add_argument(
        "--log-dir",
        type=Path,
        default=None,
        help="where the stack's and workers' logs go (default: a temp dir)",
    )
    parser.set_defaults(run=run)


def _exit_on_sigterm(signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    """Run, print the table (and the JSON); 1 when a bench failed."""
    return run(build_parser().parse_args(argv))


def run(args: argparse.Namespace) -> int:
    """`c360 bench` with parsed arguments (see main)."""
    known = ("all", *STACK_BENCHES, *MICRO_BENCHES)
    # Checked here: argparse (3.11) rejects an empty nargs="*" list that has choices.
    for name in args.what:
        if name not in known:
            print(
                f"c360 bench: unknown bench {name!r} (choose from {', '.join(known)})",
                file=sys.stderr,
            )
            raise SystemExit(2)  # a usage error, as argparse's
    names: list[str] = []
    for name in args.what or ["all"]:
        for n in STACK_BENCHES if name == "all" else (name,):
            if n not in names:
                names.append(n)
    log_dir = args.log_dir or Path(tempfile.mkdtemp(prefix="c360-bench-"))
    # SIGTERM unwinds like Ctrl-C, so the broker, Redis and workers started here are stopped.
    previous = signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        doc = run_benches(
            names,
            quick=args.quick,
            bootstrap=None if args.embedded else args.bootstrap,
            redis_url=None if args.embedded else args.redis_url,
            log_dir=log_dir,
            say=_say,
            pop_rates=tuple(float(r) for r in args.pop_rates.split(",") if r.strip()),
            seconds=args.seconds,
            linger_ms=args.linger_ms,
        )
    finally:
        signal.signal(signal.SIGTERM, previous)
    print(table(doc["figures"]))
    for item in doc["unavailable"]:
        print(f"{item['bench']}: {item['reason']}")
    for item in doc["errors"]:
        print(f"{item['bench']}: ERROR {item['error']}")
    text = json.dumps(doc)
    if args.json == "-":
        print(text)
    elif args.json:
        Path(args.json).write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    return 1 if doc["errors"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
