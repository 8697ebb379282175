"""Frozen dataclasses 1:1 with the Avro records in schemas/avsc (namespace c360.v1)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

# Field conventions (see docs/schemas.md):
# - every record has event_id (UUID string), tenant_id, occurred_at (timestamp-millis, UTC,
#   tz-aware datetime) and schema_version (the record's contract version, 1 for c360.v1);
# - optional fields are `T | None = None` and map to Avro ["null", T] with default null;
# - collections are tuples (frozen) and map to Avro arrays; string maps are dicts.
# Every interaction lifecycle record also carries interaction_id and channel, so any single
# event can be routed and indexed; customer_address is the customer's raw identifier when
# the producer knows it (the normalize agent otherwise resolves it from earlier events).

CHANNELS = ("voice", "chat", "sms", "email", "whatsapp")
DIRECTIONS = ("inbound", "outbound", "internal")


@dataclass(frozen=True, slots=True)
class CrmRecordHint:
    """A CRM record the routing plan already identified (beats identifier search)."""

    crm: str
    object_type: str
    record_id: str


@dataclass(frozen=True, slots=True)
class InteractionOffered:
    """An interaction entered IVR, was queued, or was offered to an agent (stage says which)."""

    event_id: str
    tenant_id: str
    occurred_at: datetime
    interaction_id: str
    channel: str
    direction: str
    from_address: str
    to_address: str
    stage: str = "offered"  # ivr | queued | offered
    agent_id: str | None = None  # set when offered to a specific agent (rings there)
    leg_id: str | None = None
    queue: str | None = None
    ivr_path: tuple[str, ...] = ()
    routing_data: dict[str, str] = field(default_factory=dict)
    crm_record_hint: CrmRecordHint | None = None
    campaign: str | None = None
    subject: str | None = None  # email subject / chat topic
    customer_address: str | None = None
    source: str = "canonical"
    schema_version: int = 1


@dataclass(frozen=True, slots=True)
class InteractionAccepted:
    """An agent accepted / was connected to the interaction (one agent leg)."""

    event_id: str
    tenant_id: str
    occurred_at: datetime
    interaction_id: str
    channel: str
    agent_id: str
    agent_name: str | None = None
    leg_id: str | None = None
    queue: str | None = None
    customer_address: str | None = None
    source: str = "canonical"
    schema_version: int = 1


@dataclass(frozen=True, slots=True)
class InteractionTransferred:
    """The interaction was transferred or conferenced to another agent or queue."""

    event_id: str
    tenant_id: str
    occurred_at: datetime
    interaction_id: str
    channel: str
    mode: str  # blind | consult | conference
    from_agent_id: str | None = None
    to_agent_id: str | None = None
    to_queue: str | None = None
    leg_id: str | None = None
    customer_address: str | None = None
    source: str = "canonical"
    schema_version: int = 1


@dataclass(frozen=True, slots=True)
class InteractionEnded:
    """The interaction (or one leg of it, when leg_id is set) ended."""

    event_id: str
    tenant_id: str
    occurred_at: datetime
    interaction_id: str
    channel: str
    direction: str
    from_address: str
    to_address: str
    duration_seconds: int
    started_at: datetime | None = None
    end_reason: str | None = None
    agent_id: str | None = None
    leg_id: str | None = None
    customer_address: str | None = None
    source: str = "canonical"
    schema_version: int = 1


@dataclass(frozen=True, slots=True)
class InteractionWrappedUp:
    """The agent entered/finished wrap-up; the last wrap-up (by occurred_at) wins."""

    event_id: str
    tenant_id: str
    occurred_at: datetime
    interaction_id: str
    channel: str
    agent_id: str
    disposition_code: str | None = None
    notes: str | None = None
    outcome: str | None = None
    failed: bool = False
    campaign: str | None = None
    contact_mode: str | None = None  # home | work | mobile | office | sms | email
    score: float | None = None
    agent_name: str | None = None
    customer_address: str | None = None
    source: str = "canonical"
    schema_version: int = 1


@dataclass(frozen=True, slots=True)
class InteractionAnalyzed:
    """Speech/text analytics results for an interaction; the latest analysis wins."""

    event_id: str
    tenant_id: str
    occurred_at: datetime
    interaction_id: str
    channel: str
    sentiment: float | None = None  # -1.0 (negative) .. 1.0 (positive)
    sentiment_label: str | None = None  # POSITIVE | NEUTRAL | NEGATIVE | MIXED
    topics: tuple[str, ...] = ()
    transcript_url: str | None = None
    transcript_text: str | None = None
    ai_title: str | None = None
    summary: str | None = None
    customer_address: str | None = None
    source: str = "canonical"
    schema_version: int = 1


@dataclass(frozen=True, slots=True)
class RecordingAvailable:
    """A recording of the interaction can be fetched from recording_url."""

    event_id: str
    tenant_id: str
    occurred_at: datetime
    interaction_id: str
    channel: str
    recording_url: str
    duration_seconds: int | None = None
    customer_address: str | None = None
    source: str = "canonical"
    schema_version: int = 1


InteractionEvent = (
    InteractionOffered
    | InteractionAccepted
    | InteractionTransferred
    | InteractionEnded
    | InteractionWrappedUp
    | InteractionAnalyzed
    | RecordingAvailable
)
INTERACTION_EVENT_TYPES: tuple[type, ...] = (
    InteractionOffered,
    InteractionAccepted,
    InteractionTransferred,
    InteractionEnded,
    InteractionWrappedUp,
    InteractionAnalyzed,
    RecordingAvailable,
)


@dataclass(frozen=True, slots=True)
class PartyInteraction:
    """An interaction event re-keyed by party (tenant + keyed-hash token of the identifier).

    party_value is the normalized identifier (E.164 / lowercased email): it travels in the
    payload for CRM search, never in keys or logs.
    """

    event_id: str
    tenant_id: str
    occurred_at: datetime
    party_token: str
    party_kind: str  # phone | email | extension | anonymous | other
    party_value: str | None
    normalizer_version: str
    internal: bool
    event: InteractionEvent
    schema_version: int = 1


@dataclass(frozen=True, slots=True)
class ProfileUpserted:
    """A customer profile was created or changed (CSV import, CRM sync, API); deleted=tombstone."""

    event_id: str
    tenant_id: str
    occurred_at: datetime
    profile_id: str
    display_name: str | None = None
    phones: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()
    # Typed custom attributes, already validated against the tenant schema; values are
    # canonical strings (numbers/dates/booleans rendered, lists JSON-encoded).
    attributes: dict[str, str] = field(default_factory=dict)
    source: str = "api"  # csv | crm:<name> | api
    deleted: bool = False
    # The profile's record in each CRM: CRM name -> the vendor's contact id.
    crm_ids: dict[str, str] = field(default_factory=dict)
    schema_version: int = 1


@dataclass(frozen=True, slots=True)
class MatchCandidate:
    """One profile an identifier matched."""

    profile_id: str
    display_name: str | None = None


@dataclass(frozen=True, slots=True)
class ScreenPopRequested:
    """What an agent desktop should show for an interaction (or why it shows nothing)."""

    event_id: str
    tenant_id: str
    occurred_at: datetime
    interaction_id: str
    agent_id: str
    channel: str
    party_token: str
    trigger_event_id: str
    match_status: str  # none | one | several | hint
    match_count: int = 0
    candidates: tuple[MatchCandidate, ...] = ()
    matched_identifier_kind: str | None = None
    reason: str = ""
    suppressed: bool = False
    suppression_reason: str | None = None
    profile_id: str | None = None
    # Rendered panel data (profile fields by layout, timeline, insights) as canonical JSON,
    # so the pop is self-contained for the desktop; schema in docs/screen-pops.md.
    view_json: str | None = None
    # The trigger event's own time (ring/offer/accept): occurred_at is max(render, event)
    # time, so a pop rendered late for an old call would look current by it.
    rang_at: datetime | None = None
    schema_version: int = 1


@dataclass(frozen=True, slots=True)
class ActivityRequested:
    """An activity the CRM sink must create or update (upsert by idempotency_key)."""

    event_id: str
    tenant_id: str
    occurred_at: datetime
    interaction_id: str
    idempotency_key: str  # (interaction, crm, kind) — stable across retries and replays
    kind: str  # call | chat | email | note | task | event
    revision: int  # higher revision updates the same activity (last wrap-up wins)
    subject: str
    body: str = ""
    crm: str | None = None  # None = tenant default CRM
    agent_id: str | None = None
    channel: str | None = None
    direction: str | None = None
    started_at: datetime | None = None
    duration_seconds: int | None = None
    disposition_code: str | None = None
    party_token: str | None = None
    customer_phone: str | None = None  # E.164, for CRM contact search
    customer_email: str | None = None
    profile_id: str | None = None
    crm_record_hint: CrmRecordHint | None = None
    recording_url: str | None = None
    transcript_url: str | None = None
    email_thread_url: str | None = None
    rule_id: str | None = None
    # The linked profile's CRM records (CRM name -> contact id): beats search, not the hint.
    profile_crm_ids: dict[str, str] = field(default_factory=dict)
    target: str | None = None  # hint | agent | profile | search (where the record came from)
    crm_choice: str | None = None  # agent | rule | None (the routing default)
    schema_version: int = 1


@dataclass(frozen=True, slots=True)
class ActivityResult:
    """What the CRM did with an ActivityRequested."""

    event_id: str
    tenant_id: str
    occurred_at: datetime
    interaction_id: str
    idempotency_key: str
    crm: str
    status: str  # created | updated | rejected | failed
    crm_activity_id: str | None = None
    crm_contact_id: str | None = None
    record_url: str | None = None
    error: str | None = None
    detail: str | None = None  # e.g. re-associated after a relink, or a correction written
    schema_version: int = 1


@dataclass(frozen=True, slots=True)
class DesktopActionTaken:
    """An agent action on the desktop: open/relink profile, manual activity, link/unlink record."""

    event_id: str
    tenant_id: str
    occurred_at: datetime
    agent_id: str
    interaction_id: str
    # open_profile | relink | add_note | add_task | add_call | add_event | link_record |
    # unlink_record
    action: str
    profile_id: str | None = None
    record_id: str | None = None
    text: str | None = None
    crm: str | None = None  # choose_crm: the CRM picked; relink from a CRM search: its CRM
    schema_version: int = 1


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """An input that could not be processed: original bytes plus where it came from and why."""

    event_id: str
    occurred_at: datetime
    topic: str
    partition: int
    offset: int
    original_value: bytes | None
    error_type: str
    error_message: str
    stage: str  # which agent/worker dead-lettered it
    original_key: bytes | None = None
    tenant_id: str | None = None
    schema_version: int = 1


@dataclass(frozen=True, slots=True)
class ErasureRequested:
    """A data subject's identifier must be forgotten: erase every copy keyed by its token."""

    event_id: str
    tenant_id: str
    occurred_at: datetime
    party_token: str
    party_kind: str
    normalizer_version: str
    requested_by: str
    reason: str | None = None
    schema_version: int = 1


@dataclass(frozen=True, slots=True)
class AuditRecorded:
    """A privileged action was taken (forget, relink, import, key creation or revocation)."""

    event_id: str
    tenant_id: str
    occurred_at: datetime
    actor_kind: str
    actor: str
    action: str
    target: str
    outcome: str
    details: dict[str, str] = field(default_factory=dict)
    schema_version: int = 1


ALL_RECORD_TYPES: tuple[type, ...] = (
    CrmRecordHint,
    *INTERACTION_EVENT_TYPES,
    PartyInteraction,
    ProfileUpserted,
    MatchCandidate,
    ScreenPopRequested,
    ActivityRequested,
    ActivityResult,
    DesktopActionTaken,
    DeadLetter,
    ErasureRequested,
    AuditRecorded,
)
