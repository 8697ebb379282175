"""Offsets beyond a partition's end (a reset broker, a truncated log): detect, then restart."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import structlog

log = structlog.get_logger("c360.offsets")

# Apache Kafka answers a fetch past the log end with OFFSET_OUT_OF_RANGE and the consumer
# resets to the earliest record by itself (consumer_auto_offset_reset="earliest"). Tansu
# answers nothing, for ever (FACTS.md M3 and docs/operations.md): a worker whose position is
# past the end then waits silently. Its high watermark also lags (the last batch's base
# offset + 1), so "position > watermark" alone is normal there; a position is past the end
# only if the record just before it is gone. That is probed with one fetch.

Probe = Callable[[Any, int], Awaitable[bool]]  # (tp, offset) -> does that record exist?


@dataclass(frozen=True, slots=True)
class Verdict:
    """What to do with one partition: keep, or restart it from `reset_to`."""

    reset: bool
    reason: str = ""
    reset_to: int = 0


def decide(position: int | None, highwater: int | None, last_exists: bool | None) -> Verdict:
    """Pure: `last_exists` is the probe's answer for offset position - 1 (None: not probed)."""
    if position is None or highwater is None or position <= highwater:
        return Verdict(False)
    if position <= 0 or last_exists is None or last_exists:
        return Verdict(False)  # a lagging watermark: the record before the position is there
    return Verdict(True, f"position {position} past the end (watermark {highwater})")


def needs_probe(position: int | None, highwater: int | None) -> bool:
    """Whether `decide` needs the probe's answer for this partition."""
    return position is not None and highwater is not None and position > 0 and highwater < position


@dataclass(slots=True)
class OffsetGuard:
    """Checks the assigned partitions now and then; resets a stuck one to its earliest
    offset, loudly (an error log and `resets`, exported on the worker's stats page)."""

    probe: Probe
    resets: int = 0
    _last: dict[Any, int | None] = field(default_factory=dict)

    async def check(
        self,
        partitions: Iterable[Any],
        position: Callable[[Any], Awaitable[int | None]],
        highwaters: Callable[[list[Any]], Awaitable[Mapping[Any, int]]],
        earliest: Callable[[list[Any]], Awaitable[Mapping[Any, int]]],
        reset: Callable[[Any, int], Awaitable[None]],
    ) -> list[Any]:
        """One pass; returns the partitions it reset. A partition whose position moved
        since the last pass is making progress and is not probed."""
        tps = list(partitions)
        if not tps:
            return []
        ends = await highwaters(tps)
        done: list[Any] = []
        for tp in tps:
            pos = await position(tp)
            moved = self._last.get(tp) != pos
            self._last[tp] = pos
            if moved or not needs_probe(pos, ends.get(tp)):
                continue
            assert pos is not None
            verdict = decide(pos, ends.get(tp), await self.probe(tp, pos - 1))
            if not verdict.reset:
                continue
            start = (await earliest([tp])).get(tp, 0)
            await reset(tp, start)
            self.resets += 1
            self._last[tp] = None
            done.append(tp)
            log.error(
                "offset_reset",
                topic=getattr(tp, "topic", str(tp)),
                partition=getattr(tp, "partition", None),
                reason=verdict.reason,
                reset_to=start,
                offset_resets_total=self.resets,
            )
        return done
