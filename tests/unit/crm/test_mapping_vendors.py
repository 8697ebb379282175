"""Vendor payload mapping, table-driven: ActivityRequested -> each CRM's field names."""

from __future__ import annotations

import pytest

from core.crm import (
    mapping_dynamics,
    mapping_hubspot,
    mapping_salesforce,
    mapping_zendesk,
    mapping_zoho,
)
from core.crm.model import ContactDraft
from tests.unit.crm.samples import activity

CONTACT = "0031000000AbCdEAAA"


@pytest.mark.parametrize(
    ("kind", "channel", "path", "to_contact"),
    [("call", "voice", "calls", 194), ("email", "email", "emails", 198),
     ("task", None, "tasks", 204), ("event", None, "meetings", 200),
     ("chat", "sms", "communications", 81), ("chat", "whatsapp", "communications", 81),
     ("chat", "chat", "notes", 202), ("note", None, "notes", 202)],
)
def test_hubspot_object_per_kind(kind: str, channel: str | None, path: str,
                                 to_contact: int) -> None:
    """Each kind lands on its HubSpot object with the HUBSPOT_DEFINED contact association."""
    request = activity(kind=kind, channel=channel)
    body = mapping_hubspot.activity_create(request, "501")
    assert mapping_hubspot.object_for(request).path == path
    assert body["associations"][0]["types"] == [
        {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": to_contact}]
    assert body["properties"]["c360_idempotency_key"] == "ix-1:crm:call"


@pytest.mark.parametrize(("direction", "expected"),
                         [("inbound", "INBOUND"), ("outbound", "OUTBOUND"),
                          ("internal", "INBOUND"), (None, "INBOUND")])
def test_hubspot_call_properties(direction: str | None, expected: str) -> None:
    """Calls: ms timestamp and duration, direction, COMPLETED, recording URL, body links."""
    props = mapping_hubspot.activity_properties(activity(direction=direction))
    assert props["hs_call_direction"] == expected
    assert props["hs_timestamp"] == "1715005805000"
    assert props["hs_call_duration"] == "125000"
    assert props["hs_call_status"] == "COMPLETED"
    assert props["hs_call_recording_url"] == "https://rec.example.com/ix-1.mp3"
    assert "Transcript: https://c360.example.com/ix-1/transcript" in props["hs_call_body"]


def test_hubspot_channel_types_and_no_association_without_contact() -> None:
    """WhatsApp -> WHATS_APP communications; no contact -> no associations key."""
    body = mapping_hubspot.activity_create(activity(kind="chat", channel="whatsapp"), None)
    assert body["properties"]["hs_communication_channel_type"] == "WHATS_APP"
    assert "associations" not in body


@pytest.mark.parametrize(
    ("kind", "direction", "subtype", "status", "call_type"),
    [("call", "inbound", "Call", "Completed", "Inbound"),
     ("call", "outbound", "Call", "Completed", "Outbound"),
     ("call", "internal", "Call", "Completed", "Internal"),
     ("email", "outbound", "Email", "Completed", None),
     ("task", None, "Task", "Not Started", None),
     ("note", None, "Task", "Completed", None)],
)
def test_salesforce_task_fields(kind: str, direction: str | None, subtype: str, status: str,
                                call_type: str | None) -> None:
    """Task fields per kind; call fields only on calls; WhoId is the contact."""
    fields = mapping_salesforce.task_fields(activity(kind=kind, direction=direction), CONTACT)
    assert (fields["TaskSubtype"], fields["Status"]) == (subtype, status)
    assert fields.get("CallType") == call_type
    assert fields["ActivityDate"] == "2024-05-06" and fields["WhoId"] == CONTACT
    if kind == "call":
        assert fields["CallDurationInSeconds"] == 125
        assert fields["CallObject"] == "ix-1" and fields["CallDisposition"] == "resolved"
    assert "TaskSubtype" not in mapping_salesforce.updatable(fields)


def test_salesforce_soql_escaping_and_contact_placeholder() -> None:
    """Quotes and backslashes are escaped in SOQL; a new contact always has a LastName."""
    assert mapping_salesforce.soql_literal("o'brien\\x") == "'o\\'brien\\\\x'"
    assert "Phone IN ('+1', '2') OR MobilePhone IN ('+1', '2')" in \
        mapping_salesforce.contact_query_by_phones(("+1", "2"))
    assert mapping_salesforce.contact_fields(ContactDraft(phone="+1"), creating=True) == \
        {"Phone": "+1", "LastName": "Unknown"}
    assert mapping_salesforce.contact_fields(ContactDraft(phone="+1"), creating=False) == \
        {"Phone": "+1"}


def test_zendesk_ticket_and_queries() -> None:
    """Tickets carry external_id, an internal note and revision tags; searches are typed."""
    body = mapping_zendesk.ticket_create(activity(), "77")
    assert body["ticket"]["requester_id"] == 77
    assert body["ticket"]["comment"]["public"] is False
    assert body["ticket"]["external_id"] == "ix-1:crm:call"
    assert body["ticket"]["tags"] == ["c360", "c360_call", "c360_rev_1"]
    update = mapping_zendesk.ticket_update(activity(revision=3),
                                           {"tags": ["vip", "c360", "c360_rev_1"]})
    assert update["ticket"]["tags"] == ["vip", "c360", "c360_call", "c360_rev_3"]
    assert mapping_zendesk.has_revision({"tags": ["c360_rev_3"]}, 2)
    assert not mapping_zendesk.has_revision({"tags": ["c360_rev_1"]}, 2)
    assert mapping_zendesk.phone_query("+442079460000") == "type:user phone:*2079460000"
    assert mapping_zendesk.email_query("a@b.c") == 'type:user email:"a@b.c"'


@pytest.mark.parametrize(("seconds", "expected"),
                         [(0, "00:00"), (59, "00:59"), (125, "02:05"), (3725, "62:05")])
def test_zoho_call_duration(seconds: int, expected: str) -> None:
    """Call_Duration is mm:ss; minutes are not wrapped into hours."""
    assert mapping_zoho.call_duration(seconds) == expected


def test_zoho_records() -> None:
    """Calls carry Call_Type/Start/Duration and Who_Id; Call_Type is dropped on update;
    other kinds become Tasks."""
    call = mapping_zoho.activity_record(activity(direction="outbound"), "4876876000000001")
    assert call["Call_Type"] == "Outbound"
    assert call["Call_Start_Time"] == "2024-05-06T14:30:05+00:00"
    assert call["Call_Duration"] == "02:05" and call["Who_Id"] == {"id": "4876876000000001"}
    assert "Call_Type" not in mapping_zoho.updatable("Calls", call)
    task = mapping_zoho.activity_record(activity(kind="task"), None)
    assert mapping_zoho.module_for(activity(kind="task")) == "Tasks"
    assert task["Status"] == "Not Started" and task["Due_Date"] == "2024-05-06"


@pytest.mark.parametrize(("direction", "outgoing"), [("outbound", True), ("inbound", False)])
def test_dynamics_phonecall_row(direction: str, outgoing: bool) -> None:
    """directioncode true = outgoing; minutes rounded up; regarding bound per table."""
    row = mapping_dynamics.activity_row(activity(direction=direction), "a1b2")
    assert row["directioncode"] is outgoing
    assert row["actualdurationminutes"] == 3
    assert row["phonenumber"] == "+14155550100"
    assert row["regardingobjectid_contact_phonecall@odata.bind"] == "/contacts(a1b2)"
    task = mapping_dynamics.activity_row(activity(kind="note"), "a1b2")
    assert "directioncode" not in task
    assert task["regardingobjectid_contact_task@odata.bind"] == "/contacts(a1b2)"


def test_dynamics_keys_and_filters() -> None:
    """Alternate-key segment and $filter literals double single quotes."""
    assert mapping_dynamics.key_segment("phonecalls", "o'k") == \
        "/phonecalls(c360_idempotencykey='o''k')"
    assert mapping_dynamics.phone_filter(("+1",)) == \
        "telephone1 eq '+1' or mobilephone eq '+1' or telephone2 eq '+1'"
