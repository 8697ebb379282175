"""Suppression policy, table-driven: internal, unrouted, directory calls and configured rules."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from core.policies import (
    SuppressionRules,
    is_prewarm,
    rules_from_dict,
    screen_pop_for,
    suppression_for,
)
from core.ports import Party
from core.timeline import fold
from schemas.records import (
    InteractionAccepted,
    InteractionEnded,
    InteractionOffered,
    InteractionTransferred,
)
from tests.factories import CALLER, CENTRE, T0, eid

CUSTOMER = Party("acme", "tok-cust", "phone", CALLER)
INTERNAL = Party("acme", "tok-ext", "extension", "1001", internal=True)
SUPPLIER = Party("acme", "tok-supplier", "phone", "+442079460777")


def offer(
    stage="offered", queue="Sales", direction="inbound", ivr=(), agent="ag-1", channel="voice"
):
    return InteractionOffered(eid(), "acme", T0, "ix-1", channel, direction, CALLER, CENTRE,
                              stage=stage, agent_id=agent, queue=queue, ivr_path=ivr)


def entry_of(*events):
    return fold(list(events))["ix-1"]


RULES = SuppressionRules(
    directory_tokens=frozenset({"tok-supplier"}),
    directory_queues=frozenset({"Directory"}),
    directory_ivr_nodes=frozenset({"dial-by-name"}),
    channels_off=frozenset({"email"}),
    queues_off=frozenset({"Backoffice"}),
)

CASES = [
    # (name, party, events, rules, expected reason)
    ("routed customer call pops", CUSTOMER, [offer()], RULES, None),
    ("IVR-only routing counts as routed", CUSTOMER, [offer(queue=None, ivr=("menu",))], RULES,
     None),
    ("agent to agent (extension)", INTERNAL, [offer()], RULES, "agent_to_agent"),
    ("internal direction", CUSTOMER, [offer(direction="internal")], RULES, "agent_to_agent"),
    ("unrouted inbound", CUSTOMER, [offer(queue=None)], RULES, "unrouted"),
    ("outbound without queue is not unrouted", CUSTOMER,
     [offer(queue=None, direction="outbound")], RULES, None),
    ("directory number", SUPPLIER, [offer()], RULES, "directory"),
    ("directory queue", CUSTOMER, [offer(queue="Directory")], RULES, "directory"),
    ("directory IVR node", CUSTOMER, [offer(queue=None, ivr=("main", "dial-by-name"))], RULES,
     "directory"),
    ("channel switched off", CUSTOMER, [offer(channel="email")], RULES, "channel_off"),
    ("queue switched off", CUSTOMER, [offer(queue="Backoffice")], RULES, "queue_off"),
    ("agent_to_agent rule disabled", INTERNAL, [offer()],
     replace(RULES, agent_to_agent=False), None),
    ("unrouted rule disabled", CUSTOMER, [offer(queue=None)], replace(RULES, unrouted=False),
     None),
    ("directory rule disabled", SUPPLIER, [offer()], replace(RULES, directory=False), None),
    ("internal wins over directory", INTERNAL, [offer(queue="Directory")], RULES,
     "agent_to_agent"),
]


@pytest.mark.parametrize(
    ("party", "events", "rules", "reason"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_suppression_reason(party, events, rules, reason):
    """The first applicable rule names the reason; None means the pop shows."""
    assert suppression_for(events[-1], party, entry_of(*events), rules) == reason


def test_offer_and_accept_of_one_interaction_get_the_same_verdict():
    """Rules read the merged entry, so every trigger of an interaction agrees."""
    queued = offer(queue="Directory", stage="queued", agent=None)
    ring = offer(queue="Directory")
    accept = InteractionAccepted(eid(), "acme", T0 + timedelta(seconds=5), "ix-1", "voice",
                                 "ag-1")
    entry = entry_of(queued, ring, accept)
    verdicts = {screen_pop_for(e, CUSTOMER, entry, RULES).reason for e in (ring, accept)}
    assert verdicts == {"directory"}


TRIGGERS = [
    ("ivr entry", offer(stage="ivr", agent=None), None, True),
    ("queued", offer(stage="queued", agent=None), None, True),
    ("agent leg rings", offer(), ("ag-1", "offered"), False),
    ("offered without agent", offer(agent=None), None, False),
    ("accepted", InteractionAccepted(eid(), "acme", T0, "ix-1", "voice", "ag-2"),
     ("ag-2", "accepted"), False),
    ("transfer to agent", InteractionTransferred(eid(), "acme", T0, "ix-1", "voice", "blind",
                                                 from_agent_id="ag-1", to_agent_id="ag-3"),
     ("ag-3", "transferred"), False),
    ("transfer to queue", InteractionTransferred(eid(), "acme", T0, "ix-1", "voice", "blind",
                                                 to_queue="Q2"), None, False),
    ("ended", InteractionEnded(eid(), "acme", T0, "ix-1", "voice", "inbound", CALLER, CENTRE, 5),
     None, False),
]


@pytest.mark.parametrize(
    ("event", "target", "prewarm"), [t[1:] for t in TRIGGERS], ids=[t[0] for t in TRIGGERS]
)
def test_pop_triggers(event, target, prewarm):
    """Which events pop for which agent, and which only pre-warm."""
    entry = entry_of(offer(), event)
    decision = screen_pop_for(event, CUSTOMER, entry, RULES)
    assert (None if decision is None else (decision.agent_id, decision.trigger)) == target
    assert is_prewarm(event) is prewarm


def test_rules_from_config_tokenize_directory_numbers():
    """Directory numbers are configured raw and compared as tokens."""
    rules = rules_from_dict(
        {"directory_numbers": ["020 7946 0777"], "unrouted": False, "queues_off": ["Q"]},
        lambda raw: "tok-supplier" if raw.endswith("0777") else None,
    )
    assert rules.directory_tokens == frozenset({"tok-supplier"})
    assert rules.unrouted is False
    assert rules.queues_off == frozenset({"Q"})


@pytest.mark.parametrize(
    "doc",
    [{"unrouted": "no"}, {"queues_off": "Q"}, {"directory_numbers": ["not a number"]}],
    ids=["flag not boolean", "list not list", "number does not normalize"],
)
def test_bad_rules_are_rejected(doc):
    """A bad rules document names the problem instead of being half-applied."""
    with pytest.raises(ValueError, match="suppression"):
        rules_from_dict(doc, lambda raw: None)
