"""Property tests: idempotence, one E.164 per number whatever the format, token invariants."""

from __future__ import annotations

import hashlib
import hmac

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.errors import InvalidIdentifier
from core.identity import (
    Identifier,
    is_routable,
    normalize,
    normalize_email,
    normalize_phone,
    party_token,
)


def _examples() -> list[tuple[str, str]]:
    """(region, E.164) of libphonenumber's published example numbers, fixed line and mobile."""
    found = set()
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in (phonenumbers.PhoneNumberType.FIXED_LINE, phonenumbers.PhoneNumberType.MOBILE):
            number = phonenumbers.example_number_for_type(region, kind)
            if number is not None and phonenumbers.is_valid_number(number):
                e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
                found.add((region, e164))
    return sorted(found)


EXAMPLES = _examples()
SEPARATORS = st.sampled_from([" ", "-", ".", "\u00a0", "", "  "])


def _spaced(formatted: str, seps: list[str]) -> str:
    """Replace each space of a formatted number by one of the drawn separators."""
    parts = formatted.split(" ")
    out = parts[0]
    for i, part in enumerate(parts[1:]):
        out += seps[i % len(seps)] + part
    return out


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(EXAMPLES))
def test_normalize_is_idempotent_on_e164(example: tuple[str, str]) -> None:
    """normalize(e164) == e164, from any default region."""
    region, e164 = example
    for default in ("US", region, "GB"):
        assert normalize(e164, default).value == e164


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(EXAMPLES), st.lists(SEPARATORS, min_size=1, max_size=4))
def test_formatting_variants_give_one_e164(example: tuple[str, str], seps: list[str]) -> None:
    """International, national, RFC 3966, SIP and separator variants all give the same E.164."""
    region, e164 = example
    number = phonenumbers.parse(e164)
    fmt = phonenumbers.PhoneNumberFormat
    international = phonenumbers.format_number(number, fmt.INTERNATIONAL)
    variants = {
        (_spaced(international, seps), "US"),
        (_spaced(international, seps), region),
        (phonenumbers.format_number(number, fmt.RFC3966), "US"),
        (f"sip:{e164}@gw.example.com;user=phone", "US"),
        (f" {international} ", region),
        ("00" + _spaced(international[1:], seps), "US"),
    }
    national = phonenumbers.format_number(number, fmt.NATIONAL)
    if phonenumbers.is_valid_number(phonenumbers.parse(national, region)):
        variants.add((national, region))
    assert {normalize(raw, default).value for raw, default in variants} == {e164}


@given(st.sampled_from(EXAMPLES))
def test_normalizing_the_value_again_is_a_fixed_point(example: tuple[str, str]) -> None:
    """normalize(normalize(x).value) == normalize(x) for valid numbers (raw_kind aside)."""
    region, e164 = example
    national = phonenumbers.format_number(phonenumbers.parse(e164), 2)
    try:
        first = normalize(national, region)
    except InvalidIdentifier:
        return  # some national formats need a carrier code; the E.164 test covers them
    assert first.value is not None
    again = normalize(first.value, "US")
    assert (again.kind, again.value) == (first.kind, first.value)


TENANTS = st.text(min_size=1, max_size=20)
PEPPERS = st.binary(min_size=1, max_size=64)


@given(st.sampled_from(EXAMPLES), TENANTS, PEPPERS)
def test_party_token_is_deterministic_and_hides_the_number(
    example: tuple[str, str], tenant: str, pepper: bytes
) -> None:
    """Same inputs give the same 32-hex token, which never contains the number's digits."""
    ident = normalize(example[1], "US")
    token = party_token(pepper, tenant, ident)
    assert token == party_token(pepper, tenant, ident)
    assert len(token) == 32 and all(ch in "0123456789abcdef" for ch in token)
    national = str(phonenumbers.parse(example[1]).national_number)
    assert national not in token
    assert example[1].lstrip("+") not in token


