"""Factories and hypothesis strategies for canonical interaction events."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from hypothesis import strategies as st

from schemas.records import (
    InteractionAccepted,
    InteractionAnalyzed,
    InteractionEnded,
    InteractionEvent,
    InteractionOffered,
    InteractionTransferred,
    InteractionWrappedUp,
    RecordingAvailable,
)

# Tomorrow 09:00 UTC: Redis expires keys by the real clock (PXAT at start + window), so the
# tests' "now" must not be behind the real now, or entries at the window's edge would
# already be gone; everything is relative to T0.
T0 = datetime.now(tz=UTC).replace(hour=9, minute=0, second=0, microsecond=0) + timedelta(days=1)
CALLER = "+442079460123"
CENTRE = "+442079460999"


def eid() -> str:
    """A fresh event id."""
    return str(uuid.uuid4())


def voice_call(
    iid: str,
    *,
    tenant: str = "acme",
    start: datetime = T0,
    duration: int = 95,
    agent: str = "agent-1",
    caller: str = CALLER,
    queue: str | None = "Sales",
    disposition: str = "SALE",
) -> list[InteractionEvent]:
    """The canonical events of one routed inbound call that was answered and wrapped up."""
    end = start + timedelta(seconds=duration + 20)
    return [
        InteractionOffered(eid(), tenant, start, iid, "voice", "inbound", caller, CENTRE,
                           stage="queued", queue=queue),
        InteractionOffered(eid(), tenant, start + timedelta(seconds=10), iid, "voice", "inbound",
                           caller, CENTRE, stage="offered", agent_id=agent, queue=queue,
                           leg_id=f"{iid}-a1"),
        InteractionAccepted(eid(), tenant, start + timedelta(seconds=15), iid, "voice", agent,
                            agent_name="Ada", leg_id=f"{iid}-a1", queue=queue),
        InteractionEnded(eid(), tenant, end, iid, "voice", "inbound", caller, CENTRE, duration,
                         started_at=start),
        InteractionWrappedUp(eid(), tenant, end + timedelta(seconds=30), iid, "voice", agent,
                             disposition_code=disposition, notes="Customer renewed."),
    ]


_iids = st.sampled_from([f"ix-{n}" for n in range(6)])
_channels = st.sampled_from(["voice", "chat", "email"])
_times = st.integers(min_value=0, max_value=400 * 24 * 3600).map(
    lambda s: T0 - timedelta(seconds=s)
)
_ids = st.uuids().map(str)
_short = st.sampled_from(["Sales", "Support", "Billing", None])


def _clustered_time(iid: str) -> st.SearchStrategy[datetime]:
    # Interactions 20 days apart, each event within 6 hours of its interaction's base; the
    # last one straddles a 90-day window boundary.
    n = int(iid[-1])
    base = T0 - timedelta(days=90, hours=3) if n == 5 else T0 - timedelta(days=20 * n)
    return st.integers(0, 6 * 3600).map(lambda s: base + timedelta(seconds=s))


@st.composite
def interaction_events(draw: st.DrawFn, clustered: bool = False) -> InteractionEvent:
    """Any one canonical interaction event over a few interactions (channel fixed per id).

    `clustered` keeps each interaction's events within hours of each other (as in real
    traffic) instead of spreading one interaction's events over the whole year.
    """
    iid = draw(_iids)
    channel = ["voice", "chat", "email"][int(iid[-1]) % 3]
    when = draw(_clustered_time(iid) if clustered else _times)
    event_id = draw(_ids)
    kind = draw(st.integers(0, 7))
    agent = draw(st.sampled_from(["a1", "a2", "a3"]))
    leg = draw(st.sampled_from(["l1", "l2", None]))
    if kind == 0:
        return InteractionOffered(event_id, "t", when, iid, channel, "inbound", CALLER, CENTRE,
                                  stage=draw(st.sampled_from(["ivr", "queued", "offered"])),
                                  agent_id=agent, queue=draw(_short), leg_id=leg,
                                  subject=draw(st.sampled_from([None, "Invoice"])))
    if kind == 1:
        return InteractionAccepted(event_id, "t", when, iid, channel, agent, leg_id=leg,
                                   agent_name=draw(st.sampled_from(["Ada", "Bo", None])))
    if kind == 2:
        return InteractionTransferred(event_id, "t", when, iid, channel,
                                      draw(st.sampled_from(["blind", "consult", "conference"])),
                                      from_agent_id=agent, to_agent_id="a9", leg_id=leg)
    if kind == 3:
        return InteractionEnded(event_id, "t", when, iid, channel, "inbound", CALLER, CENTRE,
                                draw(st.integers(0, 4000)), leg_id=leg)
    if kind == 4:
        return InteractionWrappedUp(event_id, "t", when, iid, channel, agent,
                                    disposition_code=draw(st.sampled_from(["SALE", "NOSALE"])),
                                    notes=draw(st.sampled_from([None, "Called back."])),
                                    failed=draw(st.booleans()))
    if kind == 5:
        return InteractionAnalyzed(event_id, "t", when, iid, channel,
                                   sentiment=draw(st.sampled_from([None, -0.5, 0.0, 0.8])),
                                   topics=tuple(draw(st.lists(st.sampled_from(["refund", "x"]),
                                                              max_size=2))),
                                   ai_title=draw(st.sampled_from([None, "Refund request"])))
    if kind == 6:
        return RecordingAvailable(event_id, "t", when, iid, channel, f"https://rec/{event_id}")
    return InteractionEnded(event_id, "t", when, iid, channel, "inbound", CALLER, CENTRE,
                            draw(st.integers(0, 4000)))
