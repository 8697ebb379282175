"""`c360 forget`: erase a customer's identifiers (erasure request on Kafka + their Redis keys)."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import sys
import uuid
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import redis.asyncio as aioredis
from confluent_kafka import KafkaException

from c360 import reach
from core.audit import audit_record
from core.errors import InvalidIdentifier
from core.ports import Party
from infra.audit_kafka import BlockingAuditTrail, cli_audit_trail, operator
from infra.kafka_config import KafkaEndpoint
from infra.kafka_producer import PublishFailed, make_producer, produce_all
from projections.keys import Keys, interaction_of_field
from projections.redis_client import redis_client
from projections.redis_timeline import META_FIELD
from schemas.records import AuditRecorded
from schemas.topics import ERASURE
from streams.handlers import party_for_identifier
from streams.settings import ConfigError, StreamSettings

RECORD_TYPE = "ErasureRequested"  # canonical JSON form; see docs/erasure.md
# The suffix after the party tag names what a key holds (projections/keys.py builds them).
_KINDS = {
    "tl": "timeline_index",
    "tx": "timeline_entries",
    "tb": "timeline_tombstones",
    "claims": "identifier_claims",
    "owners": "ownership_log",
}
_GLOB_SPECIAL = "\\*?[]"
NOT_ERASED = (
    "Kafka topics keep the events (interactions, by-party, screen pops, activities, DLQ, "
    "contacts) until retention expires: crypto-shredding is the production answer (not "
    "implemented, docs/erasure.md)",
    "profile documents that list the identifier (profiles_listing_identifier) keep it until "
    "the profile is corrected at its source (CRM/CSV) and re-imported",
    "CRM records and activities created from these interactions live in the CRM",
    "interactions where the identifier is the other side of another party's entry",
    "Redis backups/AOF history until they rotate",
)


@dataclass(slots=True)
class PartyReport:
    """What forgetting one identifier did (never the identifier itself)."""

    identifier: int  # position on the command line, 1-based
    kind: str
    party_token: str
    erasure_event_id: str | None = None
    removed: Counter[str] = field(default_factory=Counter)
    profiles_listing_identifier: list[str] = field(default_factory=list)
    remaining_after: int = 0
    interactions: int = 0  # interactions of the party found in its timeline keys

    def as_json(self) -> dict[str, Any]:
        """The report line as printed."""
        return {
            "identifier": f"#{self.identifier}",
            "kind": self.kind,
            "party_token": self.party_token,
            "erasure_event_id": self.erasure_event_id,
            "removed": dict(sorted(self.removed.items())),
            "profiles_listing_identifier": self.profiles_listing_identifier,
            "interactions": self.interactions,
            "remaining_after": self.remaining_after,
        }


def erasure_request(
    party: Party, requested_by: str, reason: str | None, now: datetime
) -> tuple[str, bytes]:
    """(event id, canonical JSON of the erasure request): token, kind, never the value."""
    event_id = str(uuid.uuid4())
    moment = now.astimezone(UTC)
    doc = {
        "type": RECORD_TYPE,
        "event_id": event_id,
        "tenant_id": party.tenant_id,
        "occurred_at": moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z",
        "party_token": party.token,
        "party_kind": party.kind,
        "normalizer_version": party.normalizer_version,
        "requested_by": requested_by,
        "reason": reason,
        "schema_version": 1,
    }
    return event_id, json.dumps(doc, separators=(",", ":")).encode()


def key_kind(suffix: str) -> str:
    """timeline_index | timeline_entries | timeline_tombstones | identifier_claims |
    ownership_log | other:<x>."""
    head = suffix.split(":", 1)[0]
    return _KINDS.get(head, f"other:{head}")


def _glob(text: str) -> str:
    return "".join("\\" + c if c in _GLOB_SPECIAL else c for c in text)


def _text(raw: object) -> str:
    return raw.decode() if isinstance(raw, bytes) else str(raw)


def _iid(field: object) -> str:
    """The interaction id of an entry-hash field or index member (bytes: no decoding)."""
    return interaction_of_field(field if isinstance(field, bytes) else str(field).encode())


async def _party_keys(client: aioredis.Redis, tag: str) -> list[str]:
    # SCAN MATCH on this party's hash tag only (never a global KEYS/scan of everything);
    # SCAN may return a key twice, hence the set.
    found = {_text(k) async for k in client.scan_iter(match=_glob(tag) + ":*", count=500)}
    return sorted(found)


async def _interaction_keys(
    client: aioredis.Redis, keys: Keys, tenant: str, token: str, iids: set[str]
) -> list[tuple[str, str]]:
    """(kind, key) of per-interaction keys that belong to this party."""
    out: list[tuple[str, str]] = []
    for iid in sorted(iids):
        party_raw = await client.get(keys.interaction_party(tenant, iid))
        ours = party_raw is not None and json.loads(party_raw)[0] == token
        if ours:
            out += [
                ("interaction_party", keys.interaction_party(tenant, iid)),
                ("parked_events", keys.interaction_parked(tenant, iid)),
                ("screen_pop_cache", keys.screen_pop_cache(tenant, iid)),
            ]
        link_token = await client.hget(keys.interaction_link(tenant, iid), "")
        if ours or (link_token is not None and _text(link_token) == token):
            out.append(("interaction_link", keys.interaction_link(tenant, iid)))
    return out


ERASED_MARKER_SECONDS = 400 * 86_400  # longer than the 365-day default retention


async def erase_party(
    client: aioredis.Redis, keys: Keys, report: PartyReport, tenant: str, *, dry_run: bool
) -> None:
    """Delete every key under the party's hash tag, and the per-interaction keys of its
    interactions; fills report.removed (counts by kind of what was actually deleted)."""
    token = report.party_token
    tag = keys.party_tag(tenant, token)
    marker = keys.erased(tenant, token)
    if not dry_run:
        # First, so events still in flight stop projecting at once (the projector's write
        # script checks it); no PII: it sits under the token's tag. Kept past retention so
        # a replay cannot bring the party back either.
        await client.set(marker, "1", ex=ERASED_MARKER_SECONDS)
    found = [
        (key_kind(k[len(tag) + 1 :]), k) for k in await _party_keys(client, tag) if k != marker
    ]
    iids: set[str] = set()
    for kind, key in found:
        if kind == "timeline_entries":
            # The meta field (counts, due times) is no interaction.
            iids.update(_iid(f) for f in await client.hkeys(key) if f != META_FIELD)
        elif kind == "timeline_index":
            iids.update(_iid(m) for m in await client.zrange(key, 0, -1))
        elif kind == "identifier_claims":
            claimants = await client.hkeys(key)
            listed = {*report.profiles_listing_identifier, *map(_text, claimants)} - {""}
            report.profiles_listing_identifier = sorted(listed)
    report.interactions = len(iids)
    found += await _interaction_keys(client, keys, tenant, token, iids)
    if dry_run:
        existing = [kind for kind, key in found if await client.exists(key)]
        report.removed.update(existing)
        return
    # The entries hash goes first: a write landing mid-way then finds no meta and checks
    # the erasure marker, instead of re-creating an index with no expiry.
    found.sort(key=lambda item: item[0] != "timeline_entries")
    async with client.pipeline(transaction=False) as pipe:
        for _kind, key in found:
            pipe.delete(key)  # one key per DEL: interaction keys live in other cluster slots
        deleted = await pipe.execute()
    report.removed.update(kind for (kind, _), n in zip(found, deleted, strict=True) if n)
    # A projector writing this party concurrently can re-create keys; say so.
    report.remaining_after += len([k for k in await _party_keys(client, tag) if k != marker])


def audit_event(
    tenant: str, report: PartyReport, actor: str, at: datetime, error: BaseException | None
) -> AuditRecorded:
    """The AuditRecorded of forgetting one party: the token, counts and the erasure event id
    (its cause, so a retried record keeps its id); never the identifier or the reason text."""
    failed = error is not None or report.remaining_after > 0
    details = {
        "party_kind": report.kind,
        "erasure_event_id": str(report.erasure_event_id),
        "keys_removed": str(sum(report.removed.values())),
        "interactions": str(report.interactions),
        "profiles_listing_identifier": str(len(report.profiles_listing_identifier)),
        "remaining_after": str(report.remaining_after),
        **{f"removed:{kind}": str(n) for kind, n in report.removed.items()},
    }
    if error is not None:
        details["error"] = type(error).__name__
    return audit_record(
        tenant=tenant,
        actor_kind="operator",
        actor=actor,
        action="forget",
        target=report.party_token,
        outcome="failed" if failed else "ok",
        at=at,
        details=details,
        cause=report.erasure_event_id,
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """`c360 forget` options (also used by the `c360` command's tree)."""
    parser.add_argument("--tenant", required=True, help="the tenant the customer belongs to")
    parser.add_argument(
        "--identifier",
        action="append",
        required=True,
        help="phone number or email, in any accepted format (repeatable)",
    )
    parser.add_argument("--reason", default=None, help="e.g. a ticket or request reference")
    parser.add_argument("--requested-by", default=None, help="default: the OS user")
    parser.add_argument(
        "--namespace",
        action="append",
        default=None,
        help="Redis key namespace(s) to erase (default C360_KEY_NAMESPACE; "
        "add a blue/green rebuild namespace while one exists)",
    )
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="report what would be removed; publish and delete nothing",
    )
    parser.set_defaults(run=run)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="c360 forget", description=__doc__)
    add_arguments(parser)
    return parser


