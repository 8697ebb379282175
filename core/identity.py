"""Identifier normalization (phone to E.164, email, SIP/tel URIs) and keyed-hash party tokens."""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
import unicodedata
from dataclasses import dataclass
from urllib.parse import unquote

import phonenumbers
from phonenumbers import shortnumberinfo

from core.errors import InvalidIdentifier

# The version travels with every normalized identifier (PartyInteraction.normalizer_version):
# bump the rule numbers when a rule changes; the libphonenumber metadata changes validity too.
NORMALIZER_VERSION = f"phone-1+email-1+libphonenumber-{phonenumbers.__version__}"
KINDS = ("phone", "email", "extension", "short_code", "anonymous", "other")
_MAX_LEN = 512  # longer inputs are rejected before they reach the cache

# Withheld-caller words (lowercase, quotes stripped). Vendors spell them differently; see
# docs/identity.md for where each comes from.
# fmt: off
ANONYMOUS_WORDS = frozenset({
    "anonymous", "restricted", "unknown", "private", "unavailable", "withheld", "blocked",
    "<unknown>", "client:anonymous", "number withheld", "private number", "unknown caller",
    "no caller id", "not available", "anonymous caller",
})
# fmt: on
# Keypad spellings used as withheld caller IDs (ANONYMOUS, RESTRICTED, UNAVAILABLE, BLOCKED,
# UNKNOWN). Unverified vendor convention: vendor-samples/caller_id_formats.md found no vendor
# source, only many code bases treating them so. They are not valid numbers anyway.
ANONYMOUS_KEYPAD = frozenset({"+266696687", "+7378742833", "+86282452253", "+2562533", "+8656696"})

_PERCENT = re.compile(r"%[0-9A-Fa-f]{2}")
_DISPLAY = re.compile(r"^(?P<name>[^<]*)<(?P<inner>[^<>]*)>$")
_SCHEME = re.compile(
    r"^(?P<scheme>tel|sips?|mailto|client|whatsapp):(?P<rest>.*)$", re.IGNORECASE | re.S
)
_CHANNEL = re.compile(
    r"^(?P<tech>SIP|PJSIP|IAX2|DAHDI|Zap|Local|sofia/[^/]+)/(?P<peer>.+)$", re.IGNORECASE
)
_CHANNEL_SUFFIX = re.compile(r"-[0-9a-fA-F]{6,8}(?:;\d)?$")  # Asterisk's per-call counter
_EXTENSION = re.compile(
    r"(?:;\s*ext\s*=\s*|\s*(?:extension|ext\.?|x|#)\s*)(?P<ext>\d{1,10})\s*$", re.IGNORECASE
)
_PHONE_CHARS = re.compile(r"^\+?[\d\s().\-/]+$")
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_EMAIL_LOCAL = re.compile(rf"^{_ATOM}(?:\.{_ATOM})*$")  # RFC 5322 dot-atom, no quoted forms
_DOMAIN_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_IDD_FALLBACKS = ("011", "00")  # "00 44 ..." dialled from a region whose own IDD differs


@dataclass(frozen=True, slots=True)
class Identifier:
    """A normalized identifier: kind, canonical value, and what the input looked like."""

    kind: str
    value: str | None
    extension: str | None = None
    raw_kind: str = ""


def _check(raw: object) -> None:
    if not isinstance(raw, str):
        raise InvalidIdentifier("identifier is not a string")
    if len(raw) > _MAX_LEN:
        raise InvalidIdentifier("identifier is too long")


def _clean(raw: str) -> str:
    """NFKC (full-width digits, NBSP), ASCII digits, no format chars (bidi marks), trimmed."""
    text = unicodedata.normalize("NFKC", raw)
    chars = []
    for ch in text:
        if unicodedata.category(ch) == "Cf":
            continue
        chars.append(str(unicodedata.digit(ch)) if ch.isdigit() and not ch.isascii() else ch)
    return "".join(chars).strip()


def _anonymous(text: str, raw_kind: str = "keyword") -> Identifier | None:
    word = text.strip().strip("\"'").strip().lower()
    if word in ANONYMOUS_WORDS:
        return Identifier("anonymous", None, raw_kind=raw_kind)
    return None


def _unwrap(text: str) -> str:
    """Drop a display name ('"1001" <1001>', 'Alice <100>') and percent-encoding."""
    if _PERCENT.search(text) and not _SCHEME.match(text):
        text = unquote(text).strip()
    match = _DISPLAY.match(text)
    if match and match.group("inner").strip():
        text = match.group("inner").strip()
    if len(text) > 1 and text[0] == text[-1] and text[0] in "\"'":
        text = text[1:-1].strip()  # CSV/CDR quoting: "152"
    return text


def normalize(raw: str, default_region: str = "US") -> Identifier:
    """Normalize any identifier (phone, email, tel:/sip:/mailto: URI, channel name).

    Deterministic and cached; raises InvalidIdentifier for anything it cannot classify.
    """
    _check(raw)
    if not isinstance(default_region, str):
        raise InvalidIdentifier("default region is not a string")
    return _normalize_cached(raw, default_region.upper())


