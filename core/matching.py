"""Pure screen-pop matching: link > routing-plan hint > identifier search, with the reason."""

from __future__ import annotations

from dataclasses import dataclass

from core.profiles import MAX_CANDIDATES
from schemas.records import MatchCandidate

SEARCHABLE = frozenset({"phone", "email"})
_NOT_IDENTIFIED = {
    "anonymous": "caller not identified: caller id withheld",
    "extension": "caller not identified: internal extension",
    "short_code": "caller not identified: short code",
    "other": "caller not identified: identifier cannot be searched",
}


@dataclass(frozen=True, slots=True)
class Hint:
    """The routing plan's CRM record, and the directory profile it names (if any)."""

    crm: str
    object_type: str
    record_id: str
    profile: MatchCandidate | None = None

    @classmethod
    def parse(cls, text: str | None) -> Hint | None:
        """From the timeline entry's "<crm>:<object>:<id>" form (the id may contain ':')."""
        if not text:
            return None
        parts = text.split(":", 2)
        if len(parts) != 3 or not all(parts):
            return None
        return cls(crm=parts[0], object_type=parts[1], record_id=parts[2])


@dataclass(frozen=True, slots=True)
class Link:
    """The profile the interaction is linked to (agent open/relink, or an earlier pop)."""

    profile: MatchCandidate
    by_agent: str | None  # None: linked by an earlier screen pop's match
    action: str = "relink"


@dataclass(frozen=True, slots=True)
class MatchInput:
    """Everything the decision looks at; gathered by the handler from the ports."""

    party_kind: str
    directory: bool  # a profile directory is configured
    candidates: tuple[MatchCandidate, ...] = ()  # identifier search, newest claim first
    total: int = 0  # identifier search hits (may exceed the candidates kept)
    hint: Hint | None = None
    link: Link | None = None


@dataclass(frozen=True, slots=True)
class MatchDecision:
    """The explainable outcome carried by the screen pop."""

    status: str  # none | one | several | hint
    source: str  # link | hint | identifier | none | suppressed
    reason: str
    count: int = 0
    candidates: tuple[MatchCandidate, ...] = ()
    identifier_kind: str | None = None
    profile_id: str | None = None
    hint: Hint | None = None


def suppressed_match(reason: str) -> MatchDecision:
    """The match part of a suppressed pop: nothing was searched."""
    return MatchDecision("none", "suppressed", f"suppressed: {reason}")


def decide(match: MatchInput) -> MatchDecision:
    """Link beats hint beats identifier search; unknown callers are 'not identified'."""
    if match.link is not None:
        link = match.link
        who = f"agent {link.by_agent} ({link.action})" if link.by_agent else "an earlier pop"
        return MatchDecision(
            status="one",
            source="link",
            reason=f"interaction linked to this profile by {who}",
            count=1,
            candidates=(link.profile,),
            profile_id=link.profile.profile_id,
            hint=match.hint,
        )
    if match.hint is not None:
        hint = match.hint
        named = f"routing plan record hint ({hint.crm} {hint.object_type})"
        found = hint.profile
        return MatchDecision(
            status="hint",
            source="hint",
            reason=f"{named}: " + ("profile found" if found else "record not in the directory"),
            count=1 if found else 0,
            candidates=(found,) if found else (),
            profile_id=found.profile_id if found else None,
            hint=hint,
        )
    kind = match.party_kind
    if kind not in SEARCHABLE:
        return MatchDecision("none", "none", _NOT_IDENTIFIED.get(kind, _NOT_IDENTIFIED["other"]))
    if not match.directory:
        reason = "no profile directory: identifier-only timeline"
        return MatchDecision("none", "none", reason, identifier_kind=kind)
    kept = match.candidates[:MAX_CANDIDATES]
    total = max(match.total, len(match.candidates))
    if total == 0:
        reason = f"{kind} matched no profile: not identified, identifier-only timeline"
        return MatchDecision("none", "identifier", reason, identifier_kind=kind)
    if total == 1:
        return MatchDecision(
            status="one",
            source="identifier",
            reason=f"{kind} matched 1 profile",
            count=1,
            candidates=kept,
            identifier_kind=kind,
            profile_id=kept[0].profile_id,
        )
    return MatchDecision(
        status="several",
        source="identifier",
        reason=f"{kind} matched {total} profiles: the agent chooses",
        count=total,
        candidates=kept,
        identifier_kind=kind,
    )