def _parties(settings: StreamSettings, tenant: str, raws: Sequence[str]) -> list[Party] | str:
    parties: list[Party] = []
    for n, raw in enumerate(raws, start=1):
        try:
            parties.append(party_for_identifier(tenant, raw, settings))
        except InvalidIdentifier as exc:  # its message never quotes the value
            return f"identifier #{n}: {exc}"
    return parties


async def _erase_all(
    settings: StreamSettings,
    namespaces: Sequence[str],
    reports: list[PartyReport],
    tenant: str,
    dry_run: bool,
) -> None:
    client = redis_client(settings.redis_url)
    try:
        for report in reports:
            for namespace in namespaces:
                await erase_party(client, Keys(namespace), report, tenant, dry_run=dry_run)
    finally:
        await client.aclose()


def main(
    argv: list[str] | None = None,
    env: Mapping[str, str] | None = None,
    trail: BlockingAuditTrail | None = None,
) -> int:
    """Publish one erasure request per identifier, then delete its Redis keys, then record
    one audit record per identifier on the audit topic (`trail`: tests pass the twin); print
    a JSON report. Exit 0 done, 1 keys re-appeared (rerun), 2 bad input/config, 3 broker
    failed (the erasure request: nothing erased; the audit record: erased, not on record)."""
    return run(_parser().parse_args(argv), env, trail)


