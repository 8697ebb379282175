"""Interaction scenarios the read-model tests share (pure event lists)."""

from __future__ import annotations

from datetime import timedelta

from schemas.records import (
    InteractionAccepted,
    InteractionEnded,
    InteractionEvent,
    InteractionOffered,
    InteractionTransferred,
)
from tests.factories import CALLER, CENTRE, T0, eid


def conference_call(iid: str) -> list[InteractionEvent]:
    """IVR, queue, agent A, conference with agent B (overlapping), both legs end; no
    interaction-level end event."""
    at = lambda s: T0 + timedelta(seconds=s)  # noqa: E731
    return [
        InteractionOffered(
            eid(),
            "acme",
            at(0),
            iid,
            "voice",
            "inbound",
            CALLER,
            CENTRE,
            stage="ivr",
            ivr_path=("menu", "sales"),
        ),
        InteractionOffered(
            eid(),
            "acme",
            at(20),
            iid,
            "voice",
            "inbound",
            CALLER,
            CENTRE,
            stage="queued",
            queue="Sales",
        ),
        InteractionAccepted(
            eid(), "acme", at(30), iid, "voice", "a1", agent_name="Ada", leg_id="l1", queue="Sales"
        ),
        InteractionTransferred(
            eid(),
            "acme",
            at(60),
            iid,
            "voice",
            "conference",
            from_agent_id="a1",
            to_agent_id="a2",
            leg_id="l2",
        ),
        InteractionAccepted(
            eid(), "acme", at(65), iid, "voice", "a2", agent_name="Bo", leg_id="l2"
        ),
        InteractionEnded(
            eid(),
            "acme",
            at(130),
            iid,
            "voice",
            "inbound",
            CALLER,
            CENTRE,
            100,
            leg_id="l1",
            agent_id="a1",
        ),
        InteractionEnded(
            eid(),
            "acme",
            at(120),
            iid,
            "voice",
            "inbound",
            CALLER,
            CENTRE,
            55,
            leg_id="l2",
            agent_id="a2",
        ),
    ]
