"""Table-driven normalization of real-world identifier formats from many countries."""

from __future__ import annotations

import pytest

from core.errors import InvalidIdentifier
from core.identity import normalize

# Expected E.164 values are written by hand from each country's numbering plan, not computed.
# Numbers are public service numbers or ranges reserved for examples/drama:
#   US/CA 555-01xx (NANPA fictitious), White House comment line +1 202-456-1111,
#   PEnnsylvania 6-5000 (+1 212-736-5000), Apple 1-800-275-2273, Toronto 311 line 416-392-2489;
#   GB Ofcom drama ranges (020 7946 0xxx, 0113 496 0xxx, 0161 496 0xxx, 0808 157 0xxx);
#   AU ACMA fictitious ranges ((02) 5550 xxxx, (03) 7010 xxxx, 0491 570 xxx);
#   FR Elysee +33 1 42 92 81 00; DE Fraport +49 69 690-0, Bundestag +49 30 227-0;
#   Genesys' sample Tokyo numbers (+81 3 9999 9998, +81 3 5989 1323);
#   the rest are the example numbers of libphonenumber's published metadata.
PHONE_CASES: list[tuple[str, str, str]] = [
    # United States
    ("+1 202-456-1111", "US", "+12024561111"),
    ("(202) 456-1111", "US", "+12024561111"),
    ("202.456.1111", "US", "+12024561111"),
    ("1-202-456-1111", "US", "+12024561111"),
    ("12024561111", "US", "+12024561111"),
    ("+1 (202) 456-1111", "US", "+12024561111"),
    ("tel:+1-202-456-1111", "US", "+12024561111"),
    ("202 456 1111", "US", "+12024561111"),
    ("+1 212-736-5000", "US", "+12127365000"),
    ("1-800-275-2273", "US", "+18002752273"),
    ("(201) 555-0123", "US", "+12015550123"),
    ("+12015550123", "US", "+12015550123"),
    ("%2B12015550123", "US", "+12015550123"),
    ("\u202a+1 201 555 0123\u202c", "US", "+12015550123"),  # bidi marks from a copy/paste
    ("+1\u00a0201\u00a0555\u00a00123", "US", "+12015550123"),  # NBSP separators
    (
        "\uff0b\uff11 \uff12\uff10\uff11 \uff15\uff15\uff15 \uff10\uff11\uff12\uff13",
        "US",
        "+12015550123",
    ),
    ("sip:+12015550123@carrier.example.com;user=phone", "US", "+12015550123"),
    ("sip:+1-212-555-1212:1234@gateway.com;user=phone", "US", "+12125551212"),
    # Canada
    ("+1 416-392-2489", "CA", "+14163922489"),
    ("416-392-2489", "CA", "+14163922489"),
    ("(416) 392-2489", "CA", "+14163922489"),
    ("1-866-599-4999", "CA", "+18665994999"),
    ("+1 416-392-2489", "US", "+14163922489"),
    # United Kingdom (national prefix 0, IDD 00)
    ("020 7946 0958", "GB", "+442079460958"),
    ("+44 20 7946 0958", "GB", "+442079460958"),
    ("+44 (0) 20 7946 0958", "GB", "+442079460958"),
    ("+44 (0)20 7946 0958", "US", "+442079460958"),
    ("(0)20 7946 0958", "GB", "+442079460958"),
    ("(020) 7946 0958", "GB", "+442079460958"),
    ("0044 20 7946 0958", "GB", "+442079460958"),
    ("0044 20 7946 0958", "US", "+442079460958"),
    ("011 44 20 7946 0958", "US", "+442079460958"),
    ("00 44 20 7946 0958", "DE", "+442079460958"),
    ("+442079460958", "JP", "+442079460958"),
    ("tel:2079460958;phone-context=+44", "US", "+442079460958"),
    ("0113 496 0000", "GB", "+441134960000"),
    ("0161 496 0999", "GB", "+441614960999"),
    ("0808 157 0192", "GB", "+448081570192"),
    ("+44 117 496 0123", "US", "+441174960123"),
    ("%2B447381234567", "US", "+447381234567"),
    ("whatsapp:+447381234567", "US", "+447381234567"),  # Twilio WhatsApp address form
    # Germany
    ("+49 69 690-0", "DE", "+49696900"),
    ("069 6900", "DE", "+49696900"),
    ("+49 (0)69 690-0", "DE", "+49696900"),
    ("0049 69 6900", "FR", "+49696900"),
    ("+49 30 227-0", "DE", "+49302270"),
    ("030 123456", "DE", "+4930123456"),
    ("01512 3456789", "DE", "+4915123456789"),
    ("+49 1512 3456789", "US", "+4915123456789"),
    # France
    ("+33 1 42 92 81 00", "FR", "+33142928100"),
    ("01 42 92 81 00", "FR", "+33142928100"),
    ("01.42.92.81.00", "FR", "+33142928100"),
    ("00 33 1 42 92 81 00", "FR", "+33142928100"),
    ("00 33 1 42 92 81 00", "US", "+33142928100"),
    ("+33 (0)1 42 92 81 00", "GB", "+33142928100"),
    ("06 12 34 56 78", "FR", "+33612345678"),
    # India
    ("+91 98765 43210", "IN", "+919876543210"),
    ("098765 43210", "IN", "+919876543210"),
    ("+91-98765-43210", "US", "+919876543210"),
    ("9876543210", "IN", "+919876543210"),
    ("011 2301 2345", "IN", "+911123012345"),
    ("+91 11 2301 2345", "GB", "+911123012345"),
    # Brazil
    ("(11) 2345-6789", "BR", "+551123456789"),
    ("(11) 96123-4567", "BR", "+5511961234567"),
    ("+55 11 96123-4567", "US", "+5511961234567"),
    ("+55 21 2222-2222", "BR", "+552122222222"),
    # Japan
    ("03-1234-5678", "JP", "+81312345678"),
    ("+81 3-1234-5678", "US", "+81312345678"),
    ("090-1234-5678", "JP", "+819012345678"),
    ("0120-123-456", "JP", "+81120123456"),
    ("tel:+81399999998", "US", "+81399999998"),
    ("sip:+81399999998@172.18.182.10;user=phone", "US", "+81399999998"),
    ("tel:+81359891323", "US", "+81359891323"),
    # Australia
    ("(02) 5550 1234", "AU", "+61255501234"),
    ("+61 2 5550 1234", "AU", "+61255501234"),
    ("0491 570 006", "AU", "+61491570006"),
    ("+61 491 570 006", "US", "+61491570006"),
    ("(03) 7010 1234", "AU", "+61370101234"),
    ("1800 123 456", "AU", "+611800123456"),
    ("0011 44 20 7946 0958", "AU", "+442079460958"),
    # Mexico (the pre-2019 mobile "1" still arrives from WhatsApp and old systems)
    ("55 1234 5678", "MX", "+525512345678"),
    ("+52 55 1234 5678", "US", "+525512345678"),
    ("+52 1 55 1234 5678", "MX", "+525512345678"),
    ("+5215512345678", "US", "+525512345678"),
    # Spain (no trunk prefix)
    ("912 34 56 78", "ES", "+34912345678"),
    ("+34 912 34 56 78", "ES", "+34912345678"),
    ("612 34 56 78", "ES", "+34612345678"),
    ("0034 612 34 56 78", "US", "+34612345678"),
    # Italy (the leading 0 of landlines is part of the number)
    ("06 1234 5678", "IT", "+390612345678"),
    ("+39 06 1234 5678", "US", "+390612345678"),
    ("0039 06 1234 5678", "GB", "+390612345678"),
    ("312 345 6789", "IT", "+393123456789"),
    # Netherlands
    ("010 123 4567", "NL", "+31101234567"),
    ("+31 (0)20 123 4567", "NL", "+31201234567"),
    ("020 123 4567", "NL", "+31201234567"),
    ("06 12345678", "NL", "+31612345678"),
    # South Africa
    ("021 123 4567", "ZA", "+27211234567"),
    ("+27 21 123 4567", "US", "+27211234567"),
    ("071 123 4567", "ZA", "+27711234567"),
    # Russia (trunk prefix 8, old IDD 8~10)
    ("8 (495) 123-45-67", "RU", "+74951234567"),
    ("+7 495 123-45-67", "RU", "+74951234567"),
    ("8 916 123-45-67", "RU", "+79161234567"),
    ("89161234567", "RU", "+79161234567"),
    ("79161234567", "RU", "+79161234567"),
    ("8 800 123-45-67", "RU", "+78001234567"),
    ("8 10 44 20 7946 0958", "RU", "+442079460958"),
    # Switzerland, Sweden, Ireland, New Zealand, Poland, Argentina
    ("044 123 45 67", "CH", "+41441234567"),
    ("08-123 456 78", "SE", "+46812345678"),
    ("(01) 234 5678", "IE", "+35312345678"),
    ("03 234 5678", "NZ", "+6432345678"),
    ("22 123 45 67", "PL", "+48221234567"),
    ("011 15-2345-6789", "AR", "+5491123456789"),
    # Unicode digits (Arabic-Indic) in a GB national number
    ("\u0660\u0662\u0660\u0667\u0669\u0664\u0666\u0660\u0669\u0665\u0668", "GB", "+442079460958"),
]

