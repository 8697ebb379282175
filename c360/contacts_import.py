"""`c360 contacts import FILE.csv`: validate contact rows, publish profiles, report every row."""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import secrets
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from c360 import reach
from c360.contacts_csv import (
    Header,
    HeaderError,
    ImportContext,
    Row,
    parse_header,
    read_rows,
    validate_row,
)
from c360.contacts_report import Report, write_report
from core.audit import audit_record, looks_identifying
from core.profile_schema import (
    UNIQUE_PHONE,
    ProfileConfig,
    ProfileSchemaError,
    config_from_json,
)
from infra.audit_kafka import BlockingAuditTrail, cli_audit_trail, operator
from infra.kafka_config import KafkaEndpoint
from infra.kafka_producer import PublishFailed
from infra.settings_streams import ToolSettings
from projections.keys import Keys
from projections.redis_client import redis_client
from projections.redis_profiles import RedisProfileDirectory
from schemas.records import AuditRecorded
from schemas.topics import CONTACTS
from streams.settings import ConfigError, StreamSettings

BATCH = 2000


class _Publisher:
    """The confluent-kafka producer, created only when something is published."""

    def __init__(self, kafka: KafkaEndpoint, topic: str) -> None:
        from infra.kafka_producer import make_producer  # noqa: PLC0415 - no client for --dry-run

        self.topic = topic
        self.producer = make_producer(kafka, "c360-contacts-import")

    def send(self, rows: list[Row]) -> int:
        from infra.kafka_producer import produce_all  # noqa: PLC0415
        from schemas import codec  # noqa: PLC0415

        batch = [
            (f"{r.record.tenant_id}:{r.record.profile_id}".encode(), codec.encode(r.record))
            for r in rows
            if r.record is not None
        ]
        return produce_all(self.producer, self.topic, batch)


async def _flush(
    rows: list[Row],
    ctx: ImportContext,
    directory: RedisProfileDirectory,
    state: dict[str, Any],
    report: Report,
    publisher: _Publisher | None,
) -> None:
    """Decide created/updated against the directory (and earlier rows), warn about phones
    that move under unique-phone, publish the valid rows."""
    valid = [r for r in rows if r.record is not None]
    ids = [r.record.profile_id for r in valid if r.record is not None]
    known = await directory.known(ctx.tenant_id, ids)
    seen: dict[str, int] = state["seen"]
    if ctx.schema.uniqueness == UNIQUE_PHONE:
        await _phone_moves(valid, ctx, directory, state, report)
    for row in rows:
        if row.record is None:
            report.add(row.line, row.profile_id, "rejected", row.reasons)
            continue
        pid = row.record.profile_id
        exists = seen[pid] != -1 if pid in seen else pid in known
        seen[pid] = -1 if row.record.deleted else row.line
        status = "deleted" if row.record.deleted else "updated" if exists else "created"
        report.add(row.line, pid, status, ())
    if publisher is not None and valid:
        report.published += publisher.send(valid)


async def _phone_moves(
    valid: list[Row],
    ctx: ImportContext,
    directory: RedisProfileDirectory,
    state: dict[str, Any],
    report: Report,
) -> None:
    owners_in_file: dict[str, tuple[int, str]] = state["phones"]
    tokens = sorted({p.token for r in valid for p in r.phones})
    current = dict(zip(tokens, await directory.lookup_many(ctx.tenant_id, tokens), strict=True))
    for row in valid:
        assert row.record is not None
        pid = row.record.profile_id
        for phone in row.phones:
            earlier = owners_in_file.get(phone.token)
            before = (earlier[1], f"line {earlier[0]}") if earlier else None
            if before is None and current.get(phone.token):
                before = (current[phone.token][0], "the directory")
            if before is not None and before[0] != pid:
                report.warnings.append(
                    {
                        "line": row.line,
                        "profile_id": pid,
                        "kind": "phone_moved",
                        "message": f"a phone of this row moves from profile {before[0]} "
                        f"({before[1]}) under the unique-phone policy",
                    }
                )
            owners_in_file[phone.token] = (row.line, pid)


