"""Pure mapping helpers: description with links, phone spellings, purity of the mappers."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime

import pytest

from core.crm import mapping_common as mc
from core.crm.phone_variants import phone_variants
from tests.unit.crm.samples import AT, activity


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({}, "Customer asked about the May invoice.\n\n"
             "Recording: https://rec.example.com/ix-1.mp3\n"
             "Transcript: https://c360.example.com/ix-1/transcript"),
        ({"recording_url": None, "transcript_url": None}, "Customer asked about the May invoice."),
        ({"body": "", "recording_url": None, "transcript_url": None,
          "email_thread_url": "https://mail.example.com/t/9"},
         "Email thread: https://mail.example.com/t/9"),
        ({"body": "  Note.  ", "recording_url": None, "transcript_url": None}, "Note."),
    ],
)
def test_description_appends_one_line_per_link(overrides: dict[str, object],
                                              expected: str) -> None:
    """The rendered body, then "Label: url" lines for the links present."""
    assert mc.description(activity(**overrides)) == expected


def test_times_and_durations() -> None:
    """Start falls back to occurred_at; minutes round up; negative durations are 0."""
    assert mc.started(activity(started_at=None)) == AT
    assert mc.iso_seconds(datetime(2024, 5, 6, 14, 30, 5, 999, tzinfo=UTC)) == \
        "2024-05-06T14:30:05+00:00"
    assert mc.iso_z(AT) == "2024-05-06T14:30:05Z"
    assert mc.epoch_ms(AT) == 1715005805000
    assert [mc.whole_minutes(s) for s in (0, 1, 60, 61)] == [0, 1, 1, 2]
    assert mc.duration_seconds(activity(duration_seconds=-5)) == 0
    assert mc.clip("abcdef", 4) == "abc…" and mc.clip("abc", 4) == "abc"


@pytest.mark.parametrize(
    ("e164", "expected"),
    [
        ("+14155550100", ("+14155550100", "(415) 555-0100", "+1 415-555-0100",
                          "415-555-0100", "14155550100", "4155550100")),
        ("+442079460000", ("+442079460000", "020 7946 0000", "+44 20 7946 0000",
                           "20 7946 0000", "442079460000", "02079460000", "2079460000")),
        ("+33612345678", ("+33612345678", "06 12 34 56 78", "+33 6 12 34 56 78",
                          "6 12 34 56 78", "33612345678", "0612345678", "612345678")),
        ("not a number", ("not a number",)),
    ],
)
def test_phone_variants(e164: str, expected: tuple[str, ...]) -> None:
    """E.164 first, then the national/international/digits spellings a CRM may store."""
    assert phone_variants(e164) == expected


def test_mapping_modules_import_no_io() -> None:
    """The mappers and phone helper are pure: no aiohttp/kafka/redis in a fresh interpreter."""
    modules = ", ".join([*(f"core.crm.{m}" for m in (
        "mapping_common", "mapping_hubspot", "mapping_salesforce", "mapping_zendesk",
        "mapping_zoho", "mapping_dynamics", "phone_variants")),
        "connectors.crm.webhook_signature"])
    code = (f"import sys, {modules}\n"
            "print(','.join(m for m in ('aiohttp', 'confluent_kafka', 'redis', 'faust')"
            " if m in sys.modules))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == ""
