"""The replay's end rule: the start watermark AND an empty fetch after it (or idle/tail)."""

from __future__ import annotations

from c360.replay_offsets import Ends, Limits, plan_groups

LIMITS = Limits(idle_s=1.0, tail_s=60.0)


def _ends(start: int = 0, end: int = 4) -> Ends:
    return Ends({0: start}, {0: end})


def test_a_quiet_partition_below_its_watermark_is_never_done() -> None:
    """However long nothing arrives, the records up to the start watermark are owed."""
    ends = _ends()
    for now in range(100):
        ends.polled(set(), 5.0, float(now), LIMITS)
    assert ends.todo == {0}


def test_the_watermark_alone_does_not_end_a_partition() -> None:
    """Tansu's watermark (last batch base + 1) is reached mid-batch: keep reading."""
    ends = _ends(end=4)
    ends.next[0] = 4
    ends.polled({0}, 0.01, 0.0, LIMITS)
    assert ends.todo == {0}
    ends.next[0] = 13  # the rest of the last batch
    ends.polled({0}, 0.01, 0.1, LIMITS)
    assert ends.todo == {0}


def test_an_eof_at_the_next_offset_after_the_watermark_ends_it() -> None:
    """A fetch at our position that came back empty (EOF there) after the watermark."""
    ends = _ends(end=4)
    ends.next[0] = 13
    ends.eof[0] = 13
    ends.polled(set(), 0.02, 0.0, LIMITS)
    assert ends.todo == set()


def test_a_stale_eof_does_not_end_it() -> None:
    """An EOF at an offset we have since moved past says nothing about the new end."""
    ends = _ends(end=4)
    ends.eof[0] = 4
    ends.next[0] = 13
    ends.polled({0}, 0.02, 0.0, LIMITS)
    assert ends.todo == {0}


def test_idle_consume_time_after_the_watermark_ends_it() -> None:
    """Brokers that never send a trustworthy EOF: quiet for idle_s of polling."""
    ends = _ends(end=4)
    ends.next[0] = 13
    ends.polled({0}, 0.2, 0.0, LIMITS)
    for step in range(4):
        ends.polled(set(), 0.2, 0.2 * step, LIMITS)
    assert ends.todo == {0}  # 0.8 s of silence
    ends.polled(set(), 0.2, 1.0, LIMITS)
    assert ends.todo == set()


def test_a_record_resets_the_silence() -> None:
    """Silence is counted since the partition's last record, not since the watermark."""
    ends = _ends(end=4)
    ends.next[0] = 5
    ends.polled(set(), 0.9, 0.0, LIMITS)
    ends.next[0] = 6
    ends.polled({0}, 0.2, 1.0, LIMITS)
    ends.polled(set(), 0.9, 2.0, LIMITS)
    assert ends.todo == {0}


def test_a_busy_topic_stops_tail_s_after_the_watermark() -> None:
    """Records keep arriving past the watermark: bounded by tail_s."""
    ends = _ends(end=4)
    for second in range(61):
        ends.next[0] = 4 + second
        ends.polled({0}, 0.01, float(second), LIMITS)
    assert ends.todo == set()


def test_an_empty_partition_ends_on_eof_or_silence() -> None:
    """Nothing to read (start == watermark): done once a fetch confirms it."""
    ends = Ends({0: 0, 1: 7}, {0: 0, 1: 7})
    ends.eof[0] = 0
    ends.polled(set(), 0.02, 0.0, LIMITS)
    assert ends.todo == {1}
    ends.polled(set(), 1.0, 1.0, LIMITS)
    assert ends.todo == set()


def test_small_topics_stay_in_one_process() -> None:
    """A process start costs more than it saves below ~20,000 records."""
    assert plan_groups({0: 100, 1: 90, 2: 80, 3: 70}, 2, 20_000) == [[0, 1, 2, 3]]


def test_large_topics_split_by_size() -> None:
    """Groups balance records, not partition counts; never more groups than workers."""
    groups = plan_groups({0: 90_000, 1: 10_000, 2: 40_000, 3: 45_000}, 2, 20_000)
    assert groups == [[0], [1, 2, 3]]
    assert len(plan_groups(dict.fromkeys(range(8), 50_000), 3, 20_000)) == 3
    assert plan_groups({0: 5, 1: 5}, 2, 0) == [[0], [1]]  # 0: always split
