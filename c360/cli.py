"""The `c360` command: the dev stack, topics, workers, and the tools (see `c360 COMMAND --help`)."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from c360 import options, reach
from c360.procs import module_available

# Tools with their own module: `c360 <words> ...` -> the module's `add_arguments(parser)`
# builds the sub-parser and its `run(args)` runs it (`main(argv)` stays for tests and
# `python -m`). A missing module is reported when used, not fatal for the others.
TOOLS: dict[tuple[str, ...], tuple[str, str]] = {
    ("publish",): ("c360.publish", "validate JSON events from FILE and publish them"),
    ("contacts", "import"): ("c360.contacts_import", "import contact profiles from a CSV FILE"),
    ("dlq",): ("c360.dlq", "list, show and re-drive dead-lettered events"),
    ("replay",): ("c360.replay", "rebuild a projection from the retained topics"),
    ("forget",): ("c360.forget", "erase a customer's identifiers (GDPR)"),
    ("keys",): ("c360.keys", "create, list and revoke service API keys"),
    ("audit",): ("c360.audit_log", "print the audit trail of privileged actions"),
    ("bench",): ("c360.bench", "live, pops, replay, query, memory, soak vs same-run baselines"),
    ("bench", "readmodel"): ("c360.bench_readmodel", "read-model memory and read latency"),
    ("demo",): ("c360.demo", "publish a live demo call (default) or demo history"),
}
GROUPS = {"contacts": "manage contact profiles (import)"}
# Commands that talk to the broker or Redis: only they take the running dev stack's
# addresses, and only they say so.
STACK_COMMANDS = frozenset(
    {"publish", "contacts", "dlq", "replay", "forget", "keys", "audit", "demo", "topics"}
)

# `c360 worker NAME ARGS...` replaces this process with the worker (exec), so the
# worker gets signals directly: PID 1 in a container, the unit's main pid under systemd.
WORKERS: dict[str, tuple[str, ...]] = {
    "streams": ("-m", "streams", "worker", "-l", "info"),  # see devspecs
    "web": ("-m", "web.service"),
    "crm-sink": ("-m", "connectors.crm.worker"),
}


def _use_running_dev_stack() -> str | None:
    """Point tools at the `c360 dev up` stack of this directory when one is ready and the
    user set no broker/Redis of their own (its ports are random each run); returns the line
    that says so (printed once the command line parsed, unless -q)."""
    from c360 import devstate  # noqa: PLC0415

    data_dir = Path(os.environ.get("C360_DATA_DIR", str(devstate.DEFAULT_DATA_DIR)))
    found = devstate.tool_env(data_dir, os.environ)
    if not found:
        return None
    os.environ.update(found)
    wired = ("C360_KAFKA_BOOTSTRAP_SERVERS", "C360_REDIS_URL")
    shown = ", ".join(f"{k}={found[k]}" for k in wired if k in found)
    return f"c360: using the running dev stack ({data_dir}): {shown} (-q: quiet)"


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
    reach.require_kafka(kafka)
    if args.action == "create":
        created, existing = create_topics(kafka, args.prefix, replication=args.replication)
        for name in created:
            print(f"created  {name}")
        for name in existing:
            print(f"exists   {name}")
        print(f"Created {len(created)} topic(s); {len(existing)} existed already.")
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


def _missing(module_name: str, words: tuple[str, ...]) -> Callable[[argparse.Namespace], int]:
    def run(_args: argparse.Namespace) -> int:
        print(
            f"c360 {' '.join(words)}: not available yet ({module_name} is missing)", file=sys.stderr
        )
        return 2

    return run


def _add_tool(sub: Any, words: tuple[str, ...], name: str) -> None:
    module_name, text = TOOLS[words]
    if not module_available(module_name):
        tool = sub.add_parser(name, help=f"{text} (not installed)", add_help=False)
        tool.add_argument("rest", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
        tool.set_defaults(run=_missing(module_name, words))
        return
    module = importlib.import_module(module_name)
    tool = sub.add_parser(
        name, help=text, description=module.__doc__, prog=f"c360 {' '.join(words)}"
    )
    module.add_arguments(tool)


def build_parser() -> argparse.ArgumentParser:
    """The whole command tree: every command and option, with its help."""
    from infra.settings_streams import ToolSettings  # noqa: PLC0415 - keeps `c360 --help` fast

    defaults = ToolSettings.from_env()  # the C360_* defaults of the options
    parser = argparse.ArgumentParser(prog="c360", description=__doc__)
    parser.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help="do not print which running dev stack the command uses",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    dev = sub.add_parser(
        "dev",
        help="run the whole stack locally (Tansu + Redis + workers)",
        description="Run the whole stack locally: a Tansu broker, Redis and the workers.",
    )
    dev_sub = dev.add_subparsers(dest="action", required=True, metavar="ACTION")
    up = dev_sub.add_parser(
        "up",
        help="start the stack in the foreground (Ctrl-C stops it)",
        description="Start broker, Redis and workers, publish demo data, print the links.",
    )
    up.add_argument(
        "--http-port",
        type=int,
        default=8360,
        help="port of the panel and API (default: %(default)s; 0 picks a free one)",
    )
    up.add_argument("--no-demo", action="store_true", help="do not publish demo data")
    up.add_argument(
        "--kafka-bootstrap", default=None, help="use this broker instead of starting Tansu"
    )
    up.add_argument(
        "--skip",
        action="append",
        default=[],
        metavar="NAME",
        help="do not start this worker (repeatable)",
    )
    dev_sub.add_parser(
        "down",
        help="stop the stack started by `c360 dev up`",
        description="Stop the stack that `c360 dev up` started here.",
    )
    dev_sub.add_parser(
        "status",
        help="is a stack running, and where",
        description="Say whether a stack runs here, and its addresses.",
    )
    for verb in (up, *dev_sub.choices.values()):
        if not any(a.dest == "data_dir" for a in verb._actions):
            verb.add_argument(
                "--data-dir",
                default=str(Path(".c360/dev")),
                help="where the stack keeps its state and logs (default: %(default)s)",
            )
    dev.set_defaults(run=cmd_dev, http_port=8360, no_demo=False, kafka_bootstrap=None, skip=[])

    topics = sub.add_parser(
        "topics",
        help="create or list the catalogue topics",
        description="Create the catalogue's topics, or list them and say which are missing.",
    )
    topics_sub = topics.add_subparsers(dest="action", required=True, metavar="ACTION")
    for action, text in (
        ("create", "create the missing catalogue topics"),
        ("list", "list the topics; exit 1 when a catalogue topic is missing"),
    ):
        t = topics_sub.add_parser(action, help=text, description=text[0].upper() + text[1:] + ".")
        t.add_argument(
            "--bootstrap", default=defaults.kafka_bootstrap_servers, help=options.BOOTSTRAP
        )
        t.add_argument("--prefix", default=defaults.topic_prefix, help=options.PREFIX)
        if action == "create":
            t.add_argument(
                "--replication",
                type=int,
                default=1,
                help="replicas per topic (default: %(default)s; 3 in production)",
            )
    topics.set_defaults(run=cmd_topics, replication=1)

    worker = sub.add_parser(
        "worker",
        help="run one worker in the foreground",
        description="Run one worker in this process (a container's or a unit's main process).",
    )
    worker.add_argument("name", choices=sorted(WORKERS), help="which worker")
    worker.add_argument("rest", nargs=argparse.REMAINDER, help="passed to the worker")
    worker.set_defaults(run=cmd_worker)

    contacts = sub.add_parser(
        "contacts", help=GROUPS["contacts"], description="Manage contact profiles."
    )
    contacts_sub = contacts.add_subparsers(dest="verb", required=True, metavar="ACTION")
    for words in TOOLS:
        if words == ("contacts", "import"):
            _add_tool(contacts_sub, words, "import")
        elif len(words) == 1:
            _add_tool(sub, words, words[0])
        else:  # `c360 bench readmodel`: bench takes free positionals (see main)
            _add_tool(sub, words, " ".join(words))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `c360` console script."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    rest = [a for a in args_list if a not in ("-q", "--quiet")]
    if rest[:2] == ["bench", "readmodel"]:  # one token: `bench` takes BENCH names itself
        at = args_list.index("bench")
        args_list[at : at + 2] = ["bench readmodel"]
    line = None
    if rest and rest[0] in STACK_COMMANDS:
        # Before the parser: the options' defaults come from the stack's C360_* settings.
        line = _use_running_dev_stack()
    args = build_parser().parse_args(args_list)
    if line and not args.quiet:
        print(line, file=sys.stderr)
    code: int = args.run(args)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
