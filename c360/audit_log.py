"""`c360 audit`: print the audit trail (c360.audit.v1), one JSON object per action."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from datetime import UTC, datetime

from confluent_kafka import KafkaException

from c360 import options, reach
from c360.replay_offsets import DEFAULT_LIMITS, Limits, read_to_end
from core.audit import ACTIONS
from infra.kafka_config import KafkaEndpoint
from infra.settings_streams import ToolSettings
from schemas import codec
from schemas.errors import SchemaError
from schemas.records import AuditRecorded
from schemas.topics import AUDIT


def read_audit(
    bootstrap: str, topic: str, timeout: float = 10.0, limits: Limits = DEFAULT_LIMITS
) -> Iterator[tuple[int, AuditRecorded | None]]:
    """Every record of the audit topic from its start to its end: (offset, record or None
    when undecodable). The end is replay's rule, as `c360 dlq` reads (FACTS M3)."""
    # The deployment's Kafka security settings; `bootstrap` replaces the servers only.
    kafka = KafkaEndpoint.from_settings(ToolSettings.from_env(), bootstrap)
    for offset, raw in read_to_end(kafka, topic, "c360-audit", timeout, limits):
        try:
            record = codec.decode(raw)
        except SchemaError:
            record = None
        yield offset, record if isinstance(record, AuditRecorded) else None


def _since(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """`c360 audit` options (also used by the `c360` command's tree)."""
    defaults = ToolSettings.from_env()
    parser.add_argument("--tenant", help="only this tenant's actions")
    parser.add_argument("--action", choices=ACTIONS, help="only this kind of action")
    parser.add_argument("--actor", help="only this actor (ops:<name>, an agent or key id)")
    parser.add_argument("--since", type=_since, help="only from this ISO time (UTC if naive)")
    parser.add_argument(
        "--bootstrap", default=defaults.kafka_bootstrap_servers, help=options.BOOTSTRAP
    )
    parser.add_argument("--prefix", default=defaults.topic_prefix, help=options.PREFIX)
    parser.set_defaults(run=run)


def main(argv: list[str] | None = None) -> int:
    """`python -m c360.audit_log`: the same as `c360 audit`."""
    parser = argparse.ArgumentParser(prog="c360 audit", description=__doc__)
    add_arguments(parser)
    return run(parser.parse_args(argv))


def run(args: argparse.Namespace) -> int:
    """Print the selected audit records, oldest first, each event id once (a retried
    publish is the same action). Exit 0, or 1 when the topic cannot be read."""
    reach.require_kafka(KafkaEndpoint.from_settings(ToolSettings.from_env(), args.bootstrap))
    seen: set[str] = set()
    count = 0
    try:
        for offset, record in read_audit(args.bootstrap, args.prefix + AUDIT):
            if record is None:
                print(json.dumps({"offset": offset, "undecodable": True}))
                continue
            if record.event_id in seen or not _selected(args, record):
                continue
            seen.add(record.event_id)
            count += 1
            print(json.dumps(_row(offset, record)))
    except KafkaException as exc:
        print(f"c360 audit: cannot read {args.prefix + AUDIT}: {exc}", file=sys.stderr)
        return 1
    # On stderr: stdout stays one JSON object per line for scripts.
    print(f"{count} audit record(s)." if count else "No audit records match.", file=sys.stderr)
    return 0


def _selected(args: argparse.Namespace, r: AuditRecorded) -> bool:
    return (
        args.tenant in (None, r.tenant_id)
        and args.action in (None, r.action)
        and args.actor in (None, r.actor)
        and (args.since is None or r.occurred_at >= args.since)
    )


def _row(offset: int, r: AuditRecorded) -> dict[str, object]:
    return {
        "offset": offset,
        "occurred_at": r.occurred_at.isoformat(),
        "tenant": r.tenant_id,
        "actor_kind": r.actor_kind,
        "actor": r.actor,
        "action": r.action,
        "target": r.target,
        "outcome": r.outcome,
        "details": r.details,
        "event_id": r.event_id,
    }


if __name__ == "__main__":
    raise SystemExit(main())
