"""The shared HTTP helper: Retry-After parsing, PII-free excerpts, status -> error table."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from connectors.crm import dynamics365, hubspot, salesforce, zendesk, zoho
from connectors.crm.errors import CrmRejected, CrmUnavailable, StaleCrmReference
from connectors.crm.http import ErrorSpeech, HttpReply, Unauthorized, excerpt, parse_retry_after
from connectors.crm.http import raise_for as judge

NOW = datetime(2024, 5, 6, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("7", 7.0), (" 1.5 ", 1.5), ("-3", 0.0), ("Mon, 06 May 2024 12:00:30 GMT", 30.0),
     ("Mon, 06 May 2024 11:00:00 GMT", 0.0), ("soon", None), ("", None), (None, None)],
)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    """Delta-seconds or an HTTP-date; never negative; None when unreadable."""
    assert parse_retry_after(value, NOW) == expected


def test_excerpt_masks_identifiers_and_bounds_length() -> None:
    """Emails and phone-like digit runs are masked; long text is cut to the limit."""
    text = "Duplicate: dana@example.com / +1 (415) 555-0100 id 42"
    assert excerpt(text) == "Duplicate: <email> / <digits> id 42"
    assert len(excerpt("x" * 1000)) == 300


def reply(status: int, body: Any = None, **headers: str) -> HttpReply:
    """A canned reply."""
    return HttpReply(status, headers, body, "" if body is None else str(body))


PLAIN = ErrorSpeech()


@pytest.mark.parametrize(
    ("given", "speech", "stale_flag", "error", "retry_after"),
    [
        (reply(429, None, **{"Retry-After": "12"}), PLAIN, False, CrmUnavailable, 12.0),
        (reply(503), PLAIN, False, CrmUnavailable, None),
        (reply(500, None, **{"retry-after": "3"}), PLAIN, False, CrmUnavailable, 3.0),
        (reply(401), PLAIN, False, Unauthorized, None),
        (reply(404), PLAIN, True, StaleCrmReference, None),
        (reply(410), PLAIN, True, StaleCrmReference, None),
        (reply(404), PLAIN, False, CrmRejected, None),
        (reply(422), PLAIN, False, CrmRejected, None),
        (reply(429, None, **{"X-HubSpot-RateLimit-Remaining": "0",
                             "X-HubSpot-RateLimit-Interval-Milliseconds": "10000"}),
         hubspot.SPEECH, False, CrmUnavailable, 10.0),
        (reply(403, [{"errorCode": "REQUEST_LIMIT_EXCEEDED", "message": "TotalRequests"}]),
         salesforce.SPEECH, False, CrmUnavailable, None),
        (reply(403, [{"errorCode": "INSUFFICIENT_ACCESS", "message": "no"}]),
         salesforce.SPEECH, False, CrmRejected, None),
        (reply(400, [{"errorCode": "ENTITY_IS_DELETED", "message": "gone"}]),
         salesforce.SPEECH, False, StaleCrmReference, None),
        (reply(400, {"data": [{"code": "INVALID_DATA", "message": "the id given seems to be "
                               "invalid", "details": {"api_name": "id"}, "status": "error"}]}),
         zoho.SPEECH, False, StaleCrmReference, None),
        (reply(404, {"error": {"code": "0x80040217", "message": "Does Not Exist"}}),
         dynamics365.SPEECH, False, StaleCrmReference, None),
    ],
)
def test_status_to_error(given: HttpReply, speech: ErrorSpeech, stale_flag: bool,
                         error: type[Exception], retry_after: float | None) -> None:
    """Each status/body maps to the error type the sink-worker policy keys on."""
    with pytest.raises(error) as info:
        judge(given, crm="x", speech=speech, stale_on_404=stale_flag)
    if isinstance(info.value, CrmUnavailable):
        assert info.value.retry_after == retry_after


def test_success_and_accepted_statuses_pass() -> None:
    """2xx and explicitly accepted statuses (e.g. 409 duplicate) do not raise."""
    judge(reply(204), crm="x", speech=PLAIN)
    judge(reply(409), crm="x", speech=PLAIN, accept=(409,))


@pytest.mark.parametrize(
    ("speech", "body", "said"),
    [(hubspot.SPEECH, {"status": "error", "message": "Property values were not valid",
                       "category": "VALIDATION_ERROR"},
      "VALIDATION_ERROR Property values were not valid"),
     (salesforce.SPEECH, [{"message": "Required fields are missing: [LastName]",
                           "errorCode": "REQUIRED_FIELD_MISSING", "fields": ["LastName"]}],
      "REQUIRED_FIELD_MISSING: Required fields are missing: [LastName]"),
     (zendesk.SPEECH, {"error": "RecordInvalid", "description": "Record validation errors",
                       "details": {"requester": [{"description": "Requester is invalid"}]}},
      "RecordInvalid Record validation errors Requester is invalid"),
     (zoho.SPEECH, {"code": "INVALID_TOKEN", "details": {}, "message": "invalid oauth token",
                    "status": "error"}, "INVALID_TOKEN invalid oauth token"),
     (dynamics365.SPEECH, {"error": {"code": "0x0", "message": "Could not find a property"}},
      "0x0 Could not find a property")],
)
def test_vendor_error_bodies_are_read(speech: ErrorSpeech, body: Any, said: str) -> None:
    """The rejection excerpt quotes each vendor's own error fields."""
    with pytest.raises(CrmRejected) as info:
        judge(reply(400, body), crm="x", speech=speech)
    assert info.value.excerpt == said and info.value.status == 400