def run_import(
    args: argparse.Namespace, settings: StreamSettings, report: Report | None = None
) -> Report:
    """Stream the file, validate, decide, publish in batches; returns the report (`report`,
    when given, is filled as it goes: its counts stand when publishing fails halfway).

    The file loop is synchronous; directory calls run on one private event loop per import.
    """
    schema = ProfileConfig()
    if args.schema:
        schema = config_from_json(Path(args.schema).read_text(encoding="utf-8"))
    tenant = args.tenant or settings.default_tenant
    # Whole seconds: the stamp must survive timestamp-millis exactly (see _wait_applied).
    started = datetime.now(tz=UTC).replace(microsecond=0)
    ctx = ImportContext(
        tenant, settings, schema.for_tenant(tenant), started, secrets.randbits(64), args.source
    )
    report = report or new_report(args, tenant)
    state: dict[str, Any] = {"seen": {}, "phones": {}}
    with asyncio.Runner() as loop:
        client = redis_client(settings.redis_url)
        directory = RedisProfileDirectory(client, Keys(settings.key_namespace), schema.policy_for)
        publisher = None
        if not args.dry_run:
            publisher = _Publisher(KafkaEndpoint.from_settings(settings), settings.topic(CONTACTS))
        try:
            for batch in _batches(Path(args.file), ctx, report):
                loop.run(_flush(batch, ctx, directory, state, report, publisher))
            if args.wait and publisher is not None:
                report.applied = loop.run(_wait_applied(directory, ctx, state["seen"], args.wait))
        finally:
            loop.run(client.aclose())
    return report


def new_report(args: argparse.Namespace, tenant: str) -> Report:
    """An empty report of this import (per-row lines only for a .csv report)."""
    return Report(str(args.file), tenant, rows=[] if args.report.suffix == ".csv" else None)


def file_sha256(path: Path) -> str:
    """The audit target of an import: what was imported, without naming anyone in it."""
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def audit_event(
    args: argparse.Namespace, report: Report, actor: str, error: BaseException | None = None
) -> AuditRecorded:
    """The AuditRecorded of one import (never of a dry run): the file's sha256 and the
    counts; a failed one (the broker stopped taking rows) names the error's type."""
    summary = report.summary()
    details = {
        k: str(summary[k])
        for k in ("rows", "created", "updated", "deleted", "rejected", "published")
    }
    # The source label is free text: kept only when it cannot be an identifier.
    details["source"] = "withheld" if looks_identifying(args.source) else args.source
    if report.applied is not None:
        details["applied"] = str(report.applied)
    if error is not None:
        details["error"] = type(error).__name__
    return audit_record(
        tenant=report.tenant,
        actor_kind="operator",
        actor=actor,
        action="contacts_import",
        target=file_sha256(Path(args.file)),
        outcome="failed" if error else "ok",
        at=datetime.now(tz=UTC),
        details=details,
    )


def _record(trail: BlockingAuditTrail, event: AuditRecorded) -> bool:
    try:
        trail.record_blocking(event)
    except PublishFailed as exc:
        print(f"c360 contacts import: the audit record was not published: {exc}", file=sys.stderr)
        return False
    return True


def _batches(path: Path, ctx: ImportContext, report: Report) -> Iterator[list[Row]]:
    """Validated rows in batches; the header is mapped first (HeaderError stops everything)."""
    header: Header | None = None
    batch: list[Row] = []
    with path.open(encoding="utf-8-sig", errors="replace", newline="") as handle:
        for line, cells, error in read_rows(handle):
            if header is None:
                if error or cells is None:
                    raise HeaderError(f"line {line}: {error or 'no header row'}")
                header = parse_header(cells, ctx.schema)
                continue
            if cells is not None and not any(c.strip() for c in cells):
                report.blank += 1
                continue
            if cells is None:
                batch.append(Row(line, None, reasons=(error or "malformed CSV",)))
            else:
                batch.append(validate_row(cells, header, line, ctx))
            if len(batch) >= BATCH:
                yield batch
                batch = []
    if header is None:
        raise HeaderError("the file is empty (no header row)")
    yield batch


