"""Pure: which CRM record an activity is written to, and in which CRM.

An activity goes to the record the interaction is linked to *when it is written*, by this
precedence (the first that applies wins):

1. hint    - the record the routing plan already identified (InteractionEntry.hinted);
2. agent   - the CRM record the agent picked (a relink from a CRM search result);
3. profile - the linked profile's CRM record ids (Profile.crm_ids, per CRM);
4. search  - identifier search: by the linked profile's phone/email when a profile is
             linked, else by the caller's.

The CRM: a CRM the tenant's rule names stays (crm_choice "rule"); otherwise the CRM the
agent chose for the interaction (crm_choice "agent"); otherwise the routing default
(crm None, crm_choice None). A hint or a picked record of another CRM does not apply.

`retarget` re-applies the rule to an activity already written (after a relink or a CRM
choice); None when nothing about its target changed (so a redelivered relink re-emits
nothing, and the sink sees nothing new).
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from core.activity_log import CrmChoice
from core.links import LinkAction
from core.profiles import Profile
from schemas.records import ActivityRequested, CrmRecordHint

HINT, AGENT, PROFILE, SEARCH = "hint", "agent", "profile", "search"
CHOICE_AGENT, CHOICE_RULE = "agent", "rule"
_NS = uuid.UUID("8e0b54a2-6f1d-4c3b-b2a9-3d7e5f1c0a64")


@dataclass(frozen=True, slots=True)
class LinkedProfile:
    """The profile an interaction is linked to, as the target rule needs it."""

    profile_id: str
    crm_ids: Mapping[str, str] = field(default_factory=dict)
    phone: str | None = None  # the profile's first phone (E.164), for the search
    email: str | None = None
    picked: CrmRecordHint | None = None  # the CRM record the agent picked with the relink


@dataclass(frozen=True, slots=True)
class Target:
    """How to fill an ActivityRequested's target fields."""

    crm: str | None
    crm_choice: str | None
    crm_record_hint: CrmRecordHint | None
    profile_id: str | None
    profile_crm_ids: dict[str, str]
    customer_phone: str | None
    customer_email: str | None
    target: str


def plan_hint(hint: str) -> CrmRecordHint:
    """The routing plan's hint ("<crm>:<object type>:<id>") as a CrmRecordHint."""
    crm, object_type, record_id = hint.split(":", 2)
    return CrmRecordHint(crm, object_type, record_id)


def picked_record(crm: str | None, record_id: str | None) -> CrmRecordHint | None:
    """The CRM record a relink names (`record_id` "<crm>:contact:<id>"), or None."""
    if not record_id:
        return None
    parts = record_id.split(":", 2)
    if len(parts) != 3 or not all(parts) or parts[1] != "contact":
        return None
    if crm is not None and parts[0] != crm:
        return None
    return CrmRecordHint(parts[0], parts[1], parts[2])


def linked_profile(link: LinkAction | None, profile: Profile | None) -> LinkedProfile | None:
    """The LinkedProfile of the current link (None: not linked, or the profile is gone)."""
    if link is None or profile is None or profile.deleted:
        return None
    phone = next((i.value for i in profile.identifiers if i.kind == "phone"), None)
    email = next((i.value for i in profile.identifiers if i.kind == "email"), None)
    return LinkedProfile(profile.profile_id, dict(profile.crm_ids), phone, email,
                         picked_record(link.crm, link.record_id))


def _applies(record: CrmRecordHint | None, crm: str | None) -> bool:
    # crm None = the routing default, unknown here: the sink checks the CRM again.
    return record is not None and (crm is None or record.crm == crm)


def target_for(
    *,
    rule_crm: str | None,
    plan_hint: CrmRecordHint | None,
    linked: LinkedProfile | None,
    caller_phone: str | None,
    caller_email: str | None,
    chosen_crm: str | None = None,
) -> Target:
    """The target of an activity: see the module docstring for the precedence."""
    if rule_crm is not None:
        crm, choice = rule_crm, CHOICE_RULE
    elif chosen_crm is not None:
        crm, choice = chosen_crm, CHOICE_AGENT
    else:
        crm, choice = None, None
    phone, email = (linked.phone, linked.email) if linked else (caller_phone, caller_email)
    crm_ids = dict(linked.crm_ids) if linked else {}
    profile_id = linked.profile_id if linked else None
    if _applies(plan_hint, crm):
        hint, how = plan_hint, HINT
    elif linked is not None and _applies(linked.picked, crm):
        hint, how = linked.picked, AGENT
    else:
        hint = None
        has_id = crm_ids.get(crm) if crm is not None else bool(crm_ids)
        how = PROFILE if has_id else SEARCH
    if linked is not None and linked.picked is not None:
        crm_ids.setdefault(linked.picked.crm, linked.picked.record_id)
    return Target(crm, choice, hint, profile_id, crm_ids, phone, email, how)


