"""ActivityRequested builders shared by the CRM mapping and contract tests."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

from schemas.records import ActivityRequested

AT = datetime(2024, 5, 6, 14, 30, 5, tzinfo=UTC)


def activity(**overrides: Any) -> ActivityRequested:
    """A wrapped-up inbound voice call with recording and transcript links."""
    base = ActivityRequested(
        event_id="6f1c2a8e-0000-4000-8000-000000000001",
        tenant_id="acme",
        occurred_at=AT,
        interaction_id="ix-1",
        idempotency_key="ix-1:crm:call",
        kind="call",
        revision=1,
        subject="Inbound call: billing question",
        body="Customer asked about the May invoice.",
        channel="voice",
        direction="inbound",
        started_at=AT,
        duration_seconds=125,
        disposition_code="resolved",
        customer_phone="+14155550100",
        recording_url="https://rec.example.com/ix-1.mp3",
        transcript_url="https://c360.example.com/ix-1/transcript",
    )
    return dataclasses.replace(base, **overrides)
