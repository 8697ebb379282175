"""The read routes' parameters and answers as pydantic models (they describe, never serialize)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field
from pydantic.json_schema import SkipJsonSchema

from core.query import MAX_LIMIT, PERIODS_MONTHS
from infra.http_routes import Described, Parameters
from schemas.records import CHANNELS, DIRECTIONS

# A key that is absent rather than null is typed `X | Absent` with a None default: the
# document shows X and leaves the key out of `required`.
Absent = SkipJsonSchema[None]
Str = str | None
Stamp = str | None  # ISO-8601 date-time, or null
_STAMP: dict[str, Any] = {"format": "date-time"}


# ---- parameters -------------------------------------------------------------------------
class TenantQuery(Parameters):
    """Every read is of the credential's tenant; naming it is optional."""

    tenant: str | None = Field(
        None,
        description="Optional: the credential's tenant (also as header X-C360-Tenant). Reads "
        "are always of the credential's tenant; naming another one is refused with 403.",
        pattern=r"^[A-Za-z0-9_.-]{1,64}$",
    )


class ScopeQuery(TenantQuery):
    """An identifier or a profile names whose history is read."""

    identifier: str | None = Field(
        None,
        description="Phone number or email in any format the normalizer accepts "
        "(E.164, national, tel:/sip: URI, mailto:).",
    )
    profile: str | None = Field(None, description="Profile id (instead of identifier).")
    profile_id: str | None = Field(None, description="Same as `profile`.")


class _TimelineFilters(Parameters):
    channel: str | None = Field(
        None,
        description="Comma-separated channels or `all`. Default: the channel of `current` "
        "when given and known, else all.",
        examples=["voice", "voice,email", "all"],
    )
    current: str | None = Field(
        None,
        description="Interaction id the agent is handling now; its channel is the default "
        "channel filter.",
    )
    interaction_id: str | None = Field(None, description="Same as `current`.")
    campaign: str | None = Field(
        None, description="Campaign name (case-insensitive); ANDed with channel."
    )
    period: int | None = Field(
        None,
        description="Calendar months back from now.",
        json_schema_extra={"enum": list(PERIODS_MONTHS)},
    )
    direction: Literal[DIRECTIONS] | None = Field(  # type: ignore[valid-type]
        None, description="Interaction direction."
    )
    limit: int | None = Field(None, description="Page size (default 50).", ge=1, le=MAX_LIMIT)
    cursor: str | None = Field(None, description="Opaque `next_cursor` of the previous page.")
    before: int | None = Field(
        None,
        description="Deprecated paging: only entries started strictly before this epoch ms "
        "(use cursor).",
    )


class TimelineQuery(_TimelineFilters, TenantQuery):
    """GET /v1/timeline: the identifier is required."""

    identifier: str = Field(
        description="Phone number or email in any format the normalizer accepts "
        "(E.164, national, tel:/sip: URI, mailto:)."
    )


class ProfileTimelineQuery(_TimelineFilters, TenantQuery):
    """GET /v1/profiles/{profile_id}/timeline."""


class ProfilePath(Parameters):
    """The profile in the path."""

    profile_id: str = Field(description="Profile id.")


class InsightsQuery(ScopeQuery):
    """GET /v1/insights."""

    channel: str | None = Field(None, description="Channels to consider (default all).")


class JourneyQuery(ScopeQuery):
    """GET /v1/journey."""

    campaign: str | None = Field(
        None, description="Campaign name (case-insensitive); only its interactions."
    )


class InteractionPath(Parameters):
    """The interaction in the path."""

    interaction_id: str = Field(description="Interaction id.")


# ---- answers ----------------------------------------------------------------------------
class ErrorDetail(Described):
    """What went wrong, machine- and human-readable."""

    code: str
    message: str


class Error(Described):
    """Every read answer other than 200."""

    error: ErrorDetail


class Leg(Described):
    """One leg (agent, transfer, conference): who and how long."""

    leg_id: str
    agent_id: Str
    agent_name: Str
    queue: Str
    mode: Literal["blind", "consult", "conference"] | None
    duration_seconds: int | None
    accepted_at: Stamp = Field(json_schema_extra=_STAMP)
    ended_at: Stamp = Field(json_schema_extra=_STAMP)


