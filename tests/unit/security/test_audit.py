"""Audit records: deterministic ids, known actions, and no customer identifiers inside."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from core.audit import UnsafeAuditValue, audit_record, looks_identifying

AT = datetime(2026, 12, 1, 10, tzinfo=UTC)


def make(**kw):
    base = {"tenant": "acme", "actor_kind": "operator", "actor": "ops:jane", "action": "forget",
            "target": "9f2c4a7e1b3d5f60718293a4b5c6d7e8", "outcome": "ok", "at": AT}
    return audit_record(**{**base, **kw})


def test_same_action_same_id_and_different_action_different_id():
    assert make().event_id == make().event_id
    assert make().event_id != make(outcome="failed").event_id


@pytest.mark.parametrize("field", ["actor", "target"])
@pytest.mark.parametrize("value", ["+44 20 7946 0958", "alice@example.com", "020-7946-0958"])
def test_identifiers_never_reach_the_trail(field, value):
    with pytest.raises(UnsafeAuditValue, match=field):
        make(**{field: value})
    with pytest.raises(UnsafeAuditValue, match="note"):
        make(details={"note": value})


def test_opaque_ids_and_counts_are_fine_and_unknown_actions_refused():
    rec = make(details={"timeline_entries": "12", "key": "0123456789abcdef"})
    assert rec.details == {"key": "0123456789abcdef", "timeline_entries": "12"}
    with pytest.raises(ValueError, match="unknown audit"):
        make(action="drop_tables")


def test_a_cause_keeps_the_id_across_moments_and_distinguishes_causes():
    """A retry rebuilt later (same cause) keeps the id; another cause gets another."""
    later = AT.replace(minute=5)
    assert make(cause="e-1").event_id == make(cause="e-1", at=later).event_id
    assert make(cause="e-1").event_id != make(cause="e-2").event_id
    assert make(cause="e-1").event_id != make(cause="e-1", outcome="failed").event_id


def test_record_actions_are_known_and_looks_identifying_matches_the_refusal():
    assert make(action="link_record").action == "link_record"
    assert make(action="unlink_record").action == "unlink_record"
    assert looks_identifying("+44 20 7946 0958") and looks_identifying("a@b.example")
    assert not looks_identifying("ix-9")
    assert not looks_identifying("9f2c4a7e1b3d5f60718293a4b5c6d7e8")
