"""Pure profile directory model: profiles, identifier claims, and who owns an identifier."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from core.profile_schema import UNIQUE_PHONE

# How identifiers resolve to profiles, as a function of the *set* of upserts (order-free):
# - each profile is last-writer-wins by stamp (occurred_at ms, event_id);
# - a profile's latest state *claims* each of its identifier tokens with its stamp;
# - under "shared" every claimant matches; under "unique_phone" a phone token belongs to
#   its newest claimant only (ties: larger profile id), so the newer profile takes it and
#   the older one loses it. The older claim is kept: if the newer profile drops the phone
#   or is deleted, the phone goes back to the next-newest claimant. Emails are never
#   exclusive (many people share a family or office address).

Stamp = tuple[int, str]
MAX_CANDIDATES = 10


def stamp_key(stamp: Stamp) -> str:
    """A stamp as a string whose lexical order is the stamp's order (Redis compares these)."""
    return f"{stamp[0]:015d}|{stamp[1]}"


@dataclass(frozen=True, slots=True)
class ProfileIdentifier:
    """One identifier of a profile: kind, normalized value (never logged) and its token."""

    kind: str
    value: str
    token: str


@dataclass(frozen=True, slots=True)
class Profile:
    """The latest known state of one profile."""

    tenant_id: str
    profile_id: str
    stamp: Stamp
    display_name: str | None = None
    identifiers: tuple[ProfileIdentifier, ...] = ()
    attributes: dict[str, str] = field(default_factory=dict)
    source: str = "api"
    deleted: bool = False
    crm_ids: dict[str, str] = field(default_factory=dict)  # CRM name -> vendor contact id

    @property
    def tokens(self) -> frozenset[str]:
        """The tokens this profile claims (none once deleted)."""
        return frozenset() if self.deleted else frozenset(i.token for i in self.identifiers)

    def kind_of(self, token: str) -> str | None:
        """The identifier kind of one of this profile's tokens."""
        return next((i.kind for i in self.identifiers if i.token == token), None)


@dataclass(frozen=True, slots=True)
class UpsertPlan:
    """What applying an upsert changes: status, tokens to claim and to release."""

    status: str  # created | updated | unchanged
    claim: frozenset[str]
    release: frozenset[str]


def plan_upsert(current: Profile | None, incoming: Profile) -> UpsertPlan | None:
    """The changes an incoming profile state makes; None when it is older than the stored one.

    A repeat of the stored stamp re-claims its tokens (safe: claims are idempotent), so a
    crash between the claims and the profile write heals when the event is redelivered.
    """
    if current is not None and current.stamp > incoming.stamp:
        return None
    if current is not None and current.stamp == incoming.stamp:
        return UpsertPlan("unchanged", incoming.tokens, frozenset())
    status = "created" if current is None or current.deleted else "updated"
    old = current.tokens if current is not None else frozenset()
    return UpsertPlan(status, incoming.tokens, old - incoming.tokens)


def claim_exclusive(kind: str, policy: str) -> bool:
    """Whether a token of this kind has a single owner under the tenant's policy."""
    return policy == UNIQUE_PHONE and kind == "phone"


def ranked(claims: Mapping[str, str]) -> list[str]:
    """Claimant profile ids, newest claim first (ties: larger profile id first)."""
    return [pid for _, pid in sorted(((s, p) for p, s in claims.items()), reverse=True)]


def owners(claims: Mapping[str, str], exclusive: bool) -> list[str]:
    """The profiles a token resolves to: its newest claimant, or every claimant."""
    order = ranked(claims)
    return order[:1] if exclusive else order


@dataclass(frozen=True, slots=True)
class OwnershipChange:
    """An exclusive identifier moved between profiles (audit record; token only, no value)."""

    token: str
    at_ms: int
    event_id: str
    previous: str | None
    current: str | None

    def to_json(self) -> str:
        """The audit entry as stored."""
        return json.dumps(
            {
                "token": self.token,
                "at_ms": self.at_ms,
                "event_id": self.event_id,
                "from": self.previous,
                "to": self.current,
            },
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, raw: str | bytes) -> OwnershipChange:
        """Parse a stored audit entry."""
        doc = json.loads(raw)
        return cls(doc["token"], int(doc["at_ms"]), doc["event_id"], doc["from"], doc.get("to"))


def profile_to_json(profile: Profile) -> str:
    """The stored document of a profile (compact; identifier values stay out of keys)."""
    return json.dumps(
        {
            "v": 1,
            "t": profile.tenant_id,
            "id": profile.profile_id,
            "s": list(profile.stamp),
            "n": profile.display_name,
            "ids": [[i.kind, i.value, i.token] for i in profile.identifiers],
            "a": profile.attributes,
            "src": profile.source,
            "del": profile.deleted,
            **({"crm": profile.crm_ids} if profile.crm_ids else {}),
        },
        ensure_ascii=False,
        separators=(",", ":"),
    )


def profile_from_json(raw: str | bytes) -> Profile:
    """Parse a stored profile document."""
    doc = json.loads(raw)
    return Profile(
        tenant_id=doc["t"],
        profile_id=doc["id"],
        stamp=(int(doc["s"][0]), str(doc["s"][1])),
        display_name=doc.get("n"),
        identifiers=tuple(ProfileIdentifier(k, v, t) for k, v, t in doc.get("ids", [])),
        attributes=dict(doc.get("a", {})),
        source=doc.get("src", "api"),
        deleted=bool(doc.get("del", False)),
        crm_ids=dict(doc.get("crm", {})),
    )


def merge_newest_first(lists: Iterable[list[str]]) -> list[str]:
    """Distinct ids of several ranked lists, keeping first appearance order."""
    seen: dict[str, None] = {}
    for items in lists:
        for item in items:
            seen.setdefault(item, None)
    return list(seen)
