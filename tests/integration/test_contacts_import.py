"""`c360 contacts import` on the real broker and real Redis: 100k rows with malformed ones, an
accurate report, and (with the streams worker running) profiles that pop."""

from __future__ import annotations

import asyncio
import csv
import hashlib
import json
from datetime import UTC, datetime

import pytest

from c360 import contacts_import
from core.profile_schema import config_from_dict
from core.profiles import Profile
from projections.keys import Keys
from projections.redis_client import redis_client
from projections.redis_profiles import RedisProfileDirectory
from schemas import codec
from schemas.records import AuditRecorded
from schemas.topics import AUDIT, CONTACTS

pytestmark = pytest.mark.integration

TENANT = "acme"
SCHEMA = {"tenants": {TENANT: {"uniqueness": "unique_phone", "attributes": [
    {"name": "tier", "type": "text", "choices": ["gold", "silver"]},
    {"name": "ltv", "type": "number"}, {"name": "vip", "type": "boolean"},
    {"name": "renewal", "type": "date"}, {"name": "tags", "type": "list"}]}}}
HEADER = ["profile_id", "name", "phone", "email", "tier", "ltv", "vip", "renewal", "tags"]
ROWS = 100_000
SEEDED = 1_000  # profiles already in the directory: their rows must count as updated


def _phone(n: int) -> str:
    # London drama range 020 7946 0xxx is too small for 100k; +44 20 3xxx xxxx numbers are
    # valid and never dialled here (nothing is called, they only normalize).
    return f"+44 20 3{n:07d}"


def _write_csv(path) -> dict[int, str]:
    """The test file; returns line -> expected reject reason fragment for malformed rows."""
    bad: dict[int, str] = {}
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(HEADER)
        line = 1
        for n in range(ROWS):
            line += 1
            kind = n % 1000
            if kind == 11:
                writer.writerow([f"p-{n}", "Bad phone", "12", "", "", "", "", "", ""])
                bad[line] = "phones[1]"
            elif kind == 22:
                writer.writerow([f"p-{n}", "Bad tier", _phone(n), "", "platinum", "", "", "", ""])
                bad[line] = "tier"
            elif kind == 33:
                writer.writerow([f"p-{n}", "Short row", _phone(n)])
                bad[line] = "fields"
            elif kind == 44:
                writer.writerow(["who@example.com", "Email id", _phone(n), "", "", "", "", "", ""])
                bad[line] = "profile_id"
            else:
                writer.writerow([f"p-{n}", f"Customer {n}", _phone(n), f"c{n}@example.com",
                                 "gold" if n % 2 else "silver", str(n), "yes" if n % 7 else "no",
                                 "2026-01-31", "a|b"])
    return bad


@pytest.fixture
def env(monkeypatch, kafka_bootstrap, topic_prefix, redis_url, redis_namespace, tmp_path):
    """The import's environment: this test's broker prefix and Redis namespace."""
    schema = tmp_path / "schema.json"
    schema.write_text(json.dumps(SCHEMA))
    for name, value in {
        "C360_ENV": "dev", "C360_DEFAULT_REGION": "GB", "C360_KAFKA_BOOTSTRAP_SERVERS":
        kafka_bootstrap, "C360_TOPIC_PREFIX": topic_prefix, "C360_REDIS_URL": redis_url,
        "C360_KEY_NAMESPACE": redis_namespace, "C360_PROFILE_SCHEMA_FILE": str(schema),
    }.items():
        monkeypatch.setenv(name, value)
    return {"prefix": topic_prefix, "namespace": redis_namespace, "redis_url": redis_url}


async def _seed(redis_url: str, namespace: str) -> None:
    client = redis_client(redis_url)
    directory = RedisProfileDirectory(client, Keys(namespace),
                                      config_from_dict(SCHEMA).policy_for)
    stamp_ms = int(datetime(2024, 1, 1, tzinfo=UTC).timestamp() * 1000)
    for n in range(SEEDED):
        await directory.upsert(Profile(TENANT, f"p-{n}", (stamp_ms, f"seed-{n}")))
    await client.aclose()


def test_100k_rows_with_malformed_ones_give_an_exact_report(env, tmp_path, consume_until):
    """Every row is accounted for: created/updated against the directory, each malformed
    line rejected with its reason, and exactly the valid rows published."""
    path = tmp_path / "contacts.csv"
    bad = _write_csv(path)
    asyncio.run(_seed(env["redis_url"], env["namespace"]))
    report_path = tmp_path / "report.json"
    code = contacts_import.main([str(path), "--tenant", TENANT, "--report", str(report_path)])
    report = json.loads(report_path.read_text())
    assert code == 1  # some rows were rejected
    valid = ROWS - len(bad)
    seeded_bad = sum(1 for line in bad if line - 2 < SEEDED)
    assert report["rows"] == ROWS
    assert report["rejected"] == len(bad)
    assert report["updated"] == SEEDED - seeded_bad
    assert report["created"] == valid - (SEEDED - seeded_bad)
    assert report["published"] == valid
    got = {r["line"]: " ".join(r["reasons"]) for r in report["rejects"]}
    assert set(got) == set(bad)
    assert all(bad[line] in got[line] for line in bad)
    assert all("example.com" not in reason for reason in got.values())  # no raw values
    records = consume_until(env["prefix"] + CONTACTS, lambda rs: len(rs) >= valid, 120)
    assert len(records) == valid
    keys = {r.key for r in records}
    assert len(keys) == valid and all(k.startswith(b"acme:p-") for k in keys)