EXTENSION_CASES: list[tuple[str, str, str, str]] = [
    ("+1 201 555 0123 x123", "US", "+12015550123", "123"),
    ("201-555-0123 ext. 45", "US", "+12015550123", "45"),
    ("(201) 555-0123 ext 7", "US", "+12015550123", "7"),
    ("201.555.0123 extension 8801", "US", "+12015550123", "8801"),
    ("+12015550123;ext=99", "US", "+12015550123", "99"),
    ("tel:+1-201-555-0123;ext=1234", "US", "+12015550123", "1234"),
    ("020 7946 0958 x204", "GB", "+442079460958", "204"),
    ("+49 69 690-0 #12", "DE", "+49696900", "12"),
]

# (input, region, kind, value)
CLASS_CASES: list[tuple[str, str, str, str | None]] = [
    # short codes (libphonenumber short-number metadata) and emergency numbers
    ("911", "US", "short_code", "911"),
    ("988", "US", "short_code", "988"),
    ("311", "US", "short_code", "311"),
    ("55555", "US", "short_code", "55555"),
    ("88888", "US", "short_code", "88888"),
    ("211", "CA", "short_code", "211"),
    ("999", "GB", "short_code", "999"),
    ("112", "GB", "short_code", "112"),
    ("116 123", "GB", "short_code", "116123"),
    ("112", "DE", "short_code", "112"),
    ("110", "DE", "short_code", "110"),
    ("116117", "DE", "short_code", "116117"),
    ("15", "FR", "short_code", "15"),
    ("3949", "FR", "short_code", "3949"),
    ("110", "JP", "short_code", "110"),
    ("000", "AU", "short_code", "000"),
    ("100", "IN", "short_code", "100"),
    ("190", "BR", "short_code", "190"),
    ("113", "IT", "short_code", "113"),
    ("10111", "ZA", "short_code", "10111"),
    ("sip:911@pbx.example.com", "US", "short_code", "911"),
    # internal extensions: PBX dial-plan digits, channel names (agent-to-agent detection)
    ("1001", "US", "extension", "1001"),
    ("12345", "US", "extension", "12345"),
    ("12", "US", "extension", "12"),
    ("sip:1001@127.0.0.1", "US", "extension", "1001"),
    ("sip:2001@pbx.example.com", "US", "extension", "2001"),
    ("sips:1212@gateway.com", "US", "extension", "1212"),
    ("SIP/777", "US", "extension", "777"),
    ("SIP/777-000000bc", "US", "extension", "777"),
    ("PJSIP/1001-000001", "US", "extension", "1001"),
    ("PJSIP/1001-00000002", "DE", "extension", "1001"),
    ("Local/100@from-internal-00000001;1", "US", "extension", "100"),
    ("sofia/internal/1001@10.0.0.5", "US", "extension", "1001"),
    ('"1001" <1001>', "US", "extension", "1001"),
    ("Alice <100>", "US", "extension", "100"),
    ("tel:7042;phone-context=example.com", "US", "extension", "7042"),
    # anonymous / withheld caller IDs
    ("anonymous", "US", "anonymous", None),
    ("Anonymous", "US", "anonymous", None),
    ("RESTRICTED", "US", "anonymous", None),
    ("Unknown", "US", "anonymous", None),
    ("Private", "GB", "anonymous", None),
    ("unavailable", "US", "anonymous", None),
    ("Withheld", "GB", "anonymous", None),
    ("<unknown>", "US", "anonymous", None),
    ('"Anonymous"', "US", "anonymous", None),
    ("client:Anonymous", "US", "anonymous", None),
    ("sip:anonymous@anonymous.invalid", "US", "anonymous", None),
    ('"Anonymous" <sip:anonymous@anonymous.invalid>', "US", "anonymous", None),
    ("+266696687", "US", "anonymous", None),
    ("+7378742833", "US", "anonymous", None),
    ("+86282452253", "US", "anonymous", None),
    ("+2562533", "US", "anonymous", None),
    ("+8656696", "US", "anonymous", None),
    # other identities: kept distinct, but not phone numbers
    ("sip:alice@atlanta.com", "US", "other", "sip:alice@atlanta.com"),
    ("sip:Alice@Atlanta.COM;transport=tcp", "US", "other", "sip:alice@atlanta.com"),
    ("client:dave", "US", "other", "client:dave"),
    ("SIP/toOurAster-000000bb", "US", "other", "SIP/toOurAster"),
    ("Zap/52-1", "US", "other", "ZAP/52"),
]

