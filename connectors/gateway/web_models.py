"""The desktop gateway's parameters and bodies as pydantic models (describing, not serializing)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic.json_schema import SkipJsonSchema

from connectors.gateway.actions import MAX_ID, MAX_TEXT
from infra.http_routes import Described, Parameters


class TokenQuery(Parameters):
    """How a desktop request names its agent (EventSource cannot set headers)."""

    token: str | None = Field(
        None,
        description="Desktop token, for EventSource clients that cannot set headers "
        "(else `Authorization: Bearer <token>`).",
    )
    tenant: str | None = Field(
        None, description="Must be the token's tenant when given (else 403)."
    )
    agent: str | None = Field(None, description="Must be the token's agent when given (else 403).")


class StreamQuery(TokenQuery):
    """GET /v1/desktop/stream."""

    last_event_id: str | None = Field(
        None, description="Resume after this pop id (the Last-Event-ID header wins)."
    )


class StreamHeaders(Parameters):
    """GET /v1/desktop/stream: a browser's reconnect names the last pop it got."""

    last_event_id: str | None = Field(
        None, alias="Last-Event-ID", description="Resume after this pop id."
    )


class StaticPath(Parameters):
    """A panel asset."""

    filename: str = Field(description="Asset path.")


class GatewayError(Described):
    """Gateway errors: {error, detail} (docs/desktop.md)."""

    error: str
    detail: str


class InvalidActionError(GatewayError):
    """400 invalid_action: every reason the body was refused."""

    problems: list[str]


class Me(Described):
    """Who the token is for."""

    tenant: str
    agent: str
    expires_at: int = Field(description="Epoch seconds.")
    dev: bool
    fresh_seconds: int = Field(
        description="A pop that rang longer ago than this is shown as an earlier call."
    )


class Action(Described):
    """An agent's action on an interaction (who acts comes from the token, never the body)."""

    action: Literal[
        "open_profile",
        "relink",
        "add_note",
        "add_task",
        "add_call",
        "add_event",
        "link_record",
        "unlink_record",
        "choose_crm",
    ]
    interaction_id: str = Field(max_length=MAX_ID)
    profile_id: str | None = Field(
        None, max_length=MAX_ID, description="Required by open_profile and relink."
    )
    record_id: str | None = Field(
        None,
        max_length=MAX_ID,
        description="`<crm>:<object type>:<id>`; required by link_record and unlink_record.",
    )
    text: str | None = Field(None, max_length=MAX_TEXT, description="Required by add_note.")
    crm: str | None = Field(
        None,
        max_length=MAX_ID,
        description="A CRM name; required by choose_crm (the CRM this interaction logs to).",
    )
    client_action_id: str | None = Field(
        None,
        max_length=MAX_ID,
        description="Makes a retried click publish the same event (one note, not two).",
    )


class CrmsQuery(TokenQuery):
    """GET /v1/desktop/crms."""

    interaction_id: str = Field(max_length=MAX_ID, description="The interaction on screen.")


class CrmMenu(Described):
    """The CRMs the agent may log this interaction to."""

    crms: list[str] = Field(description="The default first, then the tenant's other CRMs.")
    default: str | None = Field(description="The CRM the routing file selects for this agent.")
    chosen: str | None = Field(description="The agent's choose_crm for this interaction.")
    connected: dict[str, bool] = Field(
        description="Per CRM: the agent has a per-agent OAuth token for it."
    )


class ActionAccepted(Described):
    """202: the action was published."""

    event_id: str
    action: str


class DevAgents(Described):
    """The demo agents the dev sign-in form offers."""

    tenant: str
    agents: list[str]


class DevLogin(Described):
    """A dev sign-in: any agent of any tenant, no password."""

    agent: str
    tenant: str | SkipJsonSchema[None] = Field(None, description="Default: the default tenant.")


class DevToken(Described):
    """A desktop token for the agent."""

    token: str
    tenant: str
    agent: str
    expires_at: int = Field(description="Epoch seconds.")