@functools.lru_cache(maxsize=65_536)
def _normalize_cached(raw: str, region: str) -> Identifier:
    text = _clean(raw)
    if not text:
        raise InvalidIdentifier("identifier is empty")
    found = _anonymous(text) or _anonymous(text := _unwrap(text))
    if found:
        return found
    scheme = _SCHEME.match(text)
    if scheme:
        name, rest = scheme.group("scheme").lower(), scheme.group("rest").strip()
        if name == "mailto":
            return _email(rest, "mailto")
        if name == "tel":
            return _tel(rest, region)
        if name == "whatsapp":  # Twilio's WhatsApp addresses: whatsapp:+14155238886
            return _phone(rest, region, None, raw_kind="whatsapp")
        if name == "client":
            if not rest:
                raise InvalidIdentifier("client identity is empty")
            return Identifier("other", f"client:{rest}", raw_kind="client")
        return _sip(rest, region)
    channel = _CHANNEL.match(text)
    if channel:
        return _channel(channel.group("tech"), channel.group("peer"), region)
    if "@" in text:
        return _email(text, "email")
    return _phone(text, region, None)


def _tel(rest: str, region: str) -> Identifier:
    """RFC 3966: number;param=value...; ext= and phone-context= are honoured."""
    number, *params = unquote(rest).split(";")
    named = _params(params)
    context = named.get("phone-context", "")
    number = number.strip()
    if context.startswith("+") and not number.startswith("+"):
        # A local number qualified by a global context: the context supplies the country code.
        number = context + number
    private = bool(context) and not context.startswith("+")
    return _phone(number, region, named.get("ext"), raw_kind="tel_uri", private_plan=private)


def _params(params: list[str]) -> dict[str, str]:
    return {k.strip().lower(): v.strip() for k, _, v in (p.partition("=") for p in params)}


def _sip(rest: str, region: str) -> Identifier:
    """sip:/sips: URI: the user part is the identifier; user=phone or digits mean a number."""
    rest = rest.split("?", 1)[0]
    if "@" not in rest:
        raise InvalidIdentifier("SIP URI has no user part")
    userinfo, host = rest.rsplit("@", 1)
    host = host.split(";", 1)[0].strip().lower()
    user = unquote(userinfo.split(":", 1)[0])  # drop the password ("user:password@host")
    user, *params = user.split(";")
    named = _params(params)
    if not user or not host:
        raise InvalidIdentifier("SIP URI has no user part")
    found = _anonymous(user, "sip_uri")
    if found:
        return found
    if _PHONE_CHARS.match(user):
        return _phone(user, region, named.get("ext"), raw_kind="sip_uri", private_plan=True)
    return Identifier("other", f"sip:{user.lower()}@{host}", raw_kind="sip_uri")


def _channel(tech: str, peer: str, region: str) -> Identifier:
    """Asterisk/FreeSWITCH channel names: the peer of SIP/777-000000bc is extension 777."""
    if tech.lower().startswith("sofia/"):
        return _sip(peer, region)
    if tech.lower() in ("dahdi", "zap"):
        # Hardware span/channel ("Zap/52-1"), not a dial-plan extension.
        return Identifier("other", f"{tech.upper()}/{peer.split('-', 1)[0]}", raw_kind="channel")
    peer = _CHANNEL_SUFFIX.sub("", peer).split("@", 1)[0]
    if peer.isdigit() and len(peer) <= 6:
        return Identifier("extension", peer, raw_kind="channel")
    if _PHONE_CHARS.match(peer):
        return _phone(peer, region, None, raw_kind="channel", private_plan=True)
    return Identifier("other", f"{tech.upper()}/{peer}", raw_kind="channel")


def _phone(
    text: str, region: str, ext: str | None, raw_kind: str | None = None, private_plan: bool = False
) -> Identifier:
    """A dialable string to E.164, or a short code / extension when it has 2-6 digits.

    private_plan: the digits come from a PBX dial plan (SIP user, channel, phone-context
    domain): short strings are extensions unless emergency numbers.
    """
    body = text.strip()
    if ext is None:
        match = _EXTENSION.search(body)
        if match and match.start() > 0:
            ext, body = match.group("ext"), body[: match.start()].strip()
    if not _PHONE_CHARS.match(body):
        raise InvalidIdentifier("phone number has characters other than digits and separators")
    digits = re.sub(r"\D", "", body)
    plus = body.startswith("+")
    if plus and "+" + digits in ANONYMOUS_KEYPAD:
        return Identifier("anonymous", None, raw_kind="keypad")
    if len(digits) < 2:
        raise InvalidIdentifier("phone number is too short")
    if not plus and len(digits) <= 6 and ext is None:
        return _short(digits, region, raw_kind or "digits", private_plan)
    body = body.replace("(0)", "") if plus else body.replace("(0)", "0")
    candidates = [body] + [
        "+" + digits[len(idd) :] for idd in _IDD_FALLBACKS if not plus and digits.startswith(idd)
    ]
    if plus and digits.startswith("521") and len(digits) == 13:
        # Mexico dropped the mobile "1" in 2019; WhatsApp and old CRMs still send +52 1 ...
        candidates.append("+52" + digits[3:])
    for candidate in candidates:
        number = _parse(candidate, region)
        if number is not None and phonenumbers.is_valid_number(number):
            kind = raw_kind or _looks_like(body, number, candidate)
            return Identifier("phone", _e164(number), ext or number.extension or None, kind)
    raise InvalidIdentifier("not a valid phone number")


