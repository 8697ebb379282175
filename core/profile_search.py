"""Pure profile search: what a profile is findable by (index terms), and how an agent's
query text is read (phone, email, `name:value`, name words, bare attribute value).

Index terms are keyed hashes (the PII pepper, like party tokens), so the store's keys
never hold a name or attribute value: a term is hmac(pepper, tenant, "n:" + word prefix)
for each prefix (2..MAX_PREFIX characters) of each word of the display name, and
"a:<attribute>=<value>" / "v:<value>" for each attribute value (each item of a list),
lower-cased, and "c:<crm>=<record id>" for each CRM record the profile holds (crm_ids).
Phones and emails are not indexed here: the directory's identifier claims (party tokens)
already answer them.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass

from core.errors import InvalidIdentifier
from core.identity import Identifier, normalize, party_token
from core.profile_schema import TenantSchema
from core.profiles import Profile

MIN_QUERY = 2
MAX_QUERY = 200
MIN_PREFIX = 2
MAX_PREFIX = 24  # longer words are found by their first 24 characters
MAX_VALUE = 100  # attribute values are indexed by their first 100 characters
MAX_WORDS = 6  # query words looked at (the rest are ignored)
MAX_NAME_WORDS = 10  # words of a display name that are indexed
_WORD = re.compile(r"\w+", re.UNICODE)
MIN_PHONE_DIGITS = 5
_ATTRIBUTE = re.compile(r"^(?P<name>[a-z][a-z0-9_]{0,62}):(?P<value>.+)$")


class InvalidQuery(ValueError):
    """The search text cannot be searched (too short or too long)."""


def _fold(text: str) -> str:
    return " ".join(text.casefold().split())


def term_hash(pepper: bytes, tenant_id: str, term: str) -> str:
    """The keyed hash of one index term (never reversible without the pepper)."""
    if not pepper:
        raise ValueError("pepper must not be empty")
    message = f"{tenant_id}\x1fsearch\x1f{term}".encode()
    return hmac.new(pepper, message, hashlib.sha256).hexdigest()[:32]


def name_words(text: str) -> list[str]:
    """The case-folded words of a name (letters and digits of any script)."""
    return _WORD.findall(text.casefold())


def _value_items(raw: str) -> list[str]:
    if raw.startswith("["):  # list attributes are stored JSON-encoded
        try:
            items = json.loads(raw)
        except ValueError:
            items = None
        if isinstance(items, list):
            return [str(i) for i in items]
    return [raw]


def raw_terms(profile: Profile) -> frozenset[str]:
    """The clear-text terms of a live profile (hash them with `term_hash` before storing)."""
    if profile.deleted:
        return frozenset()
    terms: set[str] = set()
    for word in name_words(profile.display_name or "")[:MAX_NAME_WORDS]:
        for end in range(MIN_PREFIX, min(len(word), MAX_PREFIX) + 1):
            terms.add("n:" + word[:end])
    for crm, record_id in profile.crm_ids.items():
        terms.add(crm_term(crm, record_id))
    for name, raw in profile.attributes.items():
        for item in _value_items(raw):
            value = _fold(item)[:MAX_VALUE]
            if value:
                terms.add(f"a:{name}={value}")
                terms.add(f"v:{value}")
    return frozenset(terms)


def crm_term(crm: str, record_id: str) -> str:
    """The term of a CRM record id a profile holds (crm_ids): which profile holds it."""
    return f"c:{crm}={record_id}"


def index_terms(profile: Profile, pepper: bytes) -> frozenset[str]:
    """What the search index keeps for a profile: its terms, hashed for its tenant."""
    return frozenset(term_hash(pepper, profile.tenant_id, t) for t in raw_terms(profile))


@dataclass(frozen=True, slots=True)
class SearchPlan:
    """How to answer one query: identifier tokens to look up in the directory, and groups
    of index terms (a profile matches a group when it has every term of it; the results
    of the groups are merged). `kind` says how the text was read (for logs, no value)."""

    kind: str  # phone | email | attribute | text
    tokens: tuple[str, ...] = ()
    groups: tuple[tuple[str, ...], ...] = ()
    phone: str | None = None  # E.164 (what a CRM search is given for a phone)
    email: str | None = None


def _identifier(text: str, region: str) -> Identifier | None:
    """A phone or email in any format the normaliser reads (tel:, sip:, mailto:, national,
    punctuated); None for anything else (a name, a value)."""
    if "@" not in text and sum(c.isdigit() for c in text) < MIN_PHONE_DIGITS:
        return None
    try:
        found = normalize(text, region)
    except InvalidIdentifier:
        return None
    return found if found.kind in ("phone", "email") and found.value else None


def check_query(q: str) -> str:
    """The trimmed query; InvalidQuery when shorter than MIN_QUERY or longer than MAX_QUERY."""
    text = " ".join(q.split())
    if len(text) < MIN_QUERY:
        raise InvalidQuery(f"q must have at least {MIN_QUERY} characters")
    if len(text) > MAX_QUERY:
        raise InvalidQuery(f"q must have at most {MAX_QUERY} characters")
    return text


def plan_query(
    q: str, tenant_id: str, pepper: bytes, region: str, schema: TenantSchema
) -> SearchPlan:
    """Read a query: an email or phone (any format the normaliser reads) -> its party
    token; `name:value` with a schema attribute -> that attribute's value; anything else ->
    profiles whose display name has a word starting with each query word (2+ characters),
    or with that bare value in any attribute. Raises InvalidQuery."""
    text = check_query(q)

    def hashed(*terms: str) -> tuple[str, ...]:
        return tuple(term_hash(pepper, tenant_id, t) for t in terms)

    found = _identifier(text, region)
    if found is not None:
        token = party_token(pepper, tenant_id, Identifier(found.kind, found.value))
        value = found.value
        if found.kind == "email":
            return SearchPlan("email", tokens=(token,), email=value)
        # Digits may also be an attribute value (an account number): look for both.
        value_group = hashed(f"v:{_fold(text)[:MAX_VALUE]}")
        return SearchPlan("phone", tokens=(token,), groups=(value_group,), phone=value)
    attribute = _ATTRIBUTE.match(text)
    if attribute and schema.spec(attribute["name"]) is not None:
        value = _fold(attribute["value"])[:MAX_VALUE]
        return SearchPlan("attribute", groups=(hashed(f"a:{attribute['name']}={value}"),))
    words = [w[:MAX_PREFIX] for w in name_words(text) if len(w) >= MIN_PREFIX][:MAX_WORDS]
    groups: list[tuple[str, ...]] = []
    if words:
        groups.append(hashed(*(f"n:{w}" for w in words)))
    groups.append(hashed(f"v:{_fold(text)[:MAX_VALUE]}"))
    return SearchPlan("text", groups=tuple(groups))


def merge_ids(lists: Iterable[Iterable[str]], limit: int) -> list[str]:
    """Distinct ids in first-seen order, at most `limit`."""
    seen: dict[str, None] = {}
    for items in lists:
        for item in items:
            seen.setdefault(item, None)
            if len(seen) >= limit:
                return list(seen)
    return list(seen)