class DesktopSession(DevToken):
    """A desktop token exchanged for an agent's identity-provider token (same body as the
    dev sign-in's)."""


class SearchQuery(TokenQuery):
    """GET /v1/desktop/search."""

    q: str = Field(min_length=2, max_length=200, description="What the agent typed.")
    interaction_id: str | None = Field(
        None, max_length=MAX_ID, description="The interaction the search is for (optional)."
    )


class SearchResult(Described):
    """One contact found; `source` is "c360" (a profile) or the CRM's name."""

    source: str
    profile_id: str | None
    crm: str | None
    crm_id: str | None
    display_name: str | None
    phones: list[str]
    emails: list[str]
    attributes: dict[str, str]
    record_url: str | None


class SearchError(Described):
    """A source that could not answer (the CRM timed out or refused)."""

    source: str
    message: str


class SearchResults(Described):
    """Results of the directory and the CRM; CRM failures in `errors`, never a 5xx."""

    results: list[SearchResult]
    errors: list[SearchError]


class LinkCrmContact(Described):
    """A CRM search result the agent picked."""

    interaction_id: str = Field(max_length=MAX_ID)
    crm: str = Field(max_length=MAX_ID)
    crm_id: str = Field(max_length=MAX_ID)
    display_name: str | None = Field(None, max_length=200)
    phones: list[str] = Field(default_factory=list, max_length=20)
    emails: list[str] = Field(default_factory=list, max_length=20)


class LinkedContact(Described):
    """202: the profile the interaction is relinked to."""

    profile_id: str
    created: bool = Field(description="True when the profile was created for this contact.")
    event_id: str = Field(description="The relink's event id.")


class NewProfile(Described):
    """A profile to create (prefill the caller's number from the pop)."""

    interaction_id: str | None = Field(None, max_length=MAX_ID, description="Relink it.")
    display_name: str | None = Field(None, max_length=200)
    phones: list[str] = Field(default_factory=list, max_length=20)
    emails: list[str] = Field(default_factory=list, max_length=20)
    attributes: dict[str, object] = Field(
        default_factory=dict, description="Validated by the tenant's attribute schema."
    )
    create_in_crm: bool = Field(False, description="Also create the contact in the CRM.")
    crm: str | None = Field(None, description="Default: the agent's CRM (routing).")
    client_action_id: str | None = Field(
        None,
        max_length=MAX_ID,
        description="One per create dialog: a retried submit names the same profile and events.",
    )


class ProfileCreated(Described):
    """201: the new profile (and CRM contact id when one was created)."""

    profile_id: str
    crm_id: str | None
    crm_error: str | None = Field(None, description="Why the CRM contact was not created.")


class ProfilePath(Parameters):
    """A profile of the token's tenant."""

    profile_id: str = Field(description="The profile id.")


class FormField(Described):
    """A field of a desktop form (type: text, number, boolean, date, list, email, phone, url)."""

    name: str
    label: str
    type: str
    required: bool
    choices: list[str] | None = None


class EditableField(FormField):
    """A field agents may edit, with its current value."""

    value: object


class ProfileForm(Described):
    """The fields an agent fills to create a profile (no values: the panel prefills the
    caller's identifier)."""

    fields: list[FormField]


class DeskProfile(Described):
    """A profile as the desktop edits it."""

    profile_id: str
    display_name: str | None
    phones: list[str]
    emails: list[str]
    attributes: dict[str, str]
    crm_ids: dict[str, str]
    editable: list[EditableField]


class ProfileEdit(Described):
    """Fields to change (only those the tenant's layout marks editable)."""

    display_name: str | None = Field(None, max_length=200)
    phones: list[str] | None = None
    emails: list[str] | None = None
    attributes: dict[str, object] | None = None


class ProfileEdited(Described):
    """200: the profile's new state, as published."""

    profile_id: str
    event_id: str
    display_name: str | None
    phones: list[str]
    emails: list[str]
    attributes: dict[str, str]
