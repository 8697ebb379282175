"""The `c360` command: dev stack, topics, workers, and dispatch to the tool modules."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from c360.procs import module_available

# Tools written by other modules: `c360 <words> ARGS...` -> `<module>.main(ARGS)`; each
# module exposes `main(argv: list[str]) -> int`. A missing module is reported, not fatal.
TOOLS: dict[tuple[str, ...], tuple[str, str]] = {
    ("publish",): ("c360.publish", "validate JSON events from FILE and publish them"),
    ("contacts", "import"): ("c360.contacts_import", "import contact profiles from a CSV FILE"),
    ("dlq",): ("c360.dlq", "inspect and re-drive dead-lettered events"),
    ("replay",): ("c360.replay", "rebuild a projection from the retained topics"),
    ("forget",): ("c360.forget", "erase a customer's identifiers (GDPR)"),
    ("keys",): ("c360.keys", "create, list and revoke service API keys"),
    ("audit",): ("c360.audit_log", "print the audit trail of privileged actions"),
    ("bench", "readmodel"): ("c360.bench_readmodel", "read-model memory and read latency"),
    ("bench",): ("c360.bench", "live, pops, replay, query, memory, soak vs same-run baselines"),
    ("demo",): ("c360.demo", "publish demo history or a live demo call"),
}

# `c360 worker NAME ARGS...` replaces this process with the worker (exec), so the
# worker gets signals directly: PID 1 in a container, the unit's main pid under systemd.
WORKERS: dict[str, tuple[str, ...]] = {
    "streams": ("-m", "streams", "worker", "-l", "info"),  # see devspecs
    "web": ("-m", "web.service"),
    "crm-sink": ("-m", "connectors.crm.worker"),
}


def _dispatch(words: tuple[str, ...], argv: list[str]) -> int:
    module_name, _ = TOOLS[words]
    if not module_available(module_name):
        print(f"c360 {' '.join(words)}: not available yet ({module_name} is missing)",
              file=sys.stderr)
        return 2
    _use_running_dev_stack()
    main: Callable[[list[str]], int | None] = importlib.import_module(module_name).main
    return int(main(argv) or 0)


def _use_running_dev_stack() -> None:
    """Point tools at the `c360 dev up` stack of this directory when one is ready and the
    user set no broker/Redis of their own (its ports are random each run)."""
    from c360 import devstate  # noqa: PLC0415

    data_dir = Path(os.environ.get("C360_DATA_DIR", str(devstate.DEFAULT_DATA_DIR)))
    found = devstate.tool_env(data_dir, os.environ)
    if found:
        os.environ.update(found)
        wired = ("C360_KAFKA_BOOTSTRAP_SERVERS", "C360_REDIS_URL")
        shown = ", ".join(f"{k}={found[k]}" for k in wired if k in found)
        print(f"c360: using the running dev stack ({data_dir}): {shown}", file=sys.stderr)


def _match_tool(argv: Sequence[str]) -> tuple[str, ...] | None:
    for words in sorted(TOOLS, key=len, reverse=True):
        if tuple(argv[: len(words)]) == words:
            return words
    return None


def cmd_dev(args: argparse.Namespace) -> int:
    """`c360 dev up|down|status`."""
    from c360 import devstate  # noqa: PLC0415 - keeps `c360 --help` fast

    data_dir = Path(args.data_dir)
    if args.action == "down":
        return devstate.down(data_dir, print)
    if args.action == "status":
        return devstate.status(data_dir, print)
    from c360.devstack import DevStack, UpOptions  # noqa: PLC0415

    options = UpOptions(
        http_port=args.http_port,
        demo=not args.no_demo,
        data_dir=data_dir,
        kafka_bootstrap=args.kafka_bootstrap,
        skip=tuple(args.skip),
    )
    return DevStack(options).up()


def cmd_topics(args: argparse.Namespace) -> int:
    """`c360 topics create|list` against C360_KAFKA_BOOTSTRAP_SERVERS."""
    from c360.kafka_admin import create_topics, list_topics  # noqa: PLC0415
    from infra.kafka_config import KafkaEndpoint  # noqa: PLC0415
    from infra.settings_streams import ToolSettings  # noqa: PLC0415
    from schemas.topics import CATALOGUE  # noqa: PLC0415

    # SASL/TLS from C360_KAFKA_*; --bootstrap overrides the servers only.
    kafka = KafkaEndpoint.from_settings(ToolSettings.from_env(), args.bootstrap)
    if args.action == "create":
        created, existing = create_topics(kafka, args.prefix, replication=args.replication)
        for name in created:
            print(f"created  {name}")
        for name in existing:
            print(f"exists   {name}")
        return 0
    topics = list_topics(kafka)
    declared = {args.prefix + spec.name for spec in CATALOGUE}
    for name in sorted(topics):
        mark = "catalogue" if name in declared else ""
        print(f"{name:<48} {topics[name]:>3} partitions  {mark}")
    missing = sorted(declared - set(topics))
    for name in missing:
        print(f"{name:<48} MISSING (c360 topics create)")
    return 1 if missing else 0


def cmd_worker(args: argparse.Namespace) -> int:
    """Exec the named worker in this process."""
    argv = [sys.executable, *WORKERS[args.name], *args.rest]
    os.execv(sys.executable, argv)  # noqa: S606 - fixed argv, no shell
    return 0  # pragma: no cover - execv does not return


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (tools listed for --help; they parse their own arguments)."""
    from infra.settings_streams import ToolSettings  # noqa: PLC0415 - keeps `c360 --help` fast

    defaults = ToolSettings.from_env()  # the C360_* defaults of the options
    parser = argparse.ArgumentParser(prog="c360", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    dev = sub.add_parser("dev", help="run the whole stack locally (Tansu + Redis + workers)")
    dev.add_argument("action", choices=["up", "down", "status"])
    dev.add_argument("--http-port", type=int, default=8360, help="0 picks a free port")
    dev.add_argument("--no-demo", action="store_true", help="do not publish demo data")
    dev.add_argument("--data-dir", default=str(Path(".c360/dev")))
    dev.add_argument("--kafka-bootstrap", default=None,
                     help="use this broker instead of starting Tansu")
    dev.add_argument("--skip", action="append", default=[], metavar="NAME",
                     help="do not start this worker (repeatable)")
    dev.set_defaults(func=cmd_dev)

    topics = sub.add_parser("topics", help="create or list the catalogue topics")
    topics.add_argument("action", choices=["create", "list"])
    topics.add_argument("--bootstrap", default=defaults.kafka_bootstrap_servers,
                        help="default: $C360_KAFKA_BOOTSTRAP_SERVERS")
    topics.add_argument("--prefix", default=defaults.topic_prefix)
    topics.add_argument("--replication", type=int, default=1)
    topics.set_defaults(func=cmd_topics)

    worker = sub.add_parser("worker", help="run one worker in the foreground")
    worker.add_argument("name", choices=sorted(WORKERS))
    worker.add_argument("rest", nargs=argparse.REMAINDER, help="passed to the worker")
    worker.set_defaults(func=cmd_worker)

    for words, (module_name, text) in TOOLS.items():
        sub.add_parser(" ".join(words), help=f"{text} ({module_name})", add_help=False)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `c360` console script."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    words = _match_tool(args_list)
    if words is not None:
        return _dispatch(words, args_list[len(words):])
    args = build_parser().parse_args(args_list)
    code: int = args.func(args)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