def apply(activity: ActivityRequested, target: Target) -> ActivityRequested:
    """The activity with its target fields set."""
    return dataclasses.replace(
        activity,
        crm=target.crm,
        crm_choice=target.crm_choice,
        crm_record_hint=target.crm_record_hint,
        profile_id=target.profile_id,
        profile_crm_ids=target.profile_crm_ids,
        customer_phone=target.customer_phone,
        customer_email=target.customer_email,
        target=target.target,
    )


@dataclass(frozen=True, slots=True)
class Caller:
    """The caller's own identifiers (what an activity falls back to when not linked)."""

    phone: str | None = None
    email: str | None = None


def fill(
    activity: ActivityRequested,
    *,
    caller: Caller,
    linked: LinkedProfile | None,
    chosen_crm: str | None,
) -> ActivityRequested:
    """A freshly built activity (its crm_record_hint is the routing plan's, its crm the
    rule's) filled by the target rule."""
    target = target_for(rule_crm=activity.crm, plan_hint=activity.crm_record_hint, linked=linked,
                        caller_phone=caller.phone, caller_email=caller.email,
                        chosen_crm=chosen_crm)
    return apply(activity, target)


def _revised(activity: ActivityRequested, revision: int, why: str) -> ActivityRequested:
    name = f"{activity.idempotency_key}:{activity.crm}:{revision}:{why}"
    return dataclasses.replace(activity, revision=revision, event_id=str(uuid.uuid5(_NS, name)))


def above(activity: ActivityRequested, floor: int | None) -> ActivityRequested:
    """An automatic activity revised above `floor` (the latest agent link or CRM choice of
    its interaction) when that came after the activity's own revision: a late update (a
    recording after a relink) then outranks the re-targeted revision, which is at most
    `floor` (see `moved`). Deterministic, so a replay is the same request."""
    if floor is None or activity.revision > floor:
        return activity
    return _revised(activity, floor + 1, "update")


def moved(activity: ActivityRequested, at_ms: int) -> ActivityRequested:
    """A recomputed automatic activity re-emitted for a relink or CRM choice made at `at_ms`:
    above its own revision (the entry's latest event) and at least `at_ms`."""
    return _revised(activity, max(activity.revision + 1, at_ms), "retarget")


def crms_written(choices: Sequence[CrmChoice], written_ms: int) -> list[str | None]:
    """The CRMs an automatic activity first written at `written_ms` went to: the one chosen
    then (None = the routing default), and every CRM chosen after it (choose_crm writes the
    interaction's activities there too). `choices` oldest first."""
    before = [c for c in choices if c.at_ms <= written_ms]
    crms: list[str | None] = [before[-1].crm if before else None]
    crms += [c.crm for c in choices if c.at_ms > written_ms]
    return list(dict.fromkeys(crms))


def same_target(a: LinkAction | None, b: LinkAction | None) -> bool:
    """Whether two links send activities to the same place (profile and picked record)."""
    if a is None or b is None:
        return a is b
    return (a.profile_id, a.record_id, a.crm) == (b.profile_id, b.record_id, b.crm)


def over(activity: ActivityRequested, prior: ActivityRequested | None) -> ActivityRequested:
    """A freshly built activity, revised above `prior` (the one last emitted for its slot)
    when a re-target gave that one a higher revision and this one says something new (a
    late recording after a relink); a replay of what `prior` says is `prior` (a duplicate)."""
    if prior is None or prior.revision <= activity.revision:
        return activity
    if dataclasses.replace(activity, revision=prior.revision, event_id=prior.event_id) == prior:
        return prior
    return _revised(activity, prior.revision + 1, "update")


def retarget(
    stored: ActivityRequested,
    *,
    caller: Caller,
    linked: LinkedProfile | None,
    chosen_crm: str | None,
    revision: int,
) -> ActivityRequested | None:
    """A stored (already emitted) activity re-filled for the current link and CRM choice,
    at `revision` or above (always above the stored one); None when its target is the same.

    What the stored activity says about its origin is kept: the routing-plan hint (target
    "hint") and the CRM a rule named (crm_choice "rule").
    """
    plan_hint = stored.crm_record_hint if stored.target == HINT else None
    rule_crm = stored.crm if stored.crm_choice == CHOICE_RULE else None
    target = target_for(rule_crm=rule_crm, plan_hint=plan_hint, linked=linked,
                        caller_phone=caller.phone, caller_email=caller.email,
                        chosen_crm=chosen_crm)
    moved = apply(stored, target)
    if moved == stored:
        return None
    return _revised(moved, max(revision, stored.revision + 1), "retarget")
