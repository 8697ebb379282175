"""Rendered items served from cached fragments: the same JSON as describe, decoded once."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.errors import CorruptEntry
from core.timeline import fold, to_ms
from core.view import ago, describe, item_fragment, item_json
from projections import entry_codec
from projections.entry_cache import EntryCache
from tests.factories import T0, interaction_events, voice_call
from tests.unit.readmodel.calls import conference_call

NOW = to_ms(T0 + timedelta(hours=5))


@given(st.lists(interaction_events(), min_size=1, max_size=20), st.integers(-(10**9), 10**11))
def test_a_fragment_renders_exactly_what_json_dumps_of_describe_writes(events, delta):
    """Any folded entry, any clock: head + ago + tail is byte for byte json.dumps(describe)."""
    for entry in fold(events).values():
        now = entry.started_ms + delta
        expected = json.dumps(describe(entry, now))
        assert item_json(item_fragment(entry), entry.started_ms, now) == expected


@given(st.integers(-(10**12), 10**12), st.integers(0, 59_999))
def test_ago_depends_only_on_the_whole_minutes_of_the_delta(delta, within):
    """The cache reuses an item's text within a minute: ago must not change inside one."""
    minute_start = delta - delta % 60_000
    assert ago(minute_start + within) == ago(minute_start)


def test_an_entry_is_decoded_once_and_rendered_once_per_minute():
    """The second read of the same bytes is a hit returning the same object; the item
    follows the clock (ago) and equals describe's JSON at every step."""
    entry = fold(conference_call("ix-c"))["ix-c"]
    raw = entry_codec.dumps(entry)
    cache = EntryCache(10)
    first = cache.entry(raw)
    assert cache.entry(bytes(raw)) is first
    assert (cache.hits, cache.misses) == (1, 1)
    assert first == entry
    for now in (NOW, NOW + 1_000, NOW + 3_600_000, NOW + 40 * 86_400_000):
        assert cache.item_json(first, now) == json.dumps(describe(entry, now))


def test_new_bytes_for_an_interaction_give_the_new_item():
    """A later event changes the stored bytes: the read sees the new entry, never the old."""
    events = voice_call("ix-1")
    before = fold(events[:2])["ix-1"]
    after = fold(events)["ix-1"]
    cache = EntryCache(10)
    old = cache.entry(entry_codec.dumps(before))
    new = cache.entry(entry_codec.dumps(after))
    assert new == after
    assert cache.item_json(new, NOW) == json.dumps(describe(after, NOW))
    assert cache.item_json(old, NOW) == json.dumps(describe(before, NOW))


def test_the_cache_is_bounded_and_evicts_the_least_recently_read():
    """max_entries 2: reading a third entry evicts the one read longest ago."""
    raws = [entry_codec.dumps(fold(voice_call(f"ix-{n}"))[f"ix-{n}"]) for n in range(3)]
    cache = EntryCache(2)
    cache.entry(raws[0])
    cache.entry(raws[1])
    cache.entry(raws[0])  # ix-0 is now the most recent
    cache.entry(raws[2])
    assert len(cache) == 2
    misses = cache.misses
    cache.entry(raws[0])
    assert cache.misses == misses  # still cached
    cache.entry(raws[1])
    assert cache.misses == misses + 1  # evicted, decoded again


def test_an_entry_not_read_through_the_cache_is_rendered_all_the_same():
    """A profile's merged entry (a new object) renders correctly without a slot."""
    entry = fold(voice_call("ix-9"))["ix-9"]
    assert EntryCache(4).item_json(entry, NOW) == json.dumps(describe(entry, NOW))


def test_bytes_that_do_not_parse_are_a_corrupt_entry():
    """Undecodable bytes raise CorruptEntry (500 corrupt_entry at the API), and are not kept."""
    cache = EntryCache(4)
    with pytest.raises(CorruptEntry):
        cache.entry(b"\x03\xff")
    assert len(cache) == 0
