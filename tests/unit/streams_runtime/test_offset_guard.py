"""The offset guard: a lagging watermark is left alone, a position past the log is reset."""

from __future__ import annotations

from structlog.testing import capture_logs

from streams.offset_guard import OffsetGuard, decide, needs_probe


def test_decide_keeps_positions_inside_the_log_and_a_lagging_watermark():
    assert not decide(10, 12, None).reset  # behind the end
    assert not decide(13, 4, True).reset  # Tansu's watermark lags: record 12 is there
    assert not decide(None, 4, None).reset
    verdict = decide(19_000, 3, False)
    assert verdict.reset and "19000" in verdict.reason


def test_needs_probe_only_past_the_watermark():
    assert needs_probe(19_000, 3) and needs_probe(5, 0)
    assert not needs_probe(3, 3) and not needs_probe(0, 0) and not needs_probe(None, 3)


class FakePartition:
    def __init__(self, position, end, earliest=0, records=()):
        self.position, self.end, self.earliest, self.records = position, end, earliest, set(records)


async def _check(guard, parts):
    async def position(tp):
        return parts[tp].position

    async def highwaters(tps):
        return {tp: parts[tp].end for tp in tps}

    async def earliest(tps):
        return {tp: parts[tp].earliest for tp in tps}

    async def reset(tp, offset):
        parts[tp].position = offset

    return await guard.check(list(parts), position, highwaters, earliest, reset)


async def test_a_stuck_position_past_the_end_is_reset_loudly_on_the_second_look():
    parts = {"stuck": FakePartition(19_000, 3, records={0, 1, 2}),
             "lagging": FakePartition(13, 4, records=set(range(13))),
             "fine": FakePartition(5, 9, records=set(range(9)))}

    async def probe(tp, offset):
        return offset in parts[tp].records

    guard = OffsetGuard(probe)
    assert await _check(guard, parts) == []  # first look: positions may still be moving
    with capture_logs() as logs:
        assert await _check(guard, parts) == ["stuck"]
    assert parts["stuck"].position == 0 and parts["lagging"].position == 13
    assert guard.resets == 1
    [entry] = [e for e in logs if e["event"] == "offset_reset"]
    assert entry["log_level"] == "error" and entry["offset_resets_total"] == 1


async def test_a_moving_position_is_not_probed():
    probed = []
    parts = {"busy": FakePartition(100, 3)}

    async def probe(tp, offset):
        probed.append(offset)
        return False

    guard = OffsetGuard(probe)
    for step in range(3):
        parts["busy"].position = 100 + step  # records keep arriving
        await _check(guard, parts)
    assert probed == [] and guard.resets == 0
