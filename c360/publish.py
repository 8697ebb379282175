"""`c360 publish FILE`: validate canonical JSON events and publish them to Kafka as Avro."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from c360 import options, reach
from infra.kafka_config import KafkaEndpoint
from infra.kafka_producer import make_producer, produce_all
from infra.settings_streams import ToolSettings
from schemas import canonical_json, codec, json_limits
from schemas.errors import SchemaError
from schemas.topics import CATALOGUE, INTERACTIONS
from schemas.validation import LIMITS, validate


def _documents(path: Path) -> Iterator[tuple[int, str]]:
    """(line number, JSON text) of a JSON-lines file, or of each item of a JSON array;
    raises SchemaError for an array that is not JSON or nests too deeply."""
    text = path.read_text(encoding="utf-8")
    if text.lstrip().startswith("["):
        for n, item in enumerate(json_limits.loads(text), start=1):
            yield n, json.dumps(item)
        return
    for n, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            yield n, line


def key_of(record: object) -> bytes | None:
    """The catalogue key of a record: interaction id for interaction events."""
    for attr in ("interaction_id", "profile_id"):
        value = getattr(record, attr, None)
        if value:
            tenant = getattr(record, "tenant_id", "")
            return (f"{tenant}:{value}" if attr == "profile_id" else str(value)).encode()
    return None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """`c360 publish` options (also used by the `c360` command's tree)."""
    defaults = ToolSettings.from_env()  # the C360_* defaults of the options
    parser.add_argument("file", type=Path, help="JSON lines or a JSON array of records")
    parser.add_argument(
        "--topic",
        default=INTERACTIONS,
        choices=[spec.name for spec in CATALOGUE],
        help="catalogue topic to publish to, without the prefix (default: %(default)s)",
    )
    parser.add_argument(
        "--bootstrap", default=defaults.kafka_bootstrap_servers, help=options.BOOTSTRAP
    )
    parser.add_argument("--prefix", default=defaults.topic_prefix, help=options.PREFIX)
    parser.add_argument(
        "--json", action="store_true", help="publish the canonical JSON bytes instead of Avro"
    )
    parser.add_argument(
        "--earliest",
        type=_day,
        default=LIMITS.earliest,
        help="oldest plausible time, YYYY-MM-DD (default 2000-01-01; the newest is now + 1 day)",
    )
    parser.set_defaults(run=run)


def main(argv: list[str] | None = None) -> int:
    """`python -m c360.publish`: the same as `c360 publish`."""
    parser = argparse.ArgumentParser(prog="c360 publish", description=__doc__)
    add_arguments(parser)
    return run(parser.parse_args(argv))


def run(args: argparse.Namespace) -> int:
    """Validate every record first (schema, then plausibility: schemas/validation.py);
    publish only when all are valid (no partial files)."""
    defaults = ToolSettings.from_env()
    limits = dataclasses.replace(LIMITS, earliest=args.earliest)
    batch: list[tuple[bytes | None, bytes]] = []
    problems: list[str] = []
    try:
        documents = list(_documents(args.file))
    except SchemaError as exc:
        print(f"{args.file}: {exc}; nothing was published", file=sys.stderr)
        return 2
    for line, text in documents:
        try:
            record = canonical_json.from_json(text)
            validate(record, limits)  # ImplausibleValue names the field, never its text
        except SchemaError as exc:
            problems.append(f"{args.file}:{line}: {exc}")
            continue
        value = canonical_json.to_json(record).encode() if args.json else codec.encode(record)
        batch.append((key_of(record), value))
    if problems:
        print("\n".join(problems), file=sys.stderr)
        print(f"{len(problems)} invalid record(s); nothing was published", file=sys.stderr)
        return 2
    kafka = KafkaEndpoint.from_settings(defaults, args.bootstrap)  # --bootstrap: servers only
    reach.require_kafka(kafka)
    sent = produce_all(make_producer(kafka), args.prefix + args.topic, batch)
    print(
        f"Published {sent} record(s) to {args.prefix + args.topic}; "
        "the streams worker applies them within seconds (see the panel or `c360 dlq list`)."
    )
    return 0


def _day(text: str) -> datetime:
    try:
        return datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a YYYY-MM-DD date: {text!r}") from None


if __name__ == "__main__":
    raise SystemExit(main())
