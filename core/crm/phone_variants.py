"""The spellings a CRM may hold for one E.164 number (CRMs store phones as the user typed them)."""

from __future__ import annotations

import phonenumbers

_FORMATS = (
    phonenumbers.PhoneNumberFormat.E164,
    phonenumbers.PhoneNumberFormat.NATIONAL,
    phonenumbers.PhoneNumberFormat.INTERNATIONAL,
)


def phone_variants(e164: str) -> tuple[str, ...]:
    """E.164 first, then national, international, international without the country code,
    digits-only (with and without the country
    code and the national trunk prefix); duplicates removed, order stable.

    A value that does not parse as a number is returned alone, unchanged, so a lookup still
    tries exactly what it was given; never raises.
    """
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return (e164,)
    spelled = [phonenumbers.format_number(number, fmt) for fmt in _FORMATS]
    prefix = f"+{number.country_code} "
    if spelled[2].startswith(prefix):  # "415-555-0100", "20 7946 0000": typed without +cc
        spelled.append(spelled[2][len(prefix):])
    national_digits = _digits(spelled[1])  # keeps a trunk prefix such as the UK "0"
    significant = phonenumbers.national_significant_number(number)
    spelled += [_digits(spelled[0]), national_digits, significant]
    return tuple(dict.fromkeys(s for s in spelled if s))


def _digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())
