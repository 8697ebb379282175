"""`c360 dlq list|redrive`: inspect dead letters and re-drive their original bytes."""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator

from c360 import options, reach
from c360.replay_offsets import DEFAULT_LIMITS, Limits, read_to_end
from infra.kafka_config import Brokers, KafkaEndpoint
from infra.kafka_producer import make_producer, produce_all
from infra.settings_streams import ToolSettings
from schemas import codec
from schemas.errors import SchemaError
from schemas.records import DeadLetter
from schemas.topics import DLQ


def read_dead_letters(
    brokers: Brokers, topic: str, timeout: float = 10.0, limits: Limits = DEFAULT_LIMITS
) -> Iterator[tuple[int, DeadLetter | None, bytes]]:
    """Every record of the DLQ topic from its start to its end (offset, letter, raw). The
    end is replay's rule (c360.replay_offsets): the high watermark alone stops short of a
    batch's later records on Tansu (FACTS M3)."""
    for offset, raw in read_to_end(brokers, topic, "c360-dlq", timeout, limits):
        try:
            letter = codec.decode(raw)
        except SchemaError:
            letter = None
        yield offset, letter if isinstance(letter, DeadLetter) else None, raw


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """`c360 dlq list|show|redrive` (also used by the `c360` command's tree)."""
    defaults = ToolSettings.from_env()  # the C360_* defaults of the options
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--stage", help="only letters of this agent/worker stage")
    common.add_argument("--error-type", help="only letters with this error type")
    common.add_argument(
        "--bootstrap", default=defaults.kafka_bootstrap_servers, help=options.BOOTSTRAP
    )
    common.add_argument("--prefix", default=defaults.topic_prefix, help=options.PREFIX)
    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    ls = sub.add_parser(
        "list",
        parents=[common],
        help="a table of the dead letters (texts shortened)",
        description="A table of the dead letters; `c360 dlq show OFFSET` prints one in full.",
    )
    ls.add_argument("--json", action="store_true", help="one JSON object per letter instead")
    show = sub.add_parser(
        "show",
        parents=[common],
        help="one dead letter in full (its whole error text)",
        description="Print the dead letters at these DLQ offsets in full, as JSON.",
    )
    show.add_argument(
        "offsets",
        type=int,
        nargs="+",
        metavar="OFFSET",
        help="a DLQ offset, as in the first column of `c360 dlq list`",
    )
    redrive = sub.add_parser(
        "redrive",
        parents=[common],
        help="publish the selected letters' original bytes again",
        description="Re-publish the original bytes of the selected letters to the topic "
        "they came from (after the cause is fixed).",
    )
    redrive.add_argument(
        "--offset",
        type=int,
        action="append",
        help="only this DLQ offset (repeatable; default: every letter)",
    )
    parser.set_defaults(run=run, offset=None, json=False, offsets=None)


ERROR_WIDTH = 60


def main(argv: list[str] | None = None) -> int:
    """`python -m c360.dlq`: the same as `c360 dlq`."""
    parser = argparse.ArgumentParser(prog="c360 dlq", description=__doc__)
    add_arguments(parser)
    return run(parser.parse_args(argv))


def shorten(text: str, width: int = ERROR_WIDTH) -> str:
    """One line of at most `width` characters, cut at a word boundary with an ellipsis."""
    flat = " ".join(text.split())
    if len(flat) <= width:
        return flat
    cut = flat[: width - 1]
    space = cut.rfind(" ")
    return (cut[:space] if space > width // 2 else cut).rstrip(" ,;:.") + "…"


def _row(offset: int, letter: DeadLetter, full: bool) -> dict[str, object]:
    return {
        "offset": offset,
        "stage": letter.stage,
        "error_type": letter.error_type,
        "error": letter.error_message if full else letter.error_message[:200],
        "from": f"{letter.topic}/{letter.partition}@{letter.offset}",
        "bytes": len(letter.original_value or b""),
        "occurred_at": letter.occurred_at.isoformat(),
    }


def _table(rows: list[tuple[int, DeadLetter | None, int]]) -> str:
    head = ("OFFSET", "STAGE", "ERROR TYPE", "FROM", "ERROR")
    lines = [head]
    for offset, letter, size in rows:
        if letter is None:
            lines.append((str(offset), "-", "undecodable", "-", f"{size} bytes, not a dead letter"))
        else:
            lines.append(
                (
                    str(offset),
                    letter.stage,
                    letter.error_type,
                    f"{letter.topic}/{letter.partition}@{letter.offset}",
                    shorten(letter.error_message),
                )
            )
    widths = [max(len(line[i]) for line in lines) for i in range(len(head) - 1)]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(line[:-1], widths, strict=True))
        + "  "
        + line[-1]
        for line in lines
    )


def run(args: argparse.Namespace) -> int:
    """List dead letters (a table, or JSON lines), show some in full, or re-drive the
    selected ones to the topic they came from."""
    defaults = ToolSettings.from_env()
    kafka = KafkaEndpoint.from_settings(defaults, args.bootstrap)  # --bootstrap: servers only
    reach.require_kafka(kafka)
    wanted = args.offsets or args.offset
    selected: list[DeadLetter] = []
    rows: list[tuple[int, DeadLetter | None, int]] = []
    for offset, letter, raw in read_dead_letters(kafka, args.prefix + DLQ):
        if wanted and offset not in wanted:
            continue
        if letter is None:
            if not (args.stage or args.error_type):
                rows.append((offset, None, len(raw)))
            continue
        if (args.stage and letter.stage != args.stage) or (
            args.error_type and letter.error_type != args.error_type
        ):
            continue
        selected.append(letter)
        rows.append((offset, letter, len(raw)))
    if args.action == "show":
        for offset, letter, size in rows:
            doc = (
                {"offset": offset, "undecodable_bytes": size}
                if letter is None
                else _row(offset, letter, full=True)
            )
            print(json.dumps(doc, indent=2))
        if not rows:
            print(f"No dead letter at offset(s) {', '.join(map(str, wanted))}.")
            return 1
        return 0
    if args.json or args.action == "redrive":
        for offset, letter, size in rows:
            print(
                json.dumps(
                    {"offset": offset, "undecodable_bytes": size}
                    if letter is None
                    else _row(offset, letter, full=False)
                )
            )
    elif not rows:
        print(
            "No dead letters." if not (args.stage or args.error_type) else "No dead letters match."
        )
        return 0
    else:
        print(_table(rows))
        print(
            f"{len(rows)} dead letter(s). Full text: `c360 dlq show OFFSET`; after fixing "
            "the cause, `c360 dlq redrive` publishes them again."
        )
    if args.action == "redrive":
        return _redrive(kafka, selected)
    return 0


def _redrive(kafka: KafkaEndpoint, selected: list[DeadLetter]) -> int:
    by_topic: dict[str, list[tuple[bytes | None, bytes]]] = {}
    for letter in selected:
        if not letter.topic or letter.topic.startswith("http:"):
            # Rejected at the HTTP edge (ingest): not a Kafka topic to re-drive into;
            # fix the payload and POST it again (docs/ingest.md).
            print(f"skipped DLQ record from {letter.topic}: re-post it to the endpoint")
            continue
        if letter.original_value is not None:
            by_topic.setdefault(letter.topic, []).append(
                (letter.original_key, letter.original_value)
            )
    if not selected:
        print("No dead letters to redrive.")
        return 0
    producer = make_producer(kafka)
    for topic, batch in by_topic.items():
        produce_all(producer, topic, batch)
        print(f"re-drove {len(batch)} record(s) to {topic}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
