"""Every caller-ID value listed in vendor-samples/caller_id_formats.md, read from that file."""

from __future__ import annotations

import re

import pytest

from core.errors import InvalidIdentifier
from core.identity import ANONYMOUS_KEYPAD, normalize
from tests.unit.sources.samples import sample_text

DOC = "caller_id_formats.md"
INVALID = "invalid"

# (text exactly as listed in the file, the identifier it carries, expected (kind, value)).
# The first column is checked against the file, so this table cannot drift from it.
LISTED: list[tuple[str, str, tuple[str, str | None]]] = [
    # Twilio
    ("From=client%3AAnonymous", "client%3AAnonymous", ("anonymous", None)),
    ("Caller=client%3AAnonymous", "client%3AAnonymous", ("anonymous", None)),
    ("client:Anonymous", "client:Anonymous", ("anonymous", None)),
    ("From=%2B447381234567", "%2B447381234567", ("phone", "+447381234567")),
    # 203-123-...: NANP exchanges never start with 1 (the capture's author masked it).
    ("To=%2B12031234567", "%2B12031234567", (INVALID, None)),
    ("Author=dave", "dave", (INVALID, None)),  # a bare word is no identifier ...
    ("ClientIdentity=dave", "client:dave", ("other", "client:dave")),  # ... a client: one is
    # Amazon Connect (docs placeholders: +1 234 567 890 is 9 digits; +1 123 has no area code)
    ('"Address": "+1234567890"', "+1234567890", (INVALID, None)),
    ('"Address": "+12345678903"', "+12345678903", ("phone", "+12345678903")),
    ('"aws:connect:systemEndpoint":"+11234567890"', "+11234567890", (INVALID, None)),
    # Genesys Cloud
    ("tel:+81399999998", "tel:+81399999998", ("phone", "+81399999998")),
    (
        "sip:+81399999998@172.18.182.10;user=phone",
        "sip:+81399999998@172.18.182.10;user=phone",
        ("phone", "+81399999998"),
    ),
    (
        "sip:ipadphone@172.18.182.10",
        "sip:ipadphone@172.18.182.10",
        ("other", "sip:ipadphone@172.18.182.10"),
    ),
    ("tel:+81359891323", "tel:+81359891323", ("phone", "+81359891323")),
    (
        "sip:524b28b06c2fdb575c2bbd29+inin.orgspan.com@localhost",
        "sip:524b28b06c2fdb575c2bbd29+inin.orgspan.com@localhost",
        ("other", "sip:524b28b06c2fdb575c2bbd29+inin.orgspan.com@localhost"),
    ),
    ('["+13175202754"]', "+13175202754", ("phone", "+13175202754")),
    # Asterisk
    ("`123`", "123", ("extension", "123")),
    ("`<unknown>`", "<unknown>", ("anonymous", None)),
    ("SIP/toOurAster-000000bb", "SIP/toOurAster-000000bb", ("other", "SIP/toOurAster")),
    ("SIP/777-000000bc", "SIP/777-000000bc", ("extension", "777")),
    ("`SIP/777`", "SIP/777", ("extension", "777")),
    ("CallerIDNum: 657-5309", "657-5309", (INVALID, None)),  # 7-digit local, no area code
    ('`"152"`', '"152"', ("extension", "152")),
    ("`Zap/52-1`", "Zap/52-1", ("other", "ZAP/52")),
    ('clid `"Alice <100>"`', "Alice <100>", ("extension", "100")),
    ("src `100`", "100", ("extension", "100")),
    ("dst `800`", "800", ("extension", "800")),
    # FreeSWITCH
    ("`1001`", "1001", ("extension", "1001")),
    ("sofia/cgrtest/1001%40127.0.0.1", "sofia/cgrtest/1001%40127.0.0.1", ("extension", "1001")),
    (
        "sip%3A1001%40127.0.0.1%3Btag%3DYwuG8U3rRbqIn.xYTnU8NrI3giyxDBHJ",
        "sip%3A1001%40127.0.0.1%3Btag%3DYwuG8U3rRbqIn.xYTnU8NrI3giyxDBHJ",
        ("extension", "1001"),
    ),
    ("%221001%22%20%3C1001%3E", "%221001%22%20%3C1001%3E", ("extension", "1001")),
    ("`0000000000`", "0000000000", (INVALID, None)),
]

# RFC 3261 section 19.1.3 examples, as quoted in the file's fenced block.
RFC3261: dict[str, tuple[str, str | None]] = {
    "sip:alice@atlanta.com": ("other", "sip:alice@atlanta.com"),
    "sip:alice:secretword@atlanta.com;transport=tcp": ("other", "sip:alice@atlanta.com"),
    "sips:alice@atlanta.com?subject=project%20x&priority=urgent": (
        "other",
        "sip:alice@atlanta.com",
    ),
    "sip:+1-212-555-1212:1234@gateway.com;user=phone": ("phone", "+12125551212"),
    "sips:1212@gateway.com": ("extension", "1212"),
    "sip:alice@192.0.2.4": ("other", "sip:alice@192.0.2.4"),
    "sip:atlanta.com;method=REGISTER?to=alice%40atlanta.com": (INVALID, None),
    "sip:alice;day=tuesday@atlanta.com": ("other", "sip:alice@atlanta.com"),
}


def _outcome(raw: str) -> tuple[str, str | None]:
    try:
        ident = normalize(raw, "US")
    except InvalidIdentifier:
        return (INVALID, None)
    return (ident.kind, ident.value)


@pytest.mark.parametrize(("listed", "raw", "expected"), LISTED)
def test_listed_caller_id_values(listed: str, raw: str, expected: tuple[str, str | None]) -> None:
    """Each value caller_id_formats.md lists (US tenant) normalizes to the documented class."""
    assert listed in sample_text(DOC), f"{listed!r} is no longer listed in {DOC}"
    assert _outcome(raw) == expected


def test_rfc3261_sip_uri_examples_from_the_file() -> None:
    """Every line of the RFC 3261 section 19.1.3 block in the file is covered and classified."""
    block = re.search(r"```\n(.*?)```", sample_text(DOC), re.S)
    assert block is not None
    lines = [line.strip() for line in block.group(1).splitlines() if line.strip()]
    assert set(lines) == set(RFC3261)
    assert {line: _outcome(line) for line in lines} == RFC3261


def test_keypad_withheld_values_from_the_file_are_anonymous() -> None:
    """The keypad E.164 forms the file names (unverified convention) are all anonymous."""
    text = sample_text(DOC)
    paragraph = text[text.index("Many public code bases") :]
    listed = set(re.findall(r"`(\+\d+)`", paragraph.split("\n\n", 1)[0]))
    assert listed == ANONYMOUS_KEYPAD
    assert {_outcome(value) for value in listed} == {("anonymous", None)}
