"""Pure classification of an interaction entry into the moment an automation rule fires on.

A trigger is a function of the merged entry only (the fold of the events seen, whatever
their order or duplicates), so it is order-independent like the fold itself. It can still
change as more events arrive (a late accept turns a "missed" call into an answered one; a
late recording turns an abandoned call into a voicemail); docs/activities.md says what
then happens to an activity already written.
"""

from __future__ import annotations

import re

from core.timeline import AgentLeg, InteractionEntry
from core.view import direction_of, ended_ms_of, queue_of

# The triggers, in the order the documentation lists them; "wrapup" is what every rule
# without an explicit `on` fires on (the behaviour before triggers existed).
TRIGGERS = ("wrapup", "missed", "abandoned", "voicemail", "parked")
DEFAULT_ON = frozenset({"wrapup"})

# Vendor end reasons, compared after lower-casing and turning every run of other characters
# into "_" (Twilio "no-answer", FreeSWITCH "NO_ANSWER", Asterisk "No answer" all read
# "no_answer"). A reason only has to *contain* one of these words.
_VOICEMAIL_WORDS = ("voicemail", "voice_mail")
_ABANDON_WORDS = ("abandon",)
_NO_ANSWER_WORDS = ("no_answer", "noanswer", "missed", "no_user_response")
_CHANNEL_NAMES = {"chat": "Chat", "sms": "SMS conversation", "email": "Email",
                  "whatsapp": "WhatsApp conversation"}  # fmt: skip


def _reason(entry: InteractionEntry) -> str:
    raw = entry.ending.end_reason if entry.ending is not None else None
    return re.sub(r"[^a-z0-9]+", "_", (raw or "").lower()).strip("_")


def _says(reason: str, words: tuple[str, ...]) -> bool:
    return any(word in reason for word in words)


def _answered(leg: AgentLeg) -> bool:
    # Accepted, or (for sources that never send an accept: Twilio Voice, FreeSWITCH) an
    # agent's leg that ended after talking for a while.
    return leg.accepted is not None or (
        leg.agent_id is not None and leg.ended is not None and (leg.duration_seconds or 0) > 0
    )


def is_answered(entry: InteractionEntry) -> bool:
    """Whether any agent took the interaction (an accepted leg, or an agent leg that talked)."""
    return any(_answered(leg) for leg in entry.legs)


def is_ended(entry: InteractionEntry) -> bool:
    """The interaction ended: its interaction-level end, else every known leg ended (Amazon
    Connect ends contacts, which are legs)."""
    if entry.ending is not None:
        return True
    return bool(entry.legs) and all(leg.ended is not None for leg in entry.legs)


def trigger_of(entry: InteractionEntry) -> str | None:
    """The trigger an entry is at now (None: no rule fires yet).

    - `wrapup`: the agent entered wrap-up (the entry has a wrap-up); wins over everything.
    The others need an interaction that ended, was not outbound or internal, and that no
    agent answered (no accepted leg, no agent leg that ended with talk time):
    - `voicemail` (voice): the end reason names voicemail, or a recording exists.
    - `missed` (voice): it rang an agent (a leg names one) or the end reason says no answer.
    - `abandoned` (voice): it reached a queue, or the end reason says abandoned.
    - `parked` (chat, email, sms, whatsapp): it ended/closed without an agent.
    An inbound call that ended in the IVR without queueing, ringing an agent or leaving a
    message (self-service) has no trigger.
    """
    if entry.wrapup is not None:
        return "wrapup"
    if not is_ended(entry) or direction_of(entry) in ("outbound", "internal"):
        return None
    if is_answered(entry):
        return None
    if entry.channel != "voice":
        return "parked"
    reason = _reason(entry)
    if _says(reason, _VOICEMAIL_WORDS) or entry.recording is not None:
        return "voicemail"
    if any(leg.agent_id for leg in entry.legs) or _says(reason, _NO_ANSWER_WORDS):
        return "missed"
    if queue_of(entry) is not None or _says(reason, _ABANDON_WORDS):
        return "abandoned"
    return None


def fired_ms(entry: InteractionEntry) -> int:
    """When the entry's rules first fired: the wrap-up of an answered interaction, else its
    end (a missed call's wrap-up, if any, comes later); the latest event when neither is
    known."""
    ended = ended_ms_of(entry)
    if entry.wrapup is not None and (is_answered(entry) or ended is None):
        return entry.wrapup.stamp[0]
    return ended if ended is not None else entry.last_ms


def wait_seconds_of(entry: InteractionEntry) -> int | None:
    """Seconds from entering the first queue to the end (None when either is unknown)."""
    ended = ended_ms_of(entry)
    if entry.queued is None or ended is None:
        return None
    return max(0, (ended - entry.queued.stamp[0]) // 1000)


def default_subject(trigger: str | None, entry: InteractionEntry, wait: str) -> str | None:
    """The subject of an activity whose rule gives none (None: the timeline title).

    No customer identifiers: queue names and durations only. `wait` is the human queue
    wait ("42s", "" when unknown)."""
    queue = queue_of(entry)
    at = f" ({queue})" if queue else ""
    if trigger == "missed":
        return f"Missed call{at}"
    if trigger == "voicemail":
        return f"Voicemail{at}"
    if trigger == "abandoned":
        return f"Abandoned call after {wait} in queue{at}" if wait else f"Abandoned call{at}"
    if trigger == "parked":
        name = _CHANNEL_NAMES.get(entry.channel, entry.channel.capitalize())
        return f"{name} ended without an agent{at}"
    return None