INVALID_CASES: list[tuple[str, str]] = [
    ("", "US"),
    ("   ", "US"),
    ("\u00a0", "US"),
    ("abc", "US"),
    ("1-800-FLOWERS", "US"),
    ("+1 201 555 0123 abc", "US"),
    ("1", "US"),
    ("+1", "US"),
    ("+44 20", "GB"),
    ("+44 20 7946 0958 1234 5678 9012", "GB"),
    ("+1 (555) 123-4567", "US"),  # 555 is not an area code
    ("9999999999", "US"),
    ("+999 1234567", "US"),  # unassigned country code
    ("0000000000", "US"),
    ("+1234567890", "US"),  # Amazon Connect docs placeholder: 9 digits after +1
    ("+11234567890", "US"),  # area codes never start with 1
    ("657-5309", "US"),  # 7-digit local number: the area code is unknowable
    ("1234567", "US"),
    ("07700 900123", "GB"),  # Ofcom drama mobile range: never allocated, so not valid
    ("**67 201 555 0123", "US"),
    ("+1 201 555 0123 ext", "US"),
    ("sip:atlanta.com;method=REGISTER?to=alice%40atlanta.com", "US"),
    ("sip:@example.com", "US"),
    ("tel:", "US"),
    ("client:", "US"),
    ("x" * 600, "US"),
]


