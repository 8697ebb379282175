"""The batch pipeline evaluates the rules when an unanswered interaction ends (not only at
wrap-up), once per revision: re-delivered events re-emit the same revision."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from projections.memory import InMemoryInteractionParties, InMemoryTimelineStore
from schemas import codec
from schemas.records import ActivityRequested
from schemas.topics import ACTIVITIES_REQUESTED, INTERACTIONS
from streams.bootstrap import build_deps
from streams.pipeline import PartyCache, run_batch
from streams.settings import StreamSettings
from tests.factories import T0
from tests.unit.rules.test_triggers import ended, queued, rang, recording

EXAMPLE = Path(__file__).parents[3] / "docs" / "examples" / "activity-rules.toml"


@dataclass
class Msg:
    value: bytes
    key: bytes = b"k"
    topic: str = INTERACTIONS
    partition: int = 0
    offset: int = 0


def _deps():
    settings = StreamSettings.from_env({"C360_ENV": "dev", "C360_DEFAULT_REGION": "GB",
                                        "C360_RULES_FILE": str(EXAMPLE)})
    return build_deps(settings, timeline=InMemoryTimelineStore(),
                      parties=InMemoryInteractionParties(),
                      clock_ms=lambda: int((T0 + timedelta(hours=1)).timestamp() * 1000))


async def _batch(deps, *events) -> list[ActivityRequested]:
    out = await run_batch([Msg(codec.encode(e)) for e in events], deps, PartyCache())
    assert not out.failures, out.failures
    return [o.value for o in out.outputs if o.topic == ACTIVITIES_REQUESTED]


async def test_unanswered_calls_get_their_activity_when_they_end_once_per_revision():
    deps = _deps()
    assert await _batch(deps, queued(), rang()) == []  # ringing: nothing yet
    (missed,) = await _batch(deps, ended())
    assert (missed.subject, missed.rule_id) == ("Missed call (Support)", "missed-calls")
    (again,) = await _batch(deps, ended())  # a re-delivery: the same revision again
    assert again == missed
    (voicemail,) = await _batch(deps, recording())  # late: the same activity, updated
    assert voicemail.idempotency_key == missed.idempotency_key
    assert voicemail.revision > missed.revision
    assert voicemail.subject == "Voicemail (Support)"
    # The same events in one batch end in the same request (same id, same revision).
    (together,) = await _batch(_deps(), recording(), ended(), rang(), queued())
    assert together == voicemail