def _parse(candidate: str, region: str) -> phonenumbers.PhoneNumber | None:
    try:
        return phonenumbers.parse(candidate, region, keep_raw_input=True)
    except phonenumbers.NumberParseException:
        return None


def _e164(number: phonenumbers.PhoneNumber) -> str:
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _looks_like(body: str, number: phonenumbers.PhoneNumber, candidate: str) -> str:
    source = number.country_code_source
    if candidate != body:
        return "international" if body.startswith("+") else "idd"
    if source == phonenumbers.CountryCodeSource.FROM_NUMBER_WITH_IDD:
        return "idd"
    if source == phonenumbers.CountryCodeSource.FROM_NUMBER_WITH_PLUS_SIGN:
        return "e164" if re.fullmatch(r"\+\d+", body) else "international"
    return "national"


def _short(digits: str, region: str, raw_kind: str, private_plan: bool) -> Identifier:
    """2-6 digits: a full number (rare), a short code / emergency number, else an extension."""
    number = _parse(digits, region)
    if number is not None and phonenumbers.is_valid_number(number):
        return Identifier("phone", _e164(number), raw_kind="national")
    if shortnumberinfo.is_emergency_number(digits, region) or (
        not private_plan
        and number is not None
        and shortnumberinfo.is_valid_short_number_for_region(number, region)
    ):
        return Identifier("short_code", digits, raw_kind=raw_kind)
    return Identifier("extension", digits, raw_kind=raw_kind)


def _email(text: str, raw_kind: str) -> Identifier:
    address = _unwrap(text.split("?", 1)[0] if raw_kind == "mailto" else text.strip())
    if not address or any(ch.isspace() for ch in address) or address.count("@") != 1:
        raise InvalidIdentifier("not a valid email address")
    local, domain = address.split("@")
    try:
        domain = domain.rstrip(".").encode("idna").decode("ascii").lower()
    except UnicodeError as exc:
        raise InvalidIdentifier("email domain is not a valid host name") from exc
    labels = domain.split(".")
    if (
        not 0 < len(local) <= 64
        or not _EMAIL_LOCAL.match(local)
        or len(labels) < 2
        or not all(_DOMAIN_LABEL.match(label) for label in labels)
        or not (labels[-1].isalpha() or labels[-1].startswith("xn--"))
        or len(local) + len(domain) + 1 > 254
    ):
        raise InvalidIdentifier("not a valid email address")
    return Identifier("email", f"{local.lower()}@{domain}", raw_kind=raw_kind)


def normalize_phone(raw: str, default_region: str = "US") -> Identifier:
    """Normalize a phone-like identifier; raises InvalidIdentifier for emails and SIP names."""
    found = normalize(raw, default_region)
    if found.kind in ("email", "other"):
        raise InvalidIdentifier(f"expected a phone number, got kind {found.kind}")
    return found


def normalize_email(raw: str) -> Identifier:
    """Normalize an email (trim, mailto:, display name, lowercase); raises InvalidIdentifier."""
    _check(raw)
    text = _unwrap(_clean(raw))
    if not text:
        raise InvalidIdentifier("identifier is empty")
    scheme = _SCHEME.match(text)
    if scheme and scheme.group("scheme").lower() == "mailto":
        return _email(scheme.group("rest"), "mailto")
    return _email(text, "email")


def party_token(pepper: bytes, tenant_id: str, identifier: Identifier) -> str:
    """Keyed hash of (tenant, kind, value): stable, never reversible without the pepper.

    Raises ValueError for an empty pepper (that would be an unkeyed, enumerable hash) and
    InvalidIdentifier for an identifier without a value (anonymous callers must be given a
    per-interaction value by the caller, or they would all share one timeline).
    """
    if not pepper:
        raise ValueError("pepper must not be empty")
    if identifier.value is None:
        raise InvalidIdentifier(f"identifier of kind {identifier.kind} has no value to tokenize")
    message = f"{tenant_id}\x1f{identifier.kind}\x1f{identifier.value}".encode()
    return hmac.new(pepper, message, hashlib.sha256).hexdigest()[:32]


def is_routable(identifier: Identifier) -> bool:
    """True for identifiers that name an external customer (phone, email) and can be searched."""
    return identifier.kind in ("phone", "email")
