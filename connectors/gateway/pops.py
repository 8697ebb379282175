"""A screen pop as the gateway holds it: where it sits in the topic, whose it is, its JSON."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from schemas import codec
from schemas.canonical_json import to_json
from schemas.errors import SchemaError
from schemas.records import ScreenPopRequested

_CURSOR = re.compile(r"^(\d{1,9}):(\d{1,19})$")

Decoder = Callable[[bytes], Any]


@dataclass(frozen=True, slots=True)
class Pop:
    """One ScreenPopRequested at (partition, offset); `data` is its canonical JSON (the SSE
    payload, docs/schemas.md). `occurred_ms` (when it was popped, never before its render),
    `rang_ms` (its trigger event's time, None from producers before `rang_at`) and
    `ended_ms` (when its interaction ended, if its view says so) decide whether a new panel
    still shows it and whether it is presented as ringing."""

    partition: int
    offset: int
    tenant: str
    agent: str
    occurred_ms: int
    data: str
    ended_ms: int | None = None
    rang_ms: int | None = None

    @property
    def ring_ms(self) -> int:
        """When the call rang (or was offered/accepted): the pop's own time if unknown."""
        return self.occurred_ms if self.rang_ms is None else self.rang_ms

    @property
    def event_id(self) -> str:
        """The SSE event id, `<partition>:<offset>`: an agent's pops all share one partition
        (the key is `<tenant>:<agent>`), so the offset orders them and resumes after them."""
        return f"{self.partition}:{self.offset}"


@dataclass(frozen=True, slots=True)
class Cursor:
    """A parsed Last-Event-ID: everything of that partition after `offset` is wanted."""

    partition: int
    offset: int


def is_ringing(pop: Pop, now_ms: int, fresh_ms: int) -> bool:
    """Presented as a live call: it rang within the freshness window and its interaction is
    not known to have ended. Anything else (a backlog worked through, a replay, a long
    disconnect) is an earlier call: shown as history, never as ringing."""
    if pop.ended_ms is not None and pop.ended_ms <= now_ms:
        return False
    return now_ms - pop.ring_ms <= fresh_ms


def parse_cursor(raw: str | None) -> Cursor | None:
    """`"3:1042"` -> Cursor(3, 1042); anything else (absent, garbage) -> None (a fresh start)."""
    match = _CURSOR.match((raw or "").strip())
    return Cursor(int(match[1]), int(match[2])) if match else None


def agent_key(tenant: str, agent: str) -> bytes:
    """The Kafka key screen pops carry (streams.screen_pops.pop_out)."""
    return f"{tenant}:{agent}".encode()


def pop_from_message(
    partition: int, offset: int, value: bytes | None, decode: Decoder = codec.decode
) -> Pop:
    """Decode one record of the screen-pop topic; raises SchemaError for bytes that are not
    a ScreenPopRequested (the caller logs and skips them: the gateway is not their owner)."""
    if value is None:
        raise SchemaError("empty screen-pop record (tombstone)")
    record = decode(value)
    if not isinstance(record, ScreenPopRequested):
        raise SchemaError(f"a {type(record).__name__} on the screen-pop topic")
    return Pop(
        partition=partition,
        offset=offset,
        tenant=record.tenant_id,
        agent=record.agent_id,
        occurred_ms=int(record.occurred_at.timestamp() * 1000),
        data=to_json(record),
        ended_ms=ended_ms_of(record.interaction_id, record.view_json),
        rang_ms=None if record.rang_at is None else int(record.rang_at.timestamp() * 1000),
    )


def ended_ms_of(interaction_id: str, view_json: str | None) -> int | None:
    """When the popped interaction ended, from its own item in the view's timeline (None
    when it has not ended, or the view does not say). A pop can be emitted long after its
    interaction, e.g. when the pipeline replays history, and must not open a new panel as
    if the call were ringing now."""
    try:
        view = json.loads(view_json or "{}")
        for item in view.get("timeline") or ():
            if isinstance(item, dict) and item.get("interaction_id") == interaction_id:
                ended = item.get("ended_at")
                if not ended:
                    return None
                at = datetime.fromisoformat(ended)
                return int((at if at.tzinfo else at.replace(tzinfo=UTC)).timestamp() * 1000)
    except (ValueError, TypeError, AttributeError):
        return None  # a view the gateway cannot read still pops; only the rule falls back
    return None
