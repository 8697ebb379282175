"""Pure timeline queries: filters, period floors, profile union, opaque cursors, paging."""

from __future__ import annotations

import base64
import binascii
import calendar
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from core.timeline import InteractionEntry, from_ms, merge, to_ms
from core.view import campaign_of, direction_of
from schemas.errors import C360Error
from schemas.records import CHANNELS, DIRECTIONS

PERIODS_MONTHS = (3, 6, 9, 12)
MAX_LIMIT = 200
_CURSOR_VERSION = "1"


class QueryError(C360Error, ValueError):
    """A timeline query the API must refuse with 400 (bad filter, limit or cursor)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True, order=True)
class Cursor:
    """Position after the last item of a page: (start ms, interaction id), newest first."""

    started_ms: int
    interaction_id: str


@dataclass(frozen=True, slots=True)
class TimelineQuery:
    """What a timeline read asks for; `channels` are already resolved (never empty)."""

    channels: tuple[str, ...]
    limit: int = 50
    campaign: str | None = None
    direction: str | None = None
    period_months: int | None = None
    cursor: Cursor | None = None

    @property
    def selective(self) -> bool:
        """True when a filter the store cannot apply (campaign, direction) may drop items."""
        return self.campaign is not None or self.direction is not None


@dataclass(frozen=True, slots=True)
class Page:
    """One page of entries, newest first, and the cursor of the next page (None at the end)."""

    entries: tuple[InteractionEntry, ...]
    next_cursor: Cursor | None


def encode_cursor(cursor: Cursor) -> str:
    """Opaque, URL-safe form of a cursor."""
    raw = f"{_CURSOR_VERSION}:{cursor.started_ms}:{cursor.interaction_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(text: str) -> Cursor:
    """Parse `encode_cursor` output; raises QueryError(bad_cursor) on anything else."""
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
        version, ms, iid = raw.split(":", 2)
        if version != _CURSOR_VERSION or not iid:
            raise ValueError(raw)
        return Cursor(int(ms), iid)
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise QueryError("bad_cursor", "cursor is not one this API returned") from exc


def cursor_of(entry: InteractionEntry) -> Cursor:
    """The cursor that continues after `entry`."""
    return Cursor(entry.started_ms, entry.interaction_id)


def months_before(now_ms: int, months: int) -> int:
    """The same UTC wall time `months` calendar months earlier (day clamped: 31 May - 3 = 28/29
    Feb), in ms."""
    now = from_ms(now_ms)
    index = now.year * 12 + now.month - 1 - months
    year, month = divmod(index, 12)
    day = min(now.day, calendar.monthrange(year, month + 1)[1])
    return to_ms(
        datetime(
            year,
            month + 1,
            day,
            now.hour,
            now.minute,
            now.second,
            now.microsecond,
            tzinfo=now.tzinfo,
        )
    )


def floor_ms(query: TimelineQuery, now_ms: int, window_ms: int) -> int:
    """The oldest start a query may return: the retention window, narrowed by the period."""
    floor = now_ms - window_ms
    if query.period_months is not None:
        floor = max(floor, months_before(now_ms, query.period_months))
    return floor


def matches(entry: InteractionEntry, query: TimelineQuery, floor: int) -> bool:
    """Channel AND campaign AND direction AND inside the floor AND after the cursor."""
    if entry.channel not in query.channels or entry.started_ms < floor:
        return False
    if query.cursor is not None and cursor_of(entry) >= query.cursor:
        return False
    if query.direction is not None and direction_of(entry) != query.direction:
        return False
    if query.campaign is not None:
        return (campaign_of(entry) or "").casefold() == query.campaign.casefold()
    return True


def newest_first(entries: Iterable[InteractionEntry]) -> list[InteractionEntry]:
    """Entries ordered by (start, interaction id), newest first (the stores' order)."""
    return sorted(entries, key=lambda e: (e.started_ms, e.interaction_id), reverse=True)


def union(timelines: Iterable[Iterable[InteractionEntry]]) -> list[InteractionEntry]:
    """Newest-first union of several identifiers' timelines (a profile's).

    An interaction seen under two identifiers is one item: its partial entries are joined by
    the fold's `merge`, so the result does not depend on the order of the identifiers.
    """
    found: dict[str, InteractionEntry] = {}
    for entries in timelines:
        for entry in entries:
            found[entry.interaction_id] = merge(found.get(entry.interaction_id), entry)
    return newest_first(found.values())


def page(entries: Sequence[InteractionEntry], query: TimelineQuery, floor: int) -> Page:
    """Filter newest-first `entries` and cut one page; the next cursor is set only when more
    matching entries are known to exist."""
    kept = [e for e in newest_first(entries) if matches(e, query, floor)]
    shown = tuple(kept[: query.limit])
    more = len(kept) > query.limit and bool(shown)
    return Page(shown, cursor_of(shown[-1]) if more else None)


def store_request(query: TimelineQuery, cap: int) -> tuple[int, int | None]:
    """(limit, before_ms) to ask a TimelineStore for a first attempt.

    The store pages by start time only (strictly before `before_ms`), so the cursor's own
    millisecond is re-read and ties are dropped by `matches`. Filters the store cannot apply
    read every entry of the channels (at most `cap` per channel: bounded, no scan).
    """
    before = query.cursor.started_ms + 1 if query.cursor is not None else None
    if query.selective:
        return cap * len(query.channels), before
    return query.limit + 1, before


def needs_more(
    fetched: Sequence[InteractionEntry], asked: int, query: TimelineQuery, floor: int
) -> bool:
    """True when a first attempt may have missed matching entries (the store returned a full
    batch, the page is not full yet, and the batch has not already crossed the floor)."""
    if len(fetched) < asked:
        return False
    kept = [e for e in fetched if matches(e, query, floor)]
    return len(kept) <= query.limit and min(e.started_ms for e in fetched) >= floor


def _one_of(raw: str | None, allowed: Sequence[str], code: str, what: str) -> str | None:
    if raw is None or raw.strip() == "":
        return None
    value = raw.strip().lower()
    if value not in allowed:
        raise QueryError(code, f"{what} must be one of {', '.join(allowed)}; got {raw!r}")
    return value


def parse_channels(raw: str | None, current: str | None) -> tuple[str, ...]:
    """`channel` parameter: a list, `all`, or absent (the current interaction's channel when
    one is known, else all channels)."""
    if raw is None or raw.strip() == "":
        return (current,) if current in CHANNELS else CHANNELS
    if raw.strip().lower() == "all":
        return CHANNELS
    channels = tuple(dict.fromkeys(c.strip().lower() for c in raw.split(",") if c.strip()))
    bad = [c for c in channels if c not in CHANNELS]
    if bad or not channels:
        raise QueryError("bad_channel", f"channel must be 'all' or of {', '.join(CHANNELS)}")
    return channels


def _int(raw: str | None, code: str, what: str) -> int | None:
    if raw is None or raw.strip() == "":
        return None
    try:
        return int(raw)
    except ValueError:
        raise QueryError(code, f"{what} must be an integer; got {raw!r}") from None


def parse_query(
    params: Mapping[str, str], *, current_channel: str | None = None, default_limit: int = 50
) -> TimelineQuery:
    """Build a query from HTTP parameters; raises QueryError naming the bad parameter.

    `before` (epoch ms, the API's first paging form) is still accepted; `cursor` wins.
    """
    period = _int(params.get("period"), "bad_period", "period")
    if period is not None and period not in PERIODS_MONTHS:
        raise QueryError("bad_period", "period must be 3, 6, 9 or 12 (months)")
    limit = _int(params.get("limit"), "bad_limit", "limit")
    if limit is not None and not 1 <= limit <= MAX_LIMIT:
        raise QueryError("bad_limit", f"limit must be between 1 and {MAX_LIMIT}")
    cursor = None
    if params.get("cursor"):
        cursor = decode_cursor(params["cursor"])
    else:
        before = _int(params.get("before"), "bad_paging", "before")
        # "strictly before this ms" == after the largest cursor of the previous millisecond.
        cursor = Cursor(before - 1, "\U0010ffff") if before is not None else None
    campaign = (params.get("campaign") or "").strip() or None
    return TimelineQuery(
        channels=parse_channels(params.get("channel"), current_channel),
        limit=limit if limit is not None else default_limit,
        campaign=campaign,
        direction=_one_of(params.get("direction"), DIRECTIONS, "bad_direction", "direction"),
        period_months=period,
        cursor=cursor,
    )
