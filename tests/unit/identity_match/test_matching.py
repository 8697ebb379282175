"""Matching decisions, table-driven: link > hint > identifier search, with explainable reasons."""

from __future__ import annotations

import pytest

from core.matching import Hint, Link, MatchInput, decide, suppressed_match
from schemas.records import MatchCandidate

A = MatchCandidate("p-a", "Alice")
B = MatchCandidate("p-b", "Bob")
C = MatchCandidate("p-c", None)
HINT_FOUND = Hint("sfdc", "Contact", "003X", profile=B)
HINT_MISSING = Hint("sfdc", "Contact", "003Y")

CASES = [
    # (name, input, status, source, count, profile_id, identifier_kind, reason fragment)
    ("no match", MatchInput("phone", True), "none", "identifier", 0, None, "phone",
     "not identified"),
    ("one match", MatchInput("phone", True, (A,), 1), "one", "identifier", 1, "p-a", "phone",
     "matched 1 profile"),
    ("several", MatchInput("email", True, (A, B, C), 3), "several", "identifier", 3, None,
     "email", "matched 3 profiles"),
    ("count beyond candidates kept", MatchInput("phone", True, (A, B), 25), "several",
     "identifier", 25, None, "phone", "matched 25"),
    ("anonymous caller", MatchInput("anonymous", True), "none", "none", 0, None, None,
     "withheld"),
    ("extension", MatchInput("extension", True), "none", "none", 0, None, None, "extension"),
    ("unknown kind", MatchInput("other", True), "none", "none", 0, None, None,
     "cannot be searched"),
    ("no directory", MatchInput("phone", False), "none", "none", 0, None, "phone",
     "no profile directory"),
    ("hint beats identifier", MatchInput("phone", True, (A,), 1, hint=HINT_FOUND), "hint",
     "hint", 1, "p-b", None, "profile found"),
    ("hint not in directory", MatchInput("phone", True, (A, B), 2, hint=HINT_MISSING), "hint",
     "hint", 0, None, None, "not in the directory"),
    ("hint for anonymous caller", MatchInput("anonymous", True, hint=HINT_FOUND), "hint",
     "hint", 1, "p-b", None, "routing plan"),
    ("link beats hint", MatchInput("phone", True, (A,), 1, HINT_FOUND, Link(C, "ag-2")),
     "one", "link", 1, "p-c", None, "agent ag-2"),
    ("link from earlier pop", MatchInput("phone", True, (A, B), 2, link=Link(A, None)),
     "one", "link", 1, "p-a", None, "earlier pop"),
    ("link for unknown caller", MatchInput("anonymous", True, link=Link(B, "ag-1", "open_profile")),
     "one", "link", 1, "p-b", None, "open_profile"),
]


@pytest.mark.parametrize(
    ("match", "status", "source", "count", "profile_id", "kind", "reason"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_decide(match, status, source, count, profile_id, kind, reason):
    """Each input gives the documented status, source, count, profile and reason."""
    decision = decide(match)
    assert (decision.status, decision.source, decision.count) == (status, source, count)
    assert decision.profile_id == profile_id
    assert decision.identifier_kind == kind
    assert reason in decision.reason


def test_candidates_are_capped_at_ten_but_the_count_is_not():
    """A shared number with 30 profiles lists 10 candidates and says 30."""
    many = tuple(MatchCandidate(f"p-{n}") for n in range(30))
    decision = decide(MatchInput("phone", True, many, 30))
    assert decision.count == 30
    assert len(decision.candidates) == 10
    assert decision.candidates[0].profile_id == "p-0"


def test_hint_parse_round_trips_the_entry_form():
    """The timeline entry stores hints as crm:object:id; ids may contain colons."""
    assert Hint.parse("sfdc:Contact:003X") == Hint("sfdc", "Contact", "003X")
    assert Hint.parse("hubspot:contact:a:b") == Hint("hubspot", "contact", "a:b")
    assert Hint.parse("broken") is None
    assert Hint.parse(None) is None


def test_suppressed_match_searches_nothing():
    """A suppressed pop carries status none, source suppressed and the reason."""
    decision = suppressed_match("agent_to_agent")
    assert (decision.status, decision.source, decision.count) == ("none", "suppressed", 0)
    assert decision.reason == "suppressed: agent_to_agent"
