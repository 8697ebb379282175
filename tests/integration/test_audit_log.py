"""`c360 audit` on the real broker: the trail as JSON lines, filtered, each event id once."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from c360 import audit_log
from core.audit import audit_record
from infra.audit_kafka import cli_audit_trail

pytestmark = pytest.mark.integration
AT = datetime(2026, 12, 1, 10, tzinfo=UTC)


def test_the_trail_prints_filtered_and_deduplicated(
    kafka_bootstrap: str, topic_prefix: str, capsys: pytest.CaptureFixture[str]
) -> None:
    trail = cli_audit_trail(kafka_bootstrap, topic_prefix, "c360-test")
    forget = audit_record(
        tenant="acme",
        actor_kind="operator",
        actor="ops:jane",
        action="forget",
        target="9f2c4a7e1b3d5f60718293a4b5c6d7e8",
        outcome="ok",
        at=AT,
        details={"keys_removed": "9"},
    )
    revoke = audit_record(
        tenant="beta",
        actor_kind="operator",
        actor="ops:sam",
        action="key_revoked",
        target="0123456789abcdef",
        outcome="ok",
        at=AT,
    )
    for event in (forget, forget, revoke):  # the second: a retried publish
        trail.record_blocking(event)
    args = ["--bootstrap", kafka_bootstrap, "--prefix", topic_prefix]
    assert audit_log.main(args) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(r["tenant"], r["action"], r["actor"]) for r in rows] == [
        ("acme", "forget", "ops:jane"),
        ("beta", "key_revoked", "ops:sam"),
    ]
    assert rows[0]["details"] == {"keys_removed": "9"} and rows[0]["event_id"] == forget.event_id
    assert audit_log.main([*args, "--tenant", "beta"]) == 0
    [only] = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert only["target"] == "0123456789abcdef"
    assert audit_log.main([*args, "--since", "2027-01-01"]) == 0
    assert capsys.readouterr().out == ""