@pytest.mark.parametrize(("raw", "region", "e164"), PHONE_CASES)
def test_phone_formats_normalize_to_e164(raw: str, region: str, e164: str) -> None:
    """Every formatting/trunk/IDD variant of a number gives the number's E.164."""
    ident = normalize(raw, region)
    assert (ident.kind, ident.value, ident.extension) == ("phone", e164, None)


@pytest.mark.parametrize(("raw", "region", "e164", "ext"), EXTENSION_CASES)
def test_extensions_are_split_off(raw: str, region: str, e164: str, ext: str) -> None:
    """x123, ext., extension, #, ;ext= and tel ;ext= land in .extension, not in the value."""
    ident = normalize(raw, region)
    assert (ident.kind, ident.value, ident.extension) == ("phone", e164, ext)


@pytest.mark.parametrize(("raw", "region", "kind", "value"), CLASS_CASES)
def test_non_phone_classes(raw: str, region: str, kind: str, value: str | None) -> None:
    """Short codes, extensions, anonymous and other identities are classified, not rejected."""
    ident = normalize(raw, region)
    assert (ident.kind, ident.value) == (kind, value)


@pytest.mark.parametrize(("raw", "region"), INVALID_CASES)
def test_invalid_inputs_raise_without_echoing_the_value(raw: str, region: str) -> None:
    """Garbage raises InvalidIdentifier whose message never contains the raw input."""
    with pytest.raises(InvalidIdentifier) as info:
        normalize(raw, region)
    digits = "".join(ch for ch in raw if ch.isdigit())
    if raw.strip():
        assert raw.strip() not in str(info.value)
    if len(digits) >= 4:
        assert digits not in str(info.value)


def test_non_string_input_is_invalid() -> None:
    """A non-string (None, int) raises InvalidIdentifier rather than TypeError."""
    for bad in (None, 12015550123, b"+12015550123"):
        with pytest.raises(InvalidIdentifier):
            normalize(bad, "US")  # type: ignore[arg-type]


def test_raw_kind_records_the_input_shape() -> None:
    """raw_kind says what the input looked like (for audits of what vendors send)."""
    shapes = {
        "+12015550123": "e164",
        "+1 201 555 0123": "international",
        "(201) 555-0123": "national",
        "011 44 20 7946 0958": "idd",
        "tel:+12015550123": "tel_uri",
        "sip:+12015550123@x.example": "sip_uri",
        "SIP/777": "channel",
        "+266696687": "keypad",
        "anonymous": "keyword",
    }
    assert {raw: normalize(raw, "US").raw_kind for raw in shapes} == shapes


def test_region_is_case_insensitive() -> None:
    """'gb' and 'GB' are the same default region."""
    assert normalize("020 7946 0958", "gb") == normalize("020 7946 0958", "GB")


def test_case_count_and_country_coverage() -> None:
    """The table keeps at least 120 real-world inputs from at least 12 regions."""
    rows = PHONE_CASES + EXTENSION_CASES + CLASS_CASES + INVALID_CASES
    regions = {row[1] for row in rows}
    assert len(rows) >= 120
    assert len(regions) >= 12