def run(
    args: argparse.Namespace,
    env: Mapping[str, str] | None = None,
    trail: BlockingAuditTrail | None = None,
) -> int:
    """`c360 forget` with parsed arguments (see main)."""
    try:
        settings = StreamSettings.from_env(env)
    except ConfigError as exc:
        print(f"c360 forget: {exc}", file=sys.stderr)
        return 2
    if not args.dry_run:
        reach.require_kafka(KafkaEndpoint.from_settings(settings))
    reach.require_redis(settings.redis_url)
    parties = _parties(settings, args.tenant, args.identifier)
    if isinstance(parties, str):
        print(f"c360 forget: {parties}", file=sys.stderr)
        return 2
    reports = [PartyReport(n, p.kind, p.token) for n, p in enumerate(parties, start=1)]
    if not args.dry_run:
        # The durable request first: if Redis fails halfway, consumers of the erasure topic
        # (and a rerun) still know what to erase; the deletions are idempotent.
        by = args.requested_by or f"cli:{getpass.getuser()}"
        now = datetime.now(tz=UTC)
        batch = []
        for party, report in zip(parties, reports, strict=True):
            report.erasure_event_id, value = erasure_request(party, by, args.reason, now)
            batch.append((f"{party.tenant_id}:{party.token}".encode(), value))
        try:
            produce_all(
                make_producer(KafkaEndpoint.from_settings(settings), "c360-forget"),
                settings.topic(ERASURE),
                batch,
            )
        except (PublishFailed, KafkaException) as exc:
            print(
                f"c360 forget: erasure request not published, nothing erased: {exc}",
                file=sys.stderr,
            )
            return 3
    namespaces = args.namespace or [settings.key_namespace]
    failure: BaseException | None = None
    try:
        asyncio.run(_erase_all(settings, namespaces, reports, args.tenant, args.dry_run))
    except Exception as exc:  # recorded as a failed forget, then raised as before
        failure = exc
    unaudited = None
    if not args.dry_run:
        # A dry run changes nothing and is not audited; a broker that refused the erasure
        # request above refused the trail too (nothing was erased: exit 3 said so).
        trail = trail or cli_audit_trail(
            settings.kafka_bootstrap_servers, settings.topic_prefix, "c360-forget"
        )
        actor, at = operator(env), datetime.now(tz=UTC)
        try:
            for report in reports:
                trail.record_blocking(audit_event(args.tenant, report, actor, at, failure))
        except PublishFailed as exc:
            unaudited = exc
    if failure is not None:
        raise failure
    print(
        json.dumps(
            {
                "tenant": args.tenant,
                "dry_run": args.dry_run,
                "namespaces": namespaces,
                "parties": [r.as_json() for r in reports],
                "not_erased": list(NOT_ERASED),
            },
            indent=2,
        )
    )
    if unaudited is not None:
        print(
            f"c360 forget: erased, but the audit record was not published: {unaudited}",
            file=sys.stderr,
        )
        return 3
    print(
        ("Dry run: nothing was published or deleted; " if args.dry_run else "Erased ")
        + f"{len(reports)} identifier(s) of tenant {args.tenant} in {', '.join(namespaces)}"
        + (
            "."
            if args.dry_run
            else "; the erasure request is on the erasure topic for the"
            " other systems, and `c360 audit --action forget` shows the record."
        ),
        file=sys.stderr,
    )
    return 1 if any(r.remaining_after for r in reports) else 0


if __name__ == "__main__":
    raise SystemExit(main())