@given(st.sampled_from(EXAMPLES), TENANTS, TENANTS, PEPPERS, PEPPERS)
def test_party_token_differs_by_tenant_and_pepper(
    example: tuple[str, str], t1: str, t2: str, p1: bytes, p2: bytes
) -> None:
    """Another tenant or another pepper gives another token for the same number."""
    ident = normalize(example[1], "US")
    if t1 != t2:
        assert party_token(p1, t1, ident) != party_token(p1, t2, ident)
    if p1 != p2:
        assert party_token(p1, t1, ident) != party_token(p2, t1, ident)


def test_party_token_differs_by_kind() -> None:
    """Extension 1001 and short code 1001 are different parties."""
    pepper = b"k"
    ext = Identifier("extension", "1001")
    short = Identifier("short_code", "1001")
    assert party_token(pepper, "t", ext) != party_token(pepper, "t", short)


def test_party_token_refuses_empty_pepper_and_valueless_identifiers() -> None:
    """An empty pepper (unkeyed hash) and anonymous identifiers without a value are refused."""
    with pytest.raises(ValueError, match="pepper"):
        party_token(b"", "t", Identifier("phone", "+12015550123"))
    with pytest.raises(InvalidIdentifier):
        party_token(b"k", "t", normalize("anonymous"))


def test_party_token_matches_the_documented_formula() -> None:
    """Token = HMAC-SHA256(pepper, tenant US kind US value) hex, first 32 chars."""
    expected = hmac.new(b"pepper", b"acme\x1fphone\x1f+12015550123", hashlib.sha256).hexdigest()
    assert party_token(b"pepper", "acme", Identifier("phone", "+12015550123")) == expected[:32]


def test_is_routable() -> None:
    """Phones and emails are routable; extensions, short codes, anonymous and others are not."""
    assert is_routable(normalize("+12015550123"))
    assert is_routable(normalize("a@example.com"))
    for raw in ("1001", "911", "anonymous", "sip:alice@atlanta.com"):
        assert not is_routable(normalize(raw))


def test_normalize_phone_rejects_emails_and_sip_names() -> None:
    """normalize_phone is for phone-like values only."""
    assert normalize_phone("(201) 555-0123").value == "+12015550123"
    for raw in ("a@example.com", "sip:alice@atlanta.com"):
        with pytest.raises(InvalidIdentifier):
            normalize_phone(raw)


EMAILS = [
    ("John.Doe@Example.COM", "john.doe@example.com"),
    ("  a@b.co  ", "a@b.co"),
    ("mailto:Support@Example.org", "support@example.org"),
    ("MAILTO:sales@example.org?subject=Hello%20there", "sales@example.org"),
    ("<jane@example.com>", "jane@example.com"),
    ('"Doe, Jane" <Jane@Example.com>', "jane@example.com"),
    ("Jane Doe <jane+tag@sub.example.co.uk>", "jane+tag@sub.example.co.uk"),
    ("info@B\u00fccher.de", "info@xn--bcher-kva.de"),
    ("user@example.com.", "user@example.com"),
]
BAD_EMAILS = [
    "john.doe",
    "a@b",
    "a b@c.com",
    "a@b..com",
    "a@-b.com",
    ".a@b.com",
    "a..b@c.com",
    "a@b.c0m",
    "a@@b.com",
    "@b.com",
    "a@",
    "mailto:",
    "<>",
    "a@b_c.com",
]


@pytest.mark.parametrize(("raw", "expected"), EMAILS)
def test_emails(raw: str, expected: str) -> None:
    """Emails are trimmed, unwrapped (mailto:, <...>, display names) and lowercased."""
    assert normalize_email(raw).value == expected
    assert normalize(raw).value == expected


@pytest.mark.parametrize("raw", BAD_EMAILS)
def test_bad_emails(raw: str) -> None:
    """Malformed addresses raise InvalidIdentifier."""
    with pytest.raises(InvalidIdentifier):
        normalize_email(raw)