class TimelineItem(Described):
    """One interaction (IVR, queue, agent, transfer and conference legs folded)."""

    interaction_id: str
    channel: Literal[CHANNELS]  # type: ignore[valid-type]
    title: str = Field(
        description="AI title, else email subject, else wrap-up code, else the interaction type"
    )
    direction: Str
    disposition: Str
    outcome: Str
    failed: bool
    queue: str = Field(description="or 'Non-queued interaction'")
    campaign: Str
    agents: list[str]
    agent_names: list[str]
    legs: list[Leg]
    started_at: str = Field(json_schema_extra=_STAMP)
    started_ms: int
    ended_at: Stamp = Field(json_schema_extra=_STAMP)
    duration_seconds: int | None
    ago: str = Field(examples=["3 days ago"])
    sentiment: float | None
    sentiment_label: Str
    topics: list[str]
    notes: Str
    transcript_url: Str
    recording_url: Str
    has_transcript: bool


class InteractionDetail(TimelineItem):
    """One interaction with everything the timeline item leaves out."""

    ivr_path: list[str]
    subject: Str
    crm_record_hint: Str
    end_reason: Str
    contact_mode: Str
    score: float | None
    wrapup_agent_id: Str
    wrapup_agent_name: Str
    ai_title: Str
    summary: Str
    transcript_text: Str
    recording_duration_seconds: int | None
    last_event_at: str = Field(json_schema_extra=_STAMP)


class Party(Described):
    """The identifier's party: kind and pseudonymous token."""

    kind: str
    token: str


class Scoped(Described):
    """How an answer names its scope: the identifier's party, or the profile."""

    tenant: str
    party: Party | Absent = Field(None, description="When asked by identifier.")
    profile_id: str | Absent = Field(None, description="When asked by profile.")
    identifiers: int | Absent = Field(None, description="How many identifiers the profile has.")


class Filters(Described):
    """The filters the page applied."""

    campaign: Str
    direction: Str
    period_months: int | None


class Timeline(Scoped):
    """A page of a timeline, newest first."""

    channels: list[str]
    filters: Filters
    items: list[TimelineItem]
    next_cursor: Str
    next_before: int | None = Field(description="Deprecated: use next_cursor.")


class SentimentPoint(Described):
    """One analysed interaction's sentiment."""

    interaction_id: str
    date: str
    sentiment: float
    label: Str


class Sentiment(Described):
    """available=false with a message when fewer than 2 analysed interactions exist."""

    available: bool
    count: int
    message: str | Absent = None
    average: float | Absent = None
    label: str | Absent = None
    trend: Literal["stable", "improving", "declining"] | Absent = None
    items: list[SentimentPoint] | Absent = None


class TopicSeen(Described):
    """An admin-defined topic found recently."""

    topic: str
    interactions: int
    last_seen: str


class Topics(Described):
    """Admin-defined topics found recently; available=false when none are configured."""

    available: bool
    topics: list[TopicSeen]
    interactions_considered: int | Absent = None
    message: str | Absent = None


class Engagement(Described):
    """Extractive summary of the notes of the last 30 interactions; available=false with a
    message when there are no notes."""

    available: bool
    interactions_considered: int
    notes: int
    summary: str | Absent = None
    key_terms: list[str] | Absent = None
    message: str | Absent = None


class Insights(Scoped):
    """Recent sentiment, topics and engagement summary."""

    channels: list[str]
    as_of: str = Field(json_schema_extra=_STAMP)
    interactions_considered: int
    sentiment: Sentiment
    topics: Topics
    engagement: Engagement


class JourneyStep(Described):
    """One campaign interaction of the journey."""

    interaction_id: str
    started_at: str = Field(json_schema_extra=_STAMP)
    campaign: Str
    channel: str
    mode: Literal["home", "work", "mobile", "office", "SMS", "email"] | None
    outcome: Str
    failed: bool
    previous_score: float | None
    score: float | None
    agent_name: Str
    comments: Str


class JourneyDay(Described):
    """The campaign interactions of one day."""

    date: str = Field(json_schema_extra={"format": "date"})
    interactions: list[JourneyStep]


class Journey(Scoped):
    """Campaign journey grouped by date."""

    campaigns: list[str]
    days: list[JourneyDay]
    message: str | Absent = None


class Interaction(Described):
    """One interaction in detail."""

    tenant: str
    item: InteractionDetail
