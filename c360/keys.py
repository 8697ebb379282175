"""`c360 keys create|list|revoke`: service API keys (stored hashed, shown once, audited)."""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from c360 import options, reach
from core.access import KNOWN_SCOPES, TENANT, valid_scope
from core.api_keys import ApiKey, compose, secret_hash
from core.audit import audit_record
from infra.audit_kafka import cli_audit_trail, operator
from infra.kafka_config import KafkaEndpoint
from infra.kafka_producer import PublishFailed
from infra.settings_streams import ToolSettings
from projections.keys import Keys
from projections.redis_api_keys import RedisApiKeys
from projections.redis_client import redis_client

MAX_DAYS = 3650


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="c360 keys", description="Create, list and revoke service API keys."
    )
    add_arguments(p)
    return p


def add_arguments(p: argparse.ArgumentParser) -> None:
    """`c360 keys create|list|revoke` (also used by the `c360` command's tree)."""
    defaults = ToolSettings.from_env()  # the C360_* defaults, as every other tool
    p.add_argument("--redis", default=defaults.redis_url, help=options.REDIS_URL)
    p.add_argument(
        "--namespace",
        default=defaults.key_namespace,
        help="Redis key namespace (default: $C360_KEY_NAMESPACE or c360)",
    )
    p.add_argument("--bootstrap", default=defaults.kafka_bootstrap_servers,
                   help=options.BOOTSTRAP + ", for the audit record")
    p.add_argument("--topic-prefix", default=defaults.topic_prefix, help=options.PREFIX)
    sub = p.add_subparsers(dest="verb", required=True, metavar="{create,list,revoke}")
    c = sub.add_parser(
        "create",
        help="create a key and print it once",
        description="Create a service API key; it is printed once and never stored in clear.",
    )
    c.add_argument("--tenant", required=True, help="the tenant every request of the key acts for")
    c.add_argument(
        "--scope",
        action="append",
        required=True,
        dest="scopes",
        help=f"a scope it carries (repeat): {', '.join(KNOWN_SCOPES)}, ingest:<source>",
    )
    c.add_argument("--name", required=True, help="what the key is for (shown by list)")
    c.add_argument(
        "--expires-days",
        type=int,
        default=90,
        help=f"days until it stops working (1..{MAX_DAYS}, default 90)",
    )
    ls = sub.add_parser(
        "list",
        help="list keys (never their secrets)",
        description="List keys, never their secrets.",
    )
    ls.add_argument("--tenant", help="only this tenant's keys")
    ls.add_argument("--json", action="store_true", help="one JSON object per line")
    r = sub.add_parser(
        "revoke",
        help="revoke a key at once (idempotent)",
        description="Revoke a key: requests carrying it are refused from now on.",
    )
    r.add_argument("key_id", help="the key id (the 16 hex digits after c360k_)")
    p.set_defaults(run=run)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `c360 keys`; exit 0 on success, 1 on failure, 2 on bad usage."""
    return run(_parser().parse_args(argv))


def run(args: argparse.Namespace) -> int:
    """`c360 keys` with parsed arguments (see main)."""
    reach.require_redis(args.redis)
    if args.verb != "list":  # create and revoke put an audit record on the broker
        reach.require_kafka(KafkaEndpoint.from_settings(ToolSettings.from_env(), args.bootstrap))
    try:
        return asyncio.run(_run(args))
    except PublishFailed as exc:
        print(f"c360 keys: the audit record could not be published: {exc}", file=sys.stderr)
        return 1


async def _run(args: argparse.Namespace) -> int:
    client = redis_client(args.redis)
    store = RedisApiKeys(client, Keys(args.namespace))
    try:
        if args.verb == "create":
            return await _create(args, store)
        if args.verb == "list":
            return await _list(args, store)
        return await _revoke(args, store)
    finally:
        await client.aclose()


def new_key(
    tenant: str,
    scopes: Sequence[str],
    name: str,
    ttl_ms: int,
    created_by: str,
    now_ms: int | None = None,
) -> tuple[ApiKey, str]:
    """A new key's record (to store) and the key string (to hand out once). Also used by
    the benches and tests that call the real service."""
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    key_id, secret = secrets.token_hex(8), secrets.token_urlsafe(32)
    record = ApiKey(
        key_id,
        tenant,
        frozenset(scopes),
        name[:100],
        now_ms,
        now_ms + ttl_ms,
        secret_hash(secret),
        created_by=created_by,
    )
    return record, compose(key_id, secret)


async def _create(args: argparse.Namespace, store: RedisApiKeys) -> int:
    bad = [s for s in args.scopes if not valid_scope(s)]
    if bad or not TENANT.match(args.tenant) or not 1 <= args.expires_days <= MAX_DAYS:
        problems = [f"unknown scope {s!r}" for s in bad]
        if not TENANT.match(args.tenant):
            problems.append("tenant must be 1-64 of A-Z a-z 0-9 . _ -")
        if not 1 <= args.expires_days <= MAX_DAYS:
            problems.append(f"--expires-days must be 1..{MAX_DAYS}")
        print("c360 keys create: " + "; ".join(problems), file=sys.stderr)
        return 2
    record, presented = new_key(
        args.tenant, args.scopes, args.name, args.expires_days * 86_400_000, operator()
    )
    key_id = record.key_id
    await store.put(record)
    try:
        _audit(args, record, "key_created")
    except PublishFailed:
        # No privileged action without its trail: a key whose creation is not on record
        # is revoked at once (the record stays, revoked, for `list`).
        await store.revoke(key_id, int(time.time() * 1000))
        raise
    print(presented)
    print(
        f"Created key {key_id} for tenant {record.tenant} with scopes "
        f"{', '.join(sorted(record.scopes))}, expiring {_day(record.expires_ms)}. "
        "This is the only time the key is shown: store it in your secret manager.",
        file=sys.stderr,
    )
    return 0


async def _list(args: argparse.Namespace, store: RedisApiKeys) -> int:
    now_ms = int(time.time() * 1000)
    rows = [k for k in await store.all() if args.tenant in (None, k.tenant)]
    if args.json:
        for k in rows:
            print(json.dumps(_row(k, now_ms)))
        return 0
    if not rows:
        print("No API keys" + (f" for tenant {args.tenant}." if args.tenant else "."))
        return 0
    print(f"{'KEY ID':16}  {'TENANT':12}  {'STATE':8}  {'EXPIRES':10}  {'SCOPES':28}  NAME")
    for k in rows:
        row = _row(k, now_ms)
        print(
            f"{k.key_id:16}  {k.tenant:12.12}  {row['state']:8}  {row['expires']:10}  "
            f"{','.join(row['scopes']):28.28}  {k.name}"
        )
    return 0


async def _revoke(args: argparse.Namespace, store: RedisApiKeys) -> int:
    record = await store.revoke(args.key_id, int(time.time() * 1000))
    if record is None:
        print(
            f"c360 keys revoke: no key {args.key_id!r}; `c360 keys list` shows the ids.",
            file=sys.stderr,
        )
        return 1
    _audit(args, record, "key_revoked")
    print(
        f"Key {record.key_id} ({record.name}, tenant {record.tenant}) is revoked: requests "
        "with it get 401 from now on."
    )
    return 0


def _audit(args: argparse.Namespace, record: ApiKey, action: str) -> None:
    event = audit_record(
        tenant=record.tenant,
        actor_kind="operator",
        actor=operator(),
        action=action,
        target=record.key_id,
        outcome="ok",
        at=datetime.now(UTC),
        details={"scopes": " ".join(sorted(record.scopes))},
    )
    cli_audit_trail(args.bootstrap, args.topic_prefix, "c360-keys").record_blocking(event)


def _row(k: ApiKey, now_ms: int) -> dict[str, Any]:
    return {
        "key_id": k.key_id,
        "tenant": k.tenant,
        "name": k.name,
        "state": k.state(now_ms),
        "scopes": sorted(k.scopes),
        "created": _day(k.created_ms),
        "expires": _day(k.expires_ms),
        "created_by": k.created_by,
    }


def _day(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d")