def test_header_problems_import_nothing(env, tmp_path, consume_until):
    """An unknown column is a fatal error: exit 2, nothing published, no silent drops."""
    path = tmp_path / "bad.csv"
    path.write_text("profile_id,name,favourite_colour\np-1,Alice,blue\n")
    assert contacts_import.main([str(path), "--tenant", TENANT]) == 2
    assert consume_until(env["prefix"] + CONTACTS, timeout=3) == []


def test_an_import_is_audited_once_and_a_dry_run_not_at_all(
    env, tmp_path, consume_until, monkeypatch
):
    """One AuditRecorded per real import on c360.audit.v1: the operator, the file's sha256,
    the counts; none of the file's phone numbers or emails in its bytes. --dry-run: none."""
    path = tmp_path / "few.csv"
    rows = [["p-1", "Ann", "+44 20 7946 0123", "ann@example.com", "gold", "", "", "", ""],
            ["p-2", "Bob", "020 7946 0456", "bob@example.org", "", "", "", "", ""],
            ["p-3", "Bad", "12", "", "", "", "", "", ""]]
    with path.open("w", newline="", encoding="utf-8") as out:
        csv.writer(out).writerows([HEADER, *rows])
    assert contacts_import.main([str(path), "--tenant", TENANT, "--dry-run"]) == 1
    assert consume_until(env["prefix"] + AUDIT, timeout=3) == []
    monkeypatch.setenv("C360_OPERATOR", "sam")
    assert contacts_import.main([str(path), "--tenant", TENANT]) == 1
    got = consume_until(env["prefix"] + AUDIT, lambda rs: len(rs) > 1, 5)
    [received] = got
    record = codec.decode(received.value)
    assert isinstance(record, AuditRecorded) and received.key == TENANT.encode()
    assert (record.actor_kind, record.actor, record.action, record.outcome) == (
        "operator", "ops:sam", "contacts_import", "ok")
    assert record.target == hashlib.sha256(path.read_bytes()).hexdigest()
    assert {k: record.details[k] for k in ("created", "updated", "rejected", "published")} == {
        "created": "2", "updated": "0", "rejected": "1", "published": "2"}
    raw = received.value + (received.key or b"")
    for value in ("+44 20 7946 0123", "+442079460123", "2079460123", "020 7946 0456",
                  "2079460456", "ann@example.com", "bob@example.org", "example"):
        assert value.encode() not in raw


def test_a_dry_run_says_so_publishes_nothing_and_keeps_the_real_report(
    env, tmp_path, consume_until, capsys
):
    """--dry-run: labelled "Dry run: nothing was published", counts what would be created/
    updated against the real directory, writes FILE.dry-run.report.json and leaves an
    existing FILE.report.json (a real import's) as it was; nothing reaches the broker."""
    asyncio.run(_seed(env["redis_url"], env["namespace"]))  # p-0 .. p-999 exist
    path = tmp_path / "few.csv"
    rows = [["p-1", "Ann", "+44 20 7946 0123", "", "gold", "", "", "", ""],
            ["p-new", "Bob", "020 7946 0456", "", "", "", "", "", ""],
            ["p-bad", "Bad", "12", "", "", "", "", "", ""]]
    with path.open("w", newline="", encoding="utf-8") as out:
        csv.writer(out).writerows([HEADER, *rows])
    real = tmp_path / "few.csv.report.json"
    real.write_text('{"a real import": true}')
    assert contacts_import.main([str(path), "--tenant", TENANT, "--dry-run"]) == 1
    out = capsys.readouterr().out
    dry = tmp_path / "few.csv.dry-run.report.json"
    assert out.startswith("Dry run: nothing was published.")
    assert "1 would be created, 1 would be updated" in out and "1 rejected" in out
    assert str(dry) in out
    report = json.loads(dry.read_text())
    assert (report["created"], report["updated"], report["rejected"]) == (1, 1, 1)
    assert report["published"] == 0
    assert real.read_text() == '{"a real import": true}'
    assert consume_until(env["prefix"] + CONTACTS, timeout=3) == []
    assert consume_until(env["prefix"] + AUDIT, timeout=1) == []