async def _wait_applied(
    directory: RedisProfileDirectory, ctx: ImportContext, seen: dict[str, int], seconds: float
) -> int:
    """Poll until the streams worker applied every published row (or `seconds` pass): a
    profile is applied when its stored stamp is this run's last row for it (deletes: gone)."""
    deadline = time.monotonic() + seconds
    pending = dict(seen)
    base_ms = int(ctx.occurred_at.timestamp()) * 1000
    while pending and time.monotonic() < deadline:
        ids = list(pending)
        for start in range(0, len(ids), BATCH):
            chunk = ids[start : start + BATCH]
            found = await directory.get_many(ctx.tenant_id, chunk)
            for pid in chunk:
                line = pending[pid]
                if line == -1:
                    done = pid not in found
                else:
                    done = pid in found and found[pid].stamp >= (base_ms, ctx.event_id(line))
                if done:
                    del pending[pid]
        if pending:
            await asyncio.sleep(0.5)
    return len(seen) - len(pending)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="c360 contacts import",
        description="Import contact profiles from a CSV file into the profile directory.",
    )
    add_arguments(parser)
    return parser


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """`c360 contacts import` options (also used by the `c360` command's tree)."""
    defaults = ToolSettings.from_env()  # the C360_* defaults of the options
    parser.add_argument("file", type=Path, help="CSV with a header row (UTF-8)")
    parser.add_argument("--tenant", help="tenant id (default: C360_DEFAULT_TENANT)")
    parser.add_argument(
        "--schema",
        default=defaults.profile_schema_file or None,
        help="tenant profile schema JSON (default: C360_PROFILE_SCHEMA_FILE)",
    )
    parser.add_argument(
        "--report",
        type=Path,
        help="report path, .json (summary) or .csv (every row); default FILE.report.json "
        "(a dry run: FILE.dry-run.report.json, so it never replaces a real import's report)",
    )
    parser.add_argument("--source", default="csv", help="source recorded on each profile")
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="validate and report what would be created/updated; publish nothing",
    )
    parser.add_argument(
        "--wait",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="after publishing, wait until the streams worker applied every row",
    )
    parser.set_defaults(run=run)


def default_report(file: Path, dry_run: bool) -> Path:
    """FILE.report.json, or FILE.dry-run.report.json: a dry run never replaces a real report."""
    return file.with_name(file.name + (".dry-run" if dry_run else "") + ".report.json")


def main(argv: list[str] | None = None, trail: BlockingAuditTrail | None = None) -> int:
    """0: all rows imported; 1: some rows rejected (see the report); 2: nothing imported
    (bad header, schema, settings or file); 3: the broker did not take every record, or
    the import's audit record (one per real import on the audit topic; tests pass `trail`)."""
    return run(_parser().parse_args(argv), trail)


def run(args: argparse.Namespace, trail: BlockingAuditTrail | None = None) -> int:
    """`c360 contacts import` with parsed arguments (see main)."""
    args.report = args.report or default_report(args.file, args.dry_run)
    began = time.monotonic()
    try:
        settings = StreamSettings.from_env()
        if not args.dry_run:
            reach.require_kafka(KafkaEndpoint.from_settings(settings))
        reach.require_redis(settings.redis_url)
        report = new_report(args, args.tenant or settings.default_tenant)
        # A dry run publishes nothing and is not audited.
        trail = (
            None
            if args.dry_run
            else trail
            or cli_audit_trail(
                settings.kafka_bootstrap_servers, settings.topic_prefix, "c360-contacts-import"
            )
        )
        run_import(args, settings, report)
    except (ConfigError, ProfileSchemaError, HeaderError, OSError) as exc:
        print(f"c360 contacts import: {exc}", file=sys.stderr)
        return 2
    except PublishFailed as exc:
        print(f"c360 contacts import: publishing failed: {exc}", file=sys.stderr)
        if trail is not None and report.published:
            # Some rows went out: that import happened, partly, and goes on record.
            _record(trail, audit_event(args, report, operator(), exc))
        return 3
    write_report(report, args.report)
    summary = report.summary()
    seconds = time.monotonic() - began
    if args.dry_run:
        counts = ", ".join(f"{summary[k]} would be {k}" for k in ("created", "updated", "deleted"))
        print(
            f"Dry run: nothing was published. {summary['rows']} rows checked: {counts}, "
            f"{summary['rejected']} rejected, in {seconds:.1f}s; report: {args.report}. "
            "Run again without --dry-run to import."
        )
    else:
        counts = ", ".join(
            f"{summary[k]} {k}" for k in ("created", "updated", "deleted", "rejected", "published")
        )
        applied = "" if report.applied is None else f", {report.applied} applied"
        print(f"{summary['rows']} rows: {counts}{applied} in {seconds:.1f}s; report: {args.report}")
    for item in report.rejects[:10]:
        print(f"  line {item['line']}: {'; '.join(item['reasons'])}", file=sys.stderr)
    if report.rejected > 10:
        print(f"  ... {report.rejected - 10} more in the report", file=sys.stderr)
    if trail is not None and not _record(trail, audit_event(args, report, operator())):
        return 3
    return 1 if report.rejected else 0


if __name__ == "__main__":
    raise SystemExit(main())
